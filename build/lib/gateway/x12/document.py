"""X12 documents as plain objects, independent of delimiters: what the serializer writes and what
the reader returns when asked to keep documents.

An element value is a string, a `tuple` of strings for a composite, or a `list` of those for a
repeated element (5010). Envelope counts (SE01, GE01, IEA01) are not stored: the serializer
computes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from gateway.x12.model import DEFAULT_DELIMITERS, Delimiters

Component = str | tuple[str, ...]
Element = Component | list[Component]


@dataclass(slots=True)
class Segment:
    """One segment: its id and its elements (position 1 first)."""

    id: str
    elements: list[Element] = field(default_factory=list)

    def get(self, position: int, default: str = "") -> str:
        """Element `position` (1-based) as a string; a composite gives its first component."""
        if position < 1 or position > len(self.elements):
            return default
        value = self.elements[position - 1]
        if isinstance(value, list):
            value = value[0] if value else ""
        if isinstance(value, tuple):
            return value[0] if value else default
        return value or default


@dataclass(slots=True)
class TransactionSet:
    """ST..SE: the set id, its control number and the segments between ST and SE."""

    set_id: str
    control_number: str
    segments: list[Segment] = field(default_factory=list)
    implementation_reference: str = ""


@dataclass(slots=True)
class FunctionalGroup:
    """GS..GE."""

    functional_id: str
    sender: str
    receiver: str
    date: str
    time: str
    control_number: str
    version: str
    agency: str = "X"
    transactions: list[TransactionSet] = field(default_factory=list)


@dataclass(slots=True)
class Interchange:
    """ISA..IEA with the header's values (ids without their padding)."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: str
    time: str
    control_number: str
    control_version: str = "00401"
    ack_requested: bool = False
    usage: str = "P"
    delimiters: Delimiters = DEFAULT_DELIMITERS
    authorization: tuple[str, str] = ("00", "")
    security: tuple[str, str] = ("00", "")
    standards_id: str = "U"
    groups: list[FunctionalGroup] = field(default_factory=list)
    ta1s: list[Segment] = field(default_factory=list)  # TA1 segments between ISA and the first GS


def structure_elements(
    elements: list[str], delimiters: Delimiters, raw: str | None = None
) -> list[Element]:
    """A segment's elements (after its id, `elements[0]`) as read, with repetitions and
    components split out, empty trailing elements left out (`N1*ST*NAME**~` is `N1*ST*NAME~`:
    the separators before the terminator mark absent elements); `raw`, the segment's text,
    lets a segment without either separator (most of them) keep its elements as they are."""
    if len(elements) > 2 and elements[-1] == "":
        elements = elements[:-1]
        while len(elements) > 2 and elements[-1] == "":
            elements.pop()
    if raw is not None:
        repetition, sub_element = delimiters.repetition, delimiters.sub_element
        if (not repetition or repetition not in raw) and (
            not sub_element or sub_element not in raw
        ):
            return cast("list[Element]", elements[1:])  # plain strings are elements
    return [structure_value(v, delimiters) for v in elements[1:]]


def structure_value(value: str, delimiters: Delimiters) -> Element:
    """A raw element value as read, with its repetitions and components split out."""
    repetition = delimiters.repetition
    if repetition and repetition in value:
        return [structure_component(part, delimiters) for part in value.split(repetition)]
    return structure_component(value, delimiters)


def structure_component(value: str, delimiters: Delimiters) -> Component:
    if delimiters.sub_element and delimiters.sub_element in value:
        return tuple(value.split(delimiters.sub_element))
    return value
