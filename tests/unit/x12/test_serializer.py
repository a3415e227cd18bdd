"""The serializer: fixed-width ISA, computed counts, refused delimiters, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import SerializationError
from gateway.x12.document import FunctionalGroup, Interchange, Segment, TransactionSet
from gateway.x12.model import DEFAULT_DELIMITERS, Delimiters
from gateway.x12.reader import Reader
from gateway.x12.schema import Catalog
from gateway.x12.serializer import Serializer, serialize
from gateway.x12.tokenizer import Tokenizer
from tests.mini_catalog import mini_catalog


def sample_interchange(
    delimiters: Delimiters = DEFAULT_DELIMITERS, version: str = "00401"
) -> Interchange:
    return Interchange(
        sender_qualifier="ZZ",
        sender_id="SELLERCO",
        receiver_qualifier="ZZ",
        receiver_id="BUYERCO",
        date="261121",
        time="1200",
        control_number="42",
        control_version=version,
        delimiters=delimiters,
        groups=[
            FunctionalGroup(
                "PO",
                "SELLERCO",
                "BUYERCO",
                "20261121",
                "1200",
                "42",
                "004010",
                transactions=[
                    TransactionSet(
                        "850",
                        "0001",
                        [
                            Segment("BEG", ["00", "SA", "PO-1", "", "20261121"]),
                            Segment("REF", ["DP", "042", "", ("VN", "12345")]),
                            Segment("PO1", ["1", "2", "EA", "9.99", "", "UP", "012345678905"]),
                            Segment("CTT", ["1", "", ""]),
                        ],
                    )
                ],
            )
        ],
    )


def test_isa_is_fixed_width_and_counts_are_computed():
    text = serialize(sample_interchange()).decode("latin-1")
    lines = text.splitlines()
    assert len(lines[0]) == 106
    assert lines[0].startswith("ISA*00*          *00*          *ZZ*SELLERCO       *")
    assert lines[0].endswith("*000000042*0*P*>~")
    assert "SE*6*0001~" in lines
    assert "GE*1*42~" in lines
    assert lines[-1] == "IEA*1*000000042~"


def test_trailing_empty_elements_are_dropped():
    text = serialize(sample_interchange()).decode("latin-1")
    assert "CTT*1~" in text.splitlines()
    assert "REF*DP*042**VN>12345~" in text.splitlines()


def test_written_interchange_validates():
    data = serialize(sample_interchange())
    reader = Reader(mini_catalog())
    reader.feed(data)
    report = reader.close()
    assert report.accepted, [i.describe() for i in report.all_issues()]


@pytest.mark.parametrize("bad", ["PO*1", "PO~1", "PO>1", "PO\n1"])
def test_a_value_holding_a_delimiter_is_refused(bad):
    interchange = sample_interchange()
    interchange.groups[0].transactions[0].segments[0].elements[2] = bad
    with pytest.raises(SerializationError, match="BEG03"):
        serialize(interchange)


def test_a_value_too_long_for_the_isa_is_refused():
    interchange = sample_interchange()
    interchange.sender_id = "X" * 16
    with pytest.raises(SerializationError, match="ISA06"):
        serialize(interchange)


def test_repetition_separator_needs_5010():
    with pytest.raises(SerializationError, match="00501"):
        serialize(sample_interchange(Delimiters("*", ">", "~", "^"), "00401"))
    text = serialize(sample_interchange(Delimiters("*", ">", "~", "^"), "00501")).decode()
    assert text[82] == "^"


def test_delimiters_must_differ():
    with pytest.raises(SerializationError):
        Serializer(Delimiters("*", "*", "~"))


# -- round trip (hypothesis) ---------------------------------------------------------------------

DELIMITER_SETS = [
    Delimiters("*", ">", "~", None),
    Delimiters("|", "^", "\n", None),
    Delimiters("\x1d", "@", "\x1c", None),
    Delimiters("*", ":", "~", "^"),
]
SAFE = "".join(chr(c) for c in range(32, 127) if chr(c) not in "*>~|^:@") + "\xe9\xff"
values = st.text(alphabet=SAFE, min_size=0, max_size=12)
nonempty = st.text(alphabet=SAFE, min_size=1, max_size=12)
segment_ids = st.sampled_from(["BEG", "REF", "N1", "PO1", "PID", "DTM", "N9", "MSG", "TD5"])
components = st.tuples(nonempty, nonempty) | st.tuples(nonempty, values, nonempty)
elements = st.one_of(values, components)
segments = st.builds(
    Segment,
    segment_ids,
    st.lists(elements, min_size=1, max_size=8).filter(lambda e: e[-1] != ""),
)
transactions = st.builds(
    TransactionSet,
    st.sampled_from(["850", "855", "856"]),
    st.just("0000"),  # numbered uniquely below
    st.lists(segments, min_size=1, max_size=6),
)
identifiers = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=2, max_size=15)


@st.composite
def interchanges(draw):
    delimiters = draw(st.sampled_from(DELIMITER_SETS))
    version = "00501" if delimiters.repetition else "00401"
    groups = draw(
        st.lists(
            st.builds(
                FunctionalGroup,
                st.just("PO"),
                identifiers,
                identifiers,
                st.just("20261121"),
                st.just("1200"),
                st.just("0"),  # numbered uniquely below
                st.just("004010"),
                transactions=st.lists(transactions, min_size=1, max_size=3),
            ),
            min_size=1,
            max_size=3,
        )
    )
    first = draw(st.integers(1, 10**8))
    for number, group in enumerate(groups):
        group.control_number = str(first + number)
        for position, transaction in enumerate(group.transactions, start=1):
            transaction.control_number = f"{first % 1000 + position:04d}"
    return Interchange(
        sender_qualifier="ZZ",
        sender_id=draw(identifiers),
        receiver_qualifier="ZZ",
        receiver_id=draw(identifiers),
        date="261121",
        time="1200",
        control_number=f"{first:09d}",
        control_version=version,
        delimiters=delimiters,
        groups=groups,
    )


def normalized(interchange: Interchange) -> list[tuple[str, ...]]:
    """Segments as the reader returns them: composites flattened with the sub-element separator."""
    sub = interchange.delimiters.sub_element
    flat = []
    for group in interchange.groups:
        for transaction in group.transactions:
            for segment in transaction.segments:
                flat.append(
                    (
                        segment.id,
                        *(
                            sub.join(v).rstrip(sub) if isinstance(v, tuple) else v
                            for v in segment.elements
                        ),
                    )
                )
    return flat


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(interchanges(), st.sampled_from(["", "\n", "\r\n"]), st.sampled_from([1, 5, 64, 65536]))
def test_serialize_then_parse_gives_the_same_structure(interchange, newline, chunk):
    if interchange.delimiters.segment == "\n":
        newline = ""
    data = serialize(interchange, newline=newline)
    reader = Reader(Catalog(), keep_documents=True, schema_checks=False)
    for start in range(0, len(data), chunk):
        reader.feed(data[start : start + chunk])
    report = reader.close()
    # An empty catalog supports no version: only the group-level "version not supported" is found.
    assert {i.code_label for i in report.all_issues()} <= {"AK905:2"}
    (parsed,) = reader.documents
    assert parsed.sender_id == interchange.sender_id
    assert parsed.control_number == interchange.control_number
    assert parsed.delimiters == interchange.delimiters
    assert [g.control_number for g in parsed.groups] == [
        g.control_number for g in interchange.groups
    ]
    assert [(t.set_id, t.control_number) for g in parsed.groups for t in g.transactions] == [
        (t.set_id, t.control_number) for g in interchange.groups for t in g.transactions
    ]
    assert normalized(parsed) == normalized(interchange)
    assert serialize(parsed, newline=newline) == data


def test_tokenizer_reads_what_the_serializer_wrote_for_every_delimiter_set():
    for delimiters in DELIMITER_SETS:
        version = "00501" if delimiters.repetition else "00401"
        data = serialize(sample_interchange(delimiters, version), newline="")
        ids = [elements[0] for elements, _, _ in Tokenizer().segments(data)]
        assert ids == ["ISA", "GS", "ST", "BEG", "REF", "PO1", "CTT", "SE", "GE", "IEA"]
