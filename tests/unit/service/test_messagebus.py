"""The message bus (issue 15): one retry on a concurrent update for commands, work and savepoints,
and events handed to their handlers inside the transaction that made them."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import ConcurrentUpdate
from gateway.service.messagebus import MessageBus


class Cancelled:
    pass


class Received:
    pass


class Subclass(Received):
    pass


def test_events_go_to_their_handlers_in_order_in_the_transaction_given():
    heard: list[tuple[Any, str, object]] = []
    uow = object()
    bus = MessageBus(
        lambda: uow,  # type: ignore[arg-type,return-value]
        {
            Cancelled: [
                lambda u, e: heard.append((u, "first", e)),
                lambda u, e: heard.append((u, "second", e)),
            ],
            Received: [lambda u, e: heard.append((u, "received", e))],
        },
    )
    one, two, three = Cancelled(), Received(), Subclass()
    bus.dispatch(uow, [one, two, three])  # type: ignore[arg-type]
    assert heard == [(uow, "first", one), (uow, "second", one), (uow, "received", two)]


def test_a_savepoint_is_tried_again_on_a_concurrent_update_then_the_last_one_goes():
    bus = MessageBus(lambda: None, retries=2)  # type: ignore[arg-type,return-value]
    tries = []

    def conflicted() -> None:
        tries.append(1)
        raise ConcurrentUpdate("another worker changed the order")

    with pytest.raises(ConcurrentUpdate):
        bus.retrying(conflicted)
    assert len(tries) == 3

    answers = iter([ConcurrentUpdate("x"), "done"])

    def once_then_done() -> str:
        found = next(answers)
        if isinstance(found, Exception):
            raise found
        return found

    assert bus.retrying(once_then_done) == "done"


def test_work_is_committed_in_a_fresh_unit_each_try():
    made: list[Any] = []

    class Unit:
        def __enter__(self) -> Unit:
            made.append(self)
            return self

        def __exit__(self, *args: object) -> None:
            return None

        def commit(self) -> None:
            if len(made) == 1:
                raise ConcurrentUpdate("lost to another worker")

    bus = MessageBus(Unit)  # type: ignore[arg-type]
    assert bus.committed(lambda uow: uow) is made[-1]
    assert len(made) == 2 and made[0] is not made[1]
