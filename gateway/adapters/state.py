"""Domain objects to JSON-ready values and back, for the store.

Strategy: converters driven by the dataclasses' type hints (writing: `gateway.domain.plain`), so the
domain stays free of persistence code and a new field needs no change here. Decimals travel as
strings (exact), dates and datetimes as ISO 8601, enums by value, tuples and frozensets as lists; a
field missing from stored state (written before the field existed) takes its dataclass default.
Fields named in `TRANSIENT` (pending events) are not stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from decimal import Decimal
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from gateway.domain.plain import PlainData
from gateway.errors import StateError

TRANSIENT = frozenset({"events", "history"})
"""Kept apart: pending events, and the facts of the order's history (its `order_events` rows)."""
T = TypeVar("T")


dump = PlainData(skip=TRANSIENT)
"""A domain value as JSON-ready data (see `gateway.domain.plain`)."""


def load(kind: Any, data: Any) -> Any:
    """JSON data back into a value of type `kind` (a type hint)."""
    origin = get_origin(kind)
    if kind is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        options = [k for k in get_args(kind) if k is not type(None)]
        if data is None:
            return None
        errors = []
        for option in options:
            try:
                return load(option, data)
            except (StateError, ValueError, TypeError, KeyError) as exc:
                errors.append(str(exc))
        raise StateError(f"{data!r} fits none of {options}: {errors}")
    if origin in (list, tuple, set, frozenset):
        args = get_args(kind)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(load(args[0], v) for v in data)
        if origin is tuple:
            return tuple(load(a, v) for a, v in zip(args, data, strict=True))
        items = [load(args[0] if args else Any, v) for v in data]
        return origin(items)
    if origin is dict:
        key_type, value_type = get_args(kind) or (Any, Any)
        return {load(key_type, k): load(value_type, v) for k, v in data.items()}
    if origin is typing.Literal:
        return data
    if isinstance(kind, type):
        if dataclasses.is_dataclass(kind):
            return _load_dataclass(kind, data)
        if issubclass(kind, enum.Enum):
            return kind(data)
        if kind is Decimal:
            return Decimal(data)
        if kind is dt.datetime:
            return dt.datetime.fromisoformat(data)
        if kind is dt.date:
            return dt.date.fromisoformat(data)
        if kind is dt.time:
            return dt.time.fromisoformat(data)
        if kind in (str, int, bool, float):
            if not isinstance(data, kind):
                raise StateError(f"expected {kind.__name__}, found {data!r}")
            return data
    raise StateError(f"cannot restore a value of type {kind!r}")


_HINTS: dict[type, dict[str, Any]] = {}


def _load_dataclass(kind: type[T], data: dict[str, Any]) -> T:
    hints = _HINTS.get(kind)
    if hints is None:
        hints = _HINTS[kind] = get_type_hints(kind)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(kind):  # type: ignore[arg-type]
        if field.name in data and field.name not in TRANSIENT:  # (older rows kept the history)
            values[field.name] = load(hints[field.name], data[field.name])
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            if field.name in TRANSIENT:
                continue
            raise StateError(f"{kind.__name__}.{field.name} is missing from stored state")
    init_fields = {f.name for f in dataclasses.fields(kind) if f.init}  # type: ignore[arg-type]
    instance = kind(**{k: v for k, v in values.items() if k in init_fields})
    for name, value in values.items():
        if name not in init_fields:
            object.__setattr__(instance, name, value)
    return instance


def restore(kind: type[T], data: Any) -> T:
    """Stored state back into a domain object of class `kind`."""
    value: T = load(kind, data)
    return value
