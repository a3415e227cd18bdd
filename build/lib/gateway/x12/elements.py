"""Checks of element values against their definitions: type, length, code list, repetitions,
components and syntax rules. Each check returns the X12 element error code (AK403) and a message,
or nothing when the value is good.

Strategy: a segment's elements are checked by `check_segment`, which walks the definition once.
The type checks are small functions picked from a table by type, so the hot loop does a dict
lookup and a call per element; date and time checks parse only the digits they need.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.x12.model import Delimiters, ElementCode, Issue, Level
from gateway.x12.schema import CompositeDef, ElementDef, SegmentDef, SyntaxRule, is_digits

Fault = tuple[str, str]
_DIGITS = frozenset("0123456789")
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _has_control_character(value: str) -> bool:
    return any(ord(c) < 32 or c == "\x7f" for c in value)


def valid_date(value: str) -> bool:
    """CCYYMMDD or YYMMDD with a real month and day (29 February only in leap years)."""
    if len(value) not in (6, 8) or not is_digits(value):
        return False
    year = int(value[:-4]) + (2000 if len(value) == 6 else 0)
    month, day = int(value[-4:-2]), int(value[-2:])
    if not 1 <= month <= 12 or day < 1 or day > _DAYS[month - 1]:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return not (month == 2 and day == 29 and not leap)


def valid_time(value: str) -> bool:
    """HHMM, HHMMSS, HHMMSSD or HHMMSSDD with real hours, minutes and seconds."""
    if len(value) not in (4, 6, 7, 8) or not is_digits(value):
        return False
    if int(value[:2]) > 23 or int(value[2:4]) > 59:
        return False
    return len(value) == 4 or int(value[4:6]) <= 59


def _length_fault(length: int, definition: ElementDef) -> Fault | None:
    if length < definition.min_length:
        return (
            ElementCode.TOO_SHORT,
            f"is {length} long, at least {definition.min_length} required",
        )
    if length > definition.max_length:
        return (ElementCode.TOO_LONG, f"is {length} long, at most {definition.max_length} allowed")
    return None


def _check_string(value: str, definition: ElementDef, short_dates: bool) -> Fault | None:
    if _has_control_character(value):
        if "\n" in value or "\r" in value:
            return ElementCode.INVALID_CHARACTER, (
                "contains a line break: is a segment terminator missing before it?"
            )
        return ElementCode.INVALID_CHARACTER, "contains a control character"
    return _length_fault(len(value), definition)


def _check_identifier(value: str, definition: ElementDef, short_dates: bool) -> Fault | None:
    fault = _check_string(value, definition, short_dates)
    if fault:
        return fault
    if definition.codes is not None and value not in definition.codes:
        return (
            ElementCode.INVALID_CODE,
            f"{value!a} is not a valid code for element {definition.ref}",
        )
    return None


def _check_numeric(value: str, definition: ElementDef, short_dates: bool) -> Fault | None:
    digits = value[1:] if value.startswith("-") else value
    if not is_digits(digits):
        return ElementCode.INVALID_CHARACTER, f"{value!a} is not a whole number"
    return _length_fault(len(digits), definition)


def _check_decimal(value: str, definition: ElementDef, short_dates: bool) -> Fault | None:
    digits = value[1:] if value.startswith("-") else value
    whole, point, fraction = digits.partition(".")
    number = whole + fraction
    if not is_digits(number):
        return ElementCode.INVALID_CHARACTER, f"{value!a} is not a decimal number"
    if point and not fraction and not whole:
        return ElementCode.INVALID_CHARACTER, f"{value!a} is not a decimal number"
    return _length_fault(len(number), definition)


def _check_date(value: str, definition: ElementDef, short_dates: bool) -> Fault | None:
    allowed = {definition.min_length, definition.max_length}
    if short_dates:
        allowed.add(6)
    if len(value) not in allowed or not valid_date(value):
        return ElementCode.INVALID_DATE, f"{value!a} is not a valid date"
    return None


def _check_time(value: str, definition: ElementDef, short_dates: bool) -> Fault | None:
    if not valid_time(value) or not definition.min_length <= len(value) <= definition.max_length:
        return ElementCode.INVALID_TIME, f"{value!a} is not a valid time"
    return None


CHECKS: dict[str, Callable[[str, ElementDef, bool], Fault | None]] = {
    "AN": _check_string,
    "ID": _check_identifier,
    "R": _check_decimal,
    "DT": _check_date,
    "TM": _check_time,
    "B": _check_string,
    **{f"N{d}": _check_numeric for d in range(10)},
}


def rule_fault(rule: SyntaxRule, present: Callable[[int], bool]) -> Fault | None:
    """Check one syntax note; `present(position)` says whether that element has a value."""
    flags = [present(p) for p in rule.positions]
    count = sum(flags)
    kind = rule.kind
    names = ", ".join(f"{p:02d}" for p in rule.positions)
    if kind == "P" and 0 < count < len(flags):
        return ElementCode.CONDITIONAL_MISSING, f"elements {names} must all be present or none"
    if kind == "R" and count == 0:
        return ElementCode.CONDITIONAL_MISSING, f"at least one of elements {names} is required"
    if kind == "E" and count > 1:
        return ElementCode.EXCLUSION_VIOLATED, f"only one of elements {names} may be present"
    if kind == "C" and flags[0] and count < len(flags):
        return ElementCode.CONDITIONAL_MISSING, f"element {names[:2]} requires {names[4:]}"
    if kind == "L" and flags[0] and count == 1:
        return ElementCode.CONDITIONAL_MISSING, (
            f"element {names[:2]} requires at least one of {names[4:]}"
        )
    return None


def rule_position(rule: SyntaxRule, present: Callable[[int], bool]) -> int:
    """The element position an acknowledgement names for a broken rule: the first missing one
    (for P, R, C, L) or the second present one (for E)."""
    if rule.kind == "E":
        seen = [p for p in rule.positions if present(p)]
        return seen[1] if len(seen) > 1 else rule.positions[0]
    for position in rule.positions[1:] if rule.kind in "CL" else rule.positions:
        if not present(position):
            return position
    return rule.positions[0]


class SegmentChecker:
    """Checks the elements of segments read with one set of delimiters."""

    def __init__(self, delimiters: Delimiters, short_dates: bool = False):
        self.delimiters = delimiters
        self.short_dates = short_dates

    def check(
        self,
        definition: SegmentDef,
        elements: list[str],
        base: Issue,
    ) -> list[Issue]:
        """Every element fault of one segment, as ELEMENT issues built on `base`."""
        found: list[Issue] = []
        defs = definition.elements
        count = len(elements) - 1
        if count > len(defs):
            extra = len(defs) + 1
            found.append(
                _element_issue(
                    base,
                    ElementCode.TOO_MANY_ELEMENTS,
                    f"{definition.id} has {count} elements, at most {len(defs)} defined",
                    extra,
                    None,
                    None,
                    "",
                    elements[extra][:99] if extra < len(elements) else "",
                )
            )
        repetition = self.delimiters.repetition
        for position in range(1, min(count, len(defs)) + 1):
            value = elements[position]
            definition_at = defs[position - 1]
            if not value:
                continue
            if repetition and repetition in value:
                repeats = value.split(repetition)
                if len(repeats) > definition_at.repeat:
                    found.append(
                        _element_issue(
                            base,
                            ElementCode.TOO_MANY_REPETITIONS,
                            f"{len(repeats)} repetitions, at most {definition_at.repeat} allowed",
                            position,
                            None,
                            None,
                            definition_at.ref,
                            value[:99],
                        )
                    )
                    continue
                for number, repeat in enumerate(repeats, start=1):
                    self._check_value(found, base, definition_at, repeat, position, number)
            else:
                self._check_value(found, base, definition_at, value, position, None)
        for position, definition_at in enumerate(defs, start=1):
            if definition_at.mandatory and (position > count or not elements[position]):
                found.append(
                    _element_issue(
                        base,
                        ElementCode.MANDATORY_MISSING,
                        f"mandatory element {definition_at.name} ({definition_at.ref}) is missing",
                        position,
                        None,
                        None,
                        definition_at.ref,
                        "",
                    )
                )

        def present(position: int) -> bool:
            return position <= count and bool(elements[position])

        for rule in definition.rules:
            fault = rule_fault(rule, present)
            if fault:
                position = rule_position(rule, present)
                ref = defs[position - 1].ref if position <= len(defs) else ""
                found.append(
                    _element_issue(
                        base, fault[0], f"{rule.label}: {fault[1]}", position, None, None, ref, ""
                    )
                )
        found.sort(key=lambda i: (i.element or 0, i.component or 0))
        return found

    def _check_value(
        self,
        found: list[Issue],
        base: Issue,
        definition: ElementDef,
        value: str,
        position: int,
        repetition: int | None,
    ) -> None:
        composite = definition.composite
        if composite is not None:
            self._check_composite(found, base, definition, composite, value, position, repetition)
            return
        if self.delimiters.sub_element and self.delimiters.sub_element in value:
            found.append(
                _element_issue(
                    base,
                    ElementCode.TOO_MANY_COMPONENTS,
                    f"{definition.name} is a simple element but holds components",
                    position,
                    None,
                    repetition,
                    definition.ref,
                    value[:99],
                )
            )
            return
        fault = CHECKS[definition.type](value, definition, self.short_dates)
        if fault:
            found.append(
                _element_issue(
                    base,
                    fault[0],
                    f"{definition.name} {fault[1]}",
                    position,
                    None,
                    repetition,
                    definition.ref,
                    value[:99],
                )
            )

    def _check_composite(
        self,
        found: list[Issue],
        base: Issue,
        definition: ElementDef,
        composite: CompositeDef,
        value: str,
        position: int,
        repetition: int | None,
    ) -> None:
        sub_element = self.delimiters.sub_element
        components = value.split(sub_element) if sub_element else [value]
        defs = composite.components
        if len(components) > len(defs):
            found.append(
                _element_issue(
                    base,
                    ElementCode.TOO_MANY_COMPONENTS,
                    f"{definition.name} ({composite.id}) has {len(components)} components, "
                    f"at most {len(defs)} defined",
                    position,
                    len(defs) + 1,
                    repetition,
                    definition.ref,
                    value[:99],
                )
            )
        for number, component_def in enumerate(defs, start=1):
            component = components[number - 1] if number <= len(components) else ""
            if not component:
                if component_def.mandatory:
                    found.append(
                        _element_issue(
                            base,
                            ElementCode.MANDATORY_MISSING,
                            f"mandatory component {component_def.name} of {definition.name} "
                            "is missing",
                            position,
                            number,
                            repetition,
                            component_def.ref,
                            "",
                        )
                    )
                continue
            fault = CHECKS[component_def.type](component, component_def, self.short_dates)
            if fault:
                found.append(
                    _element_issue(
                        base,
                        fault[0],
                        f"{component_def.name} {fault[1]}",
                        position,
                        number,
                        repetition,
                        component_def.ref,
                        component[:99],
                    )
                )

        def present(number: int) -> bool:
            return number <= len(components) and bool(components[number - 1])

        for rule in composite.rules:
            fault = rule_fault(rule, present)
            if fault:
                number = rule_position(rule, present)
                found.append(
                    _element_issue(
                        base,
                        fault[0],
                        f"{composite.id} {rule.label}: {fault[1]}",
                        position,
                        number,
                        repetition,
                        defs[number - 1].ref if number <= len(defs) else "",
                        "",
                    )
                )


def _element_issue(
    base: Issue,
    code: str,
    message: str,
    element: int,
    component: int | None,
    repetition: int | None,
    ref: str,
    bad_value: str,
) -> Issue:
    return Issue(
        Level.ELEMENT,
        code,
        message,
        line=base.line,
        segment_index=base.segment_index,
        segment_id=base.segment_id,
        element=element,
        component=component,
        repetition=repetition,
        element_ref=ref,
        bad_value=bad_value,
        position_in_set=base.position_in_set,
        loop_id=base.loop_id,
    )
