"""The plain-data converter: generated per dataclass from its type hints, equal to the generic
walk (the state machine in test_sequences checks this for every order and event it reaches)."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from gateway.domain.plain import PlainData


class Colour(enum.Enum):
    RED = "R"


class Shape(enum.Enum):
    PAIR = (1, 2)


@dataclass
class Inner:
    name: str
    amount: Decimal | None = None


@dataclass
class Outer:
    when: dt.datetime
    day: dt.date | None
    colour: Colour
    shape: Shape
    pairs: tuple[tuple[str, str], ...]
    inner: Inner
    inners: list[Inner]
    tags: frozenset[str]
    loose: Any
    mixed: int | str
    fixed: tuple[int, Decimal]
    mapping: dict[str, Decimal] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)


def outer() -> Outer:
    return Outer(
        when=dt.datetime(2026, 11, 22, 3, 4, 5, tzinfo=dt.UTC),
        day=None,
        colour=Colour.RED,
        shape=Shape.PAIR,
        pairs=(("UP", "0123"), ("VN", "X1")),
        inner=Inner("a", Decimal("1.50")),
        inners=[Inner("b"), Inner("c", Decimal(2))],
        tags=frozenset({"z", "a"}),
        loose={"k": (Decimal("3"), dt.date(2026, 1, 2))},
        mixed="seven",
        fixed=(4, Decimal("0.10")),
        mapping={"x": Decimal("9.99")},
        events=["pending"],
    )


def test_every_kind_of_field_as_plain_data() -> None:
    plain = PlainData(skip=frozenset({"events"}))
    expected = {
        "when": "2026-11-22T03:04:05+00:00",
        "day": None,
        "colour": "R",
        "shape": [1, 2],
        "pairs": [["UP", "0123"], ["VN", "X1"]],
        "inner": {"name": "a", "amount": "1.50"},
        "inners": [{"name": "b", "amount": None}, {"name": "c", "amount": "2"}],
        "tags": ["a", "z"],
        "loose": {"k": ["3", "2026-01-02"]},
        "mixed": "seven",
        "fixed": [4, "0.10"],
        "mapping": {"x": "9.99"},
    }
    assert plain(outer()) == expected
    assert plain.generic(outer()) == expected


def test_skipped_fields_only_where_asked() -> None:
    assert PlainData()(outer())["events"] == ["pending"]  # type: ignore[index,call-overload]


def test_a_value_with_no_plain_form_is_refused() -> None:
    with pytest.raises(TypeError, match="no plain form"):
        PlainData()(object())
