"""The monitoring's snapshot (`gateway.service.metrics`) on the fake store: files and sets per
partner from the stored documents, orders per state as the report counts them, the outbox's
queues per kind with their oldest entry's age, mailboxes down, webhook deliveries failing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from gateway.domain.model import Order
from gateway.service import metrics
from gateway.service.ports import Quarantined, SetRecord, StoredDocument
from gateway.service.report import build_report
from tests.fakes import FakeStore
from tests.unit.domain.builders import T0, fulfil, receive_order

NOW = T0 + dt.timedelta(hours=2)


class Quarantine:
    """A file store holding only a quarantine folder's listing."""

    def __init__(self, *partners: str):
        self.files = [
            Quarantined(p, f"bad-{i}.x12", NOW.date(), Path(f"/q/{i}"), Path(f"/q/{i}.txt"), "bad")
            for i, p in enumerate(partners)
        ]

    def quarantined(self) -> list[Quarantined]:
        return list(self.files)


def stored_day() -> FakeStore:
    """ACME sent two files (sets: created, rejected, duplicate), has one order shipped and one
    open; an 855 to ACME waits past its deadline; two documents and one email wait in the
    outbox; a webhook failed for good, another retries; Bluewater's mailbox is down."""
    store = FakeStore(clock=lambda: T0)
    with store.unit_of_work() as uow:
        first = uow.documents.add(StoredDocument("a" * 64, "ACME", "in", 10, "accepted"))
        second = uow.documents.add(StoredDocument("b" * 64, "ACME", "in", 10, "rejected"))
        uow.documents.add(StoredDocument("c" * 64, "ACME", "out", 10, "overdue"))
        uow.documents.record_set(first, SetRecord("1", "0001", "850", "created", "PO-1"))
        uow.documents.record_set(second, SetRecord("2", "0001", "850", "rejected"))
        uow.documents.record_set(second, SetRecord("2", "0002", "850", "duplicate", "PO-1"))
        shipped = Order.receive(receive_order(("1", 2)))
        shipped.handle(fulfil("F1", ("1", 2)))
        uow.orders.add(shipped)
        uow.orders.add(
            Order.receive(dataclasses.replace(receive_order(("1", 1)), po_number="PO-2"))
        )
        uow.outbox.queue("x12", "ACME", {})
        uow.outbox.queue("x12", "ACME", {})
        uow.outbox.queue("email", "ACME", {})
        sent = uow.outbox.queue("x12", "ACME", {})
        uow.outbox.settle(sent, "sent", at=T0)
        failed = uow.outbox.queue("webhook", "ACME", {})
        uow.outbox.settle(failed, "failed", at=T0, error="500")
        retrying = uow.outbox.queue("webhook", "ACME", {})
        assert uow.outbox.claim(retrying, T0, T0 + dt.timedelta(minutes=5), "w1")
        uow.outbox.settle(retrying, "queued", at=T0, next_attempt_at=NOW, error="refused")
        uow.outages.failed("bluewater", T0, "connection refused")
        uow.commit()
    return store


def test_snapshot_counts_files_sets_and_orders_per_partner_as_the_report_does():
    store = stored_day()
    files = Quarantine("ACME", "bluewater")
    snapshot = metrics.take_snapshot(store.factory(), files, ["ACME", "bluewater"], NOW)
    assert snapshot.files_received == {"ACME": 2, "bluewater": 0}
    assert snapshot.files_quarantined == {"ACME": 1, "bluewater": 1}
    assert snapshot.sets[("ACME", "accepted")] == 1
    assert snapshot.sets[("ACME", "rejected")] == 1
    assert snapshot.sets[("ACME", "duplicate")] == 1
    assert snapshot.sets[("bluewater", "accepted")] == 0
    report = build_report(store.unit_of_work(), files, now=NOW)  # type: ignore[arg-type]
    for row in report["orders"]:
        for state, count in row.items():
            if state != "partner":
                assert snapshot.orders[row["partner"], state] == count
    assert snapshot.orders["ACME", "total"] == 2 and snapshot.orders["ACME", "shipped"] == 1
    overdue = len(report["overdue_acknowledgements"])
    assert snapshot.acknowledgements_overdue == {"ACME": overdue, "bluewater": 0}
    assert overdue == 1


def test_snapshot_gives_each_queue_its_depth_and_oldest_age_and_the_failing_webhooks():
    snapshot = metrics.take_snapshot(stored_day().factory(), Quarantine(), ["ACME"], NOW)
    assert snapshot.queue_depth == {"email": 1, "webhook": 1, "x12": 2}
    assert snapshot.queue_oldest_age["x12"] == 7200.0
    assert snapshot.webhook_deliveries_failing == 2  # one failed for good, one retrying
    assert snapshot.mailbox_up == {"ACME": True, "bluewater": False}


def test_an_empty_store_reports_the_queues_at_zero_and_no_failing_webhook():
    snapshot = metrics.take_snapshot(FakeStore().factory(), Quarantine(), ["ACME"], NOW)
    assert snapshot.queue_depth == {"email": 0, "x12": 0}
    assert snapshot.queue_oldest_age == {"email": 0.0, "x12": 0.0}
    assert snapshot.webhook_deliveries_failing == 0
    assert snapshot.mailbox_up == {"ACME": True}
    assert snapshot.orders == {}


def test_the_health_check_says_why_the_store_does_not_answer():
    assert metrics.store_answers(FakeStore().factory()) == ""

    def broken():
        raise OSError("disk gone")

    assert metrics.store_answers(broken) == "OSError: disk gone"


def test_a_set_refused_or_not_mapped_counts_as_rejected():
    refusals = ("rejected", "refused", "not mapped", "unauthorized")
    assert {metrics.set_result(action) for action in refusals} == {"rejected"}
    assert metrics.set_result("fulfilled") == "accepted"
