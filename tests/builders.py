"""Small X12 texts built in the tests (no files from elsewhere)."""

from __future__ import annotations


def isa(
    element: str = "*",
    sub: str = ">",
    terminator: str = "~",
    control: str = "000000001",
    version: str = "00401",
    ack_requested: str = "0",
    usage: str = "P",
    sender: str = "SENDER",
    receiver: str = "RECEIVER",
) -> str:
    standards = "^" if version >= "00501" else "U"
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        sender.ljust(15),
        "ZZ",
        receiver.ljust(15),
        "261121",
        "1200",
        standards,
        version,
        control,
        ack_requested,
        usage,
        sub,
    ]
    return element.join(fields) + terminator


def simple_interchange(
    *,
    element: str = "*",
    sub: str = ">",
    terminator: str = "~",
    newline: str = "\n",
    control: str = "000000001",
    beg_note: str = "",
    extra: bytes = b"",
) -> bytes:
    """A one-850 interchange with a minimal body (not schema-complete: for the tokenizer)."""
    e, t, n = element, terminator, newline
    beg = e.join(["BEG", "00", "SA", "PO-1", "", "20261121"] + ([beg_note] if beg_note else []))
    count = 3 + extra.count(b"\n") if extra else 3
    lines = [
        isa(element, sub, terminator, control),
        e.join(["GS", "PO", "SENDER", "RECEIVER", "20261121", "1200", "1", "X", "004010"]) + t,
        e.join(["ST", "850", "0001"]) + t,
        beg + t,
    ]
    tail = [
        e.join(["SE", str(count), "0001"]) + t,
        e.join(["GE", "1", "1"]) + t,
        e.join(["IEA", "1", control]) + t,
    ]
    text = n.join(lines) + n
    return text.encode("latin-1") + extra + (n.join(tail) + n).encode("latin-1")
