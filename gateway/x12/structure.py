"""Segment order inside a transaction set: a stack machine over the schema's loops.

For each segment the machine looks forward from the current place in the innermost open loop,
then in each enclosing loop, for the first child whose trigger is that segment id. A match closes
the loops above it (reporting mandatory segments they skipped), reports mandatory siblings skipped
on the way, counts the use against its maximum, and opens a loop when the child is one. A loop's own
trigger seen again inside it starts a new repetition of that loop (found in the parent). A segment
found nowhere ahead is out of sequence if the set has it elsewhere, not in the set if the version
has it, and unrecognised otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.x12.model import SegmentCode
from gateway.x12.schema import LoopNode, SegmentNode, TransactionSetSchema


@dataclass(slots=True)
class _Frame:
    loop: LoopNode
    position: int
    counts: list[int]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a segment landed: the loop it is in (`loop_id`), or an error code and message."""

    loop_id: str
    code: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class Missing:
    """A mandatory segment or loop that was skipped."""

    segment_id: str
    loop_id: str
    is_loop: bool


class StructureMachine:
    """Follows one transaction set's segments through its schema."""

    def __init__(self, schema: TransactionSetSchema, known_segments: frozenset[str]):
        self.schema = schema
        self.known_segments = known_segments
        root = schema.root
        self.stack = [_Frame(root, 0, [0] * len(root.children))]
        self.missing: list[Missing] = []

    def place(self, segment_id: str) -> Placement:
        """Advance over one segment; mandatory segments skipped are added to `missing`."""
        stack = self.stack
        for depth in range(len(stack) - 1, -1, -1):
            frame = stack[depth]
            children = frame.loop.children
            start = frame.position
            if depth and start == 0:
                start = 1  # a loop's trigger again starts a new repetition: the parent's business
            for index in range(start, len(children)):
                child = children[index]
                if child.trigger != segment_id:
                    continue
                while len(stack) > depth + 1:
                    self._close(stack.pop())
                for skipped in range(frame.position, index):
                    self._check_missing(frame, skipped)
                if index != frame.position:
                    frame.position = index
                frame.counts[index] += 1
                uses = frame.counts[index]
                if isinstance(child, SegmentNode):
                    if uses > child.max_use:
                        return Placement(
                            frame.loop.loop_id,
                            SegmentCode.OVER_MAXIMUM_USE,
                            f"{segment_id} is used {uses} times here, at most {child.max_use}",
                        )
                    return Placement(frame.loop.loop_id)
                counts = [0] * len(child.children)
                counts[0] = 1
                stack.append(_Frame(child, 0, counts))
                if uses > child.max_use:
                    return Placement(
                        child.loop_id,
                        SegmentCode.LOOP_OVER_MAXIMUM,
                        f"loop {child.loop_id} repeats {uses} times, at most {child.max_use}",
                    )
                return Placement(child.loop_id)
        current = stack[-1].loop.loop_id
        if segment_id in self.schema.segment_ids:
            return Placement(
                current,
                SegmentCode.OUT_OF_SEQUENCE,
                f"{segment_id} is out of sequence in {self.schema.set_id}"
                + (f" (inside loop {current})" if current else ""),
            )
        if segment_id in self.known_segments:
            return Placement(
                current,
                SegmentCode.NOT_IN_SET,
                f"{segment_id} is not a segment of transaction set {self.schema.set_id}",
            )
        return Placement(current, SegmentCode.UNRECOGNIZED, f"{segment_id!r} is not a segment id")

    def finish(self) -> None:
        """Close every open loop at the set's end, reporting what mandatory parts never came."""
        while len(self.stack) > 1:
            self._close(self.stack.pop())
        root = self.stack[0]
        for index in range(root.position, len(root.loop.children)):
            self._check_missing(root, index)

    def _close(self, frame: _Frame) -> None:
        for index in range(frame.position, len(frame.loop.children)):
            self._check_missing(frame, index)

    def _check_missing(self, frame: _Frame, index: int) -> None:
        child = frame.loop.children[index]
        if child.mandatory and frame.counts[index] == 0:
            if isinstance(child, LoopNode):
                self.missing.append(Missing(child.trigger, child.loop_id, True))
            else:
                self.missing.append(Missing(child.segment_id, frame.loop.loop_id, False))
            frame.counts[index] = -1  # reported once
