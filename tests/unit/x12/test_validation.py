"""Envelope, structure and element validation, each rule with the X12 code it is reported under."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.x12.model import FileReport, Issue, Level
from gateway.x12.reader import parse_bytes, read_bytes, read_chunks
from tests.mini_catalog import interchange_text, mini_catalog, purchase_order_body

CATALOG = mini_catalog()


def validate(data: bytes, *, strict: bool = False) -> FileReport:
    return read_chunks([data], catalog=CATALOG, strict=strict)


def codes(report: FileReport) -> list[str]:
    return [i.code_label for i in report.all_issues()]


def only(report: FileReport, label: str) -> Issue:
    found = [i for i in report.all_issues() if i.code_label == label]
    assert found, f"{label} not in {codes(report)}"
    return found[0]


def replace_segment(body: list[str], prefix: str, new: str | None) -> list[str]:
    out = []
    for segment in body:
        if segment.startswith(prefix):
            if new is not None:
                out.append(new)
        else:
            out.append(segment)
    return out


def test_a_valid_interchange_is_accepted():
    report = validate(interchange_text())
    assert report.accepted, codes(report)
    assert len(report.interchanges[0].groups[0].transactions) == 1


def test_chunked_reading_gives_the_same_report():
    data = interchange_text([purchase_order_body(5)] * 3) * 2
    whole = validate(data.replace(b"000000905", b"000000905", 1))
    pieces = read_chunks((data[i : i + 7] for i in range(0, len(data), 7)), catalog=CATALOG)
    assert codes(whole) == codes(pieces)


# -- interchange (TA1) ---------------------------------------------------------------------


def test_iea02_must_match_isa13():
    issue = only(validate(interchange_text(iea02="000000906")), "TA105:001")
    assert issue.segment_id == "IEA" and issue.element == 2


def test_iea01_must_count_the_groups():
    only(validate(interchange_text(iea01="2")), "TA105:021")


def test_isa_fixed_width_is_enforced_with_the_element_named_when_strict():
    data = interchange_text().replace(b"BUYERCO        *", b"BUYERCO*", 1)
    issue = only(validate(data, strict=True), "TA105:006")
    assert issue.element == 6
    assert "must be exactly 15" in issue.message
    tolerant = validate(data)
    assert tolerant.accepted
    assert [t.name for t in tolerant.all_tolerated()] == ["isa-fields-not-padded"]
    assert tolerant.interchanges[0].sender_id == "BUYERCO"


def test_isa_date_must_be_real():
    data = interchange_text().replace(b"*261121*", b"*261321*", 1)
    only(validate(data), "TA105:014")


def test_unsupported_control_version_is_refused_when_strict():
    data = interchange_text().replace(b"*00401*", b"*00200*", 1)
    only(validate(data, strict=True), "TA105:003")
    tolerant = validate(data)  # read with the version GS08 names
    assert tolerant.accepted
    assert [t.name for t in tolerant.all_tolerated()] == ["isa12-unknown-version"]


def test_truncated_file_is_a_premature_end():
    data = interchange_text()
    report = validate(data[: data.index(b"GE*")])
    assert "TA105:023" in codes(report)
    assert not report.accepted


def test_garbage_after_iea_is_refused():
    report = validate(interchange_text() + b"garbage\n")
    assert "TA105:022" in codes(report)


def test_a_repeated_interchange_is_left_to_the_store():
    # Two copies of one interchange are each well-formed; refusing to apply the second is the
    # pipeline's duty (it knows every ISA13 already processed, not only this file's).
    report = validate(interchange_text() + interchange_text())
    assert report.accepted and len(report.interchanges) == 2


def test_gs_date_must_be_valid():
    data = interchange_text().replace(b"*20261121*1200*905", b"*20261131*1200*905")
    issue = only(validate(data), "TA105:024")
    assert issue.segment_id == "GS" and issue.element == 4


def test_several_interchanges_with_different_delimiters():
    first = interchange_text()
    second = (
        interchange_text(isa13="000000906", gs06="906")
        .replace(b"*", b"|")
        .replace(b"~", b"\x1c")
        .replace(b"|>", b"|^")
    )
    report = validate(first + second)
    assert report.accepted, codes(report)
    assert [i.delimiters.element for i in report.interchanges] == ["*", "|"]


# -- functional group (AK9) ------------------------------------------------------------------


def test_ge02_must_match_gs06():
    only(validate(interchange_text(ge02="906")), "AK905:4")


def test_ge01_must_count_the_sets():
    only(validate(interchange_text(ge01="3")), "AK905:5")


def test_missing_ge_is_reported():
    data = interchange_text().replace(b"GE*1*905~\n", b"")
    only(validate(data), "AK905:3")


def test_unsupported_version_is_refused_by_group():
    only(validate(interchange_text(version="002001")), "AK905:2")


def test_duplicate_group_control_number_in_an_interchange():
    one = interchange_text()
    head, rest = one.split(b"GS*", 1)
    group = b"GS*" + rest[: rest.index(b"IEA*")]
    data = head + group + group + b"IEA*2*000000905~\n"
    only(validate(data), "AK905:19")


# -- transaction set (AK5) ---------------------------------------------------------------------


def test_se01_must_count_the_segments():
    issue = only(validate(interchange_text(se01_delta=1)), "AK502:4")
    assert issue.segment_id == "SE" and issue.element == 1


def test_se02_must_match_st02():
    data = interchange_text().replace(b"*0001~\nGE", b"*0002~\nGE")
    only(validate(data), "AK502:3")


def test_gs01_must_agree_with_st01():
    issue = only(validate(interchange_text(functional_id="IN")), "AK502:6")
    assert "GS01 PO, not IN" in issue.message


def test_unknown_transaction_set_is_not_supported():
    report = validate(interchange_text(set_id="864", functional_id="TX"))
    only(report, "AK502:1")
    assert not report.accepted


def test_duplicate_set_control_number_in_a_group():
    data = interchange_text([purchase_order_body(), purchase_order_body()])
    data = data.replace(b"ST*850*0002", b"ST*850*0001").replace(b"SE*10*0002", b"SE*10*0001")
    only(validate(data), "AK502:23")


def test_missing_se_is_reported():
    data = interchange_text().replace(b"SE*10*0001~\n", b"")
    only(validate(data), "AK502:2")


# -- segments (AK3) ----------------------------------------------------------------------------


def test_mandatory_segment_missing():
    body = replace_segment(purchase_order_body(), "BEG", None)
    issue = only(validate(interchange_text([body])), "AK304:3")
    assert issue.segment_id == "BEG"


def test_mandatory_loop_missing():
    body = [s for s in purchase_order_body() if not s.startswith(("PO1", "PID"))]
    issue = only(validate(interchange_text([body])), "AK304:3")
    assert issue.segment_id == "PO1" and "loop" in issue.message


def test_segment_out_of_sequence():
    body = purchase_order_body()
    body.insert(len(body) - 1, "REF*IA*999")
    issue = only(validate(interchange_text([body])), "AK304:7")
    assert issue.segment_id == "REF"


def test_segment_over_maximum_use():
    body = purchase_order_body()
    body[3:3] = ["DTM*002*20261201"] * 10
    only(validate(interchange_text([body])), "AK304:5")


def test_loop_over_maximum_repeat():
    body = purchase_order_body()
    body.insert(-1, "CTT*1")
    body.append("CTT*1")
    only(validate(interchange_text([body])), "AK304:4")


def test_unrecognized_segment_id():
    body = purchase_order_body()
    body.insert(2, "ZZZ*1")
    issue = only(validate(interchange_text([body])), "AK304:1")
    assert issue.position_in_set == 4


def test_segment_of_another_set():
    body = purchase_order_body()
    body.insert(2, "AK1*PO*1")
    only(validate(interchange_text([body])), "AK304:6")


def test_empty_segment_is_refused():
    body = purchase_order_body()
    data = interchange_text([body]).replace(b"REF*DP*042~", b"REF*DP*042~~")
    report = validate(data)
    assert "AK304:1" in codes(report)
    assert "empty segment" in only(report, "AK304:1").message


def test_the_set_reports_segments_in_error():
    body = replace_segment(purchase_order_body(), "BEG", None)
    assert "AK502:5" in codes(validate(interchange_text([body])))


# -- elements (AK4) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("beg", "label", "element"),
    [
        ("BEG*00*SA**20261121", "AK403:1", 3),
        ("BEG*00*SA*PO-1*20261121*20261121*EXTRA", "AK403:3", 6),
        ("BEG*0*SA*PO-1**20261121", "AK403:4", 1),
        ("BEG*00*SA*" + "P" * 23 + "**20261121", "AK403:5", 3),
        ("BEG*00*SA*PO\x01**20261121", "AK403:6", 3),
        ("BEG*99*SA*PO-1**20261121", "AK403:7", 1),
        ("BEG*00*SA*PO-1**20260230", "AK403:8", 5),
    ],
)
def test_element_faults_have_their_codes(beg, label, element):
    body = replace_segment(purchase_order_body(), "BEG", beg)
    issue = only(validate(interchange_text([body])), label)
    assert issue.segment_id == "BEG" and issue.element == element
    assert "AK304:8" in codes(validate(interchange_text([body])))


def test_invalid_time():
    body = replace_segment(purchase_order_body(), "DTM", "DTM*002*20261201*2460")
    issue = only(validate(interchange_text([body])), "AK403:9")
    assert issue.element == 3


def test_paired_rule():
    body = replace_segment(purchase_order_body(), "PO1*1", "PO1*1*2*EA*9.99**UP")
    issue = only(validate(interchange_text([body])), "AK403:2")
    assert issue.element == 7 and "P0607" in issue.message


def test_required_rule():
    body = replace_segment(purchase_order_body(), "REF", "REF*DP")
    only(validate(interchange_text([body])), "AK403:2")


def test_numeric_and_decimal_types():
    body = replace_segment(purchase_order_body(), "PO1*1", "PO1*1*2.5.1*EA*9.99**UP*X")
    issue = only(validate(interchange_text([body])), "AK403:6")
    assert issue.element == 2
    body = replace_segment(purchase_order_body(), "CTT", "CTT*1.5")
    assert only(validate(interchange_text([body])), "AK403:6").element == 1


def test_decimal_length_counts_digits_only():
    ok = replace_segment(purchase_order_body(), "PO1*1", "PO1*1*-12345678901234.5*EA*9.99**UP*X")
    assert validate(interchange_text([ok])).accepted
    long = replace_segment(purchase_order_body(), "PO1*1", "PO1*1*1234567890123456*EA*1**UP*X")
    only(validate(interchange_text([long])), "AK403:5")


def test_simple_element_with_components_is_refused():
    body = replace_segment(purchase_order_body(), "BEG", "BEG*00*SA*PO>1**20261121")
    only(validate(interchange_text([body])), "AK403:13")


def test_composite_components_are_checked():
    good = replace_segment(purchase_order_body(), "REF", "REF*DP*042**VN>12345")
    assert validate(interchange_text([good])).accepted
    bad = replace_segment(purchase_order_body(), "REF", "REF*DP*042**VN")
    issue = only(validate(interchange_text([bad])), "AK403:1")
    assert issue.element == 4 and issue.component == 2


def test_repetition_where_not_allowed_in_5010():
    body = replace_segment(purchase_order_body(), "REF", "REF*DP*042^043")
    report = validate(interchange_text([body], version="005010", control_version="00501"))
    only(report, "AK403:12")


def test_repetition_separator_is_data_before_5010():
    body = replace_segment(purchase_order_body(), "REF", "REF*DP*042^043")
    assert validate(interchange_text([body])).accepted


def test_short_dates_are_accepted_before_4010():
    body = replace_segment(purchase_order_body(), "BEG", "BEG*00*SA*PO-1**261121")
    data = interchange_text([body], version="003040", control_version="00304")
    data = data.replace(b"*20261121*1200*905", b"*261121*1200*905")
    assert validate(data).accepted, codes(validate(data))
    assert not validate(interchange_text([body])).accepted


# -- positions --------------------------------------------------------------------------------


def test_issue_positions_name_line_segment_and_element():
    body = replace_segment(purchase_order_body(), "BEG", "BEG*00*SA*PO-1**20261321")
    issue = only(validate(interchange_text([body])), "AK403:8")
    assert (issue.line, issue.segment_index, issue.segment_id, issue.element) == (4, 4, "BEG", 5)
    assert issue.position_in_set == 2
    assert issue.level is Level.ELEMENT
    assert issue.describe().startswith("AK403:8 at line 4, segment 4 (BEG05)")


def test_parse_keeps_documents_with_structured_values():
    body = replace_segment(purchase_order_body(), "REF", "REF*DP*042**VN>12345")
    documents, report = parse_bytes(interchange_text([body]), catalog=CATALOG)
    assert report.accepted
    transaction = documents[0].groups[0].transactions[0]
    ref = next(s for s in transaction.segments if s.id == "REF")
    assert ref.elements[3] == ("VN", "12345")
    assert transaction.segments[0].id == "BEG"
    assert transaction.segments[-1].id == "CTT"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (b"*261103*0915*", b"*26110\xb2*0915*", "TA105:014"),  # a superscript two in ISA09
        (b"SE*", b"SE*\xb2", "AK502:4"),
        (b"GE*1*", b"GE*\xb9*", "AK905:5"),
        (b"IEA*1*", b"IEA*\xb3*", "TA105:021"),
    ],
)
def test_digit_signs_that_are_not_ascii_digits_are_faults_not_crashes(
    old: bytes, new: bytes, expected: str
):
    good = (Path(__file__).resolve().parents[3] / "samples/850/850_004010_good.x12").read_bytes()
    report = read_bytes(good.replace(old, new, 1))
    assert not report.accepted
    assert any(i.describe().startswith(expected) for i in report.all_issues()), [
        i.describe() for i in report.all_issues()
    ]


def test_empty_trailing_elements_are_noted_in_every_file_not_only_the_first_read():
    """The memory of segments proven valid (shared by the files a process reads) must not
    spare a later file the warning."""
    good = (Path(__file__).resolve().parents[3] / "samples/850/850_004010_good.x12").read_bytes()
    data = good.replace(b"N1*ST*Marisol Ortega~", b"N1*ST*Marisol Ortega**~", 1)
    for _ in range(3):
        for strict in (False, True):
            report = read_chunks([data], strict=strict)
            assert [t.name for t in report.all_tolerated()] == ["trailing-empty-elements"]
