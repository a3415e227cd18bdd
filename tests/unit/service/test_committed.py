"""`messagebus.committed`: a unit of work run again on a fresh one when another worker changed
an order it touched first, a bounded number of times."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import ConcurrentUpdate
from gateway.service.messagebus import committed


class Unit:
    """A unit of work whose commit loses to another worker the first `losses` times."""

    made = 0

    def __init__(self, losses: int) -> None:
        Unit.made += 1
        self.number = Unit.made
        self.losses = losses

    def __enter__(self) -> Unit:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> None:
        if self.number <= self.losses:
            raise ConcurrentUpdate("changed by another worker")


def factory(losses: int) -> Any:
    Unit.made = 0
    return lambda: Unit(losses)


def test_the_work_runs_again_on_a_fresh_unit_when_its_commit_loses():
    seen: list[int] = []
    assert committed(factory(2), lambda uow: seen.append(uow.number) or "done") == "done"
    assert seen == [1, 2, 3]  # each attempt on a unit of its own


def test_it_gives_up_after_the_retries():
    with pytest.raises(ConcurrentUpdate):
        committed(factory(5), lambda uow: None, retries=3)
    assert Unit.made == 4
