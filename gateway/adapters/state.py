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
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from gateway.domain.plain import PlainData
from gateway.errors import StateError

TRANSIENT = frozenset({"events", "history"})
"""Kept apart: pending events, and the facts of the order's history (its `order_events` rows)."""
T = TypeVar("T")


dump = PlainData(skip=TRANSIENT)
"""A domain value as JSON-ready data (see `gateway.domain.plain`)."""


Loader = Callable[[Any], Any]

_LOADERS: dict[Any, Loader] = {}
_ERRORS = (StateError, ValueError, TypeError, KeyError)


def load(kind: Any, data: Any) -> Any:
    """JSON data back into a value of type `kind` (a type hint)."""
    return loader(kind)(data)


def loader(kind: Any) -> Loader:
    """The function turning JSON data into a value of type `kind`: worked out once per type
    hint from its shape (a dataclass's fields, a union's options...), so that reading a stored
    order does not inspect its type hints again."""
    found = _LOADERS.get(kind)
    if found is None:
        found = _LOADERS[kind] = _loader(kind)
    return found


def _same(data: Any) -> Any:
    return data


def _loader(kind: Any) -> Loader:
    origin = get_origin(kind)
    if kind is Any or origin is typing.Literal:
        return _same
    if origin in (typing.Union, types.UnionType):
        return _union_loader([k for k in get_args(kind) if k is not type(None)])
    if origin in (list, tuple, set, frozenset):
        args = get_args(kind)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            each = loader(args[0])
            return lambda data: tuple([each(v) for v in data])
        if origin is tuple:
            parts = [loader(a) for a in args]
            return lambda data: tuple([part(v) for part, v in zip(parts, data, strict=True)])
        item = loader(args[0] if args else Any)
        return lambda data: origin([item(v) for v in data])
    if origin is dict:
        key_type, value_type = get_args(kind) or (Any, Any)
        keys, values = loader(key_type), loader(value_type)
        return lambda data: {keys(k): values(v) for k, v in data.items()}
    if isinstance(kind, type):
        if dataclasses.is_dataclass(kind):
            return _dataclass_loader(kind)
        if issubclass(kind, enum.Enum):
            return kind
        if kind is Decimal:
            return Decimal
        if kind is dt.datetime:
            return dt.datetime.fromisoformat
        if kind is dt.date:
            return dt.date.fromisoformat
        if kind is dt.time:
            return dt.time.fromisoformat
        if kind in (str, int, bool, float):
            return _scalar_loader(kind)

    def cannot(data: Any) -> Any:
        raise StateError(f"cannot restore a value of type {kind!r}")

    return cannot


def _union_loader(options: list[Any]) -> Loader:
    """`X | None` (the option, or None), or the first of several options that takes the data."""
    tried = [loader(option) for option in options]
    if len(tried) == 1:
        (only,) = tried
        return lambda data: None if data is None else only(data)

    def load_union(data: Any) -> Any:
        if data is None:
            return None
        errors = []
        for option in tried:
            try:
                return option(data)
            except _ERRORS as exc:
                errors.append(str(exc))
        raise StateError(f"{data!r} fits none of {options}: {errors}")

    return load_union


def _scalar_loader(kind: type) -> Loader:
    def load_scalar(data: Any) -> Any:
        if not isinstance(data, kind):
            raise StateError(f"expected {kind.__name__}, found {data!r}")
        return data

    return load_scalar


def _dataclass_loader(kind: type[T]) -> Callable[[dict[str, Any]], T]:
    """A dataclass from its stored fields: each field's loader worked out at the first use (a
    dataclass may refer to itself); a field missing from stored state (written before the field
    existed) takes its default, a required one missing is a StateError."""
    plan: list[tuple[str, Loader, bool, bool]] = []  # (name, its loader, required, init)

    def load_dataclass(data: dict[str, Any]) -> T:
        if not plan:
            hints = get_type_hints(kind)
            for field in dataclasses.fields(kind):  # type: ignore[arg-type]
                if field.name in TRANSIENT:  # (older rows kept the history)
                    continue
                required = (
                    field.default is dataclasses.MISSING
                    and field.default_factory is dataclasses.MISSING
                )
                plan.append((field.name, loader(hints[field.name]), required, field.init))
        given: dict[str, Any] = {}
        later: dict[str, Any] = {}
        for name, load_field, required, init in plan:
            if name in data:
                (given if init else later)[name] = load_field(data[name])
            elif required:
                raise StateError(f"{kind.__name__}.{name} is missing from stored state")
        instance = kind(**given)
        for name, value in later.items():
            object.__setattr__(instance, name, value)
        return instance

    return load_dataclass


def restore(kind: type[T], data: Any) -> T:
    """Stored state back into a domain object of class `kind`."""
    value: T = load(kind, data)
    return value
