"""Webhooks: the events of orders POSTed to the systems that subscribed to them, signed.

Strategy: a webhook event is an outbox entry (kind "webhook"), one per subscription that wants
it, written by the transaction that made the change: the message bus hands the events of the
orders about to commit to `WebhookQueue`, which turns each into its JSON event (`WEBHOOK_EVENTS`
names them) with an id fixed there and then. So a crash can neither lose an event nor invent one,
and a retry sends the same body under the same id.

`WebhookDeliverer` drains the entries each pass of `gateway run`, like the mail: a lease per
entry, the POST, then the entry settled and the attempt logged in a second transaction. A 2xx
answer delivers it; anything else (another status, no answer in time, the secret's variable
unset) puts it back with exponential backoff and jitter; after `alert_attempts` failed attempts
of one event the operators are alerted (one alert per subscription, repeats joined). Events of
one order go to one subscription in order: an entry is sent only when it is the oldest still
queued of its order and subscription (its `group_key`), so a later event waits for the earlier
one, while other orders and other subscriptions go on. A crash after the receiver took an event
and before the store settled it sends it again, same id: receivers deduplicate on `Webhook-Id`.

The request (after the Standard Webhooks specification's header names)::

    POST <url>
    Content-Type: application/json
    Webhook-Id: <the event's id, the same on every retry>
    Webhook-Timestamp: <this attempt's time, whole seconds since the epoch>
    Webhook-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" under the secret>

    {"id": ..., "type": "order.shipped", "created_at": ..., "order": {"partner", "po_number"},
     "data": {...the event's fields...}}

A receiver recomputes the signature over the timestamp and the body as received, compares it in
constant time, and refuses a timestamp too far from its clock (a replay).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gateway.config import WebhookSettings
from gateway.domain import events
from gateway.domain.values import DocumentState
from gateway.errors import TransportError, WebhookRefused
from gateway.logs import event as log_event
from gateway.service.delivery import LEASE, this_worker
from gateway.service.messagebus import EventHandler, committed
from gateway.service.notify import Alerts
from gateway.service.ports import (
    OutboxEntry,
    Subscription,
    UnitOfWork,
    WebhookAttempt,
    WebhookSender,
)

LOG = logging.getLogger("gateway.webhooks")

KIND = "webhook"
"""The outbox kind of webhook events."""

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A webhook event name: the domain event it stands for (`when` it holds) and what it
    means."""

    name: str
    event: type[events.Event]
    about: str
    when: Callable[[Any], bool] | None = None


def _rejected(happened: events.DocumentStateChanged) -> bool:
    return happened.state is DocumentState.REJECTED


WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = (
    WebhookEvent("order.received", events.OrderReceived, "a new order was taken in"),
    WebhookEvent("order.changed", events.LinesChanged, "lines got new terms or were added"),
    WebhookEvent("order.replaced", events.OrderReplaced, "the order was replaced whole"),
    WebhookEvent(
        "order.acknowledged", events.OrderConfirmed, "acknowledged (855) or the vendor notified"
    ),
    WebhookEvent("order.confirmed", events.ConfirmationProven, "the order became Confirmed"),
    WebhookEvent("order.dates_changed", events.DatesChanged, "the order's dates changed"),
    WebhookEvent("order.customer_changed", events.CustomerChanged, "the ship-to changed"),
    WebhookEvent("order.change_answered", events.ChangeAnswered, "the seller answered a change"),
    WebhookEvent("order.shipped", events.OrderShipped, "every unit not cancelled is fulfilled"),
    WebhookEvent("order.cancelled", events.OrderCancelled, "every unit is cancelled"),
    WebhookEvent("order.completed", events.OrderCompleted, "settled and passed on"),
    WebhookEvent("lines.cancelled", events.LinesCancelled, "some open quantity was cancelled"),
    WebhookEvent("fulfilment.created", events.FulfilmentCreated, "some quantity shipped"),
    WebhookEvent("fulfilment.refused", events.FulfilmentRefused, "a late fulfilment refused"),
    WebhookEvent("fulfilment.passed_on", events.FulfilmentPassedOn, "passed to the other side"),
    WebhookEvent("shipment.status_changed", events.ShipmentStatusChanged, "a shipment moved on"),
    WebhookEvent("return.recorded", events.ReturnRecorded, "goods came back"),
    WebhookEvent("refund.recorded", events.RefundRecorded, "money was given back"),
    WebhookEvent("invoice.recorded", events.InvoiceRecorded, "an invoice was sent or received"),
    WebhookEvent("invoice.accepted", events.InvoiceAccepted, "an invoice was accepted"),
    WebhookEvent("payment.recorded", events.PaymentRecorded, "a payment was recorded"),
    WebhookEvent("note.added", events.NoteAdded, "an operator's note was attached"),
    WebhookEvent("note.edited", events.NoteEdited, "a note's text changed"),
    WebhookEvent("note.deleted", events.NoteDeleted, "a note was removed"),
    WebhookEvent(
        "document.refused", events.DocumentRefused, "a partner's document was refused whole"
    ),
    WebhookEvent(
        "document.rejected",
        events.DocumentStateChanged,
        "a document of ours was rejected by the partner (their 997/999/TA1)",
        _rejected,
    ),
)
"""Every webhook event name, the domain event it stands for and what it means: the one table
of them (`gateway webhooks add --events` is checked against it)."""

EVENT_NAMES = tuple(e.name for e in WEBHOOK_EVENTS)


def event_names(given: Iterable[str]) -> tuple[str, ...]:
    """The event names of a subscription, checked against `WEBHOOK_EVENTS` (each once, in the
    table's order); WebhookRefused names the unknown ones."""
    wanted = {name.strip().lower() for name in given if name.strip()}
    unknown = sorted(wanted - set(EVENT_NAMES))
    if unknown:
        raise WebhookRefused(
            "webhook-events-known",
            f"unknown webhook event {', '.join(unknown)}: known events are "
            + ", ".join(EVENT_NAMES),
        )
    if not wanted:
        raise WebhookRefused("webhook-events-known", "a subscription names at least one event")
    return tuple(name for name in EVENT_NAMES if name in wanted)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Webhook-Signature` of a request: `v1=` and the hex HMAC-SHA256 of
    `<timestamp>.<body>` under `secret`."""
    signed = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def headers(event_id: str, timestamp: int, body: bytes, secret: str) -> dict[str, str]:
    """The headers of one attempt to deliver an event."""
    return {
        "Content-Type": "application/json",
        "Webhook-Id": event_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signature(secret, timestamp, body),
    }


def group_key(subscription_id: int, partner: str, po_number: str) -> str:
    """What orders the events of one order to one subscription."""
    return f"webhook:{subscription_id}:{partner}:{po_number}"


def event_body(name: str, happened: events.Event, event_id: str) -> str:
    """The JSON event sent for a domain event."""
    data = events.plain(happened)
    assert isinstance(data, dict)
    for key in ("partner", "po_number", "at"):
        data.pop(key, None)
    return json.dumps(
        {
            "id": event_id,
            "type": name,
            "created_at": happened.at.isoformat(),
            "order": {"partner": happened.partner, "po_number": happened.po_number},
            "data": data,
        },
        separators=(",", ":"),
    )


class WebhookQueue:
    """Queues the webhook events of a unit of work's events: its `handlers` are the message
    bus's, run in the transaction that made the events, just before it commits."""

    def __init__(self, clock: Clock = _utc_now):
        self.clock = clock

    def handlers(self) -> dict[type, list[EventHandler]]:
        """Each domain event that has a webhook event, with what queues it."""
        found: dict[type, list[EventHandler]] = {}
        for kind in dict.fromkeys(e.event for e in WEBHOOK_EVENTS):
            found[kind] = [self._queue]
        return found

    def _queue(self, uow: UnitOfWork, happened: events.Event) -> None:
        names = [
            e.name
            for e in WEBHOOK_EVENTS
            if type(happened) is e.event and (e.when is None or e.when(happened))
        ]
        if not names:
            return
        subscriptions = uow.webhooks.listing()
        order = None
        for name in names:
            for subscription in subscriptions:
                if name not in subscription.events:
                    continue
                if order is None:
                    order = uow.orders.get(happened.partner, happened.po_number)
                event_id = str(uuid.uuid4())
                payload: dict[str, object] = {
                    "subscription": subscription.id,
                    "event_id": event_id,
                    "type": name,
                    "body": event_body(name, happened, event_id),
                    "order": {"partner": happened.partner, "po_number": happened.po_number},
                }
                uow.outbox.queue(
                    KIND,
                    happened.partner,
                    payload,
                    order=order,
                    group_key=group_key(subscription.id, happened.partner, happened.po_number),
                )


# -- delivering ---------------------------------------------------------------------------------


@dataclass(slots=True)
class WebhookDelivery:
    """What became of one webhook entry in a drain."""

    outbox_id: int
    subscription_id: int
    event_id: str
    event_type: str
    status: str  # delivered | retry | waiting (an earlier event first) | skipped | dropped
    status_code: int | None = None
    error: str = ""
    attempts: int = 0  # the attempts so far, this one included


def backoff(settings: WebhookSettings, attempts: int, draw: float) -> dt.timedelta:
    """The wait after the `attempts`th failed attempt: `first_retry_seconds` doubling up to
    `last_retry_seconds`, shortened by `draw` (0 to 1) times `jitter` of itself."""
    wait = min(
        settings.first_retry_seconds * 2 ** max(attempts - 1, 0), settings.last_retry_seconds
    )
    return dt.timedelta(seconds=wait * (1 - settings.jitter * draw))


class WebhookDeliverer:
    """Drains the webhook outbox through a `WebhookSender`."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        sender: WebhookSender,
        alerts: Alerts,
        settings: WebhookSettings | None = None,
        *,
        clock: Clock = _utc_now,
        secrets: Callable[[str], str | None] = os.environ.get,
        draw: Callable[[], float] = random.random,
        checkpoint: Callable[[str], None] = lambda point: None,
        worker: str = "",
    ):
        self.uow_factory = uow_factory
        self.sender = sender
        self.alerts = alerts
        self.settings = settings or WebhookSettings()
        self.clock = clock
        self.secrets = secrets
        self.draw = draw
        self.checkpoint = checkpoint
        self.worker = worker or this_worker()

    def drain(self, *, limit: int = 500) -> list[WebhookDelivery]:
        """Deliver every due webhook event whose earlier events (same order, same subscription)
        are delivered; a subscription whose endpoint failed is passed over until the next
        drain, the others go on."""
        with self.uow_factory() as uow:
            due = uow.outbox.due(KIND, self.clock(), limit)
        found = []
        failing: set[int] = set()
        for entry in due:
            subscription_id = _int(entry.payload.get("subscription"))
            if subscription_id in failing:
                continue
            delivery = self._deliver(entry, subscription_id)
            if delivery.status == "retry":
                failing.add(subscription_id)
            if delivery.status != "waiting":
                found.append(delivery)
                log_event(
                    LOG,
                    f"webhook {delivery.status}",
                    logging.WARNING if delivery.status == "retry" else logging.INFO,
                    subscription=subscription_id,
                    event=delivery.event_id,
                    type=delivery.event_type,
                    status=delivery.status_code,
                    error=delivery.error,
                )
        return found

    def _deliver(self, entry: OutboxEntry, subscription_id: int) -> WebhookDelivery:
        event_id = str(entry.payload.get("event_id", ""))
        event_type = str(entry.payload.get("type", ""))

        def outcome(status: str, **more: Any) -> WebhookDelivery:
            return WebhookDelivery(entry.id, subscription_id, event_id, event_type, status, **more)

        now = self.clock()
        with self.uow_factory() as uow:
            if entry.group_key and uow.outbox.first_queued(KIND, entry.group_key) != entry.id:
                return outcome("waiting")
            if not uow.outbox.claim(entry.id, now, now + LEASE, self.worker):
                return outcome("skipped")
            subscription = uow.webhooks.get(subscription_id)
            uow.commit()
        self.checkpoint("claimed-webhook")
        attempts = entry.attempts + 1
        if subscription is None or subscription.removed_at is not None:
            with self.uow_factory() as uow:
                error = f"subscription {subscription_id} was removed"
                uow.outbox.settle(entry.id, "failed", at=self.clock(), error=error)
                uow.commit()
            return outcome("dropped", error="subscription removed", attempts=attempts)
        status_code, error = self._post(subscription, entry, event_id)
        delivered = status_code is not None and 200 <= status_code < 300
        if delivered:
            self.checkpoint("webhook-sent")
        at = self.clock()
        attempt = WebhookAttempt(
            subscription.id, entry.id, event_id, event_type, attempts, at, status_code, error,
            delivered,
        )  # fmt: skip
        later = None if delivered else at + backoff(self.settings, attempts, self.draw())

        def settle(uow: UnitOfWork) -> None:
            uow.webhooks.record(attempt)
            if delivered:
                payload = {**entry.payload, "delivered_at": at.isoformat()}
                uow.outbox.settle(entry.id, "sent", at=at, payload=payload)
                return
            uow.outbox.settle(entry.id, "queued", at=at, next_attempt_at=later, error=error)
            if attempts == self.settings.alert_attempts:
                self._alert(uow, subscription, attempt)

        committed(self.uow_factory, settle)
        return outcome(
            "delivered" if delivered else "retry",
            status_code=status_code,
            error=error,
            attempts=attempts,
        )

    def _post(
        self, subscription: Subscription, entry: OutboxEntry, event_id: str
    ) -> tuple[int | None, str]:
        """(the receiver's status, the error: "" when it answered 2xx)."""
        secret = self.secrets(subscription.secret_env) if subscription.secret_env else None
        if not secret:
            return None, f"the secret's variable {subscription.secret_env} is not set"
        body = str(entry.payload.get("body", "")).encode()
        timestamp = int(self.clock().timestamp())
        try:
            status_code = self.sender.post(
                subscription.url,
                body,
                headers(event_id, timestamp, body, secret),
                timeout=self.settings.timeout_seconds,
            )
        except TransportError as exc:
            return None, str(exc)
        return status_code, "" if 200 <= status_code < 300 else f"HTTP {status_code}"

    def _alert(self, uow: UnitOfWork, subscription: Subscription, attempt: WebhookAttempt) -> None:
        self.alerts.record(
            uow,
            f"webhook-failing:{subscription.id}",
            "webhook-failing",
            f"Webhook deliveries to {subscription.url} keep failing",
            [
                ("Subscription", f"{subscription.id}: {subscription.url}"),
                ("Event", f"{attempt.event_type} {attempt.event_id}"),
                ("Attempts", str(attempt.attempt)),
                ("Last error", attempt.error),
                (
                    "What to do",
                    f"check the receiver (`gateway webhooks log {subscription.id}`); the gateway "
                    "keeps retrying with backoff, the events of other subscriptions go on",
                ),
            ],
        )


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | str) else 0


# -- what an operator does ----------------------------------------------------------------------


def subscribe(
    uow_factory: Callable[[], UnitOfWork],
    url: str,
    names: Iterable[str],
    secret_env: str,
    at: dt.datetime,
) -> dict[str, Any]:
    """Add a subscription; as `subscription_view` shows it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused(
            "webhook-url-http", f"{url!r} is not an http:// or https:// URL with a host"
        )
    if not secret_env.strip() or any(c.isspace() or c == "=" for c in secret_env):
        raise WebhookRefused(
            "webhook-secret-named", "--secret-env names the environment variable of the secret"
        )
    wanted = event_names(names)
    with uow_factory() as uow:
        subscription_id = uow.webhooks.add(url, wanted, secret_env, at)
        found = uow.webhooks.get(subscription_id)
        uow.commit()
    assert found is not None
    return subscription_view(found)


def subscription_view(subscription: Subscription) -> dict[str, Any]:
    """A subscription as a person reads it."""
    return {
        "id": subscription.id,
        "url": subscription.url,
        "events": list(subscription.events),
        "secret_env": subscription.secret_env,
        "created_at": subscription.created_at.isoformat(timespec="seconds"),
    }


def list_subscriptions(uow: UnitOfWork) -> list[dict[str, Any]]:
    """The subscriptions in force, by id."""
    with uow:
        return [subscription_view(s) for s in uow.webhooks.listing()]


def unsubscribe(
    uow_factory: Callable[[], UnitOfWork], subscription_id: int, at: dt.datetime
) -> None:
    """Stop a subscription: its events not yet delivered are dropped; its log is kept."""
    with uow_factory() as uow:
        if not uow.webhooks.remove(subscription_id, at):
            raise WebhookRefused("webhook-exists", f"no webhook subscription {subscription_id}")
        uow.commit()


def delivery_log(
    uow: UnitOfWork, subscription_id: int, *, limit: int = 100
) -> list[dict[str, Any]]:
    """A subscription's latest delivery attempts, newest first."""
    with uow:
        if uow.webhooks.get(subscription_id) is None:
            raise WebhookRefused("webhook-exists", f"no webhook subscription {subscription_id}")
        return [
            {
                "at": a.at.isoformat(timespec="seconds"),
                "event_id": a.event_id,
                "type": a.event_type,
                "attempt": a.attempt,
                "status_code": a.status_code,
                "error": a.error,
                "delivered": a.delivered,
                "outbox_id": a.outbox_id,
            }
            for a in uow.webhooks.attempts(subscription_id, limit)
        ]
