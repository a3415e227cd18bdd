"""Domain values as plain data (str, int, bool, None, lists and dicts of them), for JSON.

One rule set, used for event facts (`events.plain`) and, skipping the pending events, for an
order's stored state (`adapters.state.dump`): enums by value, decimals as strings (exact), dates
and times in ISO 8601, dataclasses as dicts of their fields, tuples and lists as lists, sets and
frozensets as lists sorted by `repr` (a stable order), dict keys as strings.

Speed: a dataclass is converted by a function generated once per class from its type hints
(`vars(order)` walked by hand costs several times more: every field goes through the generic
dispatch). A field whose hint says nothing useful (`Any`, a union of several types) takes the
generic path, which handles every value the rule set knows; a hint that does not match the value
it holds is a bug in the domain class, caught by `tests/unit/domain/test_plain.py`, which compares
the generated and generic forms of every kind of domain object.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeAlias, get_args, get_origin, get_type_hints

Plain: TypeAlias = "str | int | bool | float | list[Plain] | dict[str, Plain] | None"
Convert: TypeAlias = Callable[[Any], Any]

_SCALARS = frozenset({str, int, bool, float, type(None)})


class PlainData:
    """A converter to plain data; `skip` names dataclass fields left out (e.g. pending events)."""

    def __init__(self, skip: frozenset[str] = frozenset()) -> None:
        self.skip = skip
        self._by_class: dict[type, Convert] = {}

    def __call__(self, value: object) -> Plain:
        kind = type(value)
        if kind in _SCALARS:
            return value  # type: ignore[return-value]
        convert = self._by_class.get(kind)
        if convert is None:
            convert = self._by_class[kind] = self._converter(kind)
        result: Plain = convert(value)
        return result

    def generic(self, value: object) -> Plain:
        """The same result as calling the converter, found without generated code (the
        reference the generated converters are tested against)."""
        kind = type(value)
        if kind in _SCALARS:
            return value  # type: ignore[return-value]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: self.generic(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.name not in self.skip
            }
        if isinstance(value, enum.Enum):
            return self.generic(value.value)
        if isinstance(value, bool | int | str | float):
            return value
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dt.date | dt.time):  # a datetime is a date too
            return value.isoformat()
        if isinstance(value, tuple | list):
            return [self.generic(item) for item in value]
        if isinstance(value, set | frozenset):
            return sorted((self.generic(item) for item in value), key=repr)
        if isinstance(value, dict):
            return {str(self.generic(k)): self.generic(v) for k, v in value.items()}
        raise TypeError(f"no plain form for {type(value).__name__}: {value!r}")

    # -- generated converters ---------------------------------------------------------------
    def _converter(self, kind: type) -> Convert:
        if dataclasses.is_dataclass(kind):
            return self._dataclass_converter(kind)
        if issubclass(kind, enum.Enum):
            if all(type(member.value) in _SCALARS for member in kind):
                return _enum_value
            return lambda value: self(value.value)
        if kind is Decimal or issubclass(kind, Decimal):
            return str
        if issubclass(kind, dt.date | dt.time):
            return _isoformat
        if issubclass(kind, bool | int | str | float):
            return self.generic
        if issubclass(kind, tuple | list):
            return lambda value: [self(item) for item in value]
        if issubclass(kind, set | frozenset):
            return lambda value: sorted((self(item) for item in value), key=repr)
        if issubclass(kind, dict):
            return lambda value: {str(self(k)): self(v) for k, v in value.items()}
        raise TypeError(f"no plain form for {kind.__name__}")

    def _dataclass_converter(self, kind: type) -> Convert:
        hints = get_type_hints(kind)
        names: dict[str, object] = {"convert": self}
        parts = []
        for field in dataclasses.fields(kind):
            if field.name in self.skip:
                continue
            expression = _expression(hints.get(field.name, Any), f"value.{field.name}", names)
            parts.append(f"{field.name!r}: {expression}")
        source = f"def convert_{kind.__name__}(value):\n    return {{{', '.join(parts)}}}\n"
        exec(compile(source, f"<plain data of {kind.__qualname__}>", "exec"), names)
        converter: Convert = names[f"convert_{kind.__name__}"]  # type: ignore[assignment]
        return converter


def _enum_value(value: enum.Enum) -> Any:
    return value.value


def _isoformat(value: dt.date | dt.time) -> str:
    return value.isoformat()


_ISO_TYPES = (dt.date, dt.datetime, dt.time)


def _expression(hint: Any, source: str, names: dict[str, object], depth: int = 0) -> str:
    """Python source converting `source` (an expression of the type `hint`) to plain data;
    `names` collects what the source refers to."""
    origin = get_origin(hint)
    item = f"i{depth}"
    if hint in (str, int, bool, float, type(None)):
        return source
    if hint is Decimal:
        return f"str({source})"
    if hint in _ISO_TYPES:
        return f"{source}.isoformat()"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        if all(type(member.value) in (str, int) for member in hint):
            return f"{source}.value"
        return f"convert({source})"
    if origin is typing.Literal and all(type(a) in (str, int, bool) for a in get_args(hint)):
        return source
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if len(options) == 1 and len(options) < len(get_args(hint)):
            inner = _expression(options[0], source, names, depth)
            return source if inner == source else f"(None if {source} is None else {inner})"
        return f"convert({source})"
    if origin in (list, tuple) or origin is typing.Sequence:
        args = get_args(hint)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if not args or len(args) > 4:
                return f"convert({source})"
            parts = [_expression(a, f"{source}[{n}]", names, depth + 1) for n, a in enumerate(args)]
            return f"[{', '.join(parts)}]"
        inner = _expression(args[0] if args else Any, item, names, depth + 1)
        return f"[{inner} for {item} in {source}]"
    return f"convert({source})"
