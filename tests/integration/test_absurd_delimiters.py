"""Interchanges whose ISA gives absurd delimiters (a terminator equal to the element separator, an
empty or missing ISA16, a component or repetition separator repeating another delimiter, a letter
as terminator) are the partner's fault: each is stored as rejected and answered with a TA1 naming
the broken delimiter, written with delimiters that can be written (the partner's when usable, the
gateway's defaults when not), never a SerializationError.

Every case is the good 850 sample with its ISA rewritten, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.adapters.store import SqlUnitOfWork
from gateway.config import load_mappings
from gateway.mapping.engine import Mappings
from gateway.service.ingest import Ingestor
from gateway.x12.ack import (
    AckFormat,
    CountingControlNumbers,
    Stamp,
    build_acknowledgements,
    read_ta1,
)
from gateway.x12.model import DEFAULT_DELIMITERS, Delimiters, Issue, TA1Code
from gateway.x12.reader import parse_bytes, read_bytes, read_chunks
from gateway.x12.serializer import serialize

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "samples" / "850" / "850_004010_good.x12"
NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)
SAMPLE = GOOD.read_text(encoding="latin-1")
ISA_TAIL = "*P*>~"  # ISA15, ISA16 and the segment terminator of the sample
assert SAMPLE[100:106] == "0*P*>~"


def rewritten(tail: str, *, isa11: str = "U", version: str = "00401") -> bytes:
    """The sample with the end of its ISA (from the separator before ISA15) replaced by `tail`,
    and ISA11 / ISA12 set; the rest of the file is left as it is."""
    isa = SAMPLE[:101].replace("*U*00401*", f"*{isa11}*{version}*")
    assert len(isa) == 101
    return (isa + tail + SAMPLE[106:]).encode("latin-1")


CASES = {
    "terminator equal to the element separator": (
        rewritten("*P*>*"),
        TA1Code.SEGMENT_TERMINATOR_INVALID,
    ),
    "empty ISA16": (rewritten("*P*~"), TA1Code.COMPONENT_SEPARATOR_INVALID),
    "ISA16 missing with its separator": (rewritten("*P~"), TA1Code.COMPONENT_SEPARATOR_INVALID),
    "component separator equal to the terminator": (
        rewritten("*P*~~"),
        TA1Code.COMPONENT_SEPARATOR_INVALID,
    ),
    "component separator equal to the element separator": (
        rewritten("*P**~"),
        TA1Code.COMPONENT_SEPARATOR_INVALID,
    ),
    "alphanumeric terminator": (rewritten("*P*>X"), TA1Code.SEGMENT_TERMINATOR_INVALID),
    "space as terminator": (rewritten("*P*> "), TA1Code.SEGMENT_TERMINATOR_INVALID),
    "repetition separator equal to the component separator": (
        rewritten(ISA_TAIL, isa11=">", version="00501"),
        TA1Code.STANDARDS_ID_INVALID,
    ),
    "repetition separator equal to the terminator": (
        rewritten(ISA_TAIL, isa11="~", version="00501"),
        TA1Code.STANDARDS_ID_INVALID,
    ),
    "repetition separator equal to the element separator": (
        rewritten(ISA_TAIL, isa11="*", version="00501"),
        TA1Code.STANDARDS_ID_INVALID,
    ),
}


def ingestor(engine: Engine) -> Ingestor:
    return Ingestor(lambda: SqlUnitOfWork(engine), Mappings(load_mappings()), clock=lambda: NOW)


def read_back_ta1(content: bytes) -> tuple[Delimiters, list[str]]:
    """The delimiters and TA1 elements of a written TA1 interchange, which must read cleanly."""
    documents, report = parse_bytes(content)
    assert report.accepted, [i.describe() for i in report.all_issues()]
    (interchange,) = report.interchanges
    (document,) = documents
    (ta1,) = document.ta1s
    return interchange.delimiters, [str(value) for value in ta1.elements]


@pytest.mark.parametrize("case", list(CASES))
def test_an_isa_with_absurd_delimiters_is_rejected_with_a_ta1_naming_it(
    store_engine: Engine, case: str
):
    raw, code = CASES[case]
    result = ingestor(store_engine).ingest(raw, "absurd.x12")
    assert not result.accepted and not result.sets
    assert result.first_issue.startswith(f"TA105:{code} "), result.first_issue
    (answer,) = result.acknowledgements  # a rejected interchange gets its TA1 and no 997
    assert answer.kind == "TA1"
    delimiters, elements = read_back_ta1(answer.content)
    assert delimiters == DEFAULT_DELIMITERS
    assert elements == ["000051001", "261103", "0915", "R", str(code)]
    with SqlUnitOfWork(store_engine) as uow:
        (stored,) = uow.documents.with_sha256(hashlib.sha256(raw).hexdigest())
        assert stored.status == "rejected" and stored.raw == raw
        (queued,) = uow.outbox.pending("x12")
        assert queued["partner"] == "079845213" and queued["document_id"] != stored.id


def test_a_ta1_to_a_partner_with_usable_delimiters_keeps_them(store_engine: Engine):
    """Odd but usable delimiters are the partner's to choose: the TA1 is written with them."""
    raw = rewritten("*P*>~").replace(b"IEA*1*000051001", b"IEA*1*000051009")
    result = ingestor(store_engine).ingest(raw.replace(b"~", b"!"), "odd.x12")
    (answer,) = result.acknowledgements
    delimiters, elements = read_back_ta1(answer.content)
    assert delimiters == Delimiters("*", ">", "!")
    assert elements[3:] == ["R", TA1Code.CONTROL_NUMBER_MISMATCH]


def test_an_empty_isa16_is_read_on_with_the_terminator_it_stands_beside():
    """The ISA one character short: the rest of the file is still cut on `~`, so the only fault
    is the missing component separator."""
    for tail in ("*P*~", "*P~"):
        report = read_bytes(rewritten(tail))
        (interchange,) = report.interchanges
        assert interchange.delimiters.segment == "~"
        assert [i.code for i in interchange.issues] == [TA1Code.COMPONENT_SEPARATOR_INVALID]
        assert [g.accepted for g in interchange.groups] == [True]
        assert "ISA16" in interchange.issues[0].message


def test_an_empty_isa16_without_line_breaks_is_read_alike():
    flat = rewritten("*P*~").decode("latin-1").replace("\n", "").encode("latin-1")
    report = read_bytes(flat)
    (interchange,) = report.interchanges
    assert [i.code for i in interchange.issues] == [TA1Code.COMPONENT_SEPARATOR_INVALID]


def test_a_newline_terminator_after_a_real_isa16_is_still_a_terminator():
    newline_file = SAMPLE.replace("~\n", "\n").encode("latin-1")
    report = read_bytes(newline_file)
    assert report.accepted, [i.describe() for i in report.all_issues()]
    assert report.interchanges[0].delimiters == Delimiters("*", ">", "\n")


def issues_in_chunks(raw: bytes, size: int) -> list[Issue]:
    return read_chunks(raw[i : i + size] for i in range(0, len(raw), size)).all_issues()


@pytest.mark.parametrize("tail", ["*P*~", "*P~"])
def test_every_chunking_reads_an_empty_isa16_alike(tail: str):
    raw = rewritten(tail)
    whole = [i.describe() for i in read_bytes(raw).all_issues()]
    for size in (1, 2, 7, 104, 105, 106, 107, 110):
        assert [i.describe() for i in issues_in_chunks(raw, size)] == whole, size


ELEMENTS = "*|"
COMPONENTS = [">", "*", "~", "X", " ", "\n", "!", ""]
TERMINATORS = ["~", "*", ">", "X", " ", "\n", "!"]
REPETITIONS = ["U", "^", "*", ">", "~", " ", "!"]


def test_no_combination_of_delimiters_makes_an_unwritable_answer():
    """Whatever the ISA says, the answers serialize and read back cleanly; and an interchange
    whose delimiters cannot be written back is always rejected."""
    numbers = CountingControlNumbers()
    stamp = Stamp("20261121", "1230")
    for element, component, terminator, repetition in itertools.product(
        ELEMENTS, COMPONENTS, TERMINATORS, REPETITIONS
    ):
        isa = SAMPLE[:106].replace("*U*00401*", f"*{repetition}*00501*")
        isa = isa[:104].replace("*", element) + component + terminator
        body = SAMPLE[106:].replace("*", element).replace("~", terminator)
        report = read_bytes((isa + body).encode("latin-1"))
        for interchange in report.interchanges:
            if not interchange.delimiters.usable():
                assert interchange.issues, (element, component, terminator, repetition)
            for ack_format in AckFormat:
                for written in build_acknowledgements(
                    interchange, numbers, stamp, ack_format=ack_format, ta1="always"
                ):
                    content = serialize(written)
                    back = read_bytes(content)
                    assert back.accepted, (element, component, terminator, repetition, content)
                    if written.ta1s:
                        (status,) = [read_ta1(t).status for t in written.ta1s]
                        assert status == ("R" if interchange.issues else "A")
