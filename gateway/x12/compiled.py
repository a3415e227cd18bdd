"""Segment definitions compiled for speed: one regular expression per segment definition and set
of delimiters, which a valid segment matches whole.

Strategy: the expression encodes element count, requirement, type, length, code list, components
and repetitions exactly, and is conservative where an exact expression would be long (a date on
29 February falls through): a match proves the elements valid, a miss sends the segment to the
element-by-element checks of `gateway.x12.elements`, which find and name the fault. Syntax rules
depend only on which elements are present, so their verdict is cached per presence pattern.
The expressions are built once per segment id, delimiters and date style, and kept in the
family's cache, but only for a segment met a few times (`WARM_UP`): compiling one costs about
as much as checking the segment element by element twenty times, so a small file (one purchase
order at the command line) is checked faster without them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gateway.x12.elements import rule_fault
from gateway.x12.model import Delimiters
from gateway.x12.schema import UNBOUNDED, CompositeDef, ElementDef, Family, SegmentDef

_DATE_8 = (
    "[0-9]{4}(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))"
)
_DATE_6 = _DATE_8.replace("[0-9]{4}", "[0-9]{2}", 1)
# How many times a segment of one id and length is asked for before its expression is compiled;
# until then it is left to the detailed checks (which a set not proven valid gets anyway).
WARM_UP = 3
# How many distinct valid segments each compiled segment remembers, to skip checking repeats.
SEEN_LIMIT = 1024
# Letters and digits folded to one of each kind: for a segment whose validity cannot depend on
# which letter or digit stands where (no codes, dates or times), two segments that fold alike are
# both valid or both not, so one proven valid vouches for the other.
FOLD = bytes.maketrans(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    b"0" * 10 + b"A" * 26 + b"a" * 26,
)
_HOUR_MINUTE = "(?:[01][0-9]|2[0-3])[0-5][0-9]"
_TIME_BY_LENGTH = {
    4: _HOUR_MINUTE,
    6: _HOUR_MINUTE + "[0-5][0-9]",
    7: _HOUR_MINUTE + "[0-5][0-9][0-9]",
    8: _HOUR_MINUTE + "[0-5][0-9][0-9]{2}",
}


class CompiledSegment:
    """A segment definition ready for the fast check: one flat expression per element count
    (a segment of n elements is matched by n element patterns in a row, without the nested
    optional groups a single expression for every count would need, which is twice as slow).

    `by_count` maps the length of the split segment (id included) to its expression, or None
    where that length is never valid; `rule_verdicts` caches the syntax rules' verdict per
    presence pattern; `seen_valid` remembers segments already proven valid (bounded)."""

    __slots__ = (
        "_element_patterns",
        "_mandatory_count",
        "_prefix",
        "_separator",
        "_uses",
        "by_count",
        "definition",
        "foldable",
        "rule_verdicts",
        "rules",
        "seen_valid",
    )

    def __init__(self, definition: SegmentDef, element_patterns: list[str], separator: str):
        self.definition = definition
        self.rules = definition.rules
        self._element_patterns = element_patterns
        self._separator = re.escape(separator)
        self._prefix = re.escape(definition.id)
        mandatory = [n for n, e in enumerate(definition.elements, start=1) if e.mandatory]
        self._mandatory_count = mandatory[-1] if mandatory else 0
        self.by_count: dict[int, re.Pattern[str] | None] = {}
        self._uses: dict[int, int] = {}
        self.rule_verdicts: dict[tuple[bool, ...], bool] = {}
        self.seen_valid: set[str | bytes] = set()
        self.foldable = _foldable(definition.elements)

    def key(self, raw: str) -> str | bytes:
        """What `seen_valid` holds for a segment: the segment folded (as bytes: `bytes.translate`
        is far quicker than `str.translate`), where that is sound; else the segment itself."""
        return raw.encode("latin-1").translate(FOLD) if self.foldable else raw

    def pattern_for(self, length: int) -> re.Pattern[str] | None:
        """The expression for a segment split into `length` parts; None when such a segment is
        never valid, or is not yet worth an expression (asked for fewer than WARM_UP times):
        either way it goes to the detailed checks."""
        if length in self.by_count:
            return self.by_count[length]
        count = length - 1
        pattern = None
        if self._mandatory_count <= count <= len(self._element_patterns):
            uses = self._uses.get(length, 0) + 1
            if uses < WARM_UP:
                self._uses[length] = uses
                return None
            source = self._prefix + "".join(
                self._separator + p for p in self._element_patterns[:count]
            )
            pattern = re.compile(source, re.DOTALL)
        self.by_count[length] = pattern
        return pattern

    def judge_rules(self, shape: tuple[bool, ...]) -> bool:
        """Whether the syntax rules hold for a presence pattern (cached)."""
        verdict = self.rule_verdicts.get(shape)
        if verdict is None:
            count = len(shape) - 1

            def present(position: int) -> bool:
                return position <= count and shape[position]

            verdict = all(rule_fault(rule, present) is None for rule in self.rules)
            self.rule_verdicts[shape] = verdict
        return verdict

    def valid(self, raw: str, elements: list[str]) -> bool:
        """True when the segment is certainly valid; False when it needs the detailed check.
        (The reader's hot loop does the same steps inline.)"""
        key = self.key(raw)
        if key in self.seen_valid:
            return True
        pattern = self.pattern_for(len(elements))
        if pattern is None or pattern.fullmatch(raw) is None:
            return False
        if self.rules and not self.judge_rules(tuple(map(bool, elements))):
            return False
        if len(self.seen_valid) < SEEN_LIMIT and elements[-1]:
            self.seen_valid.add(key)  # one with empty trailing elements is looked at every time
        return True


def _foldable(elements: tuple[ElementDef, ...]) -> bool:
    """Whether no element's validity depends on which letter or digit it holds."""
    for element in elements:
        if element.composite is not None:
            if not _foldable(element.composite.components):
                return False
        elif element.type in ("DT", "TM") or element.codes is not None:
            return False
    return True


def _character_class(delimiters: Delimiters, *, simple: bool) -> str:
    excluded = [delimiters.element, delimiters.segment]
    if simple and delimiters.sub_element:
        excluded.append(delimiters.sub_element)
    if delimiters.repetition:
        excluded.append(delimiters.repetition)
    escaped = "".join(re.escape(c) for c in excluded if c)
    return f"[^\\x00-\\x1f\\x7f{escaped}]"


def _value_pattern(
    definition: ElementDef, delimiters: Delimiters, short_dates: bool, *, simple: bool = True
) -> str:
    kind, low, high = definition.type, definition.min_length, definition.max_length
    if kind == "DT":
        lengths = {low, high} | ({6} if short_dates else set())
        choices = [p for length, p in ((8, _DATE_8), (6, _DATE_6)) if length in lengths]
        return "(?:" + "|".join(choices) + ")" if choices else "(?!)"
    if kind == "TM":
        choices = [p for length, p in _TIME_BY_LENGTH.items() if low <= length <= high]
        return "(?:" + "|".join(choices) + ")" if choices else "(?!)"
    if kind.startswith("N"):
        return f"-?[0-9]{{{low},{high}}}"
    if kind == "R":
        if low > 1:
            return (
                f"-?(?=(?:\\.?[0-9]){{{low},{high}}}\\.?(?![0-9.]))"
                "(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)"
            )
        # Conservative and cheap: at most `whole` digits before the point and `fraction`
        # after, which never exceeds `high` digits; longer values go to the detailed check.
        fraction = min(6, high - 1)
        whole = high - fraction
        if not fraction:
            return f"-?[0-9]{{1,{whole}}}\\.?"
        return f"-?[0-9]{{1,{whole}}}(?:\\.[0-9]{{0,{fraction}}})?"  # ".5" goes the slow way
    if kind == "ID" and definition.codes is not None:
        codes = sorted(c for c in definition.codes if low <= len(c) <= high)
        if not codes:
            return "(?!)"
        return "(?:" + "|".join(re.escape(c) for c in sorted(codes, key=len, reverse=True)) + ")"
    repeat = f"{{{low}}}" if low == high else f"{{{low},{high}}}"
    return _character_class(delimiters, simple=simple) + repeat


def _nested(parts: list[tuple[str, bool]], separator: str) -> str:
    """`separator part` for each part, later ones optional unless a mandatory one follows
    (components of a composite, whose count is not known in advance)."""
    tail = ""
    required_after = False
    for pattern, mandatory in reversed(parts):
        required_after = required_after or mandatory
        group = re.escape(separator) + pattern + tail
        tail = group if required_after else f"(?:{group})?"
    return tail


def _composite_pattern(
    composite: CompositeDef, delimiters: Delimiters, short_dates: bool
) -> str | None:
    if composite.rules or not delimiters.sub_element:
        return None  # rules inside composites are left to the detailed check
    parts = []
    for component in composite.components:
        value = _value_pattern(component, delimiters, short_dates)
        parts.append((value if component.mandatory else f"(?:{value})?", component.mandatory))
    first, _first_mandatory = parts[0]
    return first + _nested(parts[1:], delimiters.sub_element)


def _element_pattern(definition: ElementDef, delimiters: Delimiters, short_dates: bool) -> str:
    if definition.composite is not None:
        value = _composite_pattern(definition.composite, delimiters, short_dates)
        if value is None:
            return "(?!)"
        if definition.mandatory:
            value = f"(?=[^{re.escape(delimiters.element)}])" + value  # not empty
    else:
        value = _value_pattern(definition, delimiters, short_dates)
    if definition.repeat > 1 and delimiters.repetition:
        more = "*" if definition.repeat >= UNBOUNDED else f"{{0,{definition.repeat - 1}}}"
        value = f"{value}(?:{re.escape(delimiters.repetition)}{value}){more}"
    return value if definition.mandatory else f"(?:{value})?"


def compile_segment(
    definition: SegmentDef, delimiters: Delimiters, short_dates: bool
) -> CompiledSegment:
    """The fast check of one segment definition under one set of delimiters."""
    patterns = [_element_pattern(e, delimiters, short_dates) for e in definition.elements]
    return CompiledSegment(definition, patterns, delimiters.element)


def compiled_segments(
    family: Family, delimiters: Delimiters, short_dates: bool
) -> dict[str, CompiledSegment]:
    """The table of segments compiled so far for one family and delimiters (kept in the
    family's cache, filled by `segment_compiler`)."""
    key = ("compiled-segments", delimiters, short_dates)
    table = family.cache.get(key)
    if not isinstance(table, dict):
        table = {}
        family.cache[key] = table
    return table


def segment_compiler(
    family: Family, delimiters: Delimiters, short_dates: bool
) -> Callable[[str], CompiledSegment | None]:
    """A lookup of compiled segments for one family and delimiters, compiling on first use."""
    table = compiled_segments(family, delimiters, short_dates)

    def lookup(segment_id: str) -> CompiledSegment | None:
        compiled = table.get(segment_id)
        if compiled is None:
            definition = family.segments.get(segment_id)
            if definition is None:
                return None
            compiled = compile_segment(definition, delimiters, short_dates)
            table[segment_id] = compiled
        return compiled

    return lookup
