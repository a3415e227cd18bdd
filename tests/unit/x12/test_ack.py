"""Acknowledgements: 997, 999 and TA1 built from validation, and read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigurationError
from gateway.x12.ack import (
    AckFormat,
    CountingControlNumbers,
    Stamp,
    build_acknowledgements,
    build_functional_ack,
    read_functional_ack,
    read_ta1,
    reply_delimiters,
)
from gateway.x12.document import Interchange
from gateway.x12.model import (
    DEFAULT_DELIMITERS,
    Delimiters,
    FileReport,
    GroupReport,
    InterchangeReport,
    Issue,
    Level,
    TA1Code,
    TransactionReport,
)
from gateway.x12.reader import parse_bytes, read_bytes
from gateway.x12.schema import load_catalog
from gateway.x12.serializer import serialize
from tests.mini_catalog import interchange_text, mini_catalog, purchase_order_body

CATALOG = mini_catalog()
STAMP = Stamp("20261121", "1300")


def report_of(data: bytes) -> FileReport:
    return read_bytes(data, catalog=CATALOG)


def acks_for(data: bytes, ack_format: AckFormat = AckFormat.FA997) -> list[Interchange]:
    report = report_of(data)
    numbers = CountingControlNumbers(77, 88)
    return build_acknowledgements(report.interchanges[0], numbers, STAMP, ack_format=ack_format)


def ack_for(data: bytes, ack_format: AckFormat = AckFormat.FA997) -> Interchange:
    """The one functional acknowledgement interchange (the last one, after any TA1)."""
    return acks_for(data, ack_format)[-1]


def segments_text(interchange: Interchange) -> list[str]:
    return serialize(interchange).decode("latin-1").splitlines()


def bad_beg_body() -> list[str]:
    body = purchase_order_body()
    body[0] = "BEG*00*SA**20261121"
    return body


def test_accepted_group_gets_an_accepting_997():
    lines = segments_text(ack_for(interchange_text()))
    assert lines[1] == "GS*FA*SELLERCO*BUYERCO*20261121*1300*88*X*004010~"
    assert lines[2:7] == ["ST*997*0001~", "AK1*PO*905~", "AK2*850*0001~", "AK5*A~", "AK9*A*1*1*1~"]
    assert lines[7] == "SE*6*0001~"


def test_ack_swaps_sender_and_receiver_and_keeps_the_partner_delimiters():
    data = interchange_text().replace(b"*", b"|").replace(b"~", b"!")
    text = serialize(ack_for(data)).decode("latin-1")
    assert text.startswith("ISA|00|          |00|          |ZZ|SELLERCO       |ZZ|BUYERCO        |")
    assert "|000000077|0|P|>!" in text
    assert "GE|1|88!" in text


def test_element_error_is_reported_in_ak3_and_ak4():
    lines = segments_text(ack_for(interchange_text([bad_beg_body()])))
    assert "AK3*BEG*2**8~" in lines
    assert "AK4*3*324*1~" in lines
    assert "AK5*R*5~" in lines
    assert "AK9*R*1*1*0~" in lines


def test_bad_value_is_copied_into_ak404():
    body = purchase_order_body()
    body[0] = "BEG*00*SA*PO-1**20261399"
    lines = segments_text(ack_for(interchange_text([body])))
    assert "AK4*5*373*8*20261399~" in lines


def test_one_bad_set_of_two_makes_the_group_partially_accepted():
    lines = segments_text(ack_for(interchange_text([purchase_order_body(), bad_beg_body()])))
    assert "AK9*P*2*2*1~" in lines
    assert lines.count("AK5*A~") == 1 and lines.count("AK5*R*5~") == 1


def test_set_level_error_code_is_in_ak5():
    lines = segments_text(ack_for(interchange_text(se01_delta=2)))
    assert "AK5*R*4~" in lines


def test_group_error_code_is_in_ak9():
    lines = segments_text(ack_for(interchange_text(ge01="4")))
    assert "AK9*R*4*1*1*5~" in lines


def test_unsupported_set_is_rejected_as_not_supported():
    lines = segments_text(ack_for(interchange_text(set_id="864", functional_id="TX")))
    assert "AK5*R*1~" in lines


def test_997_for_5010_carries_versions():
    data = interchange_text(version="005010", control_version="00501")
    lines = segments_text(ack_for(data))
    assert "AK1*PO*905*005010~" in lines
    assert lines[1].endswith("*X*005010~")


def test_999_uses_ik_segments():
    data = interchange_text([bad_beg_body()], version="005010", control_version="00501")
    lines = segments_text(ack_for(data, AckFormat.IA999))
    assert "ST*999*0001~" in lines
    assert "IK3*BEG*2**8~" in lines
    assert "IK4*3*324*1~" in lines
    assert "IK5*R*5~" in lines
    assert "AK9*R*1*1*0~" in lines


def test_999_asked_for_a_4010_group_falls_back_to_997():
    lines = segments_text(ack_for(interchange_text(), AckFormat.IA999))
    assert "ST*997*0001~" in lines


def test_999_cannot_answer_a_4010_group_directly():
    interchange = report_of(interchange_text()).interchanges[0]
    with pytest.raises(ConfigurationError, match="005010"):
        build_functional_ack(
            interchange.groups[0],
            "0001",
            ack_format=AckFormat.IA999,
            delimiters=interchange.delimiters,
        )


def test_ta1_is_sent_when_asked_in_its_own_interchange():
    ta1, functional = acks_for(interchange_text(ack_requested="1"))
    lines = segments_text(ta1)
    assert lines[1] == "TA1*000000905*261121*1200*A*000~"
    assert lines[2] == "IEA*0*000000077~"
    assert "ST*997*0001~" in segments_text(functional)
    assert functional.control_number == "000000078"


def test_bad_interchange_gets_a_rejecting_ta1_and_no_997():
    (ta1,) = acks_for(interchange_text(iea02="000000999"))
    lines = segments_text(ta1)
    assert lines[1] == "TA1*000000905*261121*1200*R*001~"
    assert not any(line.startswith("ST*") for line in lines)
    assert lines[-1] == "IEA*0*000000077~"


def test_acknowledgements_are_not_acknowledged():
    body = ["AK1*PO*12", "AK9*A*1*1*1"]
    data = interchange_text([body], set_id="997", functional_id="FA")
    report = report_of(data)
    assert report.accepted
    numbers = CountingControlNumbers()
    assert build_acknowledgements(report.interchanges[0], numbers, STAMP) == []


def test_a_bad_value_holding_our_delimiter_is_not_copied():
    body = purchase_order_body()
    body[0] = "BEG*00*SA*PO>1**20261121"
    lines = segments_text(ack_for(interchange_text([body])))
    assert "AK4*3*324*6~" in lines  # 4010: the component separator is an invalid character


@pytest.mark.parametrize("ack_format", [AckFormat.FA997, AckFormat.IA999])
def test_built_acknowledgements_validate_against_the_shipped_schemas(ack_format):
    data = interchange_text(
        [purchase_order_body(), bad_beg_body()],
        version="005010",
        control_version="00501",
        ack_requested="1",
    )
    for written in map(serialize, acks_for(data, ack_format)):
        report = read_bytes(written, catalog=load_catalog())
        assert report.accepted, [i.describe() for i in report.all_issues()]


def test_reading_a_997_back_gives_the_structured_result():
    acknowledgement = ack_for(interchange_text([purchase_order_body(), bad_beg_body()]))
    documents, report = parse_bytes(serialize(acknowledgement), catalog=load_catalog())
    assert report.accepted
    (transaction,) = documents[0].groups[0].transactions
    result = read_functional_ack(transaction)
    assert (result.kind, result.functional_id, result.group_control) == ("997", "PO", "905")
    assert (result.status, result.included, result.received, result.accepted_count) == (
        "P",
        2,
        2,
        1,
    )
    first, second = result.transactions
    assert first.accepted and first.control_number == "0001"
    assert not second.accepted and second.codes == ("5",)
    (error,) = second.segment_errors
    assert (error.segment_id, error.position_in_set, error.code) == ("BEG", 2, "8")
    assert error.elements[0].position == 3 and error.elements[0].code == "1"


def test_reading_a_999_back_gives_the_structured_result():
    data = interchange_text([bad_beg_body()], version="005010", control_version="00501")
    documents, _ = parse_bytes(serialize(ack_for(data, AckFormat.IA999)), catalog=load_catalog())
    result = read_functional_ack(documents[0].groups[0].transactions[0])
    assert result.kind == "999" and result.version == "005010"
    assert result.status == "R" and not result.accepted
    assert result.transactions[0].segment_errors[0].elements[0].element_ref == "324"


def test_reading_a_ta1_back():
    (acknowledgement,) = acks_for(interchange_text(iea02="000000999"))
    documents, _ = parse_bytes(serialize(acknowledgement), catalog=load_catalog())
    result = read_ta1(documents[0].ta1s[0])
    assert (result.control_number, result.status, result.note_code) == ("000000905", "R", "001")
    assert not result.accepted


@pytest.mark.parametrize(
    "delimiters",
    [
        DEFAULT_DELIMITERS,
        Delimiters("*", ">", "~", "^"),
        Delimiters("|", "^", "!"),
        Delimiters("\x1d", "@", "\x1c"),
        Delimiters("*", ":", "\n"),
        Delimiters("*", ">", "\r"),
    ],
)
def test_single_distinct_punctuation_delimiters_are_usable(delimiters):
    assert delimiters.usable()


@pytest.mark.parametrize(
    "delimiters",
    [
        Delimiters("*", ">", "*"),  # terminator repeats the element separator
        Delimiters("*", "", "~"),  # no component separator (empty ISA16)
        Delimiters("*", "~", "~"),  # component separator repeats the terminator
        Delimiters("*", "*", "~"),
        Delimiters("*", ">", "X"),  # alphanumeric
        Delimiters("*", "7", "~"),
        Delimiters("*", ">", " "),  # space
        Delimiters("*", ">", "~", ">"),  # repetition repeats another delimiter
        Delimiters("*", ">", "~", "*"),
        Delimiters("*", ">", "~", "~"),
        Delimiters("*", ">>", "~"),  # not one character
        Delimiters("*", "\n", "~"),  # a line break only ends segments
        Delimiters("*", ">", "~", "\n"),
        Delimiters("*", ">", "\u20ac"),  # not one byte
    ],
)
def test_clashing_or_unwritable_delimiters_are_not_usable(delimiters):
    assert not delimiters.usable()


def test_an_answer_keeps_usable_partner_delimiters_and_replaces_the_others():
    odd = Delimiters("|", "^", "!")
    assert reply_delimiters(InterchangeReport("000000001", delimiters=odd)) == odd
    broken = InterchangeReport("000000001", delimiters=Delimiters("*", ">", "*"))
    assert reply_delimiters(broken) == DEFAULT_DELIMITERS


def rejected_report(**values: object) -> InterchangeReport:
    issue = Issue(Level.INTERCHANGE, TA1Code.SEGMENT_TERMINATOR_INVALID, "terminator repeats '*'")
    report = InterchangeReport(**values)  # type: ignore[arg-type]
    report.issues.append(issue)
    return report


def test_a_ta1_to_broken_delimiters_is_written_with_the_default_ones():
    report = rejected_report(
        control_number="000000905",
        sender_qualifier="ZZ",
        sender_id="BUYERCO",
        receiver_qualifier="ZZ",
        receiver_id="SELLERCO",
        date="261121",
        time="1200",
        control_version="00401",
        delimiters=Delimiters("*", ">", "*"),
    )
    (ta1,) = build_acknowledgements(report, CountingControlNumbers(77, 88), STAMP)
    assert ta1.delimiters == DEFAULT_DELIMITERS
    lines = segments_text(ta1)
    assert lines[0].startswith("ISA*00*          *00*          *ZZ*SELLERCO       *ZZ*BUYERCO ")
    assert lines[0].endswith("*U*00401*000000077*0*P*>~")
    assert lines[1] == "TA1*000000905*261121*1200*R*004~"


def test_values_copied_into_a_ta1_are_made_safe():
    """Ids, qualifiers, date, time, control numbers and versions that cannot be written in the
    answer as they came are replaced, never passed on to make the serializer fail."""
    report = rejected_report(
        control_number="12>45",
        sender_qualifier="Z~",
        sender_id="BUY*ER",
        receiver_qualifier="ZZZ",
        receiver_id="A-RECEIVER-ID-LONGER-THAN-15",
        date="26>121",
        time="12~0",
        control_version="0050",
        usage="*",
        delimiters=Delimiters("*", ">", "~"),
    )
    (ta1,) = build_acknowledgements(report, CountingControlNumbers(77, 88), STAMP)
    content = serialize(ta1)
    documents, back = parse_bytes(content, catalog=load_catalog())
    assert back.accepted, [i.describe() for i in back.all_issues()]
    (interchange,) = back.interchanges
    assert (interchange.sender_qualifier, interchange.sender_id) == ("ZZ", "UNKNOWN")
    assert (interchange.receiver_qualifier, interchange.receiver_id) == ("ZZ", "UNKNOWN")
    assert (interchange.control_version, interchange.usage) == ("00401", "P")
    result = read_ta1(documents[0].ta1s[0])
    # TA102 / TA103 fall back to the moment of the answer when the partner's cannot be read
    assert (result.control_number, result.date, result.time) == ("000000000", "261121", "1300")
    assert (result.status, result.note_code) == ("R", "004")


def test_values_copied_into_a_997_are_made_safe():
    transaction = TransactionReport("8>0", "00>1", implementation_reference="005010X>")
    transaction.issues.append(Issue(Level.TRANSACTION, "6", "ST01 is not a set identifier"))
    group = GroupReport("P>", "9>5", "004010", transactions=[transaction])
    report = InterchangeReport(
        "000000905", sender_id="BUYERCO", receiver_id="SELLERCO", groups=[group]
    )
    (acknowledgement,) = build_acknowledgements(report, CountingControlNumbers(77, 88), STAMP)
    lines = segments_text(acknowledgement)
    assert lines[3:7] == ["AK1*ZZ*0~", "AK2*000*0000~", "AK5*R*6~", "AK9*R*1*1*0~"]
    assert read_bytes(serialize(acknowledgement), catalog=load_catalog()).accepted


def test_a_set_control_number_holding_the_component_separator_is_not_copied():
    data = interchange_text().replace(b"ST*850*0001~", b"ST*850*00>1~")
    data = data.replace(b"SE*5*0001~", b"SE*5*00>1~")
    lines = segments_text(ack_for(data))
    assert "AK2*850*0000~" in lines


def test_a_segment_id_with_letters_beyond_ascii_is_not_copied_into_ak3():
    body = purchase_order_body()
    body.insert(1, "\xffLX*1")  # 'ÿ'.upper() is not a latin-1 character
    lines = segments_text(ack_for(interchange_text([body])))
    assert "AK3*LX*3**1~" in lines


def test_an_unreadable_control_version_is_answered_in_00401_without_repetitions():
    report = rejected_report(
        control_number="000000905",
        control_version="005E1",
        delimiters=Delimiters("*", ">", "~", "^"),
    )
    (ta1,) = build_acknowledgements(report, CountingControlNumbers(77, 88), STAMP)
    assert ta1.delimiters == DEFAULT_DELIMITERS
    assert segments_text(ta1)[0].endswith("*U*00401*000000077*0*P*>~")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"*U*00401*", b"*U*00014*"),  # an ISA12 older than any we read
        (b"ST*850*0001~", b"ST*850*00000000001~"),  # an ST02 too long for AK202
        (b"*5101*X*004010~", b"*5101*X*003040~"),  # a 003040 group: GS04 is YYMMDD there
        (b"*5101*X*004010~", b"*5101*X*002001~"),  # a version we do not read
        (b"GS*PO*", b"GS*P*"),  # a GS01 too short for AK101
        (b"*0915*5101*X*", b"*0915*51A1*X*"),  # a GS06 that is not a number, for AK102
        (b"GE*1*5101~", b"GE*1000000001*5101~"),  # a GE01 too long for AK902 (found by atheris)
        (b"*5101*X*004010~", b"*5101*X*005010004010X358~"),  # GS08 too long: a 997, not a 999
    ],
)
def test_every_answer_reads_back_valid_through_our_own_reader(old: bytes, new: bytes):
    """The answers to a partner's faulty file are files we write: they must be valid X12."""
    good = (Path(__file__).resolve().parents[3] / "samples/850/850_004010_good.x12").read_bytes()
    report = read_bytes(good.replace(old, new, 1))
    (interchange,) = report.interchanges
    for ack_format in (AckFormat.FA997, AckFormat.IA999):
        try:
            answers = build_acknowledgements(
                interchange, CountingControlNumbers(), Stamp("20261207", "1200"),
                ack_format=ack_format, ta1="always",
            )  # fmt: skip
        except ConfigurationError:
            continue
        for answer in answers:
            written = read_bytes(serialize(answer))
            assert written.accepted, written.first_issue()
