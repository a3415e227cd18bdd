"""A transaction set as a tree of loops, built from its schema, and the queries mappings use.

Strategy: the segments are fed, in order, to the same `StructureMachine` that validates them; each
time the machine opens a loop repetition, a new `Loop` node starts under the node of the enclosing
loop, so the tree is exactly the placement the validator made. Element references are written as
in the implementation guides: `BEG03` is element 3 of BEG; `C04002`-style composite parts are
`REF04-2` (element 4, component 2).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from gateway.x12.document import Segment, TransactionSet
from gateway.x12.schema import TransactionSetSchema
from gateway.x12.structure import LoopTable, StructureMachine

REFERENCE = re.compile(r"^([A-Z0-9]{2,3}?)(\d{2})(?:-(\d+))?$")


@functools.lru_cache(maxsize=4096)
def parse_reference(reference: str) -> tuple[str, int, int | None]:
    """`BEG03` -> ("BEG", 3, None); `REF04-2` -> ("REF", 4, 2)."""
    match = REFERENCE.match(reference)
    if match is None:
        raise ValueError(f"{reference!r} is not an element reference like BEG03 or REF04-2")
    component = int(match.group(3)) if match.group(3) else None
    return match.group(1), int(match.group(2)), component


def element_value(segment: Segment, position: int, component: int | None = None) -> str:
    """An element's value as text (a composite's component when asked, else its first)."""
    if position < 1 or position > len(segment.elements):
        return ""
    value = segment.elements[position - 1]
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, tuple):
        index = (component or 1) - 1
        return value[index] if index < len(value) else ""
    if component not in (None, 1):
        return ""
    return value


@dataclass(slots=True)
class Loop:
    """One repetition of a loop (the root is the set's header, detail and summary as one)."""

    loop_id: str
    segments: list[Segment] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    _by_id: dict[str, list[Segment]] | None = field(default=None, repr=False, compare=False)

    def segments_with(self, segment_id: str) -> list[Segment]:
        """This loop's own segments with that id, in order (indexed on first use: a tree is not
        changed once built)."""
        index = self._by_id
        if index is None:
            index = {}
            for segment in self.segments:
                index.setdefault(segment.id, []).append(segment)
            self._by_id = index
        return index.get(segment_id, [])

    def each(self, loop_id: str) -> list[Loop]:
        """The repetitions of a loop directly inside this one."""
        return [loop for loop in self.loops if loop.loop_id == loop_id]

    def walk(self, loop_id: str) -> Iterator[Loop]:
        """Every repetition of a loop at any depth below this one, in document order."""
        for loop in self.loops:
            if loop.loop_id == loop_id:
                yield loop
            yield from loop.walk(loop_id)

    def find(
        self, segment_id: str, where: Mapping[str, str | Sequence[str]] | None = None
    ) -> list[Segment]:
        """This loop's own segments with that id whose elements match `where`
        (`{"DTM01": "002"}` or `{"DTM01": ["002", "074"]}`)."""
        candidates = self.segments_with(segment_id)
        if not where:
            return list(candidates)
        return [
            segment
            for segment in candidates
            if all(_matches(segment, ref, want) for ref, want in where.items())
        ]

    def value(self, reference: str, where: Mapping[str, str | Sequence[str]] | None = None) -> str:
        """The first value of an element reference among this loop's own segments ('' if none)."""
        segment_id, position, component = parse_reference(reference)
        for segment in self.segments_with(segment_id):
            if where and not all(_matches(segment, ref, want) for ref, want in where.items()):
                continue
            text = element_value(segment, position, component)
            if text:
                return text
        return ""


def _matches(segment: Segment, reference: str, want: str | Sequence[str]) -> bool:
    _, position, component = parse_reference(reference)
    actual = element_value(segment, position, component)
    return actual == want if isinstance(want, str) else actual in want


_TABLES: dict[int, tuple[TransactionSetSchema, LoopTable]] = {}


def _table(schema: TransactionSetSchema) -> LoopTable:
    """The schema's loop look-ups, built once per schema (schemas live as long as the catalog
    that holds them; the schema is kept beside its table so its id is never reused)."""
    found = _TABLES.get(id(schema))
    if found is None or found[0] is not schema:
        found = _TABLES[id(schema)] = (schema, LoopTable(schema.root, False))
    return found[1]


Plan = tuple[tuple[int, str, int], ...]
"""How a sequence of segment ids is placed: for each segment, the index of the node it goes in
(nodes numbered as they open; 0 is the root) and, when it opens that node, its loop id and its
parent's index (else "" and -1)."""

PLANS_KEPT = 512
_PLANS: dict[tuple[int, tuple[str, ...]], Plan] = {}


def build_tree(transaction: TransactionSet, schema: TransactionSetSchema) -> Loop:
    """The loop tree of a transaction set (ST and SE left out), placed by its schema.

    A segment the schema does not place (the set was not valid) stays in the innermost open loop:
    mapping reads only validated sets, so this is a fallback, not a repair. Sets of the same
    shape (the same segment ids in the same order: a file's orders of as many lines) are placed
    once, and the placement is kept (PLANS_KEPT of them)."""
    ids = tuple(segment.id for segment in transaction.segments)
    key = (id(_table(schema)), ids)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _plan(ids, schema)
        if len(_PLANS) >= PLANS_KEPT:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = plan
    root = Loop("")
    nodes = [root]
    for segment, (index, loop_id, parent) in zip(transaction.segments, plan, strict=True):
        if parent >= 0:  # the segment opens a node
            node = Loop(loop_id)
            nodes[parent].loops.append(node)
            nodes.append(node)
        nodes[index].segments.append(segment)
    return root


def _plan(ids: tuple[str, ...], schema: TransactionSetSchema) -> Plan:
    """Place the segment ids with the schema's structure machine, noting where each went."""
    machine = StructureMachine(schema, frozenset(), _table(schema))
    machine.place("ST")
    numbers: dict[int, int] = {id(machine.stack[0]): 0}
    alive = [machine.stack[0]]  # frames kept referenced, so no id is reused
    plan = []
    for segment_id in ids:
        machine.place(segment_id)
        top = machine.stack[-1]
        index = numbers.get(id(top))
        if index is None:
            parent = numbers.get(id(machine.stack[-2]), 0) if len(machine.stack) > 1 else 0
            index = numbers[id(top)] = len(numbers)
            alive.append(top)
            plan.append((index, top.table.loop.loop_id, parent))
        else:
            plan.append((index, "", -1))
    return tuple(plan)
