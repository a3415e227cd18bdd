"""Streaming X12 tokenizer: bytes in, segments (lists of element strings) out.

Strategy: bytes are decoded as latin-1 (one character per byte, so any delimiter byte and any
non-ASCII byte survive unchanged and nothing can fail to decode), then split on the segment
terminator with `str.split`, which does the byte scanning in C. Only the unfinished tail of a chunk
is kept between calls, so memory is bounded by the largest segment plus one chunk. Each ISA sets
the delimiters of its interchange; after an IEA the tokenizer looks for the next ISA, which may use
other delimiters. CR and LF around segments are ignored; a segment of nothing between two visible
terminators is reported as an empty segment.

The tokenizer does not judge structure (that is `gateway.x12.reader`): it reports only what stops it
from cutting the bytes into segments (an unreadable ISA, text outside any interchange, a file ending
inside a segment) as `Issue` values in `issues`.
"""

from __future__ import annotations

from collections.abc import Iterator

from gateway.x12.model import Delimiters, Issue, Level, TA1Code

ISA_LENGTH = 106
# Offsets of the 16 element separators of a fixed-width ISA (ISA01 starts at 4).
ISA_SEPARATOR_OFFSETS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
# TA105 note code for a fault in each ISA element (ISA01..ISA16).
ISA_ELEMENT_CODES = (
    TA1Code.AUTHORIZATION_QUALIFIER_INVALID,
    TA1Code.AUTHORIZATION_INVALID,
    TA1Code.SECURITY_QUALIFIER_INVALID,
    TA1Code.SECURITY_INVALID,
    TA1Code.SENDER_QUALIFIER_INVALID,
    TA1Code.SENDER_ID_INVALID,
    TA1Code.RECEIVER_QUALIFIER_INVALID,
    TA1Code.RECEIVER_ID_INVALID,
    TA1Code.DATE_INVALID,
    TA1Code.TIME_INVALID,
    TA1Code.STANDARDS_ID_INVALID,
    TA1Code.VERSION_ID_INVALID,
    TA1Code.CONTROL_NUMBER_INVALID,
    TA1Code.ACK_REQUESTED_INVALID,
    TA1Code.TEST_INDICATOR_INVALID,
    TA1Code.COMPONENT_SEPARATOR_INVALID,
)
NEWLINES = "\r\n"
BOM = "\xef\xbb\xbf"  # UTF-8 byte order mark, as latin-1 characters
# The longest text kept while looking for an ISA before it is declared not X12.
MAX_SEEK = 4096
FIRST_REPETITION_VERSION = "00501"


def repetition_separator(isa11: str, control_version: str) -> str | None:
    """ISA11 is a repetition separator from control version 00501 on; before, it is `U`."""
    if control_version >= FIRST_REPETITION_VERSION and len(isa11) == 1 and not isa11.isalnum():
        return isa11
    return None


class Tokenizer:
    """Cuts a stream of bytes into segments. Feed it chunks, then call `close()`.

    After each segment is yielded, `line` and `index` give its position (1-based line of its
    first character, 1-based count of segments in the stream) and `delimiters` the delimiters in
    force.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._in_interchange = False
        self._started = False
        self._closed = False
        self._next_line = 1  # line at the start of _pending
        self.line = 0
        self.index = 0
        self.delimiters: Delimiters | None = None
        self.isa_widths_ok = True
        self.issues: list[Issue] = []

    # -- public ------------------------------------------------------------------------------
    def feed(self, data: bytes) -> Iterator[list[str]]:
        """Add bytes; yield every segment completed by them."""
        text = data.decode("latin-1")
        if not self._started:
            if not text:
                return
            self._started = True
            if text.startswith(BOM):
                text = text[len(BOM) :]
        self._pending += text
        yield from self._drain(final=False)

    def close(self) -> Iterator[list[str]]:
        """Signal the end of the stream; yield the last segment if the file ends without its
        terminator where that is tolerable (a newline-terminated file missing its last newline)."""
        if self._closed:
            return
        self._closed = True
        yield from self._drain(final=True)
        rest = self._pending
        self._pending = ""
        if self._in_interchange and rest.strip(NEWLINES):
            assert self.delimiters is not None
            if self.delimiters.segment in NEWLINES:
                yield from self._emit_tail(rest)
            else:
                self._file_issue(
                    TA1Code.PREMATURE_END_OF_FILE,
                    f"file ends inside a segment: {rest.strip(NEWLINES)[:30]!r} has no segment "
                    f"terminator {self.delimiters.segment!r}",
                )
        elif not self._in_interchange and rest.strip(NEWLINES + " \t\x00\x1a"):
            self._garbage(rest)

    # -- internals ---------------------------------------------------------------------------
    def _file_issue(self, code: str, message: str, *, segment_id: str = "", line: int = 0) -> None:
        self.issues.append(
            Issue(
                Level.INTERCHANGE,
                code,
                message,
                line=line or self._next_line,
                segment_index=self.index + 1,
                segment_id=segment_id,
            )
        )

    def _garbage(self, text: str) -> None:
        shown = text.strip(NEWLINES)[:30]
        where = "before the first ISA" if self.index == 0 else "after IEA"
        self._file_issue(
            TA1Code.CONTROL_STRUCTURE_INVALID,
            f"text outside any interchange {where}: {shown!r}",
        )

    def _drain(self, *, final: bool) -> Iterator[list[str]]:
        while True:
            if self._in_interchange:
                yield from self._split_segments()
                if self._in_interchange:
                    return
            elif not self._seek_isa(final=final):
                return
            else:
                isa = self._read_isa(final=final)
                if isa is None:
                    return
                yield isa

    def _seek_isa(self, *, final: bool) -> bool:
        """Skip newlines and find the next ISA in _pending; True once _pending starts with one."""
        text = self._pending
        stripped = text.lstrip(NEWLINES)
        if stripped is not text:
            self._next_line += text.count("\n", 0, len(text) - len(stripped))
            self._pending = text = stripped
        if text.startswith("ISA"):
            return True
        if not text or (len(text) < 3 and not final):
            return False
        found = text.find("ISA")
        if found < 0:
            if final or len(text) > MAX_SEEK:
                self._garbage(text)
                self._next_line += text.count("\n")
                self._pending = "" if final else text[-2:]
            return False
        self._garbage(text[:found])
        self._next_line += text.count("\n", 0, found)
        self._pending = text[found:]
        return True

    def _read_isa(self, *, final: bool) -> list[str] | None:
        """Read the ISA at the start of _pending; set the delimiters; return its elements."""
        text = self._pending
        if len(text) < ISA_LENGTH + 1 and not final:
            return None
        element = text[3] if len(text) > 3 else ""
        if not element or element.isalnum() or element in NEWLINES + " ":
            self._file_issue(
                TA1Code.ELEMENT_SEPARATOR_INVALID,
                f"ISA element separator {element!r} is not a usable delimiter",
                segment_id="ISA",
            )
            self._pending = text[3:]
            return None
        fixed = len(text) > ISA_LENGTH - 1 and all(
            text[offset] == element for offset in ISA_SEPARATOR_OFFSETS
        )
        end: int | None = ISA_LENGTH - 1  # index of the terminator
        if not fixed:
            end = self._lenient_isa_end(text, element)
            if end is None or end >= len(text):
                if not final and len(text) < MAX_SEEK:
                    return None
                self._file_issue(
                    TA1Code.PREMATURE_END_OF_FILE
                    if end is not None or final
                    else TA1Code.CONTROL_STRUCTURE_INVALID,
                    "file ends inside the ISA segment" if final else "ISA segment is unreadable",
                    segment_id="ISA",
                )
                self._pending = "" if final else text[3:]
                return None
        assert end is not None
        terminator = text[end]
        elements = text[:end].split(element)
        self.index += 1
        self.line = self._next_line
        self._next_line += text.count("\n", 0, end)
        self._pending = text[end + 1 :]
        sub_element = elements[16] if len(elements) > 16 else ""
        version = elements[12] if len(elements) > 12 else ""
        repetition = repetition_separator(elements[11] if len(elements) > 11 else "", version)
        self.isa_widths_ok = fixed
        if terminator.isalnum() or terminator in (element, sub_element, repetition):
            self._file_issue(
                TA1Code.SEGMENT_TERMINATOR_INVALID,
                f"segment terminator {terminator!r} after ISA16 is not a usable delimiter",
                segment_id="ISA",
                line=self.line,
            )
        if terminator == "\r" and self._pending.startswith("\n"):
            terminator = "\n"
            self._pending = self._pending[1:]
            self._next_line += 1
        elif terminator == "\n":
            self._next_line += 1
        self.delimiters = Delimiters(element, sub_element, terminator, repetition)
        self._in_interchange = True
        return elements

    @staticmethod
    def _lenient_isa_end(text: str, element: str) -> int | None:
        """Index of the terminator of an ISA that is not fixed width: the character after the
        one-character ISA16 that follows the 16th element separator."""
        position = 0
        for _ in range(16):
            position = text.find(element, position + 1)
            if position < 0 or position > MAX_SEEK:
                return None
        return position + 2

    def _split_segments(self) -> Iterator[list[str]]:
        assert self.delimiters is not None
        terminator = self.delimiters.segment
        separator = self.delimiters.element
        parts = self._pending.split(terminator)
        last = len(parts) - 1
        line = self._next_line
        newline_terminated = terminator == "\n"
        visible_terminator = terminator not in NEWLINES
        for number, raw in enumerate(parts):
            if number == last:
                break
            if newline_terminated:
                segment = raw.rstrip("\r") if raw.endswith("\r") else raw
                self.line = line
                line += 1
                if not segment:
                    continue  # a blank line between newline-terminated segments
            elif "\n" in raw or "\r" in raw:
                segment = raw.lstrip(NEWLINES)
                line += raw.count("\n", 0, len(raw) - len(segment))
                self.line = line
                line += segment.count("\n")
                segment = segment.rstrip(NEWLINES)
            else:
                segment = raw
                self.line = line
            self.index += 1
            if not segment:
                if visible_terminator:
                    self._next_line = line
                    yield [""]
                else:
                    self.index -= 1
                continue
            elements = segment.split(separator)
            self._next_line = line
            yield elements
            if elements[0] == "IEA":
                self._pending = terminator.join(parts[number + 1 :])
                self._in_interchange = False
                return
        self._pending = parts[last]
        self._next_line = line

    def _emit_tail(self, rest: str) -> Iterator[list[str]]:
        assert self.delimiters is not None
        segment = rest.strip(NEWLINES)
        self.index += 1
        self.line = self._next_line + rest.count("\n", 0, len(rest) - len(rest.lstrip(NEWLINES)))
        elements = segment.split(self.delimiters.element)
        if elements[0] == "IEA":
            self._in_interchange = False
        yield elements
