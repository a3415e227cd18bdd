"""Segment order inside a transaction set: a stack machine over the schema's loops.

For each segment the machine looks forward from the current place in the innermost open loop,
then in each enclosing loop, for the first child whose trigger is that segment id. A match closes
the loops above it (reporting mandatory segments they skipped), reports mandatory siblings skipped
on the way, counts the use against its maximum, and opens a loop when the child is one. A loop's own
trigger seen again inside it starts a new repetition of that loop (found in the parent). A segment
found nowhere ahead is out of sequence if the set has it elsewhere, not in the set if the version
has it, and unrecognised otherwise.

The look-ups are precomputed once per loop (`LoopTable`): for every place in the loop, the index of
the next child each segment id triggers, and the mandatory children from each place on; so placing
a segment costs a dictionary look-up per open loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.x12.model import SegmentCode
from gateway.x12.schema import UNBOUNDED, LoopNode, SegmentNode, TransactionSetSchema


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a segment landed: the loop it is in (`loop_id`), or an error code and message."""

    loop_id: str
    code: str = ""
    message: str = ""


class LoopTable:
    """Precomputed look-ups for one loop."""

    __slots__ = (
        "children",
        "forward",
        "loop",
        "mandatory_from",
        "max_uses",
        "placed",
        "subtables",
    )

    def __init__(self, loop: LoopNode, nested: bool):
        self.loop = loop
        self.placed = Placement(loop.loop_id)  # shared answer for a segment placed here
        self.children = loop.children
        count = len(loop.children)
        mandatory = [i for i, child in enumerate(loop.children) if child.mandatory]
        # mandatory_from[start]: the mandatory children at or after `start`, in order.
        self.mandatory_from = [tuple(i for i in mandatory if i >= start) for start in range(count)]
        self.max_uses = [child.max_use for child in loop.children]
        # forward[start][segment id] = first index >= start whose trigger is that id. In a
        # nested loop the trigger (index 0) is never matched from inside: it starts a new
        # repetition, which the parent handles.
        self.forward: list[dict[str, int]] = []
        for start in range(count):
            table: dict[str, int] = {}
            for index in range(count - 1, max(start, 1 if nested else 0) - 1, -1):
                table[loop.children[index].trigger] = index
            self.forward.append(table)
        self.subtables: dict[int, LoopTable] = {
            index: LoopTable(child, True)
            for index, child in enumerate(loop.children)
            if isinstance(child, LoopNode)
        }


@dataclass(slots=True)
class _Frame:
    table: LoopTable
    position: int
    counts: list[int]


@dataclass(frozen=True, slots=True)
class Missing:
    """A mandatory segment or loop that was skipped."""

    segment_id: str
    loop_id: str
    is_loop: bool


class StructureMachine:
    """Follows one transaction set's segments through its schema."""

    def __init__(
        self,
        schema: TransactionSetSchema,
        known_segments: frozenset[str],
        table: LoopTable | None = None,
    ):
        self.schema = schema
        self.known_segments = known_segments
        root = table or LoopTable(schema.root, False)
        self.stack = [_Frame(root, 0, [0] * len(root.children))]
        self.missing: list[Missing] = []

    def place(self, segment_id: str) -> Placement:
        """Advance over one segment; mandatory segments skipped are added to `missing`."""
        stack = self.stack
        depth = len(stack) - 1
        while depth >= 0:
            frame = stack[depth]
            table = frame.table
            position = frame.position
            index = table.forward[position].get(segment_id)
            if index is None:
                depth -= 1
                continue
            while len(stack) > depth + 1:
                self._close(stack.pop())
            counts = frame.counts
            if index != position:
                for skipped in table.mandatory_from[position]:
                    if skipped >= index:
                        break
                    if counts[skipped] == 0:
                        self._report_missing(frame, skipped)
                frame.position = index
            uses = counts[index] + 1
            counts[index] = uses
            subtable = table.subtables.get(index)
            if subtable is None:
                if uses > table.max_uses[index]:
                    return Placement(
                        table.loop.loop_id,
                        SegmentCode.OVER_MAXIMUM_USE,
                        f"{segment_id} is used {uses} times here, at most {table.max_uses[index]}",
                    )
                return table.placed
            inner = [0] * len(subtable.children)
            inner[0] = 1
            stack.append(_Frame(subtable, 0, inner))
            if uses > table.max_uses[index]:
                loop_id = subtable.loop.loop_id
                return Placement(
                    loop_id,
                    SegmentCode.LOOP_OVER_MAXIMUM,
                    f"loop {loop_id} repeats {uses} times, at most {table.max_uses[index]}",
                )
            return subtable.placed
        current = stack[-1].table.loop.loop_id
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
        return Placement(current, SegmentCode.UNRECOGNIZED, f"{segment_id} is not a known segment")

    def finish(self) -> None:
        """Close every open loop at the set's end, reporting what mandatory parts never came."""
        while len(self.stack) > 1:
            self._close(self.stack.pop())
        self._close(self.stack[0])

    def _close(self, frame: _Frame) -> None:
        counts = frame.counts
        for index in frame.table.mandatory_from[frame.position]:
            if counts[index] == 0:
                self._report_missing(frame, index)

    def _report_missing(self, frame: _Frame, index: int) -> None:
        child = frame.table.children[index]
        if isinstance(child, LoopNode):
            self.missing.append(Missing(child.trigger, child.loop_id, True))
        else:
            self.missing.append(Missing(child.segment_id, frame.table.loop.loop_id, False))
        frame.counts[index] = -1  # reported once


def structure_pattern(root: LoopNode) -> re.Pattern[str]:
    """The set's structure as one expression over its segment ids, each followed by a comma
    (`ST,BEG,REF,...,SE,`). Quantifiers are possessive and loop bodies atomic, so the match
    commits segment by segment the way `StructureMachine` does; a segment repeated past its
    maximum use is refused by a look-ahead rather than matched to a later place. A match means
    the machine would find nothing wrong; on a miss the machine is run to name the fault."""
    return re.compile(_sequence(root.children))


def _quantifier(mandatory: bool, max_use: int) -> str:
    low = 1 if mandatory else 0
    if max_use >= UNBOUNDED:
        return f"{{{low},}}+"
    return f"{{{low},{max_use}}}+"


def _sequence(children: tuple[SegmentNode | LoopNode, ...]) -> str:
    return "".join(_node(child) for child in children)


def _node(node: SegmentNode | LoopNode) -> str:
    token = re.escape(node.trigger) + ","
    limit = "" if node.max_use >= UNBOUNDED else f"(?!{token})"
    if isinstance(node, SegmentNode):
        return f"(?:{token}){_quantifier(node.mandatory, node.max_use)}{limit}"
    body = f"{token}(?>{_sequence(node.children[1:])})"
    return f"(?:{body}){_quantifier(node.mandatory, node.max_use)}{limit}"
