"""The message bus on the fake store: a command that loses its order to another worker is run
again on the fresh order, where the rules decide again; a late fulfilment is kept on the order,
then refused; events reach their handlers inside the transaction that made them, and what the
handlers queue commits with the change or not at all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from gateway.domain.commands import Command
from gateway.domain.events import LinesCancelled
from gateway.errors import ConcurrentUpdate, OrderNotFound, RuleViolation
from gateway.service.messagebus import MessageBus
from tests.fakes import CommitHook, FakeGateway, FakeStore, FakeUnitOfWork
from tests.unit.domain.builders import PARTNER, PO, cancel, fulfil, receive_order
from tests.unit.service.conftest import ORDER_DESK, entries, held, history


class Overtaken(FakeUnitOfWork):
    """A unit of work whose commit comes just after another worker's: `rival` (which commits
    in units of work of its own) runs first."""

    def __init__(
        self,
        store: FakeStore,
        on_commit: Sequence[CommitHook],
        rival: Callable[[], object] | None,
    ):
        super().__init__(store, on_commit)
        self.rival = rival

    def commit(self) -> None:
        rival, self.rival = self.rival, None
        if rival is not None:
            rival()
        super().commit()


def overtaken(gw: FakeGateway, *rivals: Command) -> tuple[MessageBus, list[Overtaken]]:
    """A bus whose first units of work each lose to one of `rivals`, handled by another worker
    (the gateway's own bus) between their reading the order and their commit; the units of work
    it made."""
    made: list[Overtaken] = []
    waiting = list(rivals)

    def factory() -> Overtaken:
        rival = waiting.pop(0) if waiting else None
        uow = Overtaken(
            gw.store, (gw.bus.dispatch,), (lambda: gw.bus.handle(rival)) if rival else None
        )
        made.append(uow)
        return uow

    return MessageBus(factory), made


@pytest.fixture
def received(gw: FakeGateway) -> FakeGateway:
    """An order we sell: line 1 of 10 units."""
    gw.bus.handle(receive_order(("1", 10)))
    return gw


def test_a_command_losing_its_order_to_another_worker_is_retried_on_the_fresh_order(
    received: FakeGateway,
):
    bus, made = overtaken(received, cancel("C-rival", ("1", 2)))
    outcome = bus.handle(cancel("C-ours", ("1", 3)))
    assert outcome.attempts == 2
    assert [uow.committed for uow in made] == [False, True]
    order = held(received)
    assert [c.id for c in order.cancellations] == ["C-rival", "C-ours"]
    assert order.lines[0].cancelled == 5 and order.version == 3
    assert history(received) == ["OrderReceived", "LinesCancelled", "LinesCancelled"]
    # one email per cancellation: the lost attempt queued none
    assert [e.payload["data"]["cancellation"]["id"] for e in entries(received, "email")] == [
        "C-rival",
        "C-ours",
    ]


def test_the_loser_retries_and_the_rules_refuse_what_became_illegal(received: FakeGateway):
    bus, made = overtaken(received, cancel("C-rival", ("1", 6)))
    with pytest.raises(RuleViolation) as refused:
        bus.handle(cancel("C-ours", ("1", 6)))
    assert refused.value.rule == "cancellation-takes-only-open-quantity"
    assert len(made) == 2 and not any(uow.committed for uow in made)
    order = held(received)
    assert [c.id for c in order.cancellations] == ["C-rival"] and order.lines[0].cancelled == 6
    assert len(entries(received, "email")) == 1


def test_a_command_losing_every_retry_gives_up_with_the_last_concurrent_update(
    received: FakeGateway,
):
    rivals = [cancel(f"C-rival-{n}", ("1", 1)) for n in range(4)]
    bus, made = overtaken(received, *rivals)
    with pytest.raises(ConcurrentUpdate, match="changed by another worker"):
        bus.handle(cancel("C-ours", ("1", 1)))
    assert len(made) == 4  # the first try and three retries
    assert [c.id for c in held(received).cancellations] == [f"C-rival-{n}" for n in range(4)]


def test_two_workers_receiving_one_order_the_second_is_refused_on_its_retry(gw: FakeGateway):
    bus, made = overtaken(gw, receive_order(("1", 5)))
    with pytest.raises(RuleViolation, match="one-order-per-po-number"):
        bus.handle(receive_order(("1", 10)))
    assert len(made) == 2
    assert held(gw).lines[0].ordered == 5 and history(gw) == ["OrderReceived"]


def test_a_late_fulfilment_is_kept_on_the_order_then_refused(received: FakeGateway):
    received.bus.handle(fulfil("F1", ("1", 10)))
    with pytest.raises(RuleViolation, match="no-change-after-shipped"):
        received.bus.handle(fulfil("F2", ("1", 1)))
    order = held(received)
    assert [f.id for f in order.fulfilments] == ["F1"]
    assert order.version == 3  # the refusal is recorded: the order was written
    assert history(received)[-1] == "FulfilmentRefused"


def test_a_fulfilment_overtaken_by_the_one_that_ships_the_order_is_kept_then_refused(
    received: FakeGateway,
):
    """Read before the rival shipped everything, it would have been taken; run again on the
    fresh order it comes too late: recorded as refused, once."""
    bus, made = overtaken(received, fulfil("F-rival", ("1", 10)))
    with pytest.raises(RuleViolation, match="no-change-after-shipped"):
        bus.handle(fulfil("F-ours", ("1", 4)))
    assert [uow.committed for uow in made] == [False, True]  # the refusal committed
    assert [f.id for f in held(received).fulfilments] == ["F-rival"]
    assert history(received) == [
        "OrderReceived",
        "FulfilmentCreated",
        "OrderShipped",
        "FulfilmentRefused",
    ]


def test_a_refused_command_commits_nothing(received: FakeGateway):
    before = received.store.commits
    with pytest.raises(RuleViolation, match="cancellation-takes-only-open-quantity"):
        received.bus.handle(cancel("C1", ("1", 11)))
    assert received.store.commits == before and held(received).version == 1


def test_a_command_for_an_order_nobody_holds_is_refused(gw: FakeGateway):
    with pytest.raises(OrderNotFound):
        gw.bus.handle(cancel("C1", ("1", 1)))


def test_events_reach_their_handlers_inside_the_transaction_that_made_them(
    received: FakeGateway,
):
    heard: list[tuple[str, bool, bool]] = []

    def handler(uow: Any, event: LinesCancelled) -> None:
        seen = uow.orders.get(event.partner, event.po_number)
        committed = received.store.order(event.partner, event.po_number)
        assert seen is not None and committed is not None
        heard.append(
            (event.cancellation_id, bool(seen.cancellations), bool(committed.cancellations))
        )

    received.bus.handlers[LinesCancelled] = (*received.bus.handlers[LinesCancelled], handler)
    received.bus.handle(cancel("C1", ("1", 1)))
    assert heard == [("C1", True, False)]  # seen by the transaction, not committed yet
    (email,) = entries(received, "email")
    assert email.payload["recipients"] == list(ORDER_DESK)  # the buyer cancelled: we hear of it


def test_a_failing_handler_undoes_the_change_and_what_the_others_queued(received: FakeGateway):
    def broken(uow: Any, event: Any) -> None:
        raise RuntimeError("the handler failed")

    received.bus.handlers[LinesCancelled] = (*received.bus.handlers[LinesCancelled], broken)
    with pytest.raises(RuntimeError):
        received.bus.handle(cancel("C1", ("1", 1)))
    assert held(received).cancellations == []
    assert entries(received, "email") == []  # the Notifier's email went with it
    assert received.store.order(PARTNER, PO) is not None
