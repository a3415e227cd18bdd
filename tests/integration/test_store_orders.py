"""Orders in the store, on SQLite and on PostgreSQL: saved whole, reloaded equal, their events in
the audit trail, searched by flag, and never changed by two workers at once."""

from __future__ import annotations

import multiprocessing
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select, update

from gateway.adapters import orm
from gateway.adapters.state import dump
from gateway.adapters.store import SqlUnitOfWork, create_store_engine
from gateway.config import GatewayConfig
from gateway.domain import commands
from gateway.domain.model import Order
from gateway.domain.values import Side
from gateway.errors import ConcurrentUpdate, OrderNotFound, RuleViolation
from gateway.service.messagebus import MessageBus
from gateway.service.ports import OrderQuery, StoredDocument
from tests.unit.domain.builders import PARTNER, PO, at, fulfil, on_order, quantities, receive_order


def bus_for(engine: Engine) -> MessageBus:
    return MessageBus(lambda: SqlUnitOfWork(engine))


def cancel(lines: tuple[tuple[str, int], ...], minutes: int, cancellation_id: str):
    return on_order(
        commands.CancelLines,
        cancellation_id=cancellation_id,
        lines=quantities(*lines),
        requested_by=Side.BUYER,
        reason="customer changed mind",
        at=at(minutes),
    )


def load(engine: Engine) -> Order:
    with SqlUnitOfWork(engine) as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        return order


def stored_history(engine: Engine) -> list[dict[str, object]]:
    """The order's history as the store keeps it (its order_events rows)."""
    with SqlUnitOfWork(engine) as uow:
        return uow.orders.history(PARTNER, PO)


def test_an_order_is_saved_and_read_back_equal(store_engine: Engine):
    bus = bus_for(store_engine)
    outcome = bus.handle(receive_order(("1", 10), ("2", 4)))
    bus.handle(fulfil("F1", ("1", 10), carrier="UPSN", tracking_numbers=("1Z879E930346834440",)))
    bus.handle(cancel((("2", 1),), 5, "C1"))
    reloaded = load(store_engine)
    assert reloaded.lines[0].fulfilled == Decimal(10)
    assert reloaded.lines[1].cancelled == Decimal(1)
    assert reloaded.fulfilments[0].tracking_numbers == ("1Z879E930346834440",)
    assert reloaded.version == 3
    assert reloaded.history == [] and reloaded.events == []  # what happened since it was loaded
    history = stored_history(store_engine)
    assert [entry["name"] for entry in history] == [
        "OrderReceived", "FulfilmentCreated", "LinesCancelled"
    ]  # fmt: skip
    first = outcome.order.history[0]
    assert history[0]["payload"] == {**first.fields, "at": first.at.isoformat()}


def test_every_change_leaves_its_events_in_the_audit_trail(store_engine: Engine):
    bus = bus_for(store_engine)
    bus.handle(receive_order(("1", 2)))
    bus.handle(fulfil("F1", ("1", 2), carrier="UPSN", tracking_numbers=("1Z999AA10123456784",)))
    with SqlUnitOfWork(store_engine) as uow:
        names = [entry["name"] for entry in uow.orders.history(PARTNER, PO)]
    assert names[0] == "OrderReceived"
    assert "FulfilmentCreated" in names and "OrderShipped" in names
    order = load(store_engine)
    assert order.history == []  # the history is the store's, not the state's


def test_the_audit_trail_holds_each_event_whole_as_the_history_has_it(store_engine: Engine):
    """Each order_events payload is the event's data, with where its command came from: its
    facts' fields with its time."""
    bus = bus_for(store_engine)
    facts = list(bus.handle(receive_order(("1", 2), ("2", 3))).order.history)
    facts += bus.handle(
        fulfil("F1", ("1", 2), carrier="UPSN", tracking_numbers=("1Z999AA10123456784",))
    ).order.history
    facts += bus.handle(cancel((("2", 3),), 5, "C1")).order.history
    with store_engine.connect() as connection:
        payloads = [
            row.payload
            for row in connection.execute(
                select(orm.order_events.c.payload).order_by(orm.order_events.c.sequence)
            )
        ]
    assert len(payloads) == len(facts) > 3
    for fact, payload in zip(facts, payloads, strict=True):
        assert payload == {**fact.fields, "at": fact.at.isoformat()}
    # the same as the event itself turned into data
    fresh = Order.receive(receive_order(("1", 2), ("2", 3)))
    assert payloads[0] == {**dump(fresh.events[0]), "source": "850 #0001"}
    assert facts[0].event == "OrderReceived"


def test_flags_and_statuses_are_searchable(store_engine: Engine):
    bus = bus_for(store_engine)
    bus.handle(receive_order(("1", 2)))
    with SqlUnitOfWork(store_engine) as uow:
        (summary,) = uow.orders.summaries(OrderQuery()).summaries
        assert summary.po_number == PO and summary.fulfilment_status == "unfulfilled"
        assert uow.orders.summaries(OrderQuery(statuses=("shipped",))).total == 0
    bus.handle(fulfil("F1", ("1", 2), carrier="UPSN", tracking_numbers=("1Z999AA10123456784",)))
    with SqlUnitOfWork(store_engine) as uow:
        (shipped,) = uow.orders.summaries(OrderQuery(statuses=("shipped",))).summaries
        assert "shipped" in shipped.flags
        assert uow.orders.summaries(OrderQuery(partner="OTHER")).summaries == ()
        row = uow.connection.execute(select(orm.orders.c.shipped, orm.orders.c.settled)).one()
        assert tuple(row) == (True, True)


def test_a_second_order_with_the_same_po_number_is_refused(store_engine: Engine):
    bus = bus_for(store_engine)
    bus.handle(receive_order(("1", 2)))
    with pytest.raises(RuleViolation, match="one-order-per-po-number"):
        bus.handle(receive_order(("1", 3)))


def test_a_command_for_an_unknown_order_is_refused(store_engine: Engine):
    with pytest.raises(OrderNotFound):
        bus_for(store_engine).handle(cancel((("1", 1),), 1, "C1"))


def test_a_refused_command_changes_nothing_in_the_store(store_engine: Engine):
    bus = bus_for(store_engine)
    bus.handle(receive_order(("1", 2)))
    with pytest.raises(RuleViolation, match="cancellation-takes-only-open-quantity"):
        bus.handle(cancel((("1", 5),), 2, "C1"))
    order = load(store_engine)
    assert order.version == 1 and order.cancellations == []


def test_a_late_fulfilment_is_refused_and_kept_for_an_operator(store_engine: Engine):
    bus = bus_for(store_engine)
    bus.handle(receive_order(("1", 2)))
    bus.handle(fulfil("F1", ("1", 2), carrier="UPSN", tracking_numbers=("1Z999AA10123456784",)))
    with pytest.raises(RuleViolation, match="no-change-after-shipped"):
        bus.handle(fulfil("F2", ("1", 1), carrier="UPSN", tracking_numbers=("1Z5R89390357567127",)))
    order = load(store_engine)
    assert len(order.fulfilments) == 1
    assert stored_history(store_engine)[-1]["name"] == "FulfilmentRefused"


def test_a_stale_write_is_refused(store_engine: Engine):
    bus = bus_for(store_engine)
    bus.handle(receive_order(("1", 10)))
    with SqlUnitOfWork(store_engine) as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        # Another worker's commit, as the database sees it: the version moves on.
        uow.connection.execute(update(orm.orders).values(version=orm.orders.c.version + 1))
        order.handle(cancel((("1", 1),), 3, "C1"))
        with pytest.raises(ConcurrentUpdate, match="another worker"):
            uow.commit()
    assert load(store_engine).cancellations == []


def _race(config: GatewayConfig, cancellation_id: str, quantity: int, barrier, results) -> None:
    """Load the order, wait for the other worker, then cancel and commit (no retry)."""
    engine = create_store_engine(config)
    try:
        with SqlUnitOfWork(engine) as uow:
            order = uow.orders.get(PARTNER, PO)
            assert order is not None
            barrier.wait(timeout=60)
            order.handle(cancel((("1", quantity),), 10, cancellation_id))
            barrier.wait(timeout=60)
            uow.commit()
        results.put((cancellation_id, "won"))
    except ConcurrentUpdate as exc:
        results.put((cancellation_id, f"lost: {exc}"))
    finally:
        engine.dispose()


def _race_through_the_bus(config: GatewayConfig, cancellation_id: str, barrier, results) -> None:
    """Cancel 6 of the 10 units through the message bus, which retries a lost race."""
    engine = create_store_engine(config)
    try:
        barrier.wait(timeout=60)
        outcome = MessageBus(lambda: SqlUnitOfWork(engine)).handle(
            cancel((("1", 6),), 10, cancellation_id)
        )
        results.put((cancellation_id, f"won after {outcome.attempts} attempt(s)"))
    except RuleViolation as exc:
        results.put((cancellation_id, f"refused: {exc.rule}"))
    finally:
        engine.dispose()


def test_two_processes_conflicting_on_one_order_exactly_one_wins(postgres_config):
    engine = create_store_engine(postgres_config)
    bus_for(engine).handle(receive_order(("1", 10)))
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=_race, args=(postgres_config, name, 6, barrier, results))
        for name in ("C-A", "C-B")
    ]
    for worker in workers:
        worker.start()
    outcomes = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(o.split(":")[0] for o in outcomes.values()) == ["lost", "won"], outcomes
    order = load(engine)
    assert len(order.cancellations) == 1
    assert order.lines[0].cancelled == Decimal(6)
    assert order.version == 2
    engine.dispose()


def test_the_loser_retries_and_the_rules_refuse_what_became_illegal(postgres_config):
    engine = create_store_engine(postgres_config)
    bus_for(engine).handle(receive_order(("1", 10)))
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(
            target=_race_through_the_bus, args=(postgres_config, name, barrier, results)
        )
        for name in ("C-A", "C-B")
    ]
    for worker in workers:
        worker.start()
    outcomes = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    verdicts = sorted(v.split(" ")[0] for v in outcomes.values())
    assert verdicts == ["refused:", "won"], outcomes
    assert any("cancellation-takes-only-open-quantity" in v for v in outcomes.values())
    order = load(engine)
    assert order.lines[0].cancelled == Decimal(6) and len(order.cancellations) == 1
    with engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(orm.order_events)).scalar()
    with SqlUnitOfWork(engine) as uow:
        history = uow.orders.history(order.partner, order.po_number)
    assert events == len(history) and history[-1]["name"] == "LinesCancelled"
    engine.dispose()


def test_documents_are_linked_to_the_orders_they_touched(store_engine: Engine):
    bus = bus_for(store_engine)
    bus.handle(receive_order(("1", 2)))
    with SqlUnitOfWork(store_engine) as uow:
        document_id = uow.documents.add(
            StoredDocument(
                sha256="ab" * 32,
                partner=PARTNER,
                direction="in",
                size=3,
                status="applied",
                raw=b"850",
                transaction_sets=("850",),
                order_keys=[(PARTNER, PO)],
            )
        )
        uow.commit()
    with SqlUnitOfWork(store_engine) as uow:
        (document,) = uow.documents.for_order(PARTNER, PO)
        assert document.id == document_id and document.raw == b"850"
        assert uow.documents.for_order(PARTNER, "PO-404") == []


def test_the_change_and_what_it_queues_commit_together_or_not_at_all(store_engine: Engine):
    bus = bus_for(store_engine)
    bus.handle(receive_order(("1", 10)))
    for commit in (False, True):
        with SqlUnitOfWork(store_engine) as uow:
            order = uow.orders.get(PARTNER, PO)
            assert order is not None
            order.handle(cancel((("1", 1),), 3, "C1"))
            uow.flush()
            uow.outbox.queue("email", PARTNER, {"template": "cancellation"}, order=order)
            if commit:
                uow.commit()
        with SqlUnitOfWork(store_engine) as uow:
            queued = uow.outbox.pending("email")
            order = uow.orders.get(PARTNER, PO)
            assert order is not None
            assert len(queued) == int(commit) and len(order.cancellations) == int(commit)
    assert queued[0]["order_id"] is not None
