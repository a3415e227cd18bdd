"""The mapping engine: applies the declarative mappings of `mappings/*.toml` to a transaction
set's loop tree, giving plain records of text values that the set's assembler turns into domain
commands (and back, for outbound sets).

A mapping names, for each field, where its value is: an element reference (`"BEG03"`), or a table
`{ ref = "DTM02", where = { DTM01 = ["002", "074"] }, loop = "PID" }` (the first matching segment,
in the record's own segments or in the named loop inside it). A `records` section names the loop
each record comes from (`loop = "PO1"`) and its `fields`; `pairs` lists qualifier/value element
pairs (`[["PO106", "PO107"], ...]`) for product ids and the like. A partner profile can override
any of it: the override is merged over the shipped mapping, key by key.

Strategy: the mapping files are read by the configuration (this package does no I/O) and checked
once when loaded, so a broken mapping is a configuration error at start-up, not a crash on the
first file.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import ConfigurationError
from gateway.x12.tree import Loop, element_value, parse_reference

Where = dict[str, str | list[str]]


@dataclass(frozen=True, slots=True)
class FieldRule:
    """Where one field's value is."""

    ref: str
    where: Where | None = None
    loop: str | None = None
    # the reference and the conditions parsed once, when the mapping is compiled
    _target: tuple[str, int, int | None] = field(init=False, repr=False, compare=False)
    _conditions: tuple[tuple[int, int | None, frozenset[str]], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_target", parse_reference(self.ref))
        conditions = []
        for reference, wanted in (self.where or {}).items():
            _, position, component = parse_reference(reference)
            values = frozenset([wanted] if isinstance(wanted, str) else wanted)
            conditions.append((position, component, values))
        object.__setattr__(self, "_conditions", tuple(conditions))

    def read(self, loop: Loop) -> str:
        """The value in `loop` (or the first of its `self.loop` sub-loops, in document order,
        that has one)."""
        if self.loop is None:
            return self._read(loop)
        pending = list(reversed(loop.loops))  # depth first, in document order, as Loop.walk
        while pending:
            inner = pending.pop()
            if inner.loop_id == self.loop:
                value = self._read(inner)
                if value:
                    return value
            if inner.loops:
                pending.extend(reversed(inner.loops))
        return ""

    def _read(self, loop: Loop) -> str:
        """The first value among the loop's own segments that meet the conditions."""
        segment_id, position, component = self._target
        conditions = self._conditions
        for segment in loop.segments_with(segment_id):
            if conditions and not all(
                element_value(segment, at, part) in values for at, part, values in conditions
            ):
                continue
            elements = segment.elements
            if component is None and position <= len(elements):
                value = elements[position - 1]
                if type(value) is str:  # a plain element: the usual case, read directly
                    if value:
                        return value
                    continue
            text = element_value(segment, position, component)
            if text:
                return text
        return ""


class FieldReader:
    """Reads a set of named fields from one loop repetition, as each `FieldRule.read` would,
    with the plain ones (an element of the loop's own segments, no condition, no sub-loop: most
    of them) grouped by segment: a segment that occurs once gives all its fields by index."""

    __slots__ = ("names", "other", "plain")

    def __init__(self, rules: Mapping[str, FieldRule]) -> None:
        self.names = tuple(rules)
        groups: dict[str, list[tuple[str, int, FieldRule]]] = {}
        other = []
        for name, rule in rules.items():
            segment_id, position, component = rule._target
            if rule.loop is None and not rule._conditions and component is None:
                groups.setdefault(segment_id, []).append((name, position - 1, rule))
            else:
                other.append((name, rule))
        self.plain = tuple((segment_id, tuple(found)) for segment_id, found in groups.items())
        self.other = tuple(other)

    def read(self, loop: Loop) -> dict[str, str]:
        record = dict.fromkeys(self.names, "")
        for segment_id, fields in self.plain:
            segments = loop.segments_with(segment_id)
            if not segments:
                continue
            if len(segments) > 1:  # the first with a value, field by field
                for name, _, rule in fields:
                    record[name] = rule.read(loop)
                continue
            elements = segments[0].elements
            count = len(elements)
            for name, index, rule in fields:
                if index < count:
                    value = elements[index]
                    record[name] = value if type(value) is str else rule.read(loop)
        for name, rule in self.other:
            record[name] = rule.read(loop)
        return record


@dataclass(frozen=True, slots=True)
class RecordRule:
    """A record per repetition of `loop`: named fields and qualifier/value pairs."""

    loop: str
    fields: dict[str, FieldRule]
    pairs: tuple[tuple[str, str], ...] = ()
    where: Where | None = None  # keep only repetitions whose own segments match
    reader: FieldReader = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reader", FieldReader(self.fields))

    def read(self, root: Loop) -> list[dict[str, Any]]:
        records = []
        read_fields = self.reader.read
        for loop in root.walk(self.loop):
            if self.where and not loop.find(self.loop, self.where):
                continue
            record: dict[str, Any] = read_fields(loop)
            if self.pairs:
                record["pairs"] = self._pairs(loop)
            records.append(record)
        return records

    def _pairs(self, loop: Loop) -> tuple[tuple[str, str], ...]:
        """The qualifier/value pairs present in one repetition: read straight from the
        elements when every pair is in one segment (PO106/PO107, ...), the usual case."""
        segment_id, positions = _pair_positions(self.pairs)
        if segment_id:
            found = loop.segments_with(segment_id)
            if not found:
                return ()
            segment = found[0]
            count = len(segment.elements)
            pairs = []
            for qualifier_at, value_at in positions:
                if value_at <= count:
                    qualifier = element_value(segment, qualifier_at)
                    value = element_value(segment, value_at)
                    if qualifier and value:
                        pairs.append((qualifier, value))
            return tuple(pairs)
        pairs = []
        for qualifier_ref, value_ref in self.pairs:
            qualifier, value = loop.value(qualifier_ref), loop.value(value_ref)
            if qualifier and value:
                pairs.append((qualifier, value))
        return tuple(pairs)


@dataclass(frozen=True, slots=True)
class Required:
    """What a partner requires of an inbound set beyond the standard: header fields that must
    have a value (`header = ["department"]`), parties (`parties = ["ST", "BT"]`, N101 codes of
    the `parties` records) and product ids on every line (`line_ids = ["UP"]`, qualifiers of the
    `lines` records' pairs). A set missing any is rejected, naming what is missing."""

    header: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    line_ids: tuple[str, ...] = ()


@functools.lru_cache(maxsize=256)
def _pair_positions(
    pairs: tuple[tuple[str, str], ...],
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """(segment id, element positions) when every pair is two plain elements of one segment;
    ("", ()) otherwise."""
    parsed = [(parse_reference(q), parse_reference(v)) for q, v in pairs]
    segment_ids = {ref[0] for pair in parsed for ref in pair}
    if len(segment_ids) != 1 or any(ref[2] is not None for pair in parsed for ref in pair):
        return "", ()
    return segment_ids.pop(), tuple((q[1], v[1]) for q, v in parsed)


@dataclass(frozen=True, slots=True)
class SetMapping:
    """One transaction set's mapping, checked."""

    name: str
    set_id: str
    direction: str
    header: dict[str, FieldRule]
    records: dict[str, RecordRule]
    settings: dict[str, Any]
    required: Required = field(default_factory=Required)
    header_reader: FieldReader = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "header_reader", FieldReader(self.header))

    def read_header(self, root: Loop) -> dict[str, str]:
        return self.header_reader.read(root)

    def missing(self, root: Loop) -> list[str]:
        """What the mapping's `[required]` section asks for and the set does not have, each as
        `department (REF02)`, `party ST (N1)` or `line 2: product id UP`; [] when complete."""
        found = []
        for name in self.required.header:
            if not self.header[name].read(root):
                found.append(f"{name} ({self.header[name].ref})")
        if self.required.parties:
            held = {r.get("entity_code", "") for r in self.read_records(root, "parties")}
            found.extend(f"party {code} (N1)" for code in self.required.parties if code not in held)
        if self.required.line_ids:
            for index, line in enumerate(self.read_records(root, "lines"), 1):
                qualifiers = {qualifier for qualifier, _ in line.get("pairs", ())}
                number = line.get("line_number") or f"#{index}"
                found.extend(
                    f"line {number}: product id {qualifier}"
                    for qualifier in self.required.line_ids
                    if qualifier not in qualifiers
                )
        return found

    def read_records(self, root: Loop, name: str) -> list[dict[str, Any]]:
        return self.records[name].read(root) if name in self.records else []


def _field(name: str, spec: Any, where: str) -> FieldRule:
    if isinstance(spec, str):
        _check_reference(spec, f"{where}.{name}")
        return FieldRule(spec)
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"ref", "where", "loop"}
        if unknown or "ref" not in spec:
            raise ConfigurationError(
                f"{where}.{name}: a field is an element reference or a table with ref "
                f"(and optional where, loop); found {sorted(spec)}"
            )
        _check_reference(spec["ref"], f"{where}.{name}.ref")
        condition = spec.get("where")
        if condition is not None:
            for reference, wanted in condition.items():
                _check_reference(reference, f"{where}.{name}.where")
                if not isinstance(wanted, str | list):
                    raise ConfigurationError(f"{where}.{name}.where.{reference}: a code or list")
        return FieldRule(spec["ref"], dict(condition) if condition else None, spec.get("loop"))
    raise ConfigurationError(f"{where}.{name}: expected an element reference, found {spec!r}")


def _check_reference(reference: Any, where: str) -> None:
    try:
        parse_reference(reference)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{where}: {reference!r} is not an element reference like BEG03 or REF04-2"
        ) from None


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base`, key by key, tables merged recursively."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def compile_mapping(name: str, spec: Mapping[str, Any]) -> SetMapping:
    """Check and compile a mapping read from `mappings/<name>.toml`."""
    for key in ("set", "direction"):
        if key not in spec:
            raise ConfigurationError(f"mappings/{name}.toml: `{key}` is missing")
    allowed = {"set", "direction", "description", "header", "records", "settings", "required"}
    unknown = set(spec) - allowed
    if unknown:
        raise ConfigurationError(
            f"mappings/{name}.toml: unknown key {sorted(unknown)[0]!r}; allowed: "
            f"{', '.join(sorted(allowed))}"
        )
    where = f"mappings/{name}.toml"
    header = {k: _field(k, v, f"{where} header") for k, v in spec.get("header", {}).items()}
    records = {}
    for record_name, record in spec.get("records", {}).items():
        at = f"{where} records.{record_name}"
        if "loop" not in record:
            raise ConfigurationError(f"{at}: `loop` (the loop each record comes from) is missing")
        fields = {k: _field(k, v, at) for k, v in record.get("fields", {}).items()}
        pairs = tuple(_pair(p, at) for p in record.get("pairs", ()))
        records[record_name] = RecordRule(record["loop"], fields, pairs, record.get("where"))
    required = _required(spec.get("required", {}), header, records, f"{where} required")
    return SetMapping(
        name,
        str(spec["set"]),
        str(spec["direction"]),
        header,
        records,
        spec.get("settings", {}),
        required,
    )


def _required(
    spec: Any, header: Mapping[str, FieldRule], records: Mapping[str, RecordRule], where: str
) -> Required:
    if not isinstance(spec, Mapping):
        raise ConfigurationError(f"{where}: expected a table, found {spec!r}")
    unknown = set(spec) - {"header", "parties", "line_ids"}
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown key {sorted(unknown)[0]!r}; allowed: header, parties, line_ids"
        )
    lists = {}
    for key in ("header", "parties", "line_ids"):
        value = spec.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigurationError(f"{where}.{key}: expected a list of names, found {value!r}")
        lists[key] = tuple(value)
    for name in lists["header"]:
        if name not in header:
            raise ConfigurationError(
                f"{where}.header: {name!r} is not a header field of this mapping; fields: "
                f"{', '.join(sorted(header))}"
            )
    parties = records.get("parties")
    if lists["parties"] and (parties is None or "entity_code" not in parties.fields):
        raise ConfigurationError(
            f"{where}.parties: this mapping reads no parties records with an entity_code"
        )
    lines = records.get("lines")
    if lists["line_ids"] and (lines is None or not lines.pairs):
        raise ConfigurationError(
            f"{where}.line_ids: this mapping reads no lines records with product id pairs"
        )
    return Required(lists["header"], lists["parties"], lists["line_ids"])


def _pair(pair: Sequence[str], where: str) -> tuple[str, str]:
    if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
        raise ConfigurationError(f"{where}.pairs: each pair is [qualifier, value], not {pair!r}")
    for reference in pair:
        _check_reference(reference, f"{where}.pairs")
    return pair[0], pair[1]


class Mappings:
    """Every mapping the gateway holds, with partners' overrides."""

    def __init__(
        self,
        specs: Mapping[str, Mapping[str, Any]],
        overrides: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    ):
        self._specs = dict(specs)
        self._overrides = dict(overrides or {})
        self._compiled: dict[tuple[str, str], SetMapping] = {}
        for name, spec in self._specs.items():
            compile_mapping(name, spec)  # fail at start-up, not on the first file
        for partner, by_name in self._overrides.items():
            for name, override in by_name.items():
                if name not in self._specs:
                    raise ConfigurationError(
                        f"partner {partner}: mapping override for unknown mapping {name!r}"
                    )
                compile_mapping(name, merge(self._specs[name], override))

    def get(self, name: str, partner: str = "") -> SetMapping:
        """The mapping `name` (e.g. "850-in") as it applies to `partner`."""
        key = (name, partner)
        compiled = self._compiled.get(key)
        if compiled is None:
            if name not in self._specs:
                raise ConfigurationError(f"no mapping {name!r} (mappings/{name}.toml)")
            spec = self._specs[name]
            override = self._overrides.get(partner, {}).get(name)
            compiled = compile_mapping(name, merge(spec, override) if override else spec)
            self._compiled[key] = compiled
        return compiled

    def names(self) -> list[str]:
        return sorted(self._specs)
