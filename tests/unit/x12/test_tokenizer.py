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


def wrap(data: bytes, width: int, line_break: bytes = b"\r\n") -> bytes:
    """`data` as a mainframe or blocked transfer writes it: a line break every `width` bytes."""
    flat = data.replace(b"\n", b"")
    return line_break.join(flat[i : i + width] for i in range(0, len(flat), width)) + line_break


def test_a_wrapped_file_is_read_without_its_line_breaks_in_any_chunks():
    data = simple_interchange(extra=b"PO1*1*2*EA*9.99**VP*A-LONG-PRODUCT-CODE~\n" * 9)
    expected, _ = tokenize(data)
    for width, line_break in ((80, b"\r\n"), (80, b"\n"), (132, b"\r\n"), (40, b"\n")):
        wrapped = wrap(data, width, line_break)
        for chunk in (1, 2, 3, 79, 81, 1 << 16):
            segments, tokenizer = tokenize(wrapped, chunk)
            assert segments == expected, (width, line_break, chunk)
            assert not tokenizer.issues
            (noted,) = tokenizer.tolerated
            assert (noted.name, noted.line) == ("line-wrapped", 1)
            assert f"wrapped at {width} characters" in noted.message


def test_a_wrapped_file_gives_the_lines_of_the_file_as_it_came():
    data = simple_interchange(extra=b"PO1*1*2*EA*9.99**VP*A-LONG-PRODUCT-CODE~\n" * 9)
    found = positions(wrap(data, 80))
    flat = data.replace(b"\n", b"").decode()
    for segment_id, line, _ in found:
        start = flat.index(segment_id + "*") if segment_id != "PO1" else 0
        if segment_id in ("ISA", "GS", "ST", "BEG", "SE", "GE", "IEA"):
            assert line == start // 80 + 1, segment_id
    po1_lines = [line for segment_id, line, _ in found if segment_id == "PO1"]
    assert po1_lines == sorted(po1_lines) and po1_lines[-1] > po1_lines[0] > 2


def test_strict_reading_does_not_unwrap():
    tokenizer = Tokenizer(strict=True)
    segments = list(tokenizer.segments(wrap(simple_interchange(), 80)))
    assert not tokenizer.tolerated
    assert "\r\n" in segments[0][0][10]  # ISA10 holds the line break, for the reader to refuse


def test_a_file_laid_out_one_segment_a_line_is_not_wrapped_even_when_its_lines_are_equal():
    same = [b"REF*ZZ*" + str(n).encode() * 3 + b"~" for n in range(1, 10)]
    data = simple_interchange(newline="\n", extra=b"\n".join(same) + b"\n")
    _, tokenizer = tokenize(data)
    assert not tokenizer.tolerated and not tokenizer.issues
    # lines of the ISA's length, each ending a segment: still only layout
    body = [b"REF*ZZ*" + b"X" * 98 + b"~" for _ in range(5)]
    data = isa().encode() + b"\n" + b"\n".join(body) + b"\n"
    _, tokenizer = tokenize(data)
    assert not tokenizer.tolerated


def test_a_line_longer_than_the_width_ends_the_unwrapping_and_is_reported():
    data = wrap(simple_interchange(extra=b"PO1*1*2*EA*9.99**VP*CODE~\n" * 20), 80)
    lines = data.split(b"\r\n")
    assert len(lines) > 8
    lines[6] = lines[6] + b"EXTRA"  # one line longer: not a file wrapped at one width
    segments, tokenizer = tokenize(b"\r\n".join(lines))
    assert [t.name for t in tokenizer.tolerated] == ["line-wrapped"]
    assert any("\r\n" in "".join(s) for s in segments)  # read as it is from there on
    lines[2] = lines[2] + b"EXTRA"  # within the first lines: not taken for a wrapped file
    segments, tokenizer = tokenize(b"\r\n".join(lines))
    assert not tokenizer.tolerated and "\r\n" in segments[0][10]
