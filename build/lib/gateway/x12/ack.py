"""Acknowledgements: building 997, 999 and TA1 from a validation report, and reading the ones
partners send back.

One acknowledgement interchange answers one inbound interchange: a TA1 when the sender asked
(ISA14 = 1) or when the interchange itself is bad, then one FA group with a 997 (or, for 005010
groups when asked, a 999) per functional group received. A rejected interchange gets only its TA1;
functional acknowledgement groups (GS01 FA) are never acknowledged. The acknowledgement goes back
with the partner's delimiters and control version, sender and receiver swapped, and each 997/999
carries the version of the group it answers (GS08).

An answer to bad input can always be written. When the partner's delimiters cannot be written
(`Delimiters.usable`; the interchange is then rejected for them, TA105 004, 016 or 027), the answer
goes back with the gateway's default delimiters instead (`reply_delimiters`). Every value copied
from the partner (ids, qualifiers, date, time, control numbers, versions) goes in only when it fits
its place whole, else a stand-in does (`_copied`), so the serializer never meets a delimiter or an
over-long value in an answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Protocol

from gateway.errors import ConfigurationError
from gateway.x12.document import Element, FunctionalGroup, Interchange, Segment, TransactionSet
from gateway.x12.elements import valid_date, valid_time
from gateway.x12.model import (
    DEFAULT_DELIMITERS,
    MIN_CONTROL_VERSION,
    AckStatus,
    Delimiters,
    GroupReport,
    InterchangeReport,
    Issue,
    Level,
    TA1Code,
    TransactionCode,
    TransactionReport,
)
from gateway.x12.schema import dates_are_short, family_name, is_digits

MAX_AK4_PER_AK3 = 99
MAX_CODES = 5  # AK502..AK506, AK905..AK909
MAX_AK9_COUNT = 999_999  # AK902..AK904 are N0 1/6
DEFAULT_CONTROL_VERSION = "00401"
DEFAULT_GROUP_VERSION = "004010"  # GS08 of an answer to a group whose version is not read
FALLBACK_QUALIFIER = "ZZ"  # mutually defined
FALLBACK_ID = "UNKNOWN"


class AckFormat(enum.StrEnum):
    """Which functional acknowledgement to send."""

    FA997 = "997"
    IA999 = "999"


@dataclass(frozen=True, slots=True)
class Stamp:
    """The moment an acknowledgement is made: CCYYMMDD and HHMM."""

    date: str
    time: str


class ControlNumbers(Protocol):
    """Issues interchange and group control numbers (the store does it, per partner, without
    gaps or repeats; `CountingControlNumbers` does it in memory)."""

    def next_interchange(self) -> int: ...

    def next_group(self) -> int: ...


@dataclass(slots=True)
class CountingControlNumbers:
    """Control numbers counted up in memory from given starts: for one-off commands and tests."""

    interchange: int = 1
    group: int = 1

    def next_interchange(self) -> int:
        value = self.interchange
        self.interchange += 1
        return value

    def next_group(self) -> int:
        value = self.group
        self.group += 1
        return value


def _status_of_interchange(report: InterchangeReport) -> tuple[str, str]:
    """TA104 and TA105: rejected for its first fault; accepted with errors noted for the first
    deviation read as meant (`Tolerance`); else accepted."""
    if report.issues:
        return AckStatus.REJECTED, report.issues[0].code
    if report.tolerated:
        return AckStatus.ACCEPTED_WITH_ERRORS, report.tolerated[0].code
    return AckStatus.ACCEPTED, TA1Code.NO_ERROR


def build_ta1(report: InterchangeReport, stamp: Stamp) -> Segment:
    """The TA1 segment answering one interchange, with its ISA13, ISA09 and ISA10. A control
    number that is not digits is answered as 000000000; a date or time that is not a real YYMMDD
    or HHMM is replaced by the moment of the answer (`stamp`), so the TA1 stays well formed."""
    status, note = _status_of_interchange(report)
    control = report.control_number if is_digits(report.control_number) else "0"
    date = report.date if len(report.date) == 6 and is_digits(report.date) else ""
    time = report.time if len(report.time) == 4 and is_digits(report.time) else ""
    return Segment(
        "TA1",
        [
            control.zfill(9)[-9:],
            date if valid_date(date) else stamp.date[2:],
            time if valid_time(time) else stamp.time,
            str(status),
            str(note),
        ],
    )


def wants_ta1(report: InterchangeReport) -> bool:
    """A TA1 is sent when asked for (ISA14 = 1) or when the interchange itself is bad."""
    return report.ack_requested or bool(report.issues)


def _safe(value: str, delimiters: Delimiters, limit: int = 99) -> str:
    """A copy of bad data that can travel in the acknowledgement (or '' when it cannot)."""
    if any(d in value for d in delimiters.all()) or any(ord(c) < 32 or ord(c) > 126 for c in value):
        return ""
    return value[:limit]


def _copied(
    value: str,
    delimiters: Delimiters,
    fallback: str,
    width: int = 99,
    *,
    least: int = 1,
    digits: bool = False,
) -> str:
    """A value of the partner's copied into the answer: as it came when it can be written there
    whole and fits the element it goes in (printable ASCII, none of the answer's delimiters,
    `least` to `width` characters, only digits for a numeric one), else `fallback`."""
    if not least <= len(value) <= width or _safe(value, delimiters) != value:
        return fallback
    if digits and not is_digits(value):
        return fallback
    return value


def reply_delimiters(report: InterchangeReport) -> Delimiters:
    """The delimiters an answer to the interchange is written with: the partner's when they can
    be written, else the gateway's defaults (an interchange with unusable delimiters has been
    rejected for them, and its TA1 must still go out)."""
    return report.delimiters if report.delimiters.usable() else DEFAULT_DELIMITERS


def _segment_id(issue: Issue) -> str:
    candidate = "".join(c for c in issue.segment_id if c.isascii() and c.isalnum()).upper()[:3]
    return candidate if len(candidate) >= 2 else ""


def _codes(issues: list[Issue], fallback: str) -> list[Element]:
    codes: list[str] = []
    for issue in issues:
        if issue.code not in codes:
            codes.append(issue.code)
    return list((codes or [fallback])[:MAX_CODES])


def _transaction_loop(
    transaction: TransactionReport,
    *,
    is_999: bool,
    with_versions: bool,
    delimiters: Delimiters,
) -> list[Segment]:
    header: list[Element] = [
        _copied(transaction.set_id, delimiters, "000", 3, least=3, digits=True),  # AK201 ID 3
        _copied(transaction.control_number, delimiters, "0000", 9, least=4),  # AK202 AN 4-9
    ]
    reference = _copied(transaction.implementation_reference, delimiters, "", 35)  # AK203
    if with_versions and reference:
        header.append(reference)
    segments = [Segment("AK2", header)]
    segment_tag, element_tag, trailer_tag = (
        ("IK3", "IK4", "IK5") if is_999 else ("AK3", "AK4", "AK5")
    )
    current: Segment | None = None
    current_index = -1
    element_count = 0
    for issue in transaction.segment_issues():
        if issue.level is Level.SEGMENT:
            segment_id = _segment_id(issue)
            if not segment_id:
                continue
            current = Segment(
                segment_tag,
                [segment_id, str(max(issue.position_in_set, 1)), issue.loop_id[:4], issue.code],
            )
            current_index = issue.segment_index
            element_count = 0
            segments.append(current)
        elif current is not None and issue.segment_index == current_index:
            element_count += 1
            if element_count > MAX_AK4_PER_AK3:
                continue
            position: tuple[str, ...] = (str(issue.element or 1),)
            if issue.component is not None or issue.repetition is not None:
                position += (str(issue.component) if issue.component else "",)
            if with_versions and issue.repetition is not None:
                position += (str(issue.repetition),)
            code = issue.code
            if not with_versions and code in ("12", "13"):
                # 4010 has no repetition or component codes: a separator inside a simple
                # element is an invalid character there.
                code = "6"
            ref = issue.element_ref if is_digits(issue.element_ref) else ""
            segments.append(
                Segment(
                    element_tag,
                    [
                        position if len(position) > 1 else position[0],
                        ref,
                        code,
                        _safe(issue.bad_value, delimiters),
                    ],
                )
            )
    set_codes = [i for i in transaction.set_issues() if i.code != TransactionCode.SEGMENTS_IN_ERROR]
    if transaction.accepted:
        trailer: list[Element] = [str(AckStatus.ACCEPTED)]
    else:
        codes = _codes(set_codes, TransactionCode.SEGMENTS_IN_ERROR)
        if transaction.segment_issues() and TransactionCode.SEGMENTS_IN_ERROR not in codes:
            codes = [*codes, TransactionCode.SEGMENTS_IN_ERROR][:MAX_CODES]
        trailer = [str(AckStatus.REJECTED), *codes]
    segments.append(Segment(trailer_tag, trailer))
    return segments


def build_functional_ack(
    group: GroupReport,
    control_number: str,
    *,
    ack_format: AckFormat,
    delimiters: Delimiters,
) -> TransactionSet:
    """One 997 or 999 answering one functional group, written with `delimiters` (values of the
    group that cannot be written with them are replaced)."""
    family = family_name(group.version)
    is_999 = ack_format is AckFormat.IA999
    if is_999 and family != "005010":
        raise ConfigurationError(
            f"a 999 acknowledges 005010 groups only; group {group.control_number} is "
            f"{group.version or 'of no version'}"
        )
    with_versions = family == "005010"
    header: list[Element] = [
        _copied(group.functional_id, delimiters, "ZZ", 2, least=2),  # AK101 ID 2
        _copied(group.control_number, delimiters, "0", 9, digits=True),  # AK102 N0 1-9
    ]
    if with_versions:
        header.append(_copied(group.version, delimiters, "", 12))  # AK103 AN 1-12
    segments = [Segment("AK1", header)]
    for transaction in group.transactions:
        segments.extend(
            _transaction_loop(
                transaction, is_999=is_999, with_versions=with_versions, delimiters=delimiters
            )
        )
    received = len(group.transactions)
    included = group.declared_count if group.declared_count is not None else received
    if included > MAX_AK9_COUNT:  # a GE01 no AK902 can carry: the sets as counted (AK905 5)
        included = received
    received, included = min(received, MAX_AK9_COUNT), min(included, MAX_AK9_COUNT)
    status = group.status
    trailer: list[Element] = [
        str(status),
        str(included),
        str(received),
        str(group.accepted_count),
    ]
    if group.issues:
        trailer.extend(_codes(group.issues, "1"))
    segments.append(Segment("AK9", trailer))
    return TransactionSet(ack_format.value, control_number, segments)


def _qualifier(value: str, delimiters: Delimiters) -> str:
    """An ISA05 / ISA07 id qualifier copied into the answer: two letters or digits, else ZZ."""
    copied = _copied(value, delimiters, FALLBACK_QUALIFIER, 2)
    return copied if len(copied) == 2 and copied.isalnum() else FALLBACK_QUALIFIER


def _reply_envelope(report: InterchangeReport, control: int, stamp: Stamp) -> Interchange:
    """An empty interchange going back to the sender of `report`, with its delimiters when they
    can be written (`reply_delimiters`) and its ids when they fit the fixed-width ISA."""
    delimiters = reply_delimiters(report)
    version = report.control_version
    if len(version) != 5 or not is_digits(version) or version < MIN_CONTROL_VERSION:
        version = DEFAULT_CONTROL_VERSION
    if delimiters.repetition is None and version >= "00501":
        version = DEFAULT_CONTROL_VERSION
    if delimiters.repetition is not None and version < "00501":  # ISA11 is `U` there
        delimiters = replace(delimiters, repetition=None)
    return Interchange(
        sender_qualifier=_qualifier(report.receiver_qualifier, delimiters),
        sender_id=_copied(report.receiver_id, delimiters, FALLBACK_ID, 15),
        receiver_qualifier=_qualifier(report.sender_qualifier, delimiters),
        receiver_id=_copied(report.sender_id, delimiters, FALLBACK_ID, 15),
        date=stamp.date[2:],
        time=stamp.time,
        control_number=str(control).zfill(9),
        control_version=version,
        usage=report.usage if report.usage in ("P", "T") else "P",
        delimiters=delimiters,
    )


def build_acknowledgements(
    report: InterchangeReport,
    numbers: ControlNumbers,
    stamp: Stamp,
    *,
    ack_format: AckFormat = AckFormat.FA997,
    ta1: str = "requested",
    functional: bool = True,
    group_ids: tuple[str, str] | None = None,
) -> list[Interchange]:
    """The acknowledgement interchanges owed for one inbound interchange: a TA1 interchange when
    asked for or when the interchange is bad (`ta1` "requested"; "always" sends one for every
    interchange, "never" none), then one interchange with a 997 or 999 per functional group
    (none for a rejected interchange, for groups of acknowledgements, or when `functional` is
    False: a partner that takes no functional acknowledgements).

    The TA1 travels in an interchange of its own, so the functional acknowledgements can be read
    by translators that take no segment outside a functional group. `group_ids` (our GS02, their
    GS03, from the partner's profile) address the acknowledgement groups; without them the ids
    of the group answered are swapped (which may be an id the partner wrongly addressed)."""
    found: list[Interchange] = []
    if ta1 == "always" or (ta1 == "requested" and wants_ta1(report)):
        interchange = _reply_envelope(report, numbers.next_interchange(), stamp)
        interchange.ta1s.append(build_ta1(report, stamp))
        found.append(interchange)
    acknowledged = (
        [g for g in report.groups if g.functional_id != "FA"]
        if functional and not report.issues
        else []
    )
    if not acknowledged:
        return found
    interchange = _reply_envelope(report, numbers.next_interchange(), stamp)
    by_version: dict[str, list[GroupReport]] = {}
    for group in acknowledged:
        by_version.setdefault(group.version, []).append(group)
    for version, groups in by_version.items():
        written = version if family_name(version) else DEFAULT_GROUP_VERSION
        written = _copied(written, interchange.delimiters, DEFAULT_GROUP_VERSION, 12)
        chosen = ack_format
        if chosen is AckFormat.IA999 and family_name(written) != "005010":
            chosen = AckFormat.FA997
        transactions = [
            build_functional_ack(
                group, f"{number:04d}", ack_format=chosen, delimiters=interchange.delimiters
            )
            for number, group in enumerate(groups, start=1)
        ]
        interchange.groups.append(
            FunctionalGroup(
                functional_id="FA",
                sender=_copied(
                    group_ids[0] if group_ids else groups[0].receiver,
                    interchange.delimiters,
                    interchange.sender_id,
                    15,
                    least=2,
                ),
                receiver=_copied(
                    group_ids[1] if group_ids else groups[0].sender,
                    interchange.delimiters,
                    interchange.receiver_id,
                    15,
                    least=2,
                ),
                date=stamp.date[2:] if dates_are_short(written) else stamp.date,
                time=stamp.time,
                control_number=str(numbers.next_group()),
                version=written,
                transactions=transactions,
            )
        )
    found.append(interchange)
    return found


# -- reading acknowledgements ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ElementError:
    """An AK4 / IK4: where in the segment, which element, which code, the bad data."""

    position: int
    component: int | None
    repetition: int | None
    element_ref: str
    code: str
    bad_value: str


@dataclass(frozen=True, slots=True)
class SegmentError:
    """An AK3 / IK3 with its AK4s / IK4s."""

    segment_id: str
    position_in_set: int
    loop_id: str
    code: str
    elements: tuple[ElementError, ...] = ()


@dataclass(frozen=True, slots=True)
class TransactionAck:
    """What the partner said of one of our transaction sets (AK2..AK5)."""

    set_id: str
    control_number: str
    status: str
    codes: tuple[str, ...]
    segment_errors: tuple[SegmentError, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.status in (AckStatus.ACCEPTED, AckStatus.ACCEPTED_WITH_ERRORS)


@dataclass(frozen=True, slots=True)
class GroupAck:
    """What the partner said of one of our functional groups (one 997 or 999)."""

    kind: str
    functional_id: str
    group_control: str
    version: str
    status: str
    included: int
    received: int
    accepted_count: int
    codes: tuple[str, ...]
    transactions: tuple[TransactionAck, ...] = field(default_factory=tuple)

    @property
    def accepted(self) -> bool:
        return self.status in (AckStatus.ACCEPTED, AckStatus.ACCEPTED_WITH_ERRORS)


@dataclass(frozen=True, slots=True)
class InterchangeAck:
    """A TA1: what the partner said of one of our interchanges."""

    control_number: str
    date: str
    time: str
    status: str
    note_code: str

    @property
    def accepted(self) -> bool:
        return self.status in (AckStatus.ACCEPTED, AckStatus.ACCEPTED_WITH_ERRORS)


def _int(value: str) -> int:
    return int(value) if is_digits(value) else 0


def _position(value: Element) -> tuple[int, int | None, int | None]:
    parts = list(value) if isinstance(value, tuple) else [value if isinstance(value, str) else ""]
    parts += ["", "", ""]
    return (
        _int(parts[0]),
        _int(parts[1]) if parts[1] else None,
        _int(parts[2]) if parts[2] else None,
    )


def read_functional_ack(transaction: TransactionSet) -> GroupAck:
    """Read one 997 or 999 (already validated) into a `GroupAck`."""
    if transaction.set_id not in ("997", "999"):
        raise ValueError(f"transaction set {transaction.set_id} is not a 997 or 999")
    head = Segment("AK1")
    transactions: list[TransactionAck] = []
    segment_errors: list[SegmentError] = []
    element_errors: list[ElementError] = []
    open_set: Segment | None = None
    open_segment: Segment | None = None
    trailer = Segment("AK9")

    def close_segment() -> None:
        nonlocal open_segment, element_errors
        if open_segment is not None:
            segment_errors.append(
                SegmentError(
                    open_segment.get(1),
                    _int(open_segment.get(2)),
                    open_segment.get(3),
                    open_segment.get(4),
                    tuple(element_errors),
                )
            )
        open_segment, element_errors = None, []

    for segment in transaction.segments:
        tag = segment.id
        if tag == "AK1":
            head = segment
        elif tag == "AK2":
            open_set, segment_errors = segment, []
        elif tag in ("AK3", "IK3"):
            close_segment()
            open_segment = segment
        elif tag in ("AK4", "IK4"):
            position, component, repetition = _position(
                segment.elements[0] if segment.elements else ""
            )
            element_errors.append(
                ElementError(
                    position,
                    component,
                    repetition,
                    segment.get(2),
                    segment.get(3),
                    segment.get(4),
                )
            )
        elif tag in ("AK5", "IK5"):
            close_segment()
            if open_set is not None:
                transactions.append(
                    TransactionAck(
                        open_set.get(1),
                        open_set.get(2),
                        segment.get(1),
                        tuple(segment.get(n) for n in range(2, 7) if segment.get(n)),
                        tuple(segment_errors),
                    )
                )
            open_set = None
        elif tag == "AK9":
            trailer = segment
    return GroupAck(
        kind=transaction.set_id,
        functional_id=head.get(1),
        group_control=head.get(2),
        version=head.get(3),
        status=trailer.get(1),
        included=_int(trailer.get(2)),
        received=_int(trailer.get(3)),
        accepted_count=_int(trailer.get(4)),
        codes=tuple(trailer.get(n) for n in range(5, 10) if trailer.get(n)),
        transactions=tuple(transactions),
    )


def read_ta1(segment: Segment) -> InterchangeAck:
    """Read a TA1 segment."""
    return InterchangeAck(
        segment.get(1), segment.get(2), segment.get(3), segment.get(4), segment.get(5)
    )
