"""The fake store of the unit tests (`tests.fakes`) against the SQL store: the same checks run on
`SqlUnitOfWork` (SQLite, PostgreSQL) and on `FakeUnitOfWork`, so that a service-layer test on the
fake says what the real store would do. Where the SQL store does not do what its own contract
says, the check is kept as an expected failure of the SQL store (strict: it fails the suite once
the store is fixed, and the mark must go)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, update

from gateway.adapters import orm
from gateway.adapters.store import SqlUnitOfWork
from gateway.domain.events import LinesCancelled
from gateway.domain.model import Order
from gateway.domain.values import Role
from gateway.errors import ConcurrentUpdate, RuleViolation
from gateway.service.delivery import as_utc
from gateway.service.messagebus import MessageBus
from gateway.service.ports import (
    OrderQuery,
    SetRecord,
    StoredDocument,
    UnitOfWork,
    WebhookAttempt,
)
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.unit.domain.builders import (
    PARTNER,
    PO,
    T0,
    cancel,
    fulfil,
    new_order,
    receive_order,
    tracking_for,
)

Hook = Callable[[Any, list[object]], None]


@dataclasses.dataclass
class Backend:
    """A store under test: its units of work, and another worker committing an order while
    one of them is open."""

    name: str
    make: Callable[[Sequence[Hook]], UnitOfWork]
    overtake: Callable[[Any, str, str], None]

    def uow(self, *hooks: Hook) -> UnitOfWork:
        return self.make(hooks)

    def bus(self) -> MessageBus:
        return MessageBus(lambda: self.make(()))

    def load(self, partner: str = PARTNER, po_number: str = PO) -> Order:
        with self.uow() as uow:
            order = uow.orders.get(partner, po_number)
            assert order is not None
            return order

    def history(self, partner: str = PARTNER, po_number: str = PO) -> list[dict[str, object]]:
        with self.uow() as uow:
            return uow.orders.history(partner, po_number)


def _sql_overtake(uow: Any, partner: str, po_number: str) -> None:
    """Another worker's commit as the database sees it: the version moves on (SQLite lets no
    second writer in while a unit of work is open, so it is written in this transaction)."""
    table = orm.orders
    uow.connection.execute(
        update(table)
        .where(table.c.partner == partner, table.c.po_number == po_number)
        .values(version=table.c.version + 1)
    )


def _fake_overtake(store: FakeStore) -> Callable[[Any, str, str], None]:
    def overtake(uow: Any, partner: str, po_number: str) -> None:
        with FakeUnitOfWork(store) as other:  # a real second worker: the fake allows it
            order = other.orders.get(partner, po_number)
            assert order is not None
            order.handle(cancel("C-other", ("1", 1)))
            other.commit()

    return overtake


@pytest.fixture(params=["sql", "fake"])
def backend(request: pytest.FixtureRequest, store_engine: Engine) -> Backend:
    if request.param == "sql":
        return Backend(
            "sql",
            lambda hooks: SqlUnitOfWork(store_engine, on_commit=hooks),
            _sql_overtake,
        )
    store = FakeStore()
    return Backend("fake", lambda hooks: FakeUnitOfWork(store, hooks), _fake_overtake(store))


def document(raw: bytes, **changes: Any) -> StoredDocument:
    made = StoredDocument(
        sha256=hashlib.sha256(raw).hexdigest(),
        partner=PARTNER,
        direction="out",
        size=len(raw),
        status="queued",
        raw=raw,
        transaction_sets=("856",),
        interchange_control="000000007",
        group_controls=("7",),
        set_controls=("0001",),
        sender_id="US",
        receiver_id="THEM",
        envelope={"isa": ["00", "ZZ"]},
    )
    return dataclasses.replace(made, **changes)


# -- orders ------------------------------------------------------------------------------------


def test_an_order_is_read_back_equal_as_a_copy_with_its_history(backend: Backend):
    bus = backend.bus()
    facts = list(bus.handle(receive_order(("1", 10), ("2", 4))).order.history)
    facts += bus.handle(fulfil("F1", ("1", 10))).order.history
    facts += bus.handle(cancel("C1", ("2", 1))).order.history
    reloaded = backend.load()
    assert reloaded.version == 3 and reloaded.events == [] and reloaded.history == []
    assert [f.id for f in reloaded.fulfilments] == ["F1"] and reloaded.lines[1].cancelled == 1
    expected = new_order(("1", 10), ("2", 4))
    expected.handle(fulfil("F1", ("1", 10)))
    expected.handle(cancel("C1", ("2", 1)))
    expected.events.clear()
    expected.history.clear()
    expected.version = 3
    assert reloaded == expected
    assert reloaded is not backend.load()
    history = backend.history()
    assert [entry["name"] for entry in history] == [fact.event for fact in facts]
    assert [entry["sequence"] for entry in history] == list(range(1, len(facts) + 1))
    for fact, entry in zip(facts, history, strict=True):
        assert entry["payload"] == {**fact.fields, "at": fact.at.isoformat()}
        assert isinstance(entry["occurred_at"], dt.datetime)
        assert as_utc(entry["occurred_at"]) == fact.at


def test_an_order_read_to_look_at_is_not_kept_by_the_unit_of_work(backend: Backend):
    backend.bus().handle(receive_order(("1", 10), ("2", 4)))
    stored = backend.load()
    with backend.uow() as uow:
        looked = uow.orders.read(PARTNER, PO)
        assert looked == stored and looked is not None and looked.version == 1
        assert uow.orders.read(PARTNER, "NO-SUCH-PO") is None
        assert uow.orders.seen() == []  # nothing kept: a thousand reads hold one order
        held = uow.orders.get(PARTNER, PO)
        assert uow.orders.read(PARTNER, PO) is held  # handed out already: that one


def test_a_change_not_committed_is_lost(backend: Backend):
    backend.bus().handle(receive_order(("1", 10)))
    with backend.uow() as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        order.handle(cancel("C1", ("1", 1)))
        uow.flush()
        assert uow.orders.get(PARTNER, PO) is order  # one copy per unit of work
    assert backend.load().cancellations == [] and backend.load().version == 1


def test_each_flush_with_new_events_moves_the_version_on(backend: Backend):
    backend.bus().handle(receive_order(("1", 10)))
    with backend.uow() as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        order.handle(cancel("C1", ("1", 1)))
        uow.flush()
        assert order.version == 2
        again = uow.orders.get(PARTNER, PO)
        assert again is order
        again.handle(cancel("C2", ("1", 1)))
        uow.commit()
        assert order.version == 3 and order.events == []
    assert backend.load().version == 3
    assert len(backend.history()) == 3


def test_a_stale_write_is_refused_and_nothing_of_it_committed(backend: Backend):
    backend.bus().handle(receive_order(("1", 10)))
    with backend.uow() as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        uow.outbox.queue("email", PARTNER, {"template": "x"})
        backend.overtake(uow, PARTNER, PO)
        order.handle(cancel("C1", ("1", 1)))
        with pytest.raises(ConcurrentUpdate, match="another worker"):
            uow.commit()
        assert order.version == 1  # as read: the write did not happen
    assert "C1" not in [c.id for c in backend.load().cancellations]
    with backend.uow() as uow:
        assert uow.outbox.listing("email") == []


def test_a_second_order_with_the_same_po_number_is_refused(backend: Backend):
    backend.bus().handle(receive_order(("1", 2)))
    with backend.uow() as uow:
        with pytest.raises(RuleViolation, match="one-order-per-po-number"):
            uow.orders.add(new_order(("1", 3)))
        other = dataclasses.replace(receive_order(("1", 3)), partner="GLOBEX")
        uow.orders.add(Order.receive(other))  # another partner's: fine
        uow.commit()
    with backend.uow() as uow:
        assert [o.partner for o in uow.orders.find(PO)] == [PARTNER, "GLOBEX"]
        assert [o.partner for o in uow.orders.find(PO, "GLOBEX")] == ["GLOBEX"]
        assert uow.orders.partners() == [PARTNER, "GLOBEX"]
        assert uow.orders.get(PARTNER, "PO-404") is None


def test_listings_filter_search_sort_and_page(backend: Backend):
    bus = backend.bus()
    for number, day in (("PO-3", 3), ("PO-1", 1), ("PO-2", 2)):
        bus.handle(
            dataclasses.replace(
                receive_order(("1", 2), order_date=dt.date(2026, 11, day)), po_number=number
            )
        )
    shipped = dataclasses.replace(fulfil("F1", ("1", 2)), po_number="PO-2")
    bus.handle(shipped)
    test_order = receive_order(("1", 2), is_test=True)
    bus.handle(dataclasses.replace(test_order, po_number="T-1", partner="GLOBEX"))
    with backend.uow() as uow:
        page = uow.orders.summaries(OrderQuery(limit=2))
        assert [s.po_number for s in page.summaries] == ["PO-1", "PO-2"] and page.total == 3
        rest = uow.orders.summaries(OrderQuery(limit=2, offset=2))
        assert [s.po_number for s in rest.summaries] == ["PO-3"] and rest.total == 3
        newest = uow.orders.summaries(OrderQuery(sort="po", descending=True))
        assert [s.po_number for s in newest.summaries] == ["PO-3", "PO-2", "PO-1"]
        (found,) = uow.orders.summaries(OrderQuery(statuses=("shipped",))).summaries
        assert (found.po_number, found.fulfilment_status) == ("PO-2", "fulfilled")
        assert "shipped" in found.flags and found.version == 2
        tracking = tracking_for("F1")[0][:8].lower()
        assert [s.po_number for s in uow.orders.summaries(OrderQuery(search=tracking)).summaries]
        assert [s.po_number for s in uow.orders.summaries(OrderQuery(search="sku-1")).summaries]
        assert uow.orders.summaries(OrderQuery(search="nothing-like-it")).total == 0
        tests = uow.orders.summaries(OrderQuery(include_test=True, partner="GLOBEX"))
        assert [s.po_number for s in tests.summaries] == ["T-1"] and tests.summaries[0].is_test
        since = uow.orders.summaries(OrderQuery(since=dt.date(2026, 11, 2)))
        assert sorted(s.po_number for s in since.summaries) == ["PO-2", "PO-3"]
        with pytest.raises(ValueError, match="no status"):
            uow.orders.summaries(OrderQuery(statuses=("lost",)))


def test_the_orders_that_may_be_late_are_named_by_their_dates_fulfilments_and_arrival(
    backend: Backend,
):
    """`late_candidates`: a ship or cancel-after date passed with quantity open, an order we
    sell with a fulfilment or received by the day an 855 could be due; never a test order, one
    settled by its dates, one archived, one we placed without a fulfilment."""
    bus = backend.bus()
    day = dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC)

    def order(po_number: str, **header: Any) -> None:
        header.setdefault("at", day)
        bus.handle(dataclasses.replace(receive_order(("1", 2), **header), po_number=po_number))

    order("SHIP-PASSED", requested_ship_date=dt.date(2026, 11, 19))
    order("SHIP-TODAY", requested_ship_date=dt.date(2026, 11, 20), our_role=Role.BUYER)
    order("CANCEL-AFTER", cancel_after_date=dt.date(2026, 11, 1), our_role=Role.BUYER)
    order("OLD", at=day - dt.timedelta(days=3))
    order("NEW", at=day + dt.timedelta(days=9))
    order("PLACED", our_role=Role.BUYER)
    order("SHIPPED", requested_ship_date=dt.date(2026, 11, 1), our_role=Role.BUYER)
    bus.handle(dataclasses.replace(fulfil("F1", ("1", 2)), po_number="SHIPPED"))
    order("FULFILLED-NEW", at=day + dt.timedelta(days=9))
    bus.handle(dataclasses.replace(fulfil("F2", ("1", 1)), po_number="FULFILLED-NEW"))
    order("TEST", is_test=True, requested_ship_date=dt.date(2026, 11, 1))
    today, received_by = dt.date(2026, 11, 20), dt.date(2026, 11, 18)
    with backend.uow() as uow:
        found = uow.orders.late_candidates(today, received_by)
        without_due = uow.orders.late_candidates(today, None)
    assert found == [
        (PARTNER, po) for po in sorted(("SHIP-PASSED", "CANCEL-AFTER", "OLD", "FULFILLED-NEW"))
    ]
    assert without_due == [
        (PARTNER, po) for po in sorted(("SHIP-PASSED", "CANCEL-AFTER", "FULFILLED-NEW"))
    ]


# -- control numbers, the outbox, documents, leases, outages ---------------------------------------


def test_control_numbers_count_from_one_per_partner_and_kind_and_a_rollback_gives_them_back(
    backend: Backend,
):
    with backend.uow() as uow:
        assert [uow.control_numbers.next(PARTNER, "interchange") for _ in range(3)] == [1, 2, 3]
        assert uow.control_numbers.next("GLOBEX", "interchange") == 1
        assert uow.control_numbers.next(PARTNER, "set") == 1
        uow.commit()
    with backend.uow() as uow:
        assert uow.control_numbers.next(PARTNER, "interchange") == 4
        uow.rollback()
        assert uow.control_numbers.next(PARTNER, "interchange") == 4
        uow.rollback()
    with backend.uow() as uow:
        assert uow.control_numbers.next(PARTNER, "interchange") == 4
        with pytest.raises(ValueError, match="kind"):
            uow.control_numbers.next(PARTNER, "message")


def test_an_outbox_entry_goes_from_queued_to_claimed_to_retried_to_sent(backend: Backend):
    backend.bus().handle(receive_order(("1", 2)))
    with backend.uow() as uow:
        order = uow.orders.get(PARTNER, PO)
        first = uow.outbox.queue("email", PARTNER, {"n": 1}, order=order, group_key="k")
        second = uow.outbox.queue("email", PARTNER, {"n": 2, "at": (1, 2)}, group_key="k")
        uow.outbox.queue("x12", PARTNER, {"n": 3})
        uow.commit()
    start = T0 + dt.timedelta(days=3650)  # after the entries were made, whatever the clock
    lease = start + dt.timedelta(minutes=5)
    with backend.uow() as uow:
        (pending, _) = uow.outbox.pending("email")
        assert pending["order_id"] is not None and pending["status"] == "queued"
        assert [e.id for e in uow.outbox.listing("email")] == [second, first]  # newest first
        latest = uow.outbox.latest_in_group("email", "k")
        assert latest is not None and latest.id == second
        assert latest.payload == {"n": 2, "at": [1, 2]}  # JSON: a tuple comes back a list
        assert [e.id for e in uow.outbox.due("email", start)] == [first, second]
        assert uow.outbox.claim(first, start, lease, "worker:1")
        assert not uow.outbox.claim(first, start, lease, "worker:2")  # taken
        assert uow.outbox.claimants() == ["worker:1"]
        assert [e.id for e in uow.outbox.due("email", start)] == [second]
        uow.commit()
    with backend.uow() as uow:
        later = start + dt.timedelta(seconds=30)
        uow.outbox.settle(first, "queued", at=start, next_attempt_at=later, error="451 busy")
        entry = uow.outbox.entry(first)
        assert entry is not None and entry.attempts == 1 and entry.last_error == "451 busy"
        assert entry.next_attempt_at is not None and as_utc(entry.next_attempt_at) == later
        assert uow.outbox.claimants() == []
        assert [e.id for e in uow.outbox.due("email", start)] == [second]
        assert [e.id for e in uow.outbox.due("email", later)] == [first, second]
        uow.outbox.settle(first, "sent", at=later, payload={"n": 1, "sent": True})
        uow.outbox.update_payload(second, {"n": 22}, later)
        uow.commit()
    with backend.uow() as uow:
        sent = uow.outbox.entry(first)
        assert sent is not None and sent.status == "sent" and sent.payload["sent"] is True
        assert [e.id for e in uow.outbox.listing("email", status="sent")] == [first]
        assert [e.payload for e in uow.outbox.due("email", later)] == [{"n": 22}]
        uow.outbox.requeue(first, later)
        again = uow.outbox.entry(first)
        assert again is not None and (again.status, again.attempts) == ("queued", 0)
        assert uow.outbox.entry(10_000) is None


def test_a_dead_workers_claims_are_released(backend: Backend):
    start = T0 + dt.timedelta(days=3650)
    with backend.uow() as uow:
        entry = uow.outbox.queue("email", PARTNER, {})
        assert uow.outbox.claim(entry, start, start + dt.timedelta(hours=1), "dead:1")
        assert uow.outbox.release_claims("dead:1") == 1
        assert [e.id for e in uow.outbox.due("email", start)] == [entry]


def test_the_first_queued_entry_of_a_group_is_the_oldest_not_settled(backend: Backend):
    start = T0 + dt.timedelta(days=3650)
    with backend.uow() as uow:
        first = uow.outbox.queue("webhook", PARTNER, {}, group_key="g")
        second = uow.outbox.queue("webhook", PARTNER, {}, group_key="g")
        uow.outbox.queue("webhook", PARTNER, {}, group_key="other")
        uow.outbox.queue("email", PARTNER, {}, group_key="g")
        uow.commit()
    with backend.uow() as uow:
        assert uow.outbox.first_queued("webhook", "g") == first
        uow.outbox.settle(first, "queued", at=start, next_attempt_at=start, error="500")
        assert uow.outbox.first_queued("webhook", "g") == first  # waiting, still first
        uow.outbox.settle(first, "sent", at=start)
        assert uow.outbox.first_queued("webhook", "g") == second
        uow.outbox.settle(second, "failed", at=start)
        assert uow.outbox.first_queued("webhook", "g") is None
        assert uow.outbox.first_queued("webhook", "none") is None


def test_webhook_subscriptions_and_their_delivery_log(backend: Backend):
    at = T0 + dt.timedelta(days=1)
    with backend.uow() as uow:
        first = uow.webhooks.add("https://erp.example/h", ("order.shipped",), "SECRET", at)
        second = uow.webhooks.add("http://wms.example/", ("order.received", "x.y"), "S2", at)
        uow.commit()
    with backend.uow() as uow:
        found = uow.webhooks.get(second)
        assert found is not None
        assert (found.url, found.events, found.secret_env) == (
            "http://wms.example/",
            ("order.received", "x.y"),
            "S2",
        )
        assert found.created_at == at and found.removed_at is None
        assert [s.id for s in uow.webhooks.listing()] == [first, second]
        assert uow.webhooks.remove(first, at)
        assert not uow.webhooks.remove(first, at)  # once
        assert not uow.webhooks.remove(10_000, at)
        for attempt, (status, error) in enumerate(((None, "refused"), (200, "")), start=1):
            uow.webhooks.record(
                WebhookAttempt(
                    second, 7, "e-1", "order.received", attempt, at, status, error, status == 200
                )
            )
        uow.commit()
    with backend.uow() as uow:
        assert [s.id for s in uow.webhooks.listing()] == [second]
        removed = uow.webhooks.get(first)
        assert removed is not None and removed.removed_at == at
        log = uow.webhooks.attempts(second)
        assert [(a.attempt, a.status_code, a.error, a.delivered) for a in log] == [
            (2, 200, "", True),
            (1, None, "refused", False),
        ]
        assert log[0].at == at and log[0].event_id == "e-1" and log[0].outbox_id == 7
        assert len(uow.webhooks.attempts(second, limit=1)) == 1
        assert uow.webhooks.attempts(first) == []


def test_documents_are_stored_linked_and_their_sets_recorded(backend: Backend):
    backend.bus().handle(receive_order(("1", 2)))
    with backend.uow() as uow:
        made = document(b"ISA*856~", order_keys=[(PARTNER, PO)])
        first = uow.documents.add(made)
        assert made.id == first
        second = uow.documents.add(document(b"ISA*997~", direction="in", group_controls=("8", "9")))
        uow.documents.link(second, PARTNER, PO)
        uow.documents.link(second, PARTNER, "PO-404")  # no such order: no link
        uow.documents.record_set(second, SetRecord("9", "0001", "997", "acknowledged", PO))
        assert uow.documents.sets(second) == [SetRecord("9", "0001", "997", "acknowledged", PO)]
        uow.commit()
    with backend.uow() as uow:
        stored = uow.documents.get(first)
        assert stored is not None and stored.raw == b"ISA*856~" and stored.order_keys == []
        assert stored.envelope == {"isa": ["00", "ZZ"]} and stored.set_controls == ("0001",)
        assert stored.created_at is not None and stored.processed_at is None
        assert [d.id for d in uow.documents.for_order(PARTNER, PO)] == [first, second]
        assert uow.documents.orders_of(second) == [(PARTNER, PO)]
        assert uow.documents.for_order(PARTNER, "PO-404") == []
        assert [d.id for d in uow.documents.with_group(PARTNER, "in", "9")] == [second]
        assert uow.documents.with_group(PARTNER, "in", "7") == []
        assert [d.id for d in uow.documents.with_sha256(stored.sha256)] == [first]
        found = uow.documents.with_interchange(PARTNER, "out", "US", "000000007")
        assert [d.id for d in found] == [first]
        listed = uow.documents.listing(partner=PARTNER)
        assert [d.id for d in listed] == [second, first] and listed[0].raw is None
        assert [d.id for d in uow.documents.listing(direction="in")] == [second]
        uow.documents.set_status(first, "sent")
        uow.documents.mark_processed(second)
        uow.commit()
    with backend.uow() as uow:
        assert [d.id for d in uow.documents.listing(status="sent")] == [first]
        processed = uow.documents.get(second)
        assert processed is not None and processed.processed_at is not None
        uow.documents.reopen(second, [("9", "0001")])
        assert uow.documents.sets(second) == []
        reopened = uow.documents.get(second)
        assert reopened is not None and reopened.processed_at is None


def test_document_listings_filter_by_set_and_page_newest_first(backend: Backend):
    with backend.uow() as uow:
        ids = [
            uow.documents.add(document(b"ISA*856~", transaction_sets=("856",))),
            uow.documents.add(document(b"ISA*855~", transaction_sets=("810", "855"))),
            uow.documents.add(document(b"ISA*8550~", transaction_sets=("8550",))),
            uow.documents.add(document(b"ISA*85_~", transaction_sets=("85_",))),
            uow.documents.add(document(b"ISA*997~", direction="in", transaction_sets=("997",))),
        ]
        uow.commit()
    with backend.uow() as uow:
        listing = uow.documents.listing
        assert [d.id for d in listing(set_id="855")] == [ids[1]]  # a whole set id, not a prefix
        assert [d.id for d in listing(set_id="810")] == [ids[1]]  # any of the document's sets
        assert [d.id for d in listing(set_id="85_")] == [ids[3]]  # no wildcard in a set id
        assert [d.id for d in listing(set_id="85%")] == []
        assert [d.id for d in listing(set_id="997", direction="out")] == []
        assert [d.id for d in listing(limit=2)] == [ids[4], ids[3]]
        assert [d.id for d in listing(limit=2, offset=2)] == [ids[2], ids[1]]
        assert [d.id for d in listing(limit=2, offset=4)] == [ids[0]]
        assert listing(offset=5) == []
        assert [d.id for d in listing(direction="out", limit=1, offset=1)] == [ids[2]]


def test_held_back_writes_wait_for_flush_deferred(backend: Backend):
    with backend.uow() as uow:
        uow.defer_writes()
        uow.orders.add(new_order(("1", 2)))
        uow.orders.get(PARTNER, PO)
        document_id = uow.documents.add(document(b"ISA*850~", order_keys=[(PARTNER, PO)]))
        uow.documents.record_set(document_id, SetRecord("1", "0001", "850", "created", PO))
        uow.flush()
        assert uow.orders.find(PO) == []  # not written yet
        assert uow.documents.sets(document_id) == []
        uow.flush_deferred()
        assert [o.po_number for o in uow.orders.find(PO)] == [PO]
        assert [d.id for d in uow.documents.for_order(PARTNER, PO)] == [document_id]
        assert len(uow.documents.sets(document_id)) == 1
        uow.commit()
    assert backend.load().version == 1


def test_leases_are_held_until_they_end_or_are_released(backend: Backend):
    start = T0 + dt.timedelta(days=3650)
    until = start + dt.timedelta(minutes=5)
    with backend.uow() as uow:
        assert uow.leases.acquire("pickup:acme", "w1", start, until)
        assert uow.leases.acquire("pickup:acme", "w1", start, until)  # ours already
        assert not uow.leases.acquire("pickup:acme", "w2", start, until)
        assert uow.leases.holder("pickup:acme", start) == "w1"
        assert uow.leases.holder("pickup:acme", until) is None  # ended
        assert uow.leases.holder("pickup:globex", start) is None  # never held
        assert uow.leases.acquire("pickup:acme", "w2", until, until + dt.timedelta(minutes=5))
        assert uow.leases.holders() == ["w2"]
        assert uow.leases.holder("pickup:acme", until) == "w2"
        uow.leases.release("pickup:acme", "w1")  # not w1's any more: nothing happens
        assert uow.leases.holders() == ["w2"]
        assert uow.leases.acquire("pickup:globex", "w2", start, until)
        assert uow.leases.release_all("w2") == 2
        assert uow.leases.holders() == []


def test_an_outage_counts_failures_from_when_it_began_until_it_ends(backend: Backend):
    start = T0 + dt.timedelta(days=3650)
    with backend.uow() as uow:
        uow.outages.failed(PARTNER, start, "refused")
        outage = uow.outages.failed(PARTNER, start + dt.timedelta(minutes=1), "timed out")
        assert (outage.failures, outage.last_error) == (2, "timed out")
        assert as_utc(outage.down_since) == start
        uow.outages.failed("GLOBEX", start, "refused")
        assert [o.partner for o in uow.outages.listing()] == [PARTNER, "GLOBEX"]
        ended = uow.outages.ended(PARTNER)
        assert ended is not None and ended.failures == 2
        assert uow.outages.ended(PARTNER) is None
        assert [o.partner for o in uow.outages.listing()] == ["GLOBEX"]


# -- commit hooks and savepoints ------------------------------------------------------------------


def test_commit_hooks_hear_the_events_in_the_transaction_and_what_they_queue_commits(
    backend: Backend,
):
    heard: list[str] = []

    def hook(uow: Any, happened: list[object]) -> None:
        heard.extend(type(event).__name__ for event in happened)
        for event in happened:
            if isinstance(event, LinesCancelled):
                order = uow.orders.get(event.partner, event.po_number)
                uow.outbox.queue("email", PARTNER, {"about": event.cancellation_id}, order=order)

    backend.bus().handle(receive_order(("1", 10)))
    with backend.uow(hook) as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        order.handle(cancel("C1", ("1", 1)))
        uow.commit()
    assert heard == ["LinesCancelled"]
    with backend.uow() as uow:
        (entry,) = uow.outbox.listing("email")
        assert entry.payload == {"about": "C1"}


def test_a_failing_hook_commits_nothing(backend: Backend):
    def broken(uow: Any, happened: list[object]) -> None:
        uow.outbox.queue("email", PARTNER, {})
        raise RuntimeError("the handler failed")

    backend.bus().handle(receive_order(("1", 10)))
    with backend.uow(broken) as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        order.handle(cancel("C1", ("1", 1)))
        with pytest.raises(RuntimeError):
            uow.commit()
    assert backend.load().cancellations == []
    with backend.uow() as uow:
        assert uow.outbox.listing("email") == []


def test_a_failed_savepoint_undoes_its_writes_and_its_orders_are_read_again(backend: Backend):
    backend.bus().handle(receive_order(("1", 10)))
    heard: list[str] = []
    with backend.uow(lambda uow, happened: heard.extend(map(_name, happened))) as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        order.handle(cancel("C1", ("1", 1)))
        uow.flush()
        kept = uow.outbox.queue("email", PARTNER, {"n": "before"})
        with pytest.raises(RuntimeError), uow.savepoint():
            inside = uow.orders.get(PARTNER, PO)
            assert inside is order
            inside.handle(cancel("C2", ("1", 1)))
            uow.flush()
            uow.outbox.queue("email", PARTNER, {"n": "inside"})
            uow.control_numbers.next(PARTNER, "set")
            raise RuntimeError("the set failed")
        again = uow.orders.get(PARTNER, PO)
        assert again is not None and again is not order  # read again, as the transaction has it
        assert [c.id for c in again.cancellations] == ["C1"] and again.events == []
        assert [e.id for e in uow.outbox.listing("email")] == [kept]
        assert uow.control_numbers.next(PARTNER, "set") == 1
        uow.commit()
    assert heard == ["LinesCancelled"]  # written before the savepoint: still told
    assert [c.id for c in backend.load().cancellations] == ["C1"]


def test_a_savepoint_without_database_keeps_its_writes_but_forgets_its_orders(backend: Backend):
    backend.bus().handle(receive_order(("1", 10)))
    with backend.uow() as uow:
        with pytest.raises(RuntimeError), uow.savepoint(database=False):
            order = uow.orders.get(PARTNER, PO)
            assert order is not None
            order.handle(cancel("C1", ("1", 1)))
            uow.outbox.queue("email", PARTNER, {})
            raise RuntimeError("refused")
        order = uow.orders.get(PARTNER, PO)
        assert order is not None and order.cancellations == []
        assert len(uow.outbox.listing("email")) == 1
        uow.commit()
    assert backend.load().version == 1


def test_a_new_order_held_back_comes_back_as_the_failed_savepoint_found_it(backend: Backend):
    with backend.uow() as uow:
        uow.defer_writes()
        uow.orders.add(new_order(("1", 10)))
        with pytest.raises(RuntimeError), uow.savepoint(database=False):
            order = uow.orders.get(PARTNER, PO)
            assert order is not None
            order.handle(cancel("C1", ("1", 1)))
            raise RuntimeError("refused")
        order = uow.orders.get(PARTNER, PO)
        assert order is not None and order.cancellations == []
        uow.commit()
    stored = backend.load()
    assert stored.version == 1 and stored.cancellations == []


def test_a_new_order_added_in_a_failed_savepoint_is_gone(backend: Backend):
    with backend.uow() as uow:
        with pytest.raises(RuntimeError), uow.savepoint():
            uow.orders.add(new_order(("1", 10)))
            uow.flush()
            raise RuntimeError("refused")
        assert uow.orders.get(PARTNER, PO) is None
        uow.commit()
    with backend.uow() as uow:
        assert uow.orders.get(PARTNER, PO) is None


# -- where the SQL store does not do what it says ---------------------------------------------


def test_a_change_made_after_a_flush_is_committed(backend: Backend, request: pytest.FixtureRequest):
    """A change made to an order held since before a flush, without asking for it again, is
    written at the commit with its events (it was dropped while its events still reached the
    commit hooks: an email about a cancellation the store did not hold)."""
    heard: list[str] = []
    backend.bus().handle(receive_order(("1", 10)))
    with backend.uow(lambda uow, happened: heard.extend(map(_cancellation, happened))) as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        order.handle(cancel("C1", ("1", 1)))
        uow.flush()
        order.handle(cancel("C2", ("1", 1)))
        uow.commit()
    assert heard == ["C1", "C2"]
    assert [c.id for c in backend.load().cancellations] == ["C1", "C2"]


def test_a_rollback_forgets_the_changes_made_to_orders(
    backend: Backend, request: pytest.FixtureRequest
):
    """After `rollback`, the unit of work goes on as a new transaction: what it handed out
    before is not written by a later commit."""
    backend.bus().handle(receive_order(("1", 10)))
    with backend.uow() as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        order.handle(cancel("C1", ("1", 1)))
        uow.rollback()
        uow.outbox.queue("email", PARTNER, {})
        uow.commit()
    assert backend.load().cancellations == []


def _name(event: object) -> str:
    return type(event).__name__


def _cancellation(event: object) -> str:
    return event.cancellation_id if isinstance(event, LinesCancelled) else _name(event)
