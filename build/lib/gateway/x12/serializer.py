"""Writing X12: documents in, bytes out.

The serializer pads the ISA to its fixed widths, computes SE01, GE01 and IEA01, drops trailing
empty elements and components, and refuses any value that holds one of the interchange's
delimiters (or a character that cannot be written in one byte): it never escapes or alters data.
Control numbers are given to it; issuing them is the store's business.
"""

from __future__ import annotations

from gateway.errors import SerializationError
from gateway.x12.document import Component, Element, FunctionalGroup, Interchange, Segment
from gateway.x12.model import Delimiters
from gateway.x12.tokenizer import ISA_WIDTHS, repetition_separator

ENCODING = "latin-1"


class Serializer:
    """Writes interchanges with one set of delimiters, one segment per line if `newline`."""

    def __init__(self, delimiters: Delimiters, *, newline: str = "\n"):
        if not delimiters.usable():
            raise SerializationError(
                f"{delimiters} cannot be written: X12 delimiters are single characters of one "
                "byte, all different, none a letter, a digit or a space, and only the segment "
                "terminator a line break"
            )
        if newline not in ("", "\n", "\r\n"):
            raise SerializationError(f"line ending {newline!r} must be '', LF or CRLF")
        self.delimiters = delimiters
        self.newline = newline
        self._forbidden = frozenset(delimiters.all()) | frozenset("\r\n")

    def _check(self, value: str, where: str) -> str:
        for character in value:
            if character in self._forbidden:
                raise SerializationError(
                    f"{where} value {value!r} contains the delimiter {character!r}"
                )
            if ord(character) > 255:
                raise SerializationError(
                    f"{where} value {value!r} has {character!r}, which is not one byte"
                )
        return value

    def _component(self, value: Component, where: str) -> str:
        if isinstance(value, tuple):
            parts = [self._check(part, where) for part in value]
            while parts and not parts[-1]:
                parts.pop()
            return self.delimiters.sub_element.join(parts)
        return self._check(value, where)

    def _element(self, value: Element, where: str) -> str:
        if isinstance(value, list):
            if not self.delimiters.repetition and len(value) > 1:
                raise SerializationError(f"{where} repeats, but there is no repetition separator")
            separator = self.delimiters.repetition or ""
            return separator.join(self._component(v, where) for v in value)
        return self._component(value, where)

    def segment(self, segment: Segment) -> str:
        """One segment with its terminator (and line ending)."""
        if not segment.id.isalnum() or not 2 <= len(segment.id) <= 3:
            raise SerializationError(f"{segment.id!r} is not a segment id")
        values = [
            self._element(value, f"{segment.id}{number:02d}")
            for number, value in enumerate(segment.elements, start=1)
        ]
        while values and not values[-1]:
            values.pop()
        body = self.delimiters.element.join([segment.id, *values])
        return body + self.delimiters.segment + self.newline

    def isa(self, interchange: Interchange) -> str:
        """The fixed-width ISA of an interchange."""
        d = self.delimiters
        version = interchange.control_version
        if repetition_separator(d.repetition or "", version) != d.repetition:
            raise SerializationError(
                f"control version {version} and repetition separator {d.repetition!r} disagree: "
                "ISA11 is a repetition separator from 00501 on, 'U' before"
            )
        values = [
            interchange.authorization[0],
            interchange.authorization[1],
            interchange.security[0],
            interchange.security[1],
            interchange.sender_qualifier,
            interchange.sender_id,
            interchange.receiver_qualifier,
            interchange.receiver_id,
            interchange.date,
            interchange.time,
            d.repetition or interchange.standards_id,
            version,
            interchange.control_number.zfill(9),
            "1" if interchange.ack_requested else "0",
            interchange.usage,
        ]
        padded = []
        for number, (value, width) in enumerate(zip(values, ISA_WIDTHS, strict=False), start=1):
            if len(value) > width:
                raise SerializationError(f"ISA{number:02d} {value!r} is longer than {width}")
            if number != 11:
                self._check(value, f"ISA{number:02d}")
            padded.append(value.ljust(width))
        return d.element.join(["ISA", *padded, d.sub_element]) + d.segment + self.newline

    def group(self, group: FunctionalGroup) -> str:
        """GS, the transaction sets with computed SE01, and GE."""
        parts = [
            self.segment(
                Segment(
                    "GS",
                    [
                        group.functional_id,
                        group.sender,
                        group.receiver,
                        group.date,
                        group.time,
                        group.control_number,
                        group.agency,
                        group.version,
                    ],
                )
            )
        ]
        for transaction in group.transactions:
            header: list[Element] = [transaction.set_id, transaction.control_number]
            if transaction.implementation_reference:
                header.append(transaction.implementation_reference)
            parts.append(self.segment(Segment("ST", header)))
            parts.extend(self.segment(s) for s in transaction.segments)
            count = len(transaction.segments) + 2
            parts.append(self.segment(Segment("SE", [str(count), transaction.control_number])))
        parts.append(
            self.segment(Segment("GE", [str(len(group.transactions)), group.control_number]))
        )
        return "".join(parts)

    def interchange(self, interchange: Interchange) -> bytes:
        """A whole interchange as bytes."""
        text = (
            self.isa(interchange)
            + "".join(self.segment(ta1) for ta1 in interchange.ta1s)
            + "".join(self.group(g) for g in interchange.groups)
            + self.segment(
                Segment("IEA", [str(len(interchange.groups)), interchange.control_number.zfill(9)])
            )
        )
        return text.encode(ENCODING)


def serialize(interchange: Interchange, *, newline: str = "\n") -> bytes:
    """Write an interchange with its own delimiters."""
    return Serializer(interchange.delimiters, newline=newline).interchange(interchange)
