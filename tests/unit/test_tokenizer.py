"""The streaming tokenizer: delimiters from each ISA, chunking, line positions, odd bytes."""

from __future__ import annotations

from gateway.x12.model import TA1Code
from gateway.x12.tokenizer import Tokenizer
from tests.builders import isa, simple_interchange


def _all(data: bytes, chunk: int) -> tuple[list[tuple[list[str], int, int]], Tokenizer]:
    tokenizer = Tokenizer()
    found = []
    for start in range(0, len(data), chunk):
        found.extend(tokenizer.segments(data[start : start + chunk], final=False))
    found.extend(tokenizer.segments(b"", final=True))
    return found, tokenizer


def tokenize(data: bytes, chunk: int = 1 << 16) -> tuple[list[list[str]], Tokenizer]:
    found, tokenizer = _all(data, chunk)
    return [elements for elements, _, _ in found], tokenizer


def positions(data: bytes, chunk: int = 1 << 16) -> list[tuple[str, int, int]]:
    found, _ = _all(data, chunk)
    return [(elements[0], line, index) for elements, line, index in found]


def test_delimiters_are_read_from_the_isa():
    data = simple_interchange(element="|", sub="^", terminator="!", newline="")
    segments, tokenizer = tokenize(data)
    assert [s[0] for s in segments] == ["ISA", "GS", "ST", "BEG", "SE", "GE", "IEA"]
    assert tokenizer.delimiters is not None
    assert tokenizer.delimiters.element == "|"
    assert tokenizer.delimiters.sub_element == "^"
    assert tokenizer.delimiters.segment == "!"
    assert len(segments[0]) == 17
    assert not tokenizer.issues


def test_control_characters_can_be_delimiters():
    data = simple_interchange(element="\x1d", sub="@", terminator="\x1c", newline="")
    segments, tokenizer = tokenize(data)
    assert segments[1][:2] == ["GS", "PO"]
    assert not tokenizer.issues


def test_every_chunking_gives_the_same_segments():
    data = simple_interchange() + simple_interchange(element="|", control="000000002")
    whole, _ = tokenize(data)
    for size in (1, 2, 3, 7, 64, 105, 106, 107, 500):
        assert tokenize(data, size)[0] == whole, size


def test_crlf_blank_lines_and_bom_are_ignored():
    body = simple_interchange(newline="\r\n").replace(b"~\r\nST", b"~\r\n\r\n\r\nST")
    segments, tokenizer = tokenize(b"\xef\xbb\xbf" + body)
    assert [s[0] for s in segments][:3] == ["ISA", "GS", "ST"]
    assert not tokenizer.issues


def test_newline_as_terminator_and_missing_final_newline_are_accepted():
    data = simple_interchange(terminator="\n", newline="").rstrip(b"\n")
    segments, tokenizer = tokenize(data)
    assert segments[-1][0] == "IEA"
    assert not tokenizer.issues


def test_lines_and_indexes_point_at_each_segment():
    data = simple_interchange(newline="\n")
    found = positions(data, 5)
    assert found[0] == ("ISA", 1, 1)
    assert found[3] == ("BEG", 4, 4)
    assert found[-1] == ("IEA", 7, 7)


def test_lines_are_counted_when_segments_share_lines():
    data = simple_interchange(newline="").replace(b"~GS", b"~\n\nGS")
    found = positions(data)
    assert found[1] == ("GS", 3, 2)
    assert found[2] == ("ST", 3, 3)


def test_non_ascii_bytes_are_kept_unchanged():
    data = simple_interchange(beg_note="CAF\xc3\x89 \xff")
    segments, tokenizer = tokenize(data)
    beg = segments[3]
    assert beg[-1].encode("latin-1") == b"CAF\xc3\x89 \xff"
    assert not tokenizer.issues


def test_empty_segment_is_yielded_as_an_empty_id():
    data = simple_interchange(newline="").replace(b"~SE", b"~~SE")
    segments, _ = tokenize(data)
    assert [""] in segments


def test_truncated_file_is_reported():
    data = simple_interchange(newline="")
    _segments, tokenizer = tokenize(data[:-6])
    assert tokenizer.issues[0].code == TA1Code.PREMATURE_END_OF_FILE
    assert "no segment terminator" in tokenizer.issues[0].message


def test_text_after_iea_is_reported():
    data = simple_interchange() + b"THIS IS NOT X12\n"
    _, tokenizer = tokenize(data)
    assert tokenizer.issues[0].code == TA1Code.CONTROL_STRUCTURE_INVALID
    assert "after IEA" in tokenizer.issues[0].message


def test_text_before_isa_is_reported():
    _, tokenizer = tokenize(b"hello\n" + simple_interchange())
    assert "before the first ISA" in tokenizer.issues[0].message


def test_isa_not_fixed_width_is_still_tokenized():
    data = simple_interchange().replace(b"SENDER         ", b"SENDER", 1)
    segments, tokenizer = tokenize(data)
    assert not tokenizer.isa_widths_ok
    assert segments[0][6] == "SENDER"
    assert [s[0] for s in segments][-1] == "IEA"


def test_alphanumeric_element_separator_is_refused():
    _, tokenizer = tokenize(b"ISAX00X" + b" " * 200)
    assert tokenizer.issues[0].code == TA1Code.ELEMENT_SEPARATOR_INVALID


def test_memory_is_bounded_by_the_largest_segment():
    line = b"PO1*1*1*EA*1.00**UP*012345678905~\n"
    body = line * 5000
    data = simple_interchange(extra=body)
    tokenizer = Tokenizer()
    largest_pending = 0
    chunk = 64
    for start in range(0, len(data), chunk):
        for _ in tokenizer.feed(data[start : start + chunk]):
            largest_pending = max(largest_pending, len(tokenizer._pending))
        largest_pending = max(largest_pending, len(tokenizer._pending))
    list(tokenizer.close())
    assert largest_pending <= len(isa()) + chunk + len(line)


def test_isa_header_is_parsed_with_sixteen_elements():
    segments, _ = tokenize(simple_interchange())
    assert segments[0][12] == "00401"
    assert segments[0][16] == ">"


def test_crlf_after_every_terminator_keeps_line_numbers():
    data = simple_interchange(newline="\r\n")
    found = positions(data, 9)
    assert found[3] == ("BEG", 4, 4)
    assert found[-1] == ("IEA", 7, 7)


def test_mixed_layout_keeps_line_numbers():
    data = simple_interchange(newline="\n").replace(b"~\nBEG", b"~BEG")
    found = positions(data)
    assert found[2] == ("ST", 3, 3)
    assert found[3] == ("BEG", 3, 4)
    assert found[4] == ("SE", 4, 5)


def test_a_terminator_equal_to_the_element_separator_is_reported():
    data = simple_interchange(newline="").replace(b"*P*>~", b"*P*>*", 1)
    _, tokenizer = tokenize(data)
    assert tokenizer.issues[0].code == TA1Code.SEGMENT_TERMINATOR_INVALID
    assert "element separator" in tokenizer.issues[0].message


def test_an_empty_isa16_leaves_the_terminator_beside_it():
    for newline in ("", "\n", "\r\n"):
        data = simple_interchange(sub="", newline=newline)
        for chunk in (1, 3, 104, 105, 106, 1 << 16):
            segments, tokenizer = tokenize(data, chunk)
            assert [s[0] for s in segments] == ["ISA", "GS", "ST", "BEG", "SE", "GE", "IEA"]
            assert len(segments[0]) == 17 and segments[0][16] == ""
            assert tokenizer.delimiters is not None
            assert (tokenizer.delimiters.sub_element, tokenizer.delimiters.segment) == ("", "~")
            assert not tokenizer.isa_widths_ok and not tokenizer.issues


def test_a_missing_isa16_and_its_separator_leave_the_terminator_after_isa15():
    data = simple_interchange().replace(b"*P*>~", b"*P~", 1)
    segments, tokenizer = tokenize(data)
    assert [s[0] for s in segments][-1] == "IEA"
    assert segments[0][15:] == ["P", ""]
    assert tokenizer.delimiters is not None and tokenizer.delimiters.segment == "~"


def test_a_component_separator_before_a_newline_terminator_stays_one():
    data = simple_interchange(sub="~", terminator="\n", newline="")
    segments, tokenizer = tokenize(data)
    assert tokenizer.delimiters is not None
    assert (tokenizer.delimiters.sub_element, tokenizer.delimiters.segment) == ("~", "\n")
    assert segments[1][0] == "GS" and not tokenizer.issues


def test_a_fixed_width_isa_is_read_by_position():
    data = simple_interchange().replace(b"*U*00401*", b"***00501*", 1)
    segments, _ = tokenize(data)
    assert len(segments[0]) == 17
    assert segments[0][11:13] == ["*", "00501"]
