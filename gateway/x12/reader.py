"""Reading and validating X12: segments from the tokenizer in, reports (and, on request, the
parsed documents) out.

Strategy: one pass, one segment at a time. The envelope (ISA/GS/ST ... SE/GE/IEA) is a small
state machine here; inside a transaction set each segment is placed by the set's
`StructureMachine` and its elements checked by a `SegmentChecker`. Nothing is kept but the reports
and, when `keep_documents` is set, the segments of each transaction set, so a check of a large file
runs in memory bounded by its largest transaction set (or segment, when documents are not kept).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import compress, repeat

from gateway.x12.compiled import (
    FOLD,
    SEEN_LIMIT,
    CompiledSegment,
    compiled_segments,
    segment_compiler,
)
from gateway.x12.document import (
    FunctionalGroup,
    Interchange,
    Segment,
    TransactionSet,
    structure_elements,
)
from gateway.x12.elements import SegmentChecker, valid_date, valid_time
from gateway.x12.model import (
    MIN_CONTROL_VERSION,
    TOLERANCES,
    Delimiters,
    FileReport,
    GroupCode,
    GroupReport,
    InterchangeReport,
    Issue,
    Level,
    SegmentCode,
    TA1Code,
    Tolerance,
    TransactionCode,
    TransactionReport,
    tolerate,
)
from gateway.x12.schema import (
    Catalog,
    Family,
    TransactionSetSchema,
    dates_are_short,
    is_digits,
    load_catalog,
)
from gateway.x12.structure import LoopTable, Placement, StructureMachine, structure_pattern
from gateway.x12.tokenizer import ISA_ELEMENT_CODES, ISA_WIDTHS, NEWLINES, Batch, Tokenizer

CHUNK_SIZE = 1 << 16
PADDED_ISA_ELEMENTS = (2, 4, 6, 8)
"""ISA elements whose trailing spaces are padding only (the ids and the authorization and
security information), which a partner may leave short or pad otherwise."""
NBSP_PADDING = ("\xc2\xa0", "\xa0")  # a non-breaking space in UTF-8, then in latin-1


def _without_nbsp_padding(value: str) -> str:
    """`value` without its trailing padding when that padding holds non-breaking spaces
    (`value` itself when it holds none)."""
    kept = value
    while True:
        trimmed = kept.rstrip(" ")
        for nbsp in NBSP_PADDING:
            if trimmed.endswith(nbsp):
                kept = trimmed[: -len(nbsp)]
                break
        else:
            break
    return value if kept == value else kept.rstrip(" ")


LARGE_SET_SEGMENTS = 20_000
"""Past this many segments a set leaves the fast mode (which keeps every segment, to replay a
set that fails) for the segment-by-segment checks, which keep nothing per segment: the memory
of one set stays bounded whatever its size, for about twice the time on its segments past it."""
STRUCTURE_WARM_UP = 500
"""A set's structure expression is compiled for the second set of its id, or a first one of
this many segments: compiling it costs about what the structure machine spends on as many."""
MAX_SET_ISSUES = 200
"""Segment and element faults recorded for one set; past that they are counted only."""
SEGMENT_ID_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# Inside a transaction set every segment but these belongs to the set (SE included).
SET_BREAKING_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST"})
ENVELOPE_TAGS = (*sorted(SET_BREAKING_IDS), "SE")
ENVELOPE_TAG_SET = frozenset(ENVELOPE_TAGS)
AUTHORIZATION_QUALIFIERS = frozenset({"00", "01", "02", "03", "04", "05", "06"})
SECURITY_QUALIFIERS = frozenset({"00", "01"})


def _envelope_offsets(raws: list[str], separator: str) -> list[int]:
    """Offsets of the envelope segments (ISA, IEA, GS, GE, ST, SE) in a batch, found by C-level
    scans (`map` of `str.startswith`), not a Python loop over every segment."""
    prefixes = tuple(tag + separator for tag in ENVELOPE_TAGS)
    found = set(compress(range(len(raws)), map(str.startswith, raws, repeat(prefixes))))
    found.update(compress(range(len(raws)), map(ENVELOPE_TAG_SET.__contains__, raws)))
    return sorted(found)


def _valid_segment_id(segment_id: str) -> bool:
    return 2 <= len(segment_id) <= 3 and all(c in SEGMENT_ID_CHARACTERS for c in segment_id)


@dataclass(slots=True)
class _OpenSet:
    """A transaction set being read.

    Checked sets start in the fast mode: every segment gets the compiled element check and its id
    is collected in `tags`; at SE the ids are matched against the set's structure expression. A
    set that passes both has no fault. Any other set is replayed segment by segment (`runs` says
    where its segments are) through the structure machine and the detailed element checks, which
    name each fault; so does every set read while documents are kept.
    """

    report: TransactionReport
    schema: TransactionSetSchema | None
    machine: StructureMachine | None
    segments: list[Segment] | None
    position: int = 1
    fast: bool = False
    clean: bool = True
    tags: list[str] = field(default_factory=list)
    runs: list[tuple[Batch, int, int]] = field(default_factory=list)
    unlisted: int = 0  # segment and element faults past MAX_SET_ISSUES, counted only


class Reader:
    """Validates a stream of X12. Feed bytes, then `close()` and read `report`.

    With `keep_documents`, the parsed interchanges are kept in `documents` as well; with
    `on_set`, each transaction set is handed to it as soon as its SE is read (with its
    interchange and group, whose reports are not complete yet) and not kept, so a file of any
    size is parsed in the memory of its largest set; without
    `schema_checks`, only the envelope is checked (segment order and elements are not). With
    `remember` (the default), segments proven valid are remembered, folded where sound, so that
    the many segments of a file that differ only in their letters and digits are checked once;
    turning it off measures the worst case.
    """

    def __init__(
        self,
        catalog: Catalog | None = None,
        *,
        keep_documents: bool = False,
        schema_checks: bool = True,
        remember: bool = True,
        on_set: Callable[[Interchange, FunctionalGroup, TransactionSet], None] | None = None,
        select: Callable[[Interchange, FunctionalGroup, str], bool] | None = None,
        strict: bool = False,
    ):
        self.catalog = catalog or load_catalog()
        self.keep_documents = keep_documents or on_set is not None
        self.on_set = on_set
        self.select = select
        self.schema_checks = schema_checks
        self.remember = remember
        self.report = FileReport()
        self.documents: list[Interchange] = []
        self.strict = strict
        self._tokenizer = Tokenizer(strict=strict)
        self._held_tolerated: list[Tolerance] = []
        self._interchange: InterchangeReport | None = None
        self._document: Interchange | None = None
        self._group: GroupReport | None = None
        self._group_document: FunctionalGroup | None = None
        self._family: Family | None = None
        self._set: _OpenSet | None = None
        self._checker: SegmentChecker | None = None
        self._compiled: Callable[[str], CompiledSegment | None] | None = None
        self._compiled_table: dict[str, CompiledSegment] = {}
        self._group_controls: set[str] = set()
        self._set_controls: set[str] = set()
        self._seen_group = False
        self._batch: Batch | None = None
        self._offset = 0
        self._functional_ids: dict[str, str] = {}

    # -- feeding -----------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Read more bytes."""
        self._consume(self._tokenizer.feed(data))

    def close(self) -> FileReport:
        """End of input: close whatever is open and return the report."""
        self._consume(self._tokenizer.close())
        self._collect_tolerated(final=True)
        if self._interchange is not None:
            self._interchange_issue(
                TA1Code.PREMATURE_END_OF_FILE,
                "file ends before the IEA interchange trailer",
                "",
            )
            self._end_interchange()
        self.report.issues.extend(self._tokenizer.issues)
        if not self.report.interchanges and not self.report.issues:
            self.report.issues.append(
                Issue(Level.INTERCHANGE, TA1Code.CONTROL_STRUCTURE_INVALID, "no ISA segment found")
            )
        return self.report

    def _consume(self, batches: Iterator[Batch]) -> None:
        for batch in batches:
            self._batch = batch
            self._offset = 0
            if batch.isa is not None:
                self._envelope_segment("ISA", batch.isa)
                self._collect_tolerated()
                continue
            self._collect_tolerated()
            separator = batch.delimiters.element
            raws = batch.raws
            count = len(raws)
            marks: list[int] | None = None
            offset = 0
            while offset < count:
                open_set = self._set
                if open_set is None:
                    pass
                elif open_set.fast or (open_set.machine is None and open_set.segments is None):
                    # Jump to the next envelope segment: in the fast mode checking what lies
                    # between, in the envelope-only mode just counting it.
                    if marks is None:
                        marks = _envelope_offsets(raws, separator)
                    following = bisect.bisect_left(marks, offset)
                    target = marks[following] if following < len(marks) else count
                    if open_set.fast:
                        self._validate_body(open_set, raws, offset, target)
                    else:
                        open_set.position += target - offset
                    offset = target
                    if offset >= count:
                        self._offset = count - 1  # positions point at the last segment read
                        break
                raw = raws[offset]
                elements = raw.split(separator)
                tag = elements[0]
                self._offset = offset
                open_set = self._set
                if open_set is not None and tag not in SET_BREAKING_IDS:
                    self._body_segment(open_set, tag, elements, raw)
                else:
                    self._envelope_segment(tag, elements)
                offset += 1

    def _validate_body(self, open_set: _OpenSet, raws: list[str], offset: int, end: int) -> int:
        """The hot loop of the fast mode: check the body segments raws[offset:end] (up to the next
        envelope segment) with their compiled expressions and collect their ids."""
        assert self._batch is not None and self._compiled is not None
        if end <= offset:
            return offset
        separator = self._batch.delimiters.element
        compiled_table = self._compiled_table
        compiled_for = self._compiled
        remember = self.remember
        body = raws[offset:end]
        split = [raw.split(separator) for raw in body]
        open_set.tags.extend([elements[0] for elements in split])
        clean = open_set.clean
        for at, (raw, elements) in enumerate(zip(body, split, strict=True), start=offset):
            compiled = compiled_table.get(elements[0])
            if compiled is None:
                compiled = compiled_for(elements[0])
                if compiled is None:
                    clean = False
                    continue
            seen = compiled.seen_valid
            key = raw.encode("latin-1").translate(FOLD) if compiled.foldable else raw
            if key in seen and remember:
                continue
            if not elements[-1] and len(elements) > 1:  # checked once per shape of segment
                self._trailing_empty(at)
            # CompiledSegment.valid, inline: this loop runs once per segment.
            pattern = compiled.by_count.get(len(elements))
            if pattern is None:
                pattern = compiled.pattern_for(len(elements))
            if (
                pattern is None
                or pattern.fullmatch(raw) is None
                or (
                    compiled.rules
                    and not (
                        compiled.rule_verdicts.get(shape := tuple(map(bool, elements)))
                        or compiled.judge_rules(shape)
                    )
                )
            ):
                clean = False
            elif remember and len(seen) < SEEN_LIMIT and elements[-1]:
                seen.add(key)  # (one with empty trailing elements is looked at every time)
        open_set.clean = clean
        open_set.runs.append((self._batch, offset, end - offset))
        open_set.position += end - offset
        if open_set.position > LARGE_SET_SEGMENTS:
            self._leave_fast_mode(open_set)
        return end

    def _leave_fast_mode(self, open_set: _OpenSet) -> None:
        """A set grown past LARGE_SET_SEGMENTS: check what was read of it segment by segment
        now and the rest as it comes, so that nothing is kept per segment (the fast mode keeps
        every segment, to replay a set that fails)."""
        self._replay(open_set)
        open_set.fast = False
        open_set.runs = []
        open_set.tags = []

    def _fast_segment(
        self, open_set: _OpenSet, tag: str, elements: list[str], raw: str | None
    ) -> None:
        """One segment (ST, SE, or one met outside the hot loop) in the fast mode."""
        assert self._batch is not None and self._compiled is not None
        open_set.runs.append((self._batch, self._offset, 1))
        open_set.tags.append(tag)
        if raw is None:
            raw = self._batch.delimiters.element.join(elements)
        compiled = self._compiled_table.get(tag) or (
            self._compiled(tag) if _valid_segment_id(tag) else None
        )
        if compiled is None or not compiled.valid(raw, elements):
            open_set.clean = False

    def _replay(self, open_set: _OpenSet) -> None:
        """Check a set that failed the fast mode segment by segment, naming every fault."""
        assert self._family is not None and open_set.schema is not None
        open_set.machine = self._structure_machine(self._family, open_set.schema)
        batch, offset = self._batch, self._offset
        position = 1
        for run_batch, first, length in open_set.runs:
            separator = run_batch.delimiters.element
            for at in range(first, first + length):
                raw = run_batch.raws[at] if run_batch.isa is None else ""
                elements = raw.split(separator)
                self._batch, self._offset = run_batch, at
                self._place(open_set, elements[0], elements, raw, position)
                position += 1
        self._batch, self._offset = batch, offset

    def _element_faults(
        self,
        open_set: _OpenSet,
        compiled: CompiledSegment,
        elements: list[str],
        tag: str,
        position: int,
        placement: Placement,
    ) -> None:
        """The detailed element checks of a segment the fast check did not pass."""
        assert self._checker is not None
        base = self._segment_issue(
            SegmentCode.ELEMENT_ERRORS,
            f"{tag} has data element errors",
            tag,
            position,
            placement.loop_id,
        )
        faults = self._checker.check(compiled.definition, elements, base)
        if faults:
            self._segment_fault(open_set, base, *faults)

    @staticmethod
    def _segment_fault(open_set: _OpenSet, *issues: Issue) -> None:
        """Record the faults of one segment, up to MAX_SET_ISSUES in a set; past that they are
        only counted (a set with a fault in each of its million segments needs no million
        issues to be rejected, and its acknowledgement could not carry them)."""
        report = open_set.report
        if len(report.issues) < MAX_SET_ISSUES:
            report.issues.extend(issues)
        else:
            open_set.unlisted += 1

    @property
    def line(self) -> int:
        """Line of the segment being read."""
        return self._batch.line_of(self._offset) if self._batch else 0

    @property
    def index(self) -> int:
        """Index (1-based, in the file) of the segment being read."""
        return self._batch.first_index + self._offset if self._batch else 0

    # -- issues ------------------------------------------------------------------------------
    def _interchange_issue(
        self, code: str, message: str, segment_id: str, element: int | None = None
    ) -> None:
        issue = Issue(
            Level.INTERCHANGE,
            code,
            message,
            line=self.line,
            segment_index=self.index,
            segment_id=segment_id,
            element=element,
        )
        if self._interchange is not None:
            self._interchange.issues.append(issue)
        else:
            self.report.issues.append(issue)

    def _group_issue(self, code: str, message: str, segment_id: str) -> None:
        assert self._group is not None
        self._group.issues.append(
            Issue(
                Level.GROUP,
                code,
                message,
                line=self.line,
                segment_index=self.index,
                segment_id=segment_id,
            )
        )

    def _set_issue(
        self, open_set: _OpenSet, code: str, message: str, segment_id: str, element: int | None
    ) -> None:
        open_set.report.issues.append(
            Issue(
                Level.TRANSACTION,
                code,
                message,
                line=self.line,
                segment_index=self.index,
                segment_id=segment_id,
                element=element,
                position_in_set=open_set.position,
            )
        )

    def _collect_tolerated(self, *, final: bool = False) -> None:
        """Give the deviations the tokenizer read as meant to the interchange they belong to: the
        one open, else the next one to open (padding before an ISA), else, at the end, the last
        one (padding after the last IEA) or the file."""
        found = self._tokenizer.tolerated
        if found:
            self._held_tolerated.extend(found)
            found.clear()
        if not self._held_tolerated:
            return
        target = self._interchange.tolerated if self._interchange is not None else None
        if target is None and final:
            interchanges = self.report.interchanges
            target = interchanges[-1].tolerated if interchanges else self.report.tolerated
        if target is None:
            return
        for tolerance in self._held_tolerated:
            tolerate(target, tolerance)
        self._held_tolerated = []

    def _trailing_empty(self, offset: int) -> None:
        """Note a segment (at `offset` in the batch) ending with element separators: its empty
        trailing elements are read as absent (`structure_elements`)."""
        assert self._interchange is not None and self._batch is not None
        tolerance = Tolerance(
            "trailing-empty-elements",
            TOLERANCES["trailing-empty-elements"][1],
            self._batch.line_of(offset),
            self._batch.first_index + offset,
        )
        tolerate(self._interchange.tolerated, tolerance)

    def _tolerate(self, name: str, message: str = "") -> None:
        """Note a deviation of the segment being read, read as meant."""
        assert self._interchange is not None
        text = message or TOLERANCES[name][1]
        tolerate(self._interchange.tolerated, Tolerance(name, text, self.line, self.index))

    # -- envelope ----------------------------------------------------------------------------
    def _envelope_segment(self, tag: str, elements: list[str]) -> None:
        if tag == "ISA":
            self._start_interchange(elements)
        elif self._interchange is None:
            self._interchange_issue(
                TA1Code.CONTROL_STRUCTURE_INVALID, f"segment {tag!a} outside an interchange", tag
            )
        elif tag == "IEA":
            self._end_interchange(elements)
        elif tag == "GS":
            self._start_group(elements)
        elif tag == "GE":
            self._end_group(elements)
        elif tag == "ST":
            self._start_set(elements)
        elif tag == "SE":
            self._interchange_issue(
                TA1Code.CONTROL_STRUCTURE_INVALID, "SE without a transaction set header ST", tag
            )
        elif tag in ("ISB", "ISE") and self._group is None and not self._seen_group:
            return  # X12.56 interchange service segments, allowed between ISA and the first GS
        elif tag == "TA1" and self._group is None:
            # An interchange acknowledgement travelling in this interchange.
            if self._document is not None:
                self._document.ta1s.append(Segment(tag, list(elements[1:])))
        else:
            where = "inside a functional group" if self._group else "inside the interchange"
            shown = tag if _valid_segment_id(tag) else repr(tag)
            self._interchange_issue(
                TA1Code.CONTROL_STRUCTURE_INVALID,
                f"segment {shown} {where} but outside any transaction set (ST..SE)",
                tag,
            )

    def _start_interchange(self, elements: list[str]) -> None:
        line, index = self.line, self.index
        if self._interchange is not None:
            self._interchange_issue(
                TA1Code.PREMATURE_END_OF_FILE,
                "a new ISA starts before the IEA of the interchange in progress",
                "ISA",
            )
            self._end_interchange()
        delimiters = self._tokenizer.delimiters or Delimiters()
        nbsp = False
        if not self.strict and len(elements) == 17:
            elements = list(elements)
            for position in PADDED_ISA_ELEMENTS:
                value = elements[position]
                kept = _without_nbsp_padding(value)
                if kept != value:
                    nbsp = True
                    elements[position] = kept.ljust(ISA_WIDTHS[position - 1])
        values = elements + [""] * (17 - len(elements))
        header = Interchange(
            sender_qualifier=values[5],
            sender_id=values[6].rstrip(),
            receiver_qualifier=values[7],
            receiver_id=values[8].rstrip(),
            date=values[9],
            time=values[10],
            control_number=values[13],
            control_version=values[12],
            ack_requested=values[14] == "1",
            usage=values[15],
            delimiters=delimiters,
            authorization=(values[1], values[2]),
            security=(values[3], values[4]),
            standards_id=values[11],
        )
        report = InterchangeReport(
            control_number=header.control_number,
            sender_qualifier=header.sender_qualifier,
            sender_id=header.sender_id,
            receiver_qualifier=header.receiver_qualifier,
            receiver_id=header.receiver_id,
            date=header.date,
            time=header.time,
            control_version=header.control_version,
            ack_requested=header.ack_requested,
            usage=header.usage,
            delimiters=delimiters,
            line=line,
            segment_index=index,
        )
        self.report.interchanges.append(report)
        self._interchange = report
        self._seen_group = False
        self._group_controls = set()
        self._checker = None
        for issue in self._tokenizer.issues:
            if issue.segment_index == index and issue.segment_id == "ISA":
                report.issues.append(issue)
        self._tokenizer.issues = [i for i in self._tokenizer.issues if i not in report.issues]
        if nbsp:
            self._tolerate("isa-padded-with-nbsp")
        self._check_isa(elements, report)
        if self.keep_documents:
            self._document = header
            self.documents.append(self._document)

    def _check_isa(self, elements: list[str], report: InterchangeReport) -> None:
        def fault(position: int, message: str, code: str | None = None) -> None:
            self._interchange_issue(
                code or ISA_ELEMENT_CODES[position - 1], message, "ISA", element=position
            )

        if len(elements) != 17:
            fault(
                16 if len(elements) > 17 else max(1, len(elements) - 1),
                f"ISA has {len(elements) - 1} elements, 16 required",
                TA1Code.CONTROL_STRUCTURE_INVALID,
            )
            return
        separator = report.delimiters.element
        holding = [p for p in range(1, 16) if separator in elements[p]]
        if holding:  # read by position from a fixed-width ISA
            position = holding[0]
            fault(
                position,
                f"ISA{position:02d} {elements[position]!a} holds the element separator "
                f"{separator!a}",
            )
            return
        if not self._tokenizer.isa_widths_ok:
            for position, width in enumerate(ISA_WIDTHS[:15], start=1):  # ISA16 is checked below
                if len(elements[position]) != width:
                    if (
                        not self.strict
                        and position in PADDED_ISA_ELEMENTS
                        and len(elements[position].rstrip()) <= width
                    ):
                        self._tolerate(
                            "isa-fields-not-padded",
                            f"ISA{position:02d} is {len(elements[position])} characters long, not"
                            f" {width}: read as {elements[position].rstrip()!a}",
                        )
                        continue
                    fault(
                        position,
                        f"ISA{position:02d} is {len(elements[position])} characters long; the ISA "
                        f"is fixed width and ISA{position:02d} must be exactly {width}",
                    )
                    return
        values = elements
        if values[1] not in AUTHORIZATION_QUALIFIERS:
            fault(1, f"ISA01 {values[1]!a} is not an authorization qualifier")
        if values[3] not in SECURITY_QUALIFIERS:
            fault(3, f"ISA03 {values[3]!a} is not a security qualifier")
        for position, name in ((5, "sender"), (7, "receiver")):
            qualifier = values[position]
            if len(qualifier) != 2 or not qualifier.isalnum():
                fault(position, f"ISA{position:02d} {qualifier!a} is not an ID qualifier")
            if not values[position + 1].strip():
                fault(position + 1, f"ISA{position + 1:02d} interchange {name} id is blank")
        if not valid_date(values[9]) or len(values[9]) != 6:
            fault(9, f"ISA09 {values[9]!a} is not a YYMMDD date")
        if not valid_time(values[10]) or len(values[10]) != 4:
            fault(10, f"ISA10 {values[10]!a} is not an HHMM time")
        version = values[12]
        known = len(version) == 5 and is_digits(version) and version >= MIN_CONTROL_VERSION
        if not known and not self.strict:
            self._tolerate(
                "isa12-unknown-version",
                f"ISA12 {version!a} is not a control version the gateway reads: the groups are"
                " read by the version their GS08 names",
            )
        elif len(version) != 5 or not is_digits(version):
            fault(12, f"ISA12 {version!a} is not a control version number")
        elif version < MIN_CONTROL_VERSION:
            fault(
                12,
                f"ISA12 control version {version} is not supported (00300 and later are)",
                TA1Code.VERSION_NOT_SUPPORTED,
            )
        if (not known or version < "00501") and values[11] != "U":
            if self.strict and known and version < "00402":
                fault(11, f"ISA11 must be 'U' in control version {version}, not {values[11]!a}")
            elif not self.strict:
                self._tolerate(
                    "isa11-not-u",
                    f"ISA11 {values[11]!a} in control version {version}: read as U",
                )
        if len(values[13]) != 9 or not is_digits(values[13]):
            fault(13, f"ISA13 {values[13]!a} is not a 9-digit control number")
        if values[14] not in ("0", "1"):
            fault(14, f"ISA14 {values[14]!a} must be 0 or 1")
        if values[15] not in ("P", "T", "I"):
            fault(15, f"ISA15 {values[15]!a} must be P, T or I")
        delimiters = report.delimiters
        isa16 = values[16]
        if not isa16:
            fault(16, "ISA16 is empty or missing: the ISA gives no component element separator")
        elif (
            len(isa16) != 1
            or isa16.isalnum()
            or isa16 in NEWLINES + " "
            or isa16 in (delimiters.element, delimiters.segment)
        ):
            fault(16, f"ISA16 {isa16!a} is not a usable component element separator")
        elif delimiters.repetition in (
            delimiters.element,
            delimiters.sub_element,
            delimiters.segment,
        ):
            fault(
                11,
                f"ISA11 repetition separator {delimiters.repetition!a} repeats another delimiter",
            )

    def _end_interchange(self, elements: list[str] | None = None) -> None:
        report = self._interchange
        assert report is not None
        if self._group is not None:
            self._close_group_without_trailer("IEA" if elements else "end of file")
        if elements is not None:
            values = [*elements, "", ""]
            if values[2] != report.control_number:
                self._interchange_issue(
                    TA1Code.CONTROL_NUMBER_MISMATCH,
                    f"IEA02 {values[2]!a} does not match ISA13 {report.control_number!a}",
                    "IEA",
                    2,
                )
            if values[1] != str(len(report.groups)) and not (
                is_digits(values[1]) and int(values[1]) == len(report.groups)
            ):
                self._interchange_issue(
                    TA1Code.GROUP_COUNT_INVALID,
                    f"IEA01 says {values[1]!a} functional groups, the interchange has "
                    f"{len(report.groups)}",
                    "IEA",
                    1,
                )
            if len(elements) > 3:
                self._interchange_issue(
                    TA1Code.CONTROL_STRUCTURE_INVALID, "IEA has more than 2 elements", "IEA", 3
                )
        self._interchange = None
        self._document = None

    def _start_group(self, elements: list[str]) -> None:
        line, index = self.line, self.index
        if self._group is not None:
            self._close_group_without_trailer("GS")
        values = elements + [""] * (9 - len(elements))
        version = values[8]
        report = GroupReport(
            functional_id=values[1],
            control_number=values[6],
            version=version,
            sender=values[2],
            receiver=values[3],
            date=values[4],
            time=values[5],
            line=line,
            segment_index=index,
        )
        assert self._interchange is not None
        self._interchange.groups.append(report)
        self._group = report
        self._seen_group = True
        self._set_controls = set()
        self._family = self.catalog.family_for(version)
        delimiters = self._tokenizer.delimiters or Delimiters()
        short_dates = dates_are_short(version)
        self._checker = SegmentChecker(delimiters, short_dates=short_dates)
        self._compiled = (
            segment_compiler(self._family, delimiters, short_dates) if self._family else None
        )
        self._compiled_table = (
            compiled_segments(self._family, delimiters, short_dates) if self._family else {}
        )
        self._check_gs(elements, report)
        if self._document is not None:
            self._group_document = FunctionalGroup(
                functional_id=values[1],
                sender=values[2],
                receiver=values[3],
                date=values[4],
                time=values[5],
                control_number=values[6],
                agency=values[7],
                version=version,
            )
            self._document.groups.append(self._group_document)

    def _check_gs(self, elements: list[str], report: GroupReport) -> None:
        def content(message: str, position: int) -> None:
            self._interchange_issue(TA1Code.CONTENT_INVALID, message, "GS", position)

        if len(elements) != 9:
            content(f"GS has {len(elements) - 1} elements, 8 required", min(len(elements), 9))
            return
        values = elements
        delimiters = self._tokenizer.delimiters or Delimiters()
        for position in range(1, 9):
            for name, delimiter in (
                ("component element separator (ISA16)", delimiters.sub_element),
                ("repetition separator (ISA11)", delimiters.repetition),
            ):
                if delimiter and delimiter in values[position]:
                    content(f"GS{position:02d} {values[position]!a} holds the {name}", position)
                    return
        if len(values[1]) != 2 or not values[1].isalnum():
            content(f"GS01 {values[1]!a} is not a functional identifier code", 1)
        for position in (2, 3):
            if not 2 <= len(values[position]) <= 15 or not values[position].strip():
                content(
                    f"GS{position:02d} {values[position]!a} must be 2 to 15 characters", position
                )
        short = dates_are_short(report.version)
        if not valid_date(values[4]) or len(values[4]) != (6 if short else 8):
            content(f"GS04 {values[4]!a} is not a valid {'YYMMDD' if short else 'CCYYMMDD'}", 4)
        if not valid_time(values[5]):
            content(f"GS05 {values[5]!a} is not a valid time", 5)
        if not is_digits(values[6]) or len(values[6]) > 9:
            self._group_issue(
                GroupCode.CONTROL_NUMBER_SYNTAX,
                f"GS06 {values[6]!a} is not a group control number (1 to 9 digits)",
                "GS",
            )
        elif values[6] in self._group_controls:
            self._group_issue(
                GroupCode.CONTROL_NUMBER_NOT_UNIQUE,
                f"GS06 {values[6]} repeats a group control number in this interchange",
                "GS",
            )
        self._group_controls.add(values[6])
        if values[7] not in ("X", "T"):
            content(f"GS07 {values[7]!a} must be X (ASC X12) or T (TDCC)", 7)
        elif values[7] == "T" and is_digits(report.version[:6]) and report.version >= "003010":
            content(f"GS07 'T' names TDCC, but GS08 {report.version} is an ASC X12 version", 7)
        if self._family is None:
            self._group_issue(
                GroupCode.VERSION_NOT_SUPPORTED,
                f"GS08 version {report.version!a} is not supported",
                "GS",
            )

    def _end_group(self, elements: list[str]) -> None:
        if self._group is None:
            self._interchange_issue(
                TA1Code.CONTROL_STRUCTURE_INVALID, "GE without a functional group header GS", "GE"
            )
            return
        if self._set is not None:
            self._close_set_without_trailer("GE")
        report = self._group
        values = [*elements, "", ""]
        if values[2] != report.control_number:
            self._group_issue(
                GroupCode.CONTROL_NUMBER_MISMATCH,
                f"GE02 {values[2]!a} does not match GS06 {report.control_number!a}",
                "GE",
            )
        count = len(report.transactions)
        report.declared_count = int(values[1]) if is_digits(values[1]) else None
        if report.declared_count != count:
            self._group_issue(
                GroupCode.COUNT_MISMATCH,
                f"GE01 says {values[1]!a} transaction sets, the group has {count}",
                "GE",
            )
        self._group = None
        self._group_document = None

    def _close_group_without_trailer(self, seen: str) -> None:
        if self._set is not None:
            self._close_set_without_trailer(seen)
        self._group_issue(
            GroupCode.TRAILER_MISSING,
            f"functional group {self._group.control_number if self._group else ''} has no GE "
            f"trailer before {seen}",
            seen,
        )
        self._group = None
        self._group_document = None

    # -- transaction sets -------------------------------------------------------------------
    def _start_set(self, elements: list[str]) -> None:
        line, index = self.line, self.index
        if self._group is None:
            self._interchange_issue(
                TA1Code.CONTROL_STRUCTURE_INVALID, "ST outside a functional group (GS..GE)", "ST"
            )
            # Validate it anyway under an implied group so its faults are reported too.
            self._start_group(["GS", "", "", "", "", "", "", "", ""])
        if self._set is not None:
            self._close_set_without_trailer("ST")
        group = self._group
        assert group is not None
        set_id = elements[1] if len(elements) > 1 else ""
        control = elements[2] if len(elements) > 2 else ""
        reference = elements[3] if len(elements) > 3 else ""
        report = TransactionReport(set_id, control, reference, line=line, segment_index=index)
        group.transactions.append(report)
        family = self._family
        schema = family.sets.get(set_id) if family else None
        checked = schema is not None and family is not None and self.schema_checks
        segments: list[Segment] | None = [] if self._group_document is not None else None
        if (
            self.select is not None
            and self._document is not None
            and self._group_document is not None
            and not self.select(self._document, self._group_document, control)
        ):
            segments = None  # a set the caller will not use: read past, never built
        fast = checked and segments is None
        machine = (
            self._structure_machine(family, schema)
            if checked and not fast and schema is not None and family is not None
            else None
        )
        open_set = _OpenSet(report, schema, machine, segments, fast=fast)
        self._set = open_set
        if len(set_id) != 3 or not is_digits(set_id):
            self._set_issue(
                open_set,
                TransactionCode.IDENTIFIER_INVALID,
                f"ST01 {set_id!a} is not a transaction set identifier",
                "ST",
                1,
            )
        elif schema is None and self._family is not None:
            self._set_issue(
                open_set,
                TransactionCode.NOT_SUPPORTED,
                f"transaction set {set_id} is not supported (version {group.version})",
                "ST",
                1,
            )
        expected_group = self._functional_ids.get(set_id, "")
        if set_id not in self._functional_ids:
            expected_group = self._functional_ids[set_id] = (
                self.catalog.functional_id_of(set_id) or ""
            )
        if expected_group and expected_group != group.functional_id and group.functional_id:
            self._set_issue(
                open_set,
                TransactionCode.IDENTIFIER_INVALID,
                f"transaction set {set_id} belongs in a functional group with GS01 "
                f"{expected_group}, not {group.functional_id}",
                "ST",
                1,
            )
        if not 4 <= len(control) <= 9:
            self._set_issue(
                open_set,
                TransactionCode.CONTROL_NUMBER_INVALID,
                f"ST02 {control!a} must be 4 to 9 characters",
                "ST",
                2,
            )
        elif control in self._set_controls:
            self._set_issue(
                open_set,
                TransactionCode.CONTROL_NUMBER_NOT_UNIQUE,
                f"ST02 {control} repeats a transaction set control number in this group",
                "ST",
                2,
            )
        self._set_controls.add(control)
        self._body_segment(open_set, "ST", elements)

    @staticmethod
    def _structure_holds(family: Family, open_set: _OpenSet) -> bool:
        """Whether the set's segment ids follow its schema (one expression match). The
        expression is compiled for the second set of its id in the family, or a first one of
        STRUCTURE_WARM_UP segments or more; before that (one small set, as a file checked at
        the command line) the answer is False and the structure machine, cheaper than the
        compiling, decides."""
        assert open_set.schema is not None
        key = ("structure-pattern", open_set.schema.set_id)
        pattern = family.cache.get(key)
        if not isinstance(pattern, re.Pattern):
            if pattern is None and len(open_set.tags) < STRUCTURE_WARM_UP:
                family.cache[key] = False  # met once
                return False
            pattern = structure_pattern(open_set.schema.root)
            family.cache[key] = pattern
        return pattern.fullmatch(",".join(open_set.tags) + ",") is not None

    @staticmethod
    def _structure_machine(family: Family, schema: TransactionSetSchema) -> StructureMachine:
        """A machine for one set, its loop tables built once per family and set."""
        key = ("structure", schema.set_id)
        cached = family.cache.get(key)
        if not isinstance(cached, tuple):
            cached = (LoopTable(schema.root, False), frozenset(family.segments))
            family.cache[key] = cached
        table, known = cached
        return StructureMachine(schema, known, table)

    def _end_set(self, open_set: _OpenSet, elements: list[str]) -> None:
        if open_set.fast:
            open_set.fast = False
            assert self._family is not None and open_set.schema is not None
            if not (open_set.clean and self._structure_holds(self._family, open_set)):
                self._replay(open_set)
        report = open_set.report
        values = [*elements, "", ""]
        if values[2] != report.control_number:
            self._set_issue(
                open_set,
                TransactionCode.CONTROL_NUMBER_MISMATCH,
                f"SE02 {values[2]!a} does not match ST02 {report.control_number!a}",
                "SE",
                2,
            )
        counted = open_set.position - 1
        if not is_digits(values[1]) or int(values[1]) != counted:
            self._set_issue(
                open_set,
                TransactionCode.SEGMENT_COUNT_MISMATCH,
                f"SE01 says {values[1]!a} segments, the transaction set has {counted}",
                "SE",
                1,
            )
        self._finish_set(open_set)

    def _close_set_without_trailer(self, seen: str) -> None:
        open_set = self._set
        assert open_set is not None
        if open_set.fast:
            open_set.fast = False
            self._replay(open_set)
        self._set_issue(
            open_set,
            TransactionCode.TRAILER_MISSING,
            f"transaction set {open_set.report.control_number} has no SE trailer before {seen}",
            seen,
            None,
        )
        self._finish_set(open_set, structure=False)

    def _finish_set(self, open_set: _OpenSet, *, structure: bool = True) -> None:
        report = open_set.report
        report.segment_count = open_set.position - 1
        if structure and open_set.machine is not None:
            open_set.machine.finish()
            for missing in open_set.machine.missing:
                what = f"loop {missing.loop_id}" if missing.is_loop else "segment"
                report.issues.append(
                    Issue(
                        Level.SEGMENT,
                        SegmentCode.MANDATORY_MISSING,
                        f"mandatory {what} {missing.segment_id} is missing",
                        line=self.line,
                        segment_index=self.index,
                        segment_id=missing.segment_id,
                        position_in_set=open_set.position - 1,
                        loop_id=missing.loop_id,
                    )
                )
        if report.segment_issues() and not any(
            i.code == TransactionCode.SEGMENTS_IN_ERROR for i in report.set_issues()
        ):
            unlisted = f" ({open_set.unlisted} more faults not listed)" if open_set.unlisted else ""
            report.issues.append(
                Issue(
                    Level.TRANSACTION,
                    TransactionCode.SEGMENTS_IN_ERROR,
                    f"one or more segments in error{unlisted}",
                    line=report.line,
                    segment_index=report.segment_index,
                    segment_id="ST",
                )
            )
        if open_set.segments is not None and self._group_document is not None:
            transaction = TransactionSet(
                report.set_id,
                report.control_number,
                open_set.segments,
                report.implementation_reference,
            )
            if self.on_set is not None and self._document is not None:
                self.on_set(self._document, self._group_document, transaction)
            else:
                self._group_document.transactions.append(transaction)
        self._set = None

    def _body_segment(
        self, open_set: _OpenSet, tag: str, elements: list[str], raw: str | None = None
    ) -> None:
        position = open_set.position
        if open_set.fast:
            open_set.position = position + 1
            self._fast_segment(open_set, tag, elements, raw)
            if tag == "SE":
                self._end_set(open_set, elements)
            return
        open_set.position = position + 1
        if open_set.segments is not None and tag not in {"ST", "SE"}:
            delimiters = self._tokenizer.delimiters or Delimiters()
            open_set.segments.append(Segment(tag, structure_elements(elements, delimiters, raw)))
        if open_set.machine is not None:
            self._place(open_set, tag, elements, raw, position)
        if tag == "SE":
            self._end_set(open_set, elements)

    def _segment_issue(self, code: str, message: str, tag: str, position: int, loop: str) -> Issue:
        return Issue(
            Level.SEGMENT,
            code,
            message,
            line=self.line,
            segment_index=self.index,
            segment_id=tag,
            position_in_set=position,
            loop_id=loop,
        )

    def _place(
        self,
        open_set: _OpenSet,
        tag: str,
        elements: list[str],
        raw: str | None,
        position: int,
    ) -> None:
        machine = open_set.machine
        assert machine is not None
        report = open_set.report
        if tag not in machine.known_segments and not _valid_segment_id(tag):
            shown = "empty segment (two terminators in a row)" if not tag else f"{tag!a}"
            self._segment_fault(
                open_set,
                self._segment_issue(
                    SegmentCode.UNRECOGNIZED, f"{shown} is not a segment id", tag[:3], position, ""
                ),
            )
            return
        placement = machine.place(tag)
        if placement.code:
            self._segment_fault(
                open_set,
                self._segment_issue(
                    placement.code, placement.message, tag, position, placement.loop_id
                ),
            )
            if placement.code not in (SegmentCode.OVER_MAXIMUM_USE, SegmentCode.LOOP_OVER_MAXIMUM):
                return
        assert self._compiled is not None and self._checker is not None
        compiled = self._compiled(tag)
        if compiled is None:
            return
        if raw is None:
            raw = (self._tokenizer.delimiters or Delimiters()).element.join(elements)
        if not elements[-1] and len(elements) > 1:
            self._trailing_empty(self._offset)
        if not compiled.valid(raw, elements):
            if len(report.issues) >= MAX_SET_ISSUES:
                open_set.unlisted += 1  # not listed: no need to find out what is wrong
            else:
                self._element_faults(open_set, compiled, elements, tag, position, placement)


def read_bytes(data: bytes, *, catalog: Catalog | None = None) -> FileReport:
    """Validate a whole file held in memory."""
    reader = Reader(catalog)
    for start in range(0, len(data), CHUNK_SIZE):
        reader.feed(data[start : start + CHUNK_SIZE])
    return reader.close()


def read_chunks(
    chunks: Iterable[bytes], *, catalog: Catalog | None = None, strict: bool = False
) -> FileReport:
    """Validate a stream of chunks (a file read piece by piece); `strict`: no deviation from
    the standard read as meant."""
    reader = Reader(catalog, strict=strict)
    for chunk in chunks:
        reader.feed(chunk)
    return reader.close()


def parse_bytes(
    data: bytes, *, catalog: Catalog | None = None
) -> tuple[list[Interchange], FileReport]:
    """Validate and parse: the interchanges as documents, with the report."""
    reader = Reader(catalog, keep_documents=True)
    for start in range(0, len(data), CHUNK_SIZE):
        reader.feed(data[start : start + CHUNK_SIZE])
    report = reader.close()
    return reader.documents, report
