"""Webhooks on the fake store and a fake HTTP sender: the events are queued in the transaction of
the change (so they commit with it, or not at all), one per subscription that wants them; the
deliverer sends them signed, in order per order and subscription, retries with backoff under
the same event id, logs every attempt, alerts the operators once after N failures, and never
lets a failing endpoint hold up another subscription."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json

import pytest

from gateway.config import WebhookSettings
from gateway.errors import TransportError, WebhookRefused
from gateway.service import notify
from gateway.service.webhooks import (
    EVENT_NAMES,
    KIND,
    WEBHOOK_EVENTS,
    backoff,
    delivery_log,
    event_names,
    signature,
    subscribe,
    unsubscribe,
)
from tests.fakes import WEBHOOK_SECRET, FakeGateway, Posted, wire
from tests.unit.domain.builders import PARTNER, PO, cancel, confirm, fulfil, receive_order
from tests.unit.service.conftest import MAIL, PARTNERS, Clock, entries

ORDER_EVENTS = ("order.received", "order.acknowledged", "fulfilment.created", "order.shipped")
SETTINGS = WebhookSettings(alert_attempts=3)


@pytest.fixture
def gw(clock: Clock) -> FakeGateway:
    return wire(PARTNERS, MAIL, clock=clock, webhook_settings=SETTINGS)


def add(gw: FakeGateway, url: str = "https://erp.example/hooks", *names: str) -> int:
    made = subscribe(gw.uow_factory, url, names or ORDER_EVENTS, "WEBHOOK_SECRET", gw.clock())
    return int(made["id"])


def day(gw: FakeGateway, po_number: str = PO) -> None:
    """An order of 10 units received, acknowledged, shipped whole."""
    gw.bus.handle(dataclasses.replace(receive_order(("1", 10)), po_number=po_number))
    gw.bus.handle(dataclasses.replace(confirm(), po_number=po_number))
    gw.bus.handle(dataclasses.replace(fulfil("F1", ("1", 10)), po_number=po_number))


def body(posted: Posted) -> dict[str, object]:
    found: dict[str, object] = json.loads(posted.body)
    return found


def verified(posted: Posted) -> bool:
    """Whether the request's signature is the HMAC of its timestamp and body."""
    signed = posted.headers["Webhook-Timestamp"].encode() + b"." + posted.body
    expected = "v1=" + hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, posted.headers["Webhook-Signature"])


# -- the table and the subscriptions ------------------------------------------------------------


def test_every_webhook_event_name_is_unique_and_dotted():
    assert len(set(EVENT_NAMES)) == len(WEBHOOK_EVENTS)
    assert all(name.count(".") == 1 and name == name.lower() for name in EVENT_NAMES)
    assert {"order.received", "order.shipped", "order.cancelled", "document.rejected"} <= set(
        EVENT_NAMES
    )


def test_a_subscription_names_known_events_only():
    assert event_names(["order.shipped", " Order.Received "]) == (
        "order.received",
        "order.shipped",
    )
    with pytest.raises(WebhookRefused, match=r"order\.teleported") as refused:
        event_names(["order.shipped", "order.teleported"])
    assert refused.value.rule == "webhook-events-known"
    with pytest.raises(WebhookRefused):
        event_names([" "])


def test_a_subscription_needs_an_http_url_and_a_secret_variable(gw: FakeGateway):
    with pytest.raises(WebhookRefused) as refused:
        subscribe(gw.uow_factory, "ftp://erp.example/", ["order.shipped"], "S", gw.clock())
    assert refused.value.rule == "webhook-url-http"
    with pytest.raises(WebhookRefused) as refused:
        subscribe(gw.uow_factory, "https://erp.example/", ["order.shipped"], "", gw.clock())
    assert refused.value.rule == "webhook-secret-named"


# -- queued with the change ---------------------------------------------------------------------


def test_an_event_and_its_webhooks_commit_in_one_transaction(gw: FakeGateway):
    first = add(gw)
    second = add(gw, "https://wms.example/in", "order.received")
    add(gw, "https://other.example/in", "order.cancelled")
    before = gw.store.commits
    gw.bus.handle(receive_order(("1", 10)))
    assert gw.store.commits == before + 1
    queued = entries(gw, KIND)
    assert [(e.payload["subscription"], e.payload["type"]) for e in queued] == [
        (first, "order.received"),
        (second, "order.received"),
    ]
    event = json.loads(str(queued[0].payload["body"]))
    assert event["id"] == queued[0].payload["event_id"]
    assert event["type"] == "order.received"
    assert event["order"] == {"partner": PARTNER, "po_number": PO}
    assert event["data"]["lines"][0]["line_number"] == "1"
    assert dt.datetime.fromisoformat(event["created_at"]).tzinfo is not None
    assert queued[0].group_key != queued[1].group_key  # ordered per subscription


def test_a_change_not_committed_queues_no_webhook(gw: FakeGateway):
    add(gw)
    gw.bus.handle(receive_order(("1", 10)))
    with gw.uow_factory() as uow:  # changed, never committed
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        order.handle(fulfil("F1", ("1", 10)))
    assert [e.payload["type"] for e in entries(gw, KIND)] == ["order.received"]


def test_no_subscription_no_webhook(gw: FakeGateway):
    gw.bus.handle(receive_order(("1", 10)))
    assert entries(gw, KIND) == []


# -- delivery -----------------------------------------------------------------------------------


def test_the_events_of_an_order_are_delivered_once_each_in_order_and_signed(gw: FakeGateway):
    add(gw)
    day(gw)
    delivered = gw.webhooks.drain()
    assert [d.status for d in delivered] == ["delivered"] * len(delivered)
    posted = gw.webhook_sender.posted
    assert [body(p)["type"] for p in posted] == list(ORDER_EVENTS)
    for request in posted:
        assert verified(request)
        assert request.headers["Webhook-Id"] == body(request)["id"]
        assert request.headers["Content-Type"] == "application/json"
        assert request.url == "https://erp.example/hooks"
    assert gw.webhooks.drain() == []  # nothing twice
    assert {e.status for e in entries(gw, KIND)} == {"sent"}


def test_the_signature_is_the_hmac_of_timestamp_dot_body():
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signature("k", 1_700_000_000, b"{}") == f"v1={expected}"


def test_a_later_event_of_an_order_waits_for_the_earlier_one(gw: FakeGateway, clock: Clock):
    subscription = add(gw)
    day(gw)
    gw.webhook_sender.answers = [500]
    (failed,) = gw.webhooks.drain()  # the endpoint failed: the rest of its events wait
    assert (failed.status, failed.status_code, failed.error) == ("retry", 500, "HTTP 500")
    assert [body(p)["type"] for p in gw.webhook_sender.posted] == ["order.received"]
    clock.advance(seconds=29)
    assert gw.webhooks.drain() == []  # the first is not due, the later ones wait for it
    clock.advance(seconds=1)
    assert [d.event_type for d in gw.webhooks.drain()] == list(ORDER_EVENTS)
    first = gw.webhook_sender.posted[1]
    assert first.headers["Webhook-Id"] == failed.event_id  # the same event, the same id
    with gw.uow_factory() as uow:
        log = delivery_log(uow, subscription)
    assert [(a["type"], a["status_code"], a["delivered"]) for a in reversed(log)] == [
        ("order.received", 500, False),
        *((name, 200, True) for name in ORDER_EVENTS),
    ]
    assert log[-1]["event_id"] == failed.event_id


def test_a_failing_endpoint_holds_up_no_other_subscription(gw: FakeGateway):
    add(gw, "https://down.example/hooks")
    add(gw, "https://up.example/hooks")
    day(gw)
    gw.webhook_sender.answers = [TransportError("no answer from https://down.example/hooks")]
    found = gw.webhooks.drain()
    assert found[0].status == "retry"
    assert {p.url for p in gw.webhook_sender.posted} == {"https://up.example/hooks"}
    assert [body(p)["type"] for p in gw.webhook_sender.posted] == list(ORDER_EVENTS)


def test_other_orders_of_a_subscription_go_on_while_one_waits(gw: FakeGateway, clock: Clock):
    add(gw, "https://erp.example/hooks", "order.received")
    gw.bus.handle(receive_order(("1", 10)))
    gw.webhook_sender.answers = [500]
    gw.webhooks.drain()
    gw.bus.handle(dataclasses.replace(receive_order(("1", 5)), po_number="PO-2002"))
    (second,) = gw.webhooks.drain()  # the first order's event is not due yet
    assert second.status == "delivered"
    assert body(gw.webhook_sender.posted[-1])["order"] == {
        "partner": PARTNER,
        "po_number": "PO-2002",
    }


def test_backoff_doubles_from_thirty_seconds_to_an_hour_shortened_by_jitter():
    settings = WebhookSettings()
    waits = [backoff(settings, n, 0.0).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff(settings, 1, 1.0).total_seconds() == pytest.approx(27.0)
    assert backoff(settings, 9, 0.5).total_seconds() == pytest.approx(3420.0)


def test_the_operators_are_alerted_once_after_n_failed_attempts(gw: FakeGateway, clock: Clock):
    add(gw, "https://erp.example/hooks", "order.received")
    gw.bus.handle(receive_order(("1", 10)))
    gw.webhook_sender.answers = [503] * 6
    for _ in range(6):
        (failed,) = gw.webhooks.drain()
        assert failed.status == "retry"
        clock.advance(hours=1)
    alerts = [e for e in entries(gw, notify.KIND) if e.payload["template"] == "alert"]
    (alert,) = alerts
    assert alert.group_key == "webhook-failing:1"
    assert "https://erp.example/hooks" in str(alert.payload["subject"])
    assert failed.attempts == 6


def test_an_unset_secret_is_a_failed_attempt_retried(gw: FakeGateway):
    made = subscribe(
        gw.uow_factory, "https://erp.example/", ["order.received"], "NOT_SET", gw.clock()
    )
    gw.bus.handle(receive_order(("1", 10)))
    (failed,) = gw.webhooks.drain()
    assert failed.status == "retry"
    assert "NOT_SET is not set" in failed.error
    assert gw.webhook_sender.posted == []
    with gw.uow_factory() as uow:
        (logged,) = delivery_log(uow, int(made["id"]))
    assert logged["status_code"] is None


def test_the_events_of_a_removed_subscription_are_dropped(gw: FakeGateway):
    subscription = add(gw)
    gw.bus.handle(receive_order(("1", 10)))
    unsubscribe(gw.uow_factory, subscription, gw.clock())
    (dropped,) = gw.webhooks.drain()
    assert dropped.status == "dropped"
    assert gw.webhook_sender.posted == []
    gw.bus.handle(cancel("C1", ("1", 2)))
    assert [e.status for e in entries(gw, KIND)] == ["failed"]  # nothing new queued
    with pytest.raises(WebhookRefused) as refused:
        unsubscribe(gw.uow_factory, subscription, gw.clock())
    assert refused.value.rule == "webhook-exists"
