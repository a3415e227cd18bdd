"""Plain values of the X12 codec: delimiters, issues with their X12 codes, and the reports that a
validation produces per interchange, functional group and transaction set.

The reports mirror the acknowledgements: an `InterchangeReport` is what a TA1 speaks of, a
`GroupReport` what an AK1/AK9 pair speaks of, a `TransactionReport` what an AK2..AK5 loop speaks of.
Values read from a file are `str` decoded as latin-1, so every byte is kept as one character and
written back unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MIN_CONTROL_VERSION = "00300"
"""The oldest interchange control version (ISA12) read and written."""


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four separators of one interchange, read from its ISA."""

    element: str = "*"
    sub_element: str = ">"
    segment: str = "~"
    repetition: str | None = None

    def all(self) -> tuple[str, ...]:
        """Every separator in use (the repetition separator only when there is one)."""
        found = (self.element, self.sub_element, self.segment)
        return found + ((self.repetition,) if self.repetition else ())

    def usable(self) -> bool:
        """Whether an interchange can be written with these delimiters: each one character of
        one byte that is neither a letter, a digit nor a space, all of them different, and only
        the segment terminator a line break (CR or LF)."""
        found = self.all()
        for delimiter in found:
            if len(delimiter) != 1 or delimiter.isalnum() or delimiter == " ":
                return False
            if ord(delimiter) > 255:
                return False
            if delimiter in "\r\n" and delimiter != self.segment:
                return False
        return len(set(found)) == len(found)


DEFAULT_DELIMITERS = Delimiters()


class Level(enum.StrEnum):
    """Which acknowledgement structure an issue belongs to."""

    INTERCHANGE = "interchange"  # TA1 (TA105 note codes)
    GROUP = "group"  # AK9 (AK905..AK909)
    TRANSACTION = "transaction"  # AK5 / IK5 (AK502.., IK502..)
    SEGMENT = "segment"  # AK3 / IK3 (AK304 / IK304)
    ELEMENT = "element"  # AK4 / IK4 (AK403 / IK403)


CODE_LIST = {
    Level.INTERCHANGE: "TA105",
    Level.GROUP: "AK905",
    Level.TRANSACTION: "AK502",
    Level.SEGMENT: "AK304",
    Level.ELEMENT: "AK403",
}


class TA1Code(enum.StrEnum):
    """TA105 interchange note codes (element I18)."""

    NO_ERROR = "000"
    CONTROL_NUMBER_MISMATCH = "001"
    STANDARD_NOT_SUPPORTED = "002"
    VERSION_NOT_SUPPORTED = "003"
    SEGMENT_TERMINATOR_INVALID = "004"
    SENDER_QUALIFIER_INVALID = "005"
    SENDER_ID_INVALID = "006"
    RECEIVER_QUALIFIER_INVALID = "007"
    RECEIVER_ID_INVALID = "008"
    AUTHORIZATION_QUALIFIER_INVALID = "010"
    AUTHORIZATION_INVALID = "011"
    SECURITY_QUALIFIER_INVALID = "012"
    SECURITY_INVALID = "013"
    DATE_INVALID = "014"
    TIME_INVALID = "015"
    STANDARDS_ID_INVALID = "016"
    VERSION_ID_INVALID = "017"
    CONTROL_NUMBER_INVALID = "018"
    ACK_REQUESTED_INVALID = "019"
    TEST_INDICATOR_INVALID = "020"
    GROUP_COUNT_INVALID = "021"
    CONTROL_STRUCTURE_INVALID = "022"
    PREMATURE_END_OF_FILE = "023"
    CONTENT_INVALID = "024"
    DUPLICATE_CONTROL_NUMBER = "025"
    ELEMENT_SEPARATOR_INVALID = "026"
    COMPONENT_SEPARATOR_INVALID = "027"


class GroupCode(enum.StrEnum):
    """AK905 functional group syntax error codes (element 716)."""

    NOT_SUPPORTED = "1"
    VERSION_NOT_SUPPORTED = "2"
    TRAILER_MISSING = "3"
    CONTROL_NUMBER_MISMATCH = "4"
    COUNT_MISMATCH = "5"
    CONTROL_NUMBER_SYNTAX = "6"
    CONTROL_NUMBER_NOT_UNIQUE = "19"


class TransactionCode(enum.StrEnum):
    """AK502 / IK502 transaction set syntax error codes (element 718)."""

    NOT_SUPPORTED = "1"
    TRAILER_MISSING = "2"
    CONTROL_NUMBER_MISMATCH = "3"
    SEGMENT_COUNT_MISMATCH = "4"
    SEGMENTS_IN_ERROR = "5"
    IDENTIFIER_INVALID = "6"
    CONTROL_NUMBER_INVALID = "7"
    CONTROL_NUMBER_NOT_UNIQUE = "23"


class SegmentCode(enum.StrEnum):
    """AK304 / IK304 segment syntax error codes (element 720)."""

    UNRECOGNIZED = "1"
    UNEXPECTED = "2"
    MANDATORY_MISSING = "3"
    LOOP_OVER_MAXIMUM = "4"
    OVER_MAXIMUM_USE = "5"
    NOT_IN_SET = "6"
    OUT_OF_SEQUENCE = "7"
    ELEMENT_ERRORS = "8"


class ElementCode(enum.StrEnum):
    """AK403 / IK403 data element syntax error codes (element 723)."""

    MANDATORY_MISSING = "1"
    CONDITIONAL_MISSING = "2"
    TOO_MANY_ELEMENTS = "3"
    TOO_SHORT = "4"
    TOO_LONG = "5"
    INVALID_CHARACTER = "6"
    INVALID_CODE = "7"
    INVALID_DATE = "8"
    INVALID_TIME = "9"
    EXCLUSION_VIOLATED = "10"
    TOO_MANY_REPETITIONS = "12"
    TOO_MANY_COMPONENTS = "13"


@dataclass(frozen=True, slots=True)
class Issue:
    """One fault found in a file, with the X12 code an acknowledgement reports it under.

    `line` is 1-based; `segment_index` counts segments from the start of the file (ISA = 1);
    `position_in_set` counts from the transaction set's ST (= 1), as AK302 wants;
    `element`, `component` and `repetition` are 1-based positions inside the segment.
    """

    level: Level
    code: str
    message: str
    line: int = 0
    segment_index: int = 0
    segment_id: str = ""
    element: int | None = None
    component: int | None = None
    repetition: int | None = None
    element_ref: str = ""
    bad_value: str = ""
    position_in_set: int = 0
    loop_id: str = ""

    @property
    def is_summary(self) -> bool:
        """AK502 5 and AK304 8 only say that details follow."""
        return (self.level is Level.TRANSACTION and self.code == "5") or (
            self.level is Level.SEGMENT and self.code == "8"
        )

    @property
    def code_label(self) -> str:
        """The code with the element it belongs to, as `AK403:4` or `TA105:022`."""
        return f"{CODE_LIST[self.level]}:{self.code}"

    def where(self) -> str:
        """Position in words: `line 12, segment 9 (BEG05)`."""
        name = self.segment_id
        if self.element is not None:
            name = f"{self.segment_id}{self.element:02d}"
            if self.component is not None:
                name += f"-{self.component}"
        return f"line {self.line}, segment {self.segment_index}" + (f" ({name})" if name else "")

    def describe(self) -> str:
        """One line for a person: code, position and what is wrong."""
        return f"{self.code_label} at {self.where()}: {self.message}"


TOLERANCES: dict[str, tuple[str, str]] = {
    "layout-whitespace": (
        "024",
        "spaces, tabs or line breaks between a segment terminator and the next segment id",
    ),
    "padding-outside-interchanges": (
        "022",
        "spaces, tabs, NUL or Ctrl-Z (0x1A) before the first ISA, between interchanges or after"
        " the last IEA",
    ),
    "byte-order-mark": ("022", "a UTF-8 byte order mark before the ISA"),
    "isa-fields-not-padded": (
        "024",
        "ISA02, ISA04, ISA06 or ISA08 shorter or longer than its fixed width (spaces missing)",
    ),
    "isa-padded-with-nbsp": ("024", "ISA fields padded with non-breaking spaces (0xA0)"),
    "isa11-not-u": (
        "016",
        "ISA11 other than U before control version 00501: read as U (no repetition separator)",
    ),
    "isa12-unknown-version": (
        "017",
        "ISA12 a control version the gateway does not know: the groups are read by their GS08",
    ),
    "trailing-empty-elements": (
        "024",
        "element separators before a segment terminator (empty trailing elements): read as absent",
    ),
    "last-terminator-missing": ("023", "the final IEA has no segment terminator"),
    "line-wrapped": (
        "024",
        "the file wrapped at a fixed width (a line break every N characters, inside segments):"
        " read without those line breaks",
    ),
}
"""Every deviation from the standard read as the partner meant it (it cannot change what a file
says), by name: the TA105 note code a TA1 gives it (with TA104 E, when a TA1 was asked for) and
what it is. A partner profile with `strict = true` (and `gateway check --strict`) rejects them
as faults instead."""


@dataclass(slots=True)
class Tolerance:
    """One kind of deviation met in an interchange (or outside any), read as the partner meant
    it: where it was first seen and how many times."""

    name: str
    message: str
    line: int = 0
    segment_index: int = 0
    count: int = 1

    @property
    def code(self) -> str:
        """The TA105 note code a TA1 reports it under."""
        return TOLERANCES[self.name][0]

    def describe(self) -> str:
        """One line for a person: name, position, what was read as meant."""
        times = f" ({self.count} times)" if self.count > 1 else ""
        where = f"line {self.line}, segment {self.segment_index}"
        return f"{self.name} at {where}: {self.message}{times}"


def tolerate(found: list[Tolerance], tolerance: Tolerance) -> None:
    """Add `tolerance` to `found`, counting it with an earlier one of the same name."""
    for earlier in found:
        if earlier.name == tolerance.name:
            earlier.count += tolerance.count
            return
    found.append(tolerance)


class AckStatus(enum.StrEnum):
    """AK501 / AK901 / IK501 / TA104 acknowledgement codes."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    PARTIALLY_ACCEPTED = "P"
    REJECTED = "R"


@dataclass(slots=True)
class TransactionReport:
    """What validation found about one transaction set (ST..SE)."""

    set_id: str
    control_number: str
    implementation_reference: str = ""
    line: int = 0
    segment_index: int = 0
    segment_count: int = 0
    issues: list[Issue] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.issues

    @property
    def status(self) -> AckStatus:
        return AckStatus.ACCEPTED if self.accepted else AckStatus.REJECTED

    def set_issues(self) -> list[Issue]:
        """Issues of the set as a whole (AK5 codes)."""
        return [i for i in self.issues if i.level is Level.TRANSACTION]

    def segment_issues(self) -> list[Issue]:
        """Issues inside the set: segment and element level (AK3 / AK4)."""
        return [i for i in self.issues if i.level in (Level.SEGMENT, Level.ELEMENT)]


@dataclass(slots=True)
class GroupReport:
    """What validation found about one functional group (GS..GE)."""

    functional_id: str
    control_number: str
    version: str
    sender: str = ""
    receiver: str = ""
    date: str = ""
    time: str = ""
    declared_count: int | None = None
    line: int = 0
    segment_index: int = 0
    transactions: list[TransactionReport] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def accepted_count(self) -> int:
        return sum(1 for t in self.transactions if t.accepted)

    @property
    def status(self) -> AckStatus:
        if self.issues or (self.transactions and self.accepted_count == 0):
            return AckStatus.REJECTED
        if self.accepted_count < len(self.transactions):
            return AckStatus.PARTIALLY_ACCEPTED
        return AckStatus.ACCEPTED

    @property
    def accepted(self) -> bool:
        return self.status is AckStatus.ACCEPTED


@dataclass(slots=True)
class InterchangeReport:
    """What validation found about one interchange (ISA..IEA), with its header values."""

    control_number: str
    sender_qualifier: str = ""
    sender_id: str = ""
    receiver_qualifier: str = ""
    receiver_id: str = ""
    date: str = ""
    time: str = ""
    control_version: str = ""
    ack_requested: bool = False
    usage: str = "P"
    delimiters: Delimiters = DEFAULT_DELIMITERS
    line: int = 0
    segment_index: int = 0
    groups: list[GroupReport] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    tolerated: list[Tolerance] = field(default_factory=list)

    @property
    def envelope_accepted(self) -> bool:
        """No interchange-level fault (what TA104 reports)."""
        return not self.issues

    @property
    def accepted(self) -> bool:
        """Everything inside was accepted."""
        return self.envelope_accepted and all(g.accepted for g in self.groups)

    def all_issues(self) -> list[Issue]:
        """Every issue in file order of discovery: interchange, then each group and its sets."""
        found = list(self.issues)
        for group in self.groups:
            found.extend(group.issues)
            for transaction in group.transactions:
                found.extend(transaction.issues)
        return found


@dataclass(slots=True)
class FileReport:
    """The validation of one file: its interchanges and any fault outside them."""

    interchanges: list[InterchangeReport] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    tolerated: list[Tolerance] = field(default_factory=list)  # outside any interchange

    def all_tolerated(self) -> list[Tolerance]:
        """Every deviation read as meant, outside the interchanges then in each."""
        found = list(self.tolerated)
        for interchange in self.interchanges:
            found.extend(interchange.tolerated)
        return found

    @property
    def accepted(self) -> bool:
        return (
            not self.issues
            and bool(self.interchanges)
            and all(i.accepted for i in self.interchanges)
        )

    def all_issues(self) -> list[Issue]:
        """Every issue, ordered by position in the file."""
        found = list(self.issues)
        for interchange in self.interchanges:
            found.extend(interchange.all_issues())
        return sorted(found, key=lambda i: (i.segment_index, i.element or 0))

    def first_issue(self) -> Issue | None:
        """The first issue in the file, passing over the summaries ("one or more segments in
        error", "segment has data element errors") when their details are there."""
        issues = self.all_issues()
        details = [i for i in issues if not i.is_summary]
        chosen = details or issues
        return chosen[0] if chosen else None


def issue_json(issue: Issue) -> dict[str, Any]:
    """One fault as `check --json` gives it: its code, where it is, what it says."""
    return {
        "code": issue.code_label,
        "line": issue.line,
        "segment_index": issue.segment_index,
        "segment_id": issue.segment_id,
        "element": issue.element,
        "message": issue.message,
    }


def report_json(name: str, report: FileReport) -> dict[str, Any]:
    """The `check --json` object for one file (what the console shows of a document's file too)."""
    transactions = [
        {
            "set": t.set_id,
            "version": g.version,
            "control": t.control_number,
            "accepted": t.accepted and not g.issues and not i.issues,
        }
        for i in report.interchanges
        for g in i.groups
        for t in g.transactions
    ]
    return {
        "file": name,
        "accepted": report.accepted,
        "interchanges": len(report.interchanges),
        "groups": sum(len(i.groups) for i in report.interchanges),
        "transactions": transactions,
        "errors": [issue_json(i) for i in report.all_issues()],
        "warnings": [
            {
                "tolerance": t.name,
                "code": f"TA105:{t.code}",
                "line": t.line,
                "segment_index": t.segment_index,
                "count": t.count,
                "message": t.message,
            }
            for t in report.all_tolerated()
        ],
    }


def envelope_values(report: InterchangeReport) -> dict[str, object]:
    """The ISA and first GS values an answer to the interchange is written with, and the
    deviations read as meant in it (kept with the document, shown by `documents show`)."""
    group = report.groups[0] if report.groups else None
    delimiters = report.delimiters
    return {
        "control_number": report.control_number,
        "sender_qualifier": report.sender_qualifier,
        "sender_id": report.sender_id,
        "receiver_qualifier": report.receiver_qualifier,
        "receiver_id": report.receiver_id,
        "control_version": report.control_version,
        "usage": report.usage,
        "delimiters": [
            delimiters.element,
            delimiters.sub_element,
            delimiters.segment,
            delimiters.repetition,
        ],
        "group": None
        if group is None
        else {
            "functional_id": group.functional_id,
            "control_number": group.control_number,
            "version": group.version,
            "sender": group.sender,
            "receiver": group.receiver,
        },
        "tolerated": [t.describe() for t in report.tolerated],
    }


def report_from_envelope(envelope: Mapping[str, Any]) -> InterchangeReport:
    """An interchange's header values back from `envelope_values`."""
    element, sub_element, segment, repetition = envelope["delimiters"]
    group = envelope.get("group")
    return InterchangeReport(
        control_number=str(envelope["control_number"]),
        sender_qualifier=str(envelope["sender_qualifier"]),
        sender_id=str(envelope["sender_id"]),
        receiver_qualifier=str(envelope["receiver_qualifier"]),
        receiver_id=str(envelope["receiver_id"]),
        control_version=str(envelope["control_version"]),
        usage=str(envelope["usage"]),
        delimiters=Delimiters(element, sub_element, segment, repetition),
        groups=[]
        if not group
        else [
            GroupReport(
                functional_id=str(group["functional_id"]),
                control_number=str(group["control_number"]),
                version=str(group["version"]),
                sender=str(group["sender"]),
                receiver=str(group["receiver"]),
            )
        ],
    )
