"""Streaming X12 tokenizer: bytes in, batches of raw segments out.

Strategy: bytes are decoded as latin-1 (one character per byte, so any delimiter byte and any
non-ASCII byte survive unchanged and nothing can fail to decode), then cut on the segment
terminator with `str.split`, which does the scanning in C. Only the unfinished tail of a chunk is
kept between calls, so memory is bounded by the largest segment plus one chunk. Each ISA sets the
delimiters of its interchange; after an IEA the tokenizer looks for the next ISA, which may use
other delimiters. CR and LF around segments are ignored; nothing between two visible terminators is
an empty segment.

Segments come out as raw strings in `Batch`es (the reader splits them into elements), each batch
with the delimiters in force and what it takes to give every segment its line number. The common
layouts (no line breaks at all, or exactly one line break after each terminator, or newline
terminators) are recognised once per chunk and need no work per segment; other layouts fall back to
counting line breaks segment by segment.

The ISA is read by position when it is fixed width (so a value holding the element separator is
still read as one element, for the reader to report), else element by element. An ISA one
character short, with an empty or missing ISA16, has its terminator where ISA16 should be: it is
read so when the next envelope segment (a GS) starts right after that character, or starts on the
next line and is itself ended by that character rather than by the line break. The rest of the
file is then cut where the partner meant, and the reader reports one precise fault (ISA16 empty)
instead of the faults of a file cut in the wrong places.

A file wrapped at a fixed width (a line break every 80, 128 or 132 characters, inside segments and
even inside the ISA, as mainframe and "blocked" transfers write them) is recognised from its first
lines and read with those line breaks removed (`Unwrap`): every line but the last has the same
width, and the text without them starts with a fixed-width ISA whose terminator is not a line
break. Positions are then given as lines of the file as it came.

The tokenizer does not judge structure (that is `gateway.x12.reader`): it reports only what stops it
from cutting the bytes into segments (an unreadable ISA, a segment terminator that cannot end
segments, text outside any interchange, a file ending inside a segment) as `Issue` values in
`issues`. Delimiters that clash with ISA16 or ISA11 are the reader's to report, as faults of those
elements.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from gateway.x12.model import TOLERANCES, Delimiters, Issue, Level, TA1Code, Tolerance

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
LAYOUT = " \t"  # besides line breaks, what may stand between segments (unless a delimiter)
PADDING = NEWLINES + LAYOUT + "\x00\x1a"  # what may stand outside interchanges
BOM = "\xef\xbb\xbf"  # UTF-8 byte order mark, as latin-1 characters
# The longest text kept while looking for an ISA before it is declared not X12.
MAX_SEEK = 4096
FIRST_REPETITION_VERSION = "00501"
# The segments that may follow an ISA: the first functional group, an interchange acknowledgement,
# X12.56 service segments, or the IEA of an empty interchange.
AFTER_ISA = ("GS", "TA1", "ISB", "ISE", "IEA")
# Longest look-ahead that tells whether a segment starts (`TA1` and its separator).
SEGMENT_START_LOOKAHEAD = 4
# A wrapped file's line width (without its line break) lies in this range; it is recognised from
# this many whole lines (fewer when the file is shorter).
WRAP_WIDTHS = range(40, 1025)
WRAP_SAMPLE_LINES = 4


def repetition_separator(isa11: str, control_version: str) -> str | None:
    """ISA11 is a repetition separator from control version 00501 on; before, it is `U`."""
    if (
        control_version >= FIRST_REPETITION_VERSION
        and len(isa11) == 1
        and not isa11.isalnum()
        and isa11 not in NEWLINES + " "
    ):
        return isa11
    return None


def _could_end_segments(character: str, element: str) -> bool:
    """Whether a character may be a segment terminator beside `element` as element separator."""
    return len(character) == 1 and not character.isalnum() and character not in (" ", element)


def _past_line_breaks(text: str, start: int) -> int:
    while start < len(text) and text[start] in NEWLINES:
        start += 1
    return start


def _undecided(text: str, needed: int, *, final: bool) -> bool:
    """Whether a look-ahead up to index `needed` must wait for more text."""
    return needed > len(text) and not final and len(text) < MAX_SEEK


def _starts_envelope(text: str, start: int, element: str, *, final: bool) -> bool | None:
    """Whether a segment that may follow an ISA starts at `start`, line breaks aside (None: the
    text so far cannot tell)."""
    start = _past_line_breaks(text, start)
    if _undecided(text, start + SEGMENT_START_LOOKAHEAD, final=final):
        return None
    return any(text.startswith(tag + element, start) for tag in AFTER_ISA)


def _segment_follows(text: str, start: int, element: str, *, final: bool) -> bool | None:
    """Whether, line breaks aside, the text at `start` is the end of the file or a segment id
    of two or three letters and digits with its separator (None: the text so far cannot tell)."""
    start = _past_line_breaks(text, start)
    if _undecided(text, start + SEGMENT_START_LOOKAHEAD, final=final):
        return None
    if start >= len(text):
        return final
    head = text[start : start + SEGMENT_START_LOOKAHEAD].split(element, 1)
    return len(head) == 2 and 2 <= len(head[0]) <= 3 and head[0].isalnum()


def _indented(raws: list[str], layout: str) -> bool:
    """Whether a segment of `raws` (cut by a fast path) starts with layout (a space, a tab):
    `min` finds it at C speed, as they sort before any letter or digit of a segment id."""
    lowest = min(raws, default="")
    if not lowest:
        lowest = min((raw for raw in raws if raw), default="")
    return bool(lowest) and lowest[0] in layout


@dataclass(slots=True)
class Unwrap:
    """Removes the line break that ends every line of a file wrapped at `width` characters, as the
    file streams in; a line longer than `width` ends the unwrapping (the rest is read as it is)."""

    width: int
    line_break: str
    column: int = 0  # characters of the current line passed
    carry: str = ""  # the start of a line break cut by the end of a chunk
    active: bool = True

    def __call__(self, text: str) -> str:
        if self.carry:
            text, self.carry = self.carry + text, ""
        pieces: list[str] = []
        at, end, size = 0, len(text), len(self.line_break)
        while at < end and self.active:
            need = self.width - self.column
            if end - at <= need:
                pieces.append(text[at:])
                self.column += end - at
                return "".join(pieces)
            pieces.append(text[at : at + need])
            at += need
            self.column = self.width
            if text.startswith(self.line_break, at):
                at += size
                self.column = 0
            elif end - at < size and self.line_break.startswith(text[at:]):
                self.carry = text[at:]
                return "".join(pieces)
            else:
                self.active = False
        pieces.append(text[at:])
        return "".join(pieces)

    def line_at(self, offset: int) -> int:
        """The line of the file as it came that holds character `offset` of the text unwrapped."""
        return offset // self.width + 1

    @classmethod
    def sniff(cls, head: str, *, final: bool) -> Unwrap | bool | None:
        """Whether the start of a file, `head`, is wrapped at a fixed width: an `Unwrap` when it
        is, None when it is not, False while `head` is too short to tell."""
        first = head.find("\n")
        if first < 0:
            return None if final or len(head) > MAX_SEEK else False
        line_break = "\r\n" if head[first - 1 : first] == "\r" else "\n"
        width = first + 1 - len(line_break)
        if width not in WRAP_WIDTHS:
            return None
        period = width + len(line_break)
        whole, at = 1, first  # lines read whole; the end of the last
        while whole < WRAP_SAMPLE_LINES:
            found = head.find("\n", at + 1)
            if found < 0:
                if len(head) > at + period:
                    return None  # a line longer than the width
                if final:
                    break
                return False
            if found != at + period or head[found + 1 - len(line_break)] != line_break[0]:
                if final and not head[found:].strip(NEWLINES):
                    break  # the last line, shorter, ends with a line break
                return None  # a line break where the width does not put it
            whole, at = whole + 1, found
        lines = [head[i * period : i * period + width] for i in range(whole)]
        if any("\r" in line for line in lines):
            return None
        tail = head[whole * period :]
        text = "".join(lines) + (tail if final else "")
        if len(text) < ISA_LENGTH or not text.startswith("ISA"):
            return None
        element, terminator = text[3], text[ISA_LENGTH - 1]
        if not _could_end_segments(element, "") or not _could_end_segments(terminator, element):
            return None
        if any(text[offset] != element for offset in ISA_SEPARATOR_OFFSETS):
            return None
        layout = LAYOUT.replace(element, "").replace(terminator, "")
        if all(line.rstrip(layout).endswith(terminator) for line in lines):
            return None  # every line ends a segment: a file laid out one line per segment
        return cls(width, line_break)


@dataclass(slots=True)
class Batch:
    """Consecutive raw segments read with one set of delimiters.

    Segment `i` of the batch is segment number `first_index + i` of the stream; its line is
    `lines[i]` when `lines` is given, else `first_line + i * line_step`. An ISA comes alone in a
    batch of its own, with its elements already split (`isa`).
    """

    raws: list[str]
    delimiters: Delimiters
    first_index: int
    first_line: int
    line_step: int = 0
    lines: list[int] | None = None
    isa: list[str] | None = None

    def line_of(self, offset: int) -> int:
        if self.lines is not None:
            return self.lines[offset]
        return self.first_line + offset * self.line_step


class Tokenizer:
    """Cuts a stream of bytes into segments. Feed it chunks, then call `close()`."""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        """Strict: no tolerance; layout whitespace and padding are faults, as the standard has
        them. Otherwise they are read as meant and listed in `tolerated`."""
        self.tolerated: list[Tolerance] = []
        self._pending = ""
        self._in_interchange = False
        self._started = False
        self._closed = False
        self._next_line = 1  # line at the start of _pending
        self.index = 0  # segments cut so far
        self.delimiters: Delimiters | None = None
        self.isa_widths_ok = True
        self.issues: list[Issue] = []
        self._head: str | None = None if strict else ""  # the start, until wrapping is known
        self._unwrap: Unwrap | None = None
        self._fed = 0  # characters added to _pending so far

    # -- public ------------------------------------------------------------------------------
    def feed(self, data: bytes) -> Iterator[Batch]:
        """Add bytes; yield the batches of segments completed by them."""
        text = data.decode("latin-1")
        if not self._started:
            if not text:
                return
            self._started = True
            if text.startswith(BOM):
                text = text[len(BOM) :]
                self._tolerate("byte-order-mark", 1, 0)
        text = self._unwrapped(text, final=False)
        self._pending += text
        self._fed += len(text)
        yield from self._drain(final=False)

    def _unwrapped(self, text: str, *, final: bool) -> str:
        """`text` without the line breaks of a wrapped file ('' while the start of the file is
        kept to tell whether it is wrapped)."""
        if self._head is not None:
            head = self._head + text
            found = Unwrap.sniff(head, final=final)
            if found is False:
                self._head = head
                return ""
            self._head = None
            if isinstance(found, Unwrap):
                self._unwrap = found
                width = f"{found.width} characters a line"
                self._tolerate("line-wrapped", 1, 0, f"the file is wrapped at {width}")
            text = head
        if self._unwrap is not None and self._unwrap.active:
            text = self._unwrap(text)
        return text

    def close(self) -> Iterator[Batch]:
        """Signal the end of the stream; yield what is left. A last segment without terminator
        is tolerated only where the terminator is a line break (a file missing its last newline);
        elsewhere the file is reported as truncated."""
        if self._closed:
            return
        self._closed = True
        if self._head:
            text = self._unwrapped("", final=True)
            self._pending += text
            self._fed += len(text)
        yield from self._drain(final=True)
        rest = self._pending
        self._pending = ""
        layout = NEWLINES + self._layout()
        if self._in_interchange and rest.strip(layout):
            assert self.delimiters is not None
            segment = rest.strip(layout)
            line = self._next_line + rest.count("\n", 0, len(rest) - len(rest.lstrip(layout)))
            whole_iea = self._whole_iea(segment)
            if self.delimiters.segment in NEWLINES or whole_iea:
                self.index += 1
                if segment.startswith("IEA"):
                    self._in_interchange = False
                if whole_iea and self.delimiters.segment not in NEWLINES:
                    self._tolerate("last-terminator-missing", line, self.index)
                yield Batch([segment], self.delimiters, self.index, line)
            else:
                self._file_issue(
                    TA1Code.PREMATURE_END_OF_FILE,
                    f"file ends inside a segment: {segment[:30]!a} has no segment terminator "
                    f"{self.delimiters.segment!a}",
                    line=line,
                )
        elif not self._in_interchange and rest.strip(NEWLINES + " \t\x00\x1a"):
            self._garbage(rest)

    def segments(self, data: bytes, *, final: bool = True) -> Iterator[tuple[list[str], int, int]]:
        """Convenience for tests and tools: every segment of `data` split into elements, with its
        line and index."""
        batches = list(self.feed(data)) + (list(self.close()) if final else [])
        for batch in batches:
            if batch.isa is not None:
                yield batch.isa, batch.first_line, batch.first_index
                continue
            separator = batch.delimiters.element
            for offset, raw in enumerate(batch.raws):
                yield raw.split(separator), batch.line_of(offset), batch.first_index + offset

    # -- internals ---------------------------------------------------------------------------
    def _file_issue(
        self, code: str, message: str, *, segment_id: str = "", line: int = 0, index: int = 0
    ) -> None:
        self.issues.append(
            Issue(
                Level.INTERCHANGE,
                code,
                message,
                line=line or self._next_line,
                segment_index=index or self.index + 1,
                segment_id=segment_id,
            )
        )

    def _garbage(self, text: str) -> None:
        shown = text.strip(NEWLINES)[:30]
        where = "before the first ISA" if self.index == 0 else "after IEA"
        self._file_issue(
            TA1Code.CONTROL_STRUCTURE_INVALID,
            f"text outside any interchange {where}: {shown!a}",
        )

    def _drain(self, *, final: bool) -> Iterator[Batch]:
        while True:
            if self._in_interchange:
                batch = self._split_segments()
                if batch is not None:
                    yield batch
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
        """Skip line breaks and find the next ISA; True once _pending starts with one."""
        text = self._pending
        stripped = text.lstrip(NEWLINES if self.strict else PADDING)
        if stripped is not text:
            removed = text[: len(text) - len(stripped)]
            if removed.strip(NEWLINES):
                self._tolerate("padding-outside-interchanges", self._next_line, self.index)
            self._next_line += removed.count("\n")
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

    def _read_isa(self, *, final: bool) -> Batch | None:
        """Read the ISA at the start of _pending and set the delimiters from it."""
        text = self._pending
        if len(text) < ISA_LENGTH + 1 and not final:
            return None
        element = text[3] if len(text) > 3 else ""
        if not element or element.isalnum() or element in NEWLINES + " ":
            self._file_issue(
                TA1Code.ELEMENT_SEPARATOR_INVALID,
                f"ISA element separator {element!a} is not a usable delimiter",
                segment_id="ISA",
            )
            self._pending = text[3:]
            return None
        fixed = len(text) > ISA_LENGTH - 1 and all(
            text[offset] == element for offset in ISA_SEPARATOR_OFFSETS
        )
        end: int | None = ISA_LENGTH - 1  # index of the terminator
        missing_isa16 = False  # no ISA16 and no separator before it: ISA15 meets the terminator
        if not fixed:
            found_end = self._lenient_isa_end(text, element, final=final)
            end, missing_isa16 = found_end if found_end is not None else (None, False)
        empty_isa16 = missing_isa16
        if end is not None and end < len(text) and not missing_isa16:
            found = self._isa16_is_empty(text, end, element, final=final)
            if found is None:
                return None  # more text is needed to tell
            if found:
                empty_isa16, end = True, end - 1
        if end is None or end >= len(text):
            if not final and len(text) < MAX_SEEK:
                return None
            self._file_issue(
                TA1Code.PREMATURE_END_OF_FILE if final else TA1Code.CONTROL_STRUCTURE_INVALID,
                "file ends inside the ISA segment" if final else "ISA segment is unreadable",
                segment_id="ISA",
            )
            self._pending = "" if final else text[3:]
            return None
        terminator = text[end]
        if fixed:
            bounds = (*ISA_SEPARATOR_OFFSETS, end)
            elements = [text[:3]] + [text[a + 1 : b] for a, b in pairwise(bounds)]
        else:
            elements = text[:end].split(element)
            if missing_isa16:
                elements.append("")
        self.index += 1
        line = self._next_line
        if self._unwrap is not None:
            line = self._unwrap.line_at(self._fed - len(text))
        self._next_line += text.count("\n", 0, end)
        self._pending = text[end + 1 :]
        sub_element = elements[16] if len(elements) > 16 else ""
        version = elements[12] if len(elements) > 12 else ""
        repetition = repetition_separator(elements[11] if len(elements) > 11 else "", version)
        self.isa_widths_ok = fixed and not empty_isa16
        if not _could_end_segments(terminator, element):
            self._file_issue(
                TA1Code.SEGMENT_TERMINATOR_INVALID,
                f"segment terminator {terminator!a} after ISA16 is not a usable delimiter"
                + (" (it is the element separator)" if terminator == element else ""),
                segment_id="ISA",
                line=line,
                index=self.index,
            )
        if terminator == "\r" and self._pending.startswith("\n"):
            terminator = "\n"
            self._pending = self._pending[1:]
            self._next_line += 1
        elif terminator == "\n":
            self._next_line += 1
        self.delimiters = Delimiters(element, sub_element, terminator, repetition)
        self._in_interchange = True
        return Batch([text[:end]], self.delimiters, self.index, line, isa=elements)

    @staticmethod
    def _lenient_isa_end(text: str, element: str, *, final: bool) -> tuple[int, bool] | None:
        """Index of the terminator of an ISA that is not fixed width, and whether ISA16 is
        missing: the character after the one-character ISA16 that follows the 16th element
        separator; or, when a one-character ISA15 is followed by a possible terminator and then
        by the next envelope segment rather than by a 16th separator, that character (ISA16 is
        missing with its separator). None when the text so far holds no end."""
        position = 0
        for count in range(16):
            if count == 15:
                after = position + 2  # past a one-character ISA15
                if after >= len(text):
                    return None
                if text[after - 1] != element and _could_end_segments(text[after], element):
                    follows = _starts_envelope(text, after + 1, element, final=final)
                    if follows is None:
                        return None
                    if follows:
                        return after, True
            position = text.find(element, position + 1)
            if position < 0 or position > MAX_SEEK:
                return None
        return position + 2, False

    @staticmethod
    def _isa16_is_empty(text: str, end: int, element: str, *, final: bool) -> bool | None:
        """Whether the character read as ISA16 (at `end - 1`) is in fact the segment terminator,
        ISA16 being empty: so it is when the supposed terminator (at `end`) is the start of the
        next envelope segment, or when it is a line break and the next segment (a GS, say) is
        ended by that character, not by the following line break. None when the text so far
        cannot tell."""
        candidate = text[end - 1]
        if candidate in NEWLINES or not _could_end_segments(candidate, element):
            return False
        if text[end] not in NEWLINES:
            return _starts_envelope(text, end, element, final=final)
        start = _past_line_breaks(text, end)
        follows = _starts_envelope(text, start, element, final=final)
        if not follows:
            return follows
        line_end = text.find("\n", start)
        if line_end < 0:
            if _undecided(text, MAX_SEEK, final=final):
                return None
            line_end = len(text)
        cut = text.find(candidate, start, line_end)
        if cut < 0:
            return False
        return _segment_follows(text, cut + 1, element, final=final)

    def _split_segments(self) -> Batch | None:
        """Cut every complete segment of _pending, up to and including an IEA."""
        delimiters = self.delimiters
        assert delimiters is not None
        terminator = delimiters.segment
        text = self._pending
        cut = text.rfind(terminator)
        if cut < 0:
            return None
        start = self._fed - len(text)  # where `text` starts in the stream (unwrapped)
        end_of_interchange = self._find_iea(text, terminator, delimiters.element)
        if end_of_interchange is not None:
            cut = end_of_interchange
        complete, rest = text[:cut], text[cut + 1 :]
        first_index = self.index + 1
        first_line = self._next_line
        newlines = complete.count("\n")
        batch: Batch
        if terminator == "\n":
            if "\r" not in complete and "\n\n" not in complete:
                raws = complete.split("\n")
                batch = Batch(raws, delimiters, first_index, first_line, 1)
            else:
                batch = self._slow_batch(complete, first_index, first_line)
            self._next_line = first_line + newlines + 1
        elif newlines == 0 and "\r" not in complete:
            raws = complete.split(terminator)
            batch = Batch(raws, delimiters, first_index, first_line, 0)
        elif (
            complete.startswith("\n")
            and complete.count(terminator + "\n") + 1 == newlines
            and complete.count(terminator) + 1 == newlines
            and "\r" not in complete
        ):
            raws = complete[1:].split(terminator + "\n")
            batch = Batch(raws, delimiters, first_index, first_line + 1, 1)
            self._next_line = first_line + newlines
        elif (
            complete.startswith("\r\n")
            and complete.count(terminator + "\r\n") + 1 == newlines
            and complete.count(terminator) + 1 == newlines
            and complete.count("\r") == newlines
        ):
            raws = complete[2:].split(terminator + "\r\n")
            batch = Batch(raws, delimiters, first_index, first_line + 1, 1)
            self._next_line = first_line + newlines
        else:
            batch = self._slow_batch(complete, first_index, first_line)
            self._next_line = first_line + newlines
        layout = self._layout()
        if batch.lines is None and layout and _indented(batch.raws, layout):
            batch = self._slow_batch(complete, first_index, first_line)  # read past the layout
        if self._unwrap is not None:
            batch = self._relined(batch, start, self._unwrap)
        if "" in batch.raws:
            batch = self._with_empty_segments(batch)
        self.index += len(batch.raws)
        self._pending = rest
        if end_of_interchange is not None:
            self._in_interchange = False
        return batch if batch.raws else None

    def _find_iea(self, text: str, terminator: str, separator: str) -> int | None:
        """Index of the terminator that ends an IEA segment in text, if there is one."""
        start = 0
        marker = "IEA" + separator
        layout = self._layout()
        while True:
            found = text.find(marker, start)
            if found < 0:
                return None
            at = found
            while layout and at and text[at - 1] in layout:
                at -= 1  # indentation before the IEA
            before = text[at - 1] if at else terminator
            if before == terminator or before in NEWLINES:
                end = text.find(terminator, found)
                return end if end >= 0 else None
            start = found + 3

    def _slow_batch(self, complete: str, first_index: int, first_line: int) -> Batch:
        """Any layout: count line breaks segment by segment."""
        assert self.delimiters is not None
        raws: list[str] = []
        lines: list[int] = []
        line = first_line
        newline_terminated = self.delimiters.segment == "\n"
        layout = self._layout()
        for raw in complete.split(self.delimiters.segment):
            if newline_terminated:
                segment = raw.rstrip("\r")
                if layout and segment[:1] in layout and segment.strip(layout):
                    segment = segment.lstrip(layout)
                    self._tolerate("layout-whitespace", line, first_index + len(raws))
                if segment:
                    raws.append(segment)
                    lines.append(line)
                line += 1
                continue
            segment = raw.lstrip(NEWLINES + layout)
            removed = raw[: len(raw) - len(segment)]
            line += removed.count("\n")
            if segment and removed.strip(NEWLINES):
                self._tolerate("layout-whitespace", line, first_index + len(raws))
            lines.append(line)
            line += segment.count("\n")
            raws.append(segment.rstrip(NEWLINES))
        return Batch(raws, self.delimiters, first_index, first_line, lines=lines)

    def _whole_iea(self, segment: str) -> bool:
        """Whether `segment`, the file's last text without its terminator, is a whole IEA (IEA01
        a count, IEA02 nine digits): read as such when not strict."""
        if self.strict or self.delimiters is None:
            return False
        elements = segment.split(self.delimiters.element)
        return (
            len(elements) == 3
            and elements[0] == "IEA"
            and elements[1].isascii()
            and elements[1].isdigit()
            and len(elements[2]) == 9
            and elements[2].isascii()
            and elements[2].isdigit()
        )

    def _layout(self) -> str:
        """The characters besides line breaks read as layout between segments: spaces and tabs
        that are not delimiters (none when strict)."""
        if self.strict or self.delimiters is None:
            return ""
        return "".join(c for c in LAYOUT if c not in self.delimiters.all())

    def _tolerate(self, name: str, line: int, index: int, message: str = "") -> None:
        """Note a deviation read as meant (`gateway.x12.model.TOLERANCES`)."""
        self.tolerated.append(Tolerance(name, message or TOLERANCES[name][1], line, index))

    @staticmethod
    def _relined(batch: Batch, start: int, unwrap: Unwrap) -> Batch:
        """`batch` of a wrapped file, each segment given the line of the file as it came."""
        lines = []
        for raw in batch.raws:
            lines.append(unwrap.line_at(start))
            start += len(raw) + 1
        return Batch(batch.raws, batch.delimiters, batch.first_index, batch.first_line, lines=lines)

    @staticmethod
    def _with_empty_segments(batch: Batch) -> Batch:
        """Empty raws are empty segments where the terminator is visible; blank lines (nothing
        between newline terminators) are dropped."""
        if batch.delimiters.segment != "\n":
            return batch
        keep = [i for i, raw in enumerate(batch.raws) if raw]
        lines = [batch.line_of(i) for i in keep]
        return Batch(
            [batch.raws[i] for i in keep],
            batch.delimiters,
            batch.first_index,
            batch.first_line,
            lines=lines,
        )
