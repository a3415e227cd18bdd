"""What an interchange says apart from its envelope: a digest of the segments inside its
functional groups (every transaction set, and anything else between the GS and GE segments).

It tells a partner's resend of an interchange (the same transaction sets, enveloped again with
another date, time or group control number) from an interchange control number reused for new
content. The envelope segments (ISA, GS, GE, IEA) are left out, and elements are compared, not
delimiters, so a resend with other delimiters is still the same content. Read only when a control
number repeats, so its cost is no part of taking in a normal file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gateway.x12.tokenizer import Batch, Tokenizer

ENVELOPE_IDS = frozenset({"ISA", "GS", "GE", "IEA"})


@dataclass(frozen=True, slots=True)
class InterchangeDigest:
    """One interchange of a file: its ISA06 sender (trailing spaces removed), ISA13 and the
    digest of its content."""

    sender_id: str
    control_number: str
    digest: str


def interchange_digests(chunks: Iterable[bytes]) -> list[InterchangeDigest]:
    """The digest of each interchange of a file read as a stream of chunks, in file order."""
    found: list[InterchangeDigest] = []
    tokenizer = Tokenizer()
    header: tuple[str, str] | None = None
    hasher = hashlib.sha256()

    def finish() -> None:
        nonlocal header
        if header is not None:
            found.append(InterchangeDigest(header[0], header[1], hasher.hexdigest()))
            header = None

    def consume(batches: Iterator[Batch]) -> None:
        nonlocal header, hasher
        for batch in batches:
            if batch.isa is not None:
                finish()
                values = batch.isa + [""] * (17 - len(batch.isa))
                header, hasher = (values[6].rstrip(), values[13]), hashlib.sha256()
                continue
            separator = batch.delimiters.element
            for raw in batch.raws:
                tag = raw.split(separator, 1)[0]
                if tag == "IEA":
                    finish()
                elif header is not None and tag not in ENVELOPE_IDS:
                    hasher.update(raw.replace(separator, "\x1f").encode("latin-1") + b"\x1e")

    for chunk in chunks:
        consume(tokenizer.feed(chunk))
    consume(tokenizer.close())
    finish()
    return found


def digest_of(chunks: Iterable[bytes], sender_id: str, control_number: str) -> str | None:
    """The digest of the first interchange of a file from `sender_id` with ISA13
    `control_number`, or None when the file holds none."""
    for found in interchange_digests(chunks):
        if (found.sender_id, found.control_number) == (sender_id, control_number):
            return found.digest
    return None
