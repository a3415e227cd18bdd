"""The fast path must never accept what the detailed checks refuse.

- A segment the compiled expression passes has no element fault by `SegmentChecker`.
- A sequence of segment ids the structure expression matches is one the `StructureMachine`
  places without error and with nothing mandatory missing (and, for the shipped schemas, the two
  agree both ways).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.x12.compiled import compile_segment
from gateway.x12.elements import SegmentChecker
from gateway.x12.model import Delimiters, Issue, Level
from gateway.x12.schema import ElementDef, LoopNode, SegmentNode, load_catalog
from gateway.x12.structure import LoopTable, StructureMachine, structure_pattern

CATALOG = load_catalog()
SEGMENTS = [
    (family.version, segment)
    for family in CATALOG.families.values()
    for segment in family.segments.values()
]
DELIMITERS = [Delimiters("*", ">", "~", None), Delimiters("*", ":", "~", "^")]
BASE = Issue(Level.SEGMENT, "8", "test")


def plausible_value(definition: ElementDef, rng: random.Random) -> str:
    """A value that is often valid for the definition and sometimes subtly not."""
    kind = definition.type
    low, high = max(definition.min_length, 1), max(definition.max_length, 1)
    length = rng.choice([low, high, rng.randint(low, high), high + 1, max(low - 1, 1)])
    if definition.composite is not None:
        parts = [
            plausible_value(c, rng) if rng.random() < 0.7 else ""
            for c in definition.composite.components[: rng.randint(1, 4)]
        ]
        return ">".join(parts)
    if definition.codes and rng.random() < 0.7:
        return rng.choice(sorted(definition.codes))
    if kind.startswith("N"):
        return rng.choice(["", "-"]) + "".join(rng.choice("0123456789") for _ in range(length))
    if kind == "R":
        digits = "".join(rng.choice("0123456789") for _ in range(length))
        cut = rng.randint(0, len(digits))
        return rng.choice(["", "-"]) + digits[:cut] + rng.choice(["", "."]) + digits[cut:]
    if kind == "DT":
        year = rng.choice(["2026", "1999", "26", "0000", "2024"])
        month = rng.choice(["01", "02", "12", "13", "00", "06"])
        day = rng.choice(["01", "28", "29", "30", "31", "32", "00"])
        return year + month + day
    if kind == "TM":
        return rng.choice(["1200", "2359", "2400", "0960", "120000", "1200001", "12000012", "12"])
    alphabet = "ABCXYZ019 -./" + rng.choice(["", "\x01", "\n", ">", "^", "\xe9"])
    return "".join(rng.choice(alphabet) for _ in range(length))


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEGMENTS),
    st.sampled_from(DELIMITERS),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_compiled_check_never_passes_a_faulty_segment(entry, delimiters, short_dates, rng):
    version, definition = entry
    compiled = compile_segment(definition, delimiters, short_dates)
    checker = SegmentChecker(delimiters, short_dates)
    for _ in range(20):
        count = rng.randint(0, len(definition.elements) + 1)
        values = []
        for position in range(count):
            element = definition.elements[position] if position < len(definition.elements) else None
            if element is None or (not element.mandatory and rng.random() < 0.3):
                values.append("" if element is not None else "X")
            else:
                values.append(plausible_value(element, rng))
        values = [v.replace(">", delimiters.sub_element) for v in values]
        elements = [definition.id, *values]
        raw = delimiters.element.join(elements)
        if compiled.valid(raw, elements):
            assert checker.check(definition, elements, BASE) == [], (version, raw)


# -- structure -------------------------------------------------------------------------------

SCHEMAS = [schema for family in CATALOG.families.values() for schema in family.sets.values()]


def generate(node: SegmentNode | LoopNode, rng: random.Random, depth: int = 0) -> list[str]:
    """A sequence of ids the node allows (usually), with small repeat counts."""
    low = 1 if node.mandatory else 0
    high = min(node.max_use, 3 if depth else 2)
    times = rng.randint(low, max(low, high)) if rng.random() < 0.8 else low
    out: list[str] = []
    for _ in range(times):
        if isinstance(node, SegmentNode):
            out.append(node.segment_id)
        else:
            for child in node.children:
                if child is node.children[0]:
                    out.append(child.trigger)
                elif rng.random() < 0.5 or child.mandatory:
                    out.extend(generate(child, rng, depth + 1))
    return out


def mutate(tags: list[str], pool: list[str], rng: random.Random) -> list[str]:
    tags = list(tags)
    for _ in range(rng.randint(0, 3)):
        if not tags:
            break
        at = rng.randrange(len(tags))
        action = rng.choice(["insert", "delete", "duplicate", "swap"])
        if action == "insert":
            tags.insert(at, rng.choice(pool))
        elif action == "delete":
            del tags[at]
        elif action == "duplicate":
            tags.insert(at, tags[at])
        elif len(tags) > 1:
            other = rng.randrange(len(tags))
            tags[at], tags[other] = tags[other], tags[at]
    return tags


def machine_accepts(schema, table, tags: list[str]) -> bool:
    machine = StructureMachine(schema, frozenset(), table)
    ok = all(not machine.place(tag).code for tag in tags)
    machine.finish()
    return ok and not machine.missing


@pytest.mark.parametrize("schema", SCHEMAS, ids=[f"{s.family}-{s.set_id}" for s in SCHEMAS])
def test_structure_expression_agrees_with_the_machine(schema):
    pattern = structure_pattern(schema.root)
    table = LoopTable(schema.root, False)
    pool = sorted(schema.segment_ids)
    rng = random.Random(f"{schema.family}-{schema.set_id}")
    matched = 0
    for _ in range(1500):
        tags = generate(schema.root, rng)
        if rng.random() < 0.5:
            tags = mutate(tags, pool, rng)
        regex = pattern.fullmatch(",".join(tags) + ",") is not None
        machine = machine_accepts(schema, table, tags)
        assert regex == machine, (regex, machine, tags)
        matched += regex
    assert matched > 100


# -- folding ---------------------------------------------------------------------------------

FOLDABLE = [
    (version, segment)
    for version, segment in SEGMENTS
    if compile_segment(segment, DELIMITERS[0], False).foldable
]


def refold(value: str, rng: random.Random) -> str:
    """The same value with every digit and letter replaced by another of its kind."""
    out = []
    for c in value:
        if c.isdigit() and c.isascii():
            out.append(rng.choice("0123456789"))
        elif c.isascii() and c.isupper():
            out.append(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        elif c.isascii() and c.islower():
            out.append(rng.choice("abcdefghijklmnopqrstuvwxyz"))
        else:
            out.append(c)
    return "".join(out)


def test_some_segments_are_foldable_and_dated_or_coded_ones_are_not():
    names = {segment.id for _, segment in FOLDABLE}
    assert {"PO1", "N1", "N3"} <= names
    assert "DTM" not in names and "BEG" not in names


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FOLDABLE), st.sampled_from(DELIMITERS), st.randoms(use_true_random=False))
def test_segments_that_fold_alike_are_judged_alike(entry, delimiters, rng):
    _, definition = entry
    checker = SegmentChecker(delimiters, False)
    compiled = compile_segment(definition, delimiters, False)
    for _ in range(10):
        count = rng.randint(1, len(definition.elements))
        values = [
            plausible_value(e, rng) if e.mandatory or rng.random() < 0.6 else ""
            for e in definition.elements[:count]
        ]
        values = [v.replace(">", delimiters.sub_element) for v in values]
        elements = [definition.id, *values]
        twin = [definition.id, *(refold(v, rng) for v in values)]
        raw = delimiters.element.join(elements)
        assert compiled.key(raw) == compiled.key(delimiters.element.join(twin))
        first = checker.check(definition, elements, BASE) == []
        second = checker.check(definition, twin, BASE) == []
        assert first == second, (elements, twin)
