"""Transaction-set schemas: loaded from the text files in `schemas/` (format in its README).

A `Catalog` holds one `Family` per version family (`004010`, `005010`); a family has the segment
and composite dictionary of its version and the structure of each transaction set. A group's GS08
version picks the family: 003010 up to 004060 are read with the 004010 schemas (the nearest the
gateway holds), 005010 and later with the 005010 ones; older versions are not supported.
Files are read with `importlib.resources`, each once and when first needed: a family's
dictionary when a group of its version is met, a set's structure when a set of its id is.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

from gateway.errors import SchemaDefinitionError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

UNBOUNDED = 1 << 30
ELEMENT_TYPES = frozenset({"AN", "ID", "R", "DT", "TM", "B"} | {f"N{d}" for d in range(10)})
RULE_KINDS = frozenset("PRECL")


@dataclass(frozen=True, slots=True)
class SyntaxRule:
    """An X12 syntax note over element positions (1-based): P, R, E, C or L."""

    kind: str
    positions: tuple[int, ...]

    @property
    def label(self) -> str:
        return self.kind + "".join(f"{p:02d}" for p in self.positions)


@dataclass(frozen=True, slots=True)
class CompositeDef:
    """A composite data structure (C040, C030, ...) and its components."""

    id: str
    name: str
    components: tuple[ElementDef, ...]
    rules: tuple[SyntaxRule, ...] = ()


@dataclass(frozen=True, slots=True)
class ElementDef:
    """One element position in a segment (or component position in a composite)."""

    name: str
    ref: str
    requirement: str
    type: str = ""
    min_length: int = 0
    max_length: int = 0
    repeat: int = 1
    codes: frozenset[str] | None = None
    composite: CompositeDef | None = None

    @property
    def mandatory(self) -> bool:
        return self.requirement == "M"


@dataclass(frozen=True, slots=True)
class SegmentDef:
    """A segment of the dictionary: its elements in order and its syntax rules."""

    id: str
    name: str
    elements: tuple[ElementDef, ...]
    rules: tuple[SyntaxRule, ...] = ()


@dataclass(frozen=True, slots=True)
class SegmentNode:
    """A segment's place in a transaction set: requirement and maximum use."""

    segment_id: str
    mandatory: bool
    max_use: int

    @property
    def trigger(self) -> str:
        return self.segment_id


@dataclass(frozen=True, slots=True)
class LoopNode:
    """A loop: its identifier, requirement, maximum repeat and children in order."""

    loop_id: str
    mandatory: bool
    max_use: int
    children: tuple[SegmentNode | LoopNode, ...]

    @property
    def trigger(self) -> str:
        first = self.children[0]
        return first.segment_id if isinstance(first, SegmentNode) else first.trigger


Node = SegmentNode | LoopNode


@dataclass(frozen=True, slots=True)
class TransactionSetSchema:
    """The structure of one transaction set in one version family."""

    set_id: str
    functional_id: str
    name: str
    family: str
    root: LoopNode
    segment_ids: frozenset[str]


@dataclass(slots=True)
class Family:
    """The schemas of one version family."""

    version: str
    segments: Mapping[str, SegmentDef] = field(default_factory=dict)
    composites: dict[str, CompositeDef] = field(default_factory=dict)
    sets: MutableMapping[str, TransactionSetSchema] = field(default_factory=dict)
    # Derived forms (compiled expressions, transition tables) built by the validator on first use.
    cache: dict[object, object] = field(default_factory=dict, repr=False, compare=False)


@dataclass(slots=True)
class Catalog:
    """Every family the gateway holds."""

    families: MutableMapping[str, Family] = field(default_factory=dict)

    def family_for(self, version: str) -> Family | None:
        """The family that reads a group of this GS08 version, or None if unsupported."""
        name = family_name(version)
        return self.families.get(name) if name else None

    def schema_for(self, set_id: str, version: str) -> TransactionSetSchema | None:
        family = self.family_for(version)
        return family.sets.get(set_id) if family else None

    def functional_id_of(self, set_id: str) -> str | None:
        """The GS01 code for a set, from any family that knows it."""
        for family in self.families.values():
            if set_id in family.sets:
                return family.sets[set_id].functional_id
        return None

    def __repr__(self) -> str:
        parts = [
            f"{name}: {len(f.segments)} segments, {len(f.composites)} composites, "
            f"sets {sorted(f.sets)}"
            for name, f in sorted(self.families.items())
        ]
        return "Catalog(" + "; ".join(parts) + ")"


def is_digits(value: str) -> bool:
    """One or more of the ASCII digits 0-9 (`str.isdigit` also takes '²' and other digit signs,
    which `int` refuses: a byte 0xB2 in a partner's date must be a fault, not a crash)."""
    return value.isascii() and value.isdigit()


def family_name(version: str) -> str | None:
    """The family reading a GS08 version: `004010VICS` and `003040` -> `004010`,
    `005010X230` -> `005010`, `002001` -> None (not supported)."""
    digits = version[:6]
    if len(digits) != 6 or not is_digits(digits):
        return None
    number = int(digits)
    if 3000 <= number < 5000:
        return "004010"
    if number >= 5000:
        return "005010"
    return None


def dates_are_short(version: str) -> bool:
    """Before 004010 dates are YYMMDD (6 digits) in the segments that later took CCYYMMDD."""
    digits = version[:6]
    return is_digits(digits) and int(digits) < 4010


# -- parsing ----------------------------------------------------------------------------------


class _Lines:
    def __init__(self, source: str, text: str):
        self.source = source
        self.items = [
            (number, line.split("#", 1)[0].rstrip())
            for number, line in enumerate(text.splitlines(), start=1)
        ]
        self.items = [(n, line) for n, line in self.items if line.strip()]

    def fail(self, number: int, message: str) -> SchemaDefinitionError:
        return SchemaDefinitionError(f"{self.source}:{number}: {message}")


def _max_use(token: str) -> int:
    return UNBOUNDED if token == ">1" else int(token)


def _parse_rule(token: str) -> SyntaxRule:
    kind, digits = token[0], token[1:]
    if kind not in RULE_KINDS or len(digits) % 2 or len(digits) < 4 or not is_digits(digits):
        raise ValueError(f"bad syntax rule {token!r}")
    return SyntaxRule(kind, tuple(int(digits[i : i + 2]) for i in range(0, len(digits), 2)))


def _parse_element(tokens: list[str], composites: dict[str, CompositeDef]) -> ElementDef:
    name, ref, requirement = tokens[0], tokens[1], tokens[2]
    if requirement not in ("M", "O", "X"):
        raise ValueError(f"requirement {requirement!r} is not M, O or X")
    options = {}
    for token in tokens[3:]:
        if "=" in token:
            key, value = token.split("=", 1)
            options[key] = value
    repeat = _max_use(options.get("repeat", "1"))
    codes = frozenset(options["codes"].split(",")) if "codes" in options else None
    if ref.startswith("C") and len(tokens) >= 3 and (len(tokens) == 3 or "=" in tokens[3]):
        if ref not in composites:
            raise ValueError(f"composite {ref} is used before it is defined")
        return ElementDef(name, ref, requirement, repeat=repeat, composite=composites[ref])
    kind = tokens[3]
    if kind not in ELEMENT_TYPES:
        raise ValueError(f"element type {kind!r} is unknown")
    low, _, high = tokens[4].partition("/")
    return ElementDef(name, ref, requirement, kind, int(low), int(high), repeat, codes)


_Block = tuple[int, list[str], list[tuple[int, list[str]]]]
"""A definition in a segment dictionary: its line number, header tokens and body lines."""


class SegmentDictionary(Mapping[str, SegmentDef]):
    """A family's segment dictionary: its composites parsed at once (they are few, and segments
    use them), each segment when it is first asked for; the file's structure (which ids it
    defines, once each) is checked at once."""

    def __init__(self, source: str, text: str):
        self._lines = _Lines(source, text)
        blocks: list[_Block] = []
        for number, line in self._lines.items:
            tokens = line.split()
            if tokens[0] in ("segment", "composite"):
                if len(tokens) < 2:
                    raise self._lines.fail(number, f"{tokens[0]} needs an id")
                blocks.append((number, tokens, []))
            elif not blocks:
                raise self._lines.fail(number, "element line before any segment or composite")
            else:
                blocks[-1][2].append((number, tokens))
        self._blocks: dict[str, _Block] = {}
        for block in blocks:
            number, header, _ = block
            if header[1] in self._blocks:
                raise self._lines.fail(number, f"{header[1]} is defined twice")
            self._blocks[header[1]] = block
        self.composites: dict[str, CompositeDef] = {}
        for ident, block in self._blocks.items():
            if block[1][0] == "composite":
                elements, rules = self._parts(block)
                self.composites[ident] = CompositeDef(ident, _title(block), elements, rules)
        self._segments = [i for i, b in self._blocks.items() if b[1][0] == "segment"]
        self._parsed: dict[str, SegmentDef] = {}

    def _parts(self, block: _Block) -> tuple[tuple[ElementDef, ...], tuple[SyntaxRule, ...]]:
        elements: list[ElementDef] = []
        rules: list[SyntaxRule] = []
        for number, tokens in block[2]:
            try:
                if tokens[0] == "rule":
                    rules.extend(_parse_rule(t) for t in tokens[1:])
                else:
                    elements.append(_parse_element(tokens, self.composites))
            except (ValueError, IndexError) as exc:
                raise self._lines.fail(number, str(exc)) from None
        return tuple(elements), tuple(rules)

    def __getitem__(self, segment_id: str) -> SegmentDef:
        found = self._parsed.get(segment_id)
        if found is None:
            block = self._blocks[segment_id]  # KeyError: not in the dictionary
            if block[1][0] != "segment":
                raise KeyError(segment_id)
            elements, rules = self._parts(block)
            found = self._parsed[segment_id] = SegmentDef(
                segment_id, _title(block), elements, rules
            )
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._segments)

    def __len__(self) -> int:
        return len(self._segments)

    def __contains__(self, segment_id: object) -> bool:
        block = self._blocks.get(segment_id) if isinstance(segment_id, str) else None
        return block is not None and block[1][0] == "segment"


def _title(block: _Block) -> str:
    return " ".join(block[1][2:])


def parse_segments(source: str, text: str) -> tuple[dict[str, SegmentDef], dict[str, CompositeDef]]:
    """Parse a whole segment dictionary. Composites are read first, so a segment may use a
    composite defined further down the file."""
    dictionary = SegmentDictionary(source, text)
    return dict(dictionary.items()), dictionary.composites


def parse_transaction_set(source: str, text: str, family: str) -> TransactionSetSchema:
    """Parse one transaction-set structure file."""
    lines = _Lines(source, text)
    if not lines.items or not lines.items[0][1].split()[0] == "transaction":
        raise lines.fail(1, "the first line must be `transaction <id> <GS01> <name>`")
    _, header = lines.items[0]
    tokens = header.split()
    set_id, functional_id, name = tokens[1], tokens[2], " ".join(tokens[3:])
    stack: list[tuple[str, bool, int, list[Node]]] = [("", True, 1, [])]
    used: set[str] = set()
    for number, line in lines.items[1:]:
        tokens = line.split()
        try:
            if tokens[0] == "loop":
                stack.append((tokens[1], tokens[2] == "M", _max_use(tokens[3]), []))
            elif tokens[0] == "end":
                loop_id, mandatory, repeat, children = stack.pop()
                if not children or not isinstance(children[0], SegmentNode):
                    raise ValueError(f"loop {loop_id} must start with a segment")
                stack[-1][3].append(LoopNode(loop_id, mandatory, repeat, tuple(children)))
            else:
                segment_id, requirement, limit = tokens[0], tokens[1], tokens[2]
                if requirement not in ("M", "O"):
                    raise ValueError(f"requirement {requirement!r} is not M or O")
                stack[-1][3].append(SegmentNode(segment_id, requirement == "M", _max_use(limit)))
                used.add(segment_id)
        except (ValueError, IndexError) as exc:
            raise lines.fail(number, str(exc)) from None
    if len(stack) != 1:
        raise lines.fail(lines.items[-1][0], f"loop {stack[-1][0]} has no `end`")
    root = LoopNode("", True, 1, tuple(stack[0][3]))
    return TransactionSetSchema(set_id, functional_id, name, family, root, frozenset(used))


def load_family(version: str) -> Family:
    """Load one family folder from the package's schema files: each segment definition and
    each transaction set's structure is parsed the first time it is asked for
    (`SegmentDictionary`, `SetFiles`)."""
    folder = resources.files("gateway.x12").joinpath("schemas").joinpath(version)
    family = Family(version)
    dictionary = SegmentDictionary(
        f"schemas/{version}/segments.txt",
        folder.joinpath("segments.txt").read_text(encoding="utf-8"),
    )
    family.segments, family.composites = dictionary, dictionary.composites
    family.sets = SetFiles(family, folder)
    return family


class SetFiles(MutableMapping[str, TransactionSetSchema]):
    """The transaction sets of a family folder (one `<set id>.txt` each), each parsed the first
    time it is asked for: checking an 850 parses the 850's structure only."""

    def __init__(self, family: Family, folder: Traversable):
        self._family = family
        self._files = {
            entry.name.removesuffix(".txt"): entry
            for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".txt") and entry.name != "segments.txt"
        }
        self._parsed: dict[str, TransactionSetSchema] = {}

    def __getitem__(self, set_id: str) -> TransactionSetSchema:
        found = self._parsed.get(set_id)
        if found is None:
            entry = self._files[set_id]  # KeyError: no such set
            source = f"schemas/{self._family.version}/{entry.name}"
            found = parse_transaction_set(
                source, entry.read_text(encoding="utf-8"), self._family.version
            )
            if found.set_id != set_id:
                raise SchemaDefinitionError(f"{source}: describes {found.set_id}, not {set_id}")
            missing = sorted(found.segment_ids - self._family.segments.keys())
            if missing:
                raise SchemaDefinitionError(f"{source}: segments not in the dictionary: {missing}")
            self._parsed[set_id] = found
        return found

    def __setitem__(self, set_id: str, schema: TransactionSetSchema) -> None:
        self._files.pop(set_id, None)
        self._parsed[set_id] = schema

    def __delitem__(self, set_id: str) -> None:
        if set_id not in self._files and set_id not in self._parsed:
            raise KeyError(set_id)
        self._files.pop(set_id, None)
        self._parsed.pop(set_id, None)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({*self._files, *self._parsed}))

    def __len__(self) -> int:
        return len({*self._files, *self._parsed})

    def __contains__(self, set_id: object) -> bool:
        return set_id in self._parsed or set_id in self._files


class ShippedFamilies(MutableMapping[str, Family]):
    """The families shipped with the gateway, each read from its folder the first time it is
    asked for: a command that checks an 004010 file reads the 004010 schemas only."""

    def __init__(self, names: Iterable[str]):
        self._names = dict.fromkeys(names)
        self._loaded: dict[str, Family] = {}

    def __getitem__(self, name: str) -> Family:
        found = self._loaded.get(name)
        if found is None:
            if name not in self._names:
                raise KeyError(name)
            found = self._loaded[name] = load_family(name)
        return found

    def __setitem__(self, name: str, family: Family) -> None:
        self._names[name] = None
        self._loaded[name] = family

    def __delitem__(self, name: str) -> None:
        del self._names[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@functools.cache
def load_catalog() -> Catalog:
    """Every family shipped with the gateway (each read when first needed, then kept)."""
    root = resources.files("gateway.x12").joinpath("schemas")
    names = sorted(e.name for e in root.iterdir() if e.is_dir() and is_digits(e.name))
    return Catalog(ShippedFamilies(names))
