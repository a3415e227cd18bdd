"""Emails: the ones changes to orders cause, the alerts operators need, and sending them.

Strategy: an email is an outbox entry (kind "email") written by the transaction that made the
change, so it is never lost and never queued twice: the unit of work hands the events of the
orders it is about to commit to `Notifier`, which queues the emails they call for, rendered
there and then (so what is sent is what was true when it happened) with a Message-ID fixed at
that moment. `Mailer` drains the entries like the X12 outbox: a lease per entry, the SMTP
handover, then the entry marked sent in a second transaction. A crash between the two sends the
same message again, under the same Message-ID, which is how a mail reader recognises the copy;
nothing else can be sent twice. A server that is down or answers 4xx puts the entry back with
exponential backoff; a permanent refusal (5xx: a bad address) fails the entry and tells the
operators instead of retrying forever.

Who hears of what:
- a cancellation (an 860, an 855 rejecting lines, an 850 with BEG01 01, an operator), full or
  partial: the side that did not cancel: the partner's `cancellations` contacts when we
  cancelled, our order desk (`[mail] order_desk`, else the operators) when the partner did;
- an order we place with a seller who fulfils directly rather than by EDI (`fulfilment =
  "direct"` in their profile): the seller's `orders` contacts, with the lines to ship; queuing
  it is what confirms the order (vendor notified);
- operators (`Alerts`): a file quarantined, acknowledgements overdue, a delivery that keeps
  failing, a mailbox unreachable too long, an email refused. An alert names what it is about
  (`group_key`); while its email waits, repeats join it; once sent, repeats within
  `alert_repeat_minutes` are only counted, and the next email says how many there were.
When nobody is configured to hear of something that must be heard (a partner without contacts),
the operators are told instead.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from gateway.config import MailSettings, PartnerProfile
from gateway.domain.events import ChangeAnswered, LinesCancelled, OrderReceived
from gateway.domain.model import LineItem, Order
from gateway.domain.values import DocumentKind, Party, Role, Side
from gateway.errors import MailActionRefused, MailRefused, TransportError
from gateway.logs import event
from gateway.service.delivery import LEASE, as_utc, backoff, this_worker
from gateway.service.messagebus import EventHandler, committed
from gateway.service.ports import Email, MailComposer, MailSender, OutboxEntry, UnitOfWork
from gateway.service.tracking import email_name, follow_email, track
from gateway.service.views import number_text

LOG = logging.getLogger("gateway.mail")

KIND = "email"
"""The outbox kind of emails."""
DRAIN_ROUNDS = 3
"""Rounds of one drain: the emails it sends can queue others (alerts), sent in the next round."""

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def message_id(domain: str) -> str:
    """A new Message-ID, unique world-wide: fixed when the email is queued."""
    return f"<{uuid.uuid4().hex}@{domain}>"


def _party(party: Party) -> dict[str, Any]:
    address = party.address
    return {
        "role": party.entity_code,
        "name": party.name,
        "id": f"{party.id_qualifier} {party.id}".strip(),
        "address": [
            *(address.lines if address else ()),
            " ".join(p for p in (address.city, address.state, address.postal_code) if p).strip()
            if address
            else "",
            address.country if address else "",
        ],
    }


def _line(line: LineItem) -> dict[str, Any]:
    return {
        "line_number": line.line_number,
        "description": line.description,
        "product_ids": ", ".join(f"{q} {v}" for q, v in line.product_ids.items()),
        "unit_of_measure": line.unit_of_measure,
        "unit_price": number_text(line.unit_price),
        "ordered": number_text(line.ordered),
        "fulfilled": number_text(line.fulfilled),
        "cancelled": number_text(line.cancelled),
        "open": number_text(line.open),
    }


class MailQueue:
    """Renders and queues emails in a unit of work (the caller's transaction)."""

    def __init__(self, settings: MailSettings, composer: MailComposer, clock: Clock = _utc_now):
        self.settings = settings
        self.composer = composer
        self.clock = clock
        self.domain = settings.domain or socket.gethostname() or "localhost"
        name, address = parseaddr(settings.sender)
        self.our_name = name or address

    def queue(
        self,
        uow: UnitOfWork,
        template: str,
        data: dict[str, Any],
        recipients: Sequence[str],
        *,
        partner: str = "",
        order: Order | None = None,
        group_key: str | None = None,
    ) -> int:
        """Queue one email; its outbox id. An email about an order names it in its payload,
        so that what becomes of it can be recorded on the order (`tracking.follow_email`)."""
        payload = self.payload(template, data, recipients)
        if order is not None:
            payload["order"] = {"partner": order.partner, "po_number": order.po_number}
        return uow.outbox.queue(KIND, partner, payload, order=order, group_key=group_key)

    def payload(
        self,
        template: str,
        data: dict[str, Any],
        recipients: Sequence[str],
        *,
        fixed: Mapping[str, object] | None = None,
    ) -> dict[str, object]:
        """What an email entry holds: the rendered message and what it was made from.
        `fixed` keeps the Message-ID and date of an email rendered again."""
        subject, text, html = self.composer.compose(template, data)
        return {
            "template": template,
            "message_id": (fixed or {}).get("message_id") or message_id(self.domain),
            "created_at": (fixed or {}).get("created_at") or self.clock().isoformat(),
            "sender": self.settings.sender,
            "recipients": list(recipients),
            "subject": subject,
            "text": text,
            "html": html,
            "data": data,
        }


def email_of(entry: OutboxEntry) -> Email:
    """The message an email entry holds."""
    payload = entry.payload
    created = dt.datetime.fromisoformat(str(payload["created_at"]))
    recipients = payload.get("recipients")
    return Email(
        message_id=str(payload["message_id"]),
        sender=str(payload["sender"]),
        recipients=tuple(str(r) for r in recipients) if isinstance(recipients, list) else (),
        subject=str(payload["subject"]),
        text=str(payload["text"]),
        html=str(payload["html"]),
        created_at=created,
    )


# -- emails about orders ------------------------------------------------------------------------


class Notifier:
    """Queues the emails a unit of work's events call for: its `handlers` are the message bus's,
    run in the transaction that made the events, just before it commits."""

    def __init__(
        self,
        mail: MailQueue,
        partners: Mapping[str, PartnerProfile],
        alerts: Alerts,
    ):
        self.mail = mail
        self.partners = dict(partners)
        self.alerts = alerts
        self.our_name = mail.our_name

    def handlers(self) -> dict[type, list[EventHandler]]:
        """The events that call for an email, each with what queues it."""
        return {
            LinesCancelled: [self._cancellation],
            OrderReceived: [self._order_placed],
            ChangeAnswered: [self._change_refused],
        }

    def _change_refused(self, uow: UnitOfWork, event: ChangeAnswered) -> None:
        """The seller refused a change we asked (their 865): the cancellation we recorded
        stands in our books, not in theirs; a person must settle it with them."""
        if event.accepted:
            return
        profile = self.partners.get(event.partner)
        name = profile.name if profile else event.partner
        sequence = f" #{event.change_sequence}" if event.change_sequence else ""
        refused = [
            f"line {a.line_number}: {a.status.value}"
            + (f" {number_text(a.quantity)}" if a.quantity is not None else "")
            + (f" ({a.code})" if a.code else "")
            for a in event.lines
        ]
        self.alerts.record(
            uow,
            f"change-refused:{event.partner}:{event.po_number}:{event.change_sequence}",
            "change-refused",
            f"{name} refused our change order{sequence} on PO {event.po_number}",
            [
                ("Partner", name),
                ("PO", event.po_number),
                ("Their answer", "; ".join(refused) or "the change as a whole"),
                *((("Their note", event.note),) if event.note else ()),
                (
                    "What to do",
                    "the cancellation we recorded stands in our books but not in theirs: agree"
                    " with the seller what ships, then record it (`gateway orders show "
                    f"{event.po_number}`)",
                ),
            ],
            partner=event.partner,
        )

    def _about(self, order: Order) -> dict[str, Any]:
        profile = self.partners.get(order.partner)
        return {
            "partner": {"key": order.partner, "name": profile.name if profile else order.partner},
            "us": self.our_name,
            "order": {
                "po_number": order.po_number,
                "order_date": order.order_date.isoformat(),
                "our_role": order.our_role.value,
                "is_test": order.is_test,
                "flags": sorted(flag.value for flag in order.flags),
                "requested_ship_date": order.requested_ship_date.isoformat()
                if order.requested_ship_date
                else "",
                "cancel_after_date": order.cancel_after_date.isoformat()
                if order.cancel_after_date
                else "",
            },
        }

    def _cancellation(self, uow: UnitOfWork, event: LinesCancelled) -> None:
        order = uow.orders.get(event.partner, event.po_number)
        if order is None:
            return
        partner_side = Side.SELLER if order.our_role is Role.BUYER else Side.BUYER
        by_partner = event.requested_by is partner_side
        profile = self.partners.get(order.partner)
        data = self._about(order)
        cancelled = {q.line_number: q.quantity for q in event.lines}
        lines = []
        for line in order.lines:
            if line.line_number in cancelled or event.whole_order:
                lines.append(
                    {**_line(line), "cancelled_now": number_text(cancelled.get(line.line_number))}
                )
        data.update(
            {
                "cancellation": {
                    "id": event.cancellation_id,
                    "whole_order": event.whole_order,
                    "by": event.requested_by.value,
                    "by_name": data["partner"]["name"] if by_partner else self.our_name,
                    "reason": event.reason,
                    "at": event.at.isoformat(timespec="seconds"),
                },
                "lines": lines,
                "open_lines": [_line(line) for line in order.lines if line.open > 0],
                "to": "us" if by_partner else "partner",
                "fallback": "",
            }
        )
        settings = self.mail.settings
        if by_partner:
            recipients: Sequence[str] = settings.order_desk or settings.operators
        else:
            recipients = profile.contacts_for("cancellations") if profile else ()
        if not recipients:
            data["fallback"] = (
                f"no contact is configured for {'us' if by_partner else data['partner']['name']}"
                " ([mail] order_desk, or the partner's [contacts])"
            )
            recipients = settings.operators
        if recipients:
            self.mail.queue(
                uow, "cancellation", data, recipients, partner=order.partner, order=order
            )

    def _order_placed(self, uow: UnitOfWork, event: OrderReceived) -> None:
        if event.our_role is not Role.BUYER:
            return
        profile = self.partners.get(event.partner)
        if profile is None or profile.fulfilment != "direct":
            return
        order = uow.orders.get(event.partner, event.po_number)
        if order is None:
            return
        recipients = profile.contacts_for("orders")
        data = self._about(order)
        data.update(
            {
                "lines": [_line(line) for line in order.lines],
                "ship_to": next((_party(p) for p in order.parties if p.entity_code == "ST"), None),
                "fallback": "",
            }
        )
        if not recipients:
            self.alerts.record(
                uow,
                f"no-contact:{profile.key}:{order.po_number}",
                "no-contact",
                f"Order {order.po_number} for {profile.name} could not be sent: no contact",
                [
                    ("Partner", profile.name),
                    ("PO number", order.po_number),
                    (
                        "What to do",
                        "add an `orders` or `default` address to the partner's "
                        "[contacts], then send the order by hand",
                    ),
                ],
                partner=profile.key,
            )
            return
        sent = self.mail.queue(
            uow, "order-received", data, recipients, partner=profile.key, order=order
        )
        # Confirmed once the mail server takes it (`Mailer`), not now: queued proves nothing.
        track(
            order,
            email_name(sent),
            DocumentKind.ORDER_EMAIL,
            event.at,
            source=f"email to {', '.join(recipients)} (outbox {sent})",
        )


# -- alerts for operators -----------------------------------------------------------------------


class Alerts:
    """Alerts for operators, grouped by what they are about."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        mail: MailQueue,
    ):
        self.uow_factory = uow_factory
        self.mail = mail

    def raise_alert(
        self,
        key: str,
        kind: str,
        title: str,
        details: Sequence[tuple[str, str]],
        *,
        partner: str = "",
    ) -> int | None:
        """Record an alert in its own transaction; the email entry it went to (None when no
        operator is configured, or a repeat was only counted)."""
        with self.uow_factory() as uow:
            found = self.record(uow, key, kind, title, details, partner=partner)
            uow.commit()
        return found

    def record(
        self,
        uow: UnitOfWork,
        key: str,
        kind: str,
        title: str,
        details: Sequence[tuple[str, str]],
        *,
        partner: str = "",
    ) -> int | None:
        """Record an alert in `uow`'s transaction (see `raise_alert`)."""
        settings = self.mail.settings
        if not settings.operators:
            return None
        now = self.mail.clock()
        latest = uow.outbox.latest_in_group(KIND, key)
        occurrence = {"at": now.isoformat(timespec="seconds"), "title": title}
        if latest is not None and latest.status == "queued":  # not sent yet: join it
            data = dict(_data(latest))
            data["occurrences"] = [*_list(data.get("occurrences")), occurrence]
            data["details"] = [list(d) for d in details]
            data["title"] = title
            payload = self.mail.payload("alert", data, settings.operators, fixed=latest.payload)
            uow.outbox.update_payload(latest.id, payload, now)
            return latest.id
        window = dt.timedelta(minutes=settings.alert_repeat_minutes)
        if (
            latest is not None
            and latest.status == "sent"
            and now - as_utc(latest.updated_at) < window
        ):
            payload = dict(latest.payload)  # what was sent stays as it was; the repeat is counted
            payload["repeats"] = [*_list(payload.get("repeats")), occurrence]
            uow.outbox.update_payload(latest.id, payload, now)
            return None
        data = {
            "kind": kind,
            "title": title,
            "details": [list(d) for d in details],
            "partner": partner,
            "occurrences": [occurrence],
            "repeats_before": len(_list(latest.payload.get("repeats"))) if latest else 0,
            "us": self.mail.our_name,
        }
        return self.mail.queue(
            uow, "alert", data, settings.operators, partner=partner, group_key=key
        )


def _data(entry: OutboxEntry) -> dict[str, Any]:
    data = entry.payload.get("data")
    return data if isinstance(data, dict) else {}


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


# -- sending ------------------------------------------------------------------------------------


@dataclass(slots=True)
class MailDelivery:
    """What became of one email in a drain."""

    outbox_id: int
    status: str  # sent | retry | failed | skipped
    recipients: tuple[str, ...] = ()
    error: str = ""
    attempts: int = 0


class Mailer:
    """Drains the email outbox through a `MailSender`."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        sender: MailSender,
        alerts: Alerts,
        *,
        clock: Clock = _utc_now,
        checkpoint: Callable[[str], None] = lambda point: None,
        worker: str = "",
    ):
        self.uow_factory = uow_factory
        self.sender = sender
        self.alerts = alerts
        self.clock = clock
        self.checkpoint = checkpoint
        self.worker = worker or this_worker()

    def drain(self, *, limit: int = 200) -> list[MailDelivery]:
        """Send every due email, those the drain itself queues included (an alert about an
        email refused); stop at the first that could not be handed over for a reason the next
        ones would meet too (the server down)."""
        found: list[MailDelivery] = []
        tried: set[int] = set()
        for _ in range(DRAIN_ROUNDS):
            with self.uow_factory() as uow:
                due = [e for e in uow.outbox.due(KIND, self.clock(), limit) if e.id not in tried]
            for entry in due:
                tried.add(entry.id)
                delivery = self._send(entry)
                found.append(delivery)
                event(
                    LOG,
                    f"email {delivery.status}",
                    logging.INFO if delivery.status == "sent" else logging.WARNING,
                    outbox=delivery.outbox_id,
                    to=", ".join(delivery.recipients),
                    error=delivery.error,
                )
                if delivery.status == "retry":
                    return found
            if not due or len(found) >= limit:
                break
        return found

    def _send(self, entry: OutboxEntry) -> MailDelivery:
        now = self.clock()
        with self.uow_factory() as uow:
            if not uow.outbox.claim(entry.id, now, now + LEASE, self.worker):
                return MailDelivery(entry.id, "skipped")
            uow.commit()
        attempts = entry.attempts + 1
        email = email_of(entry)
        self.checkpoint("claimed-mail")
        try:
            refused = self.sender.send(email)
        except MailRefused as exc:
            self._settle(entry, "failed", error=str(exc))
            self._tell_operators(entry, email, str(exc))
            return MailDelivery(entry.id, "failed", email.recipients, str(exc), attempts)
        except TransportError as exc:
            later = self.clock() + backoff(attempts)
            self._settle(entry, "queued", error=str(exc), next_attempt_at=later)
            return MailDelivery(entry.id, "retry", email.recipients, str(exc), attempts)
        self.checkpoint("mail-sent")
        # a recipient refused for now (4xx) is owed the email: it alone is tried again later
        owed = {a: answer for a, answer in refused.items() if answer.startswith("4")}
        for_good = {a: answer for a, answer in refused.items() if a not in owed}
        payload = dict(entry.payload)
        delivered = [r for r in email.recipients if r not in refused]
        payload["delivered_to"] = [*_listed(payload.get("delivered_to")), *delivered]
        if for_good:
            payload["refused"] = {**_mapping(payload.get("refused")), **for_good}
        error = "; ".join(f"{address}: {answer}" for address, answer in sorted(refused.items()))
        if owed:
            payload["recipients"] = [r for r in email.recipients if r in owed]
            retry_at = self.clock() + backoff(attempts)
            self._settle(entry, "queued", error=error, next_attempt_at=retry_at, payload=payload)
        else:
            payload["sent_at"] = self.clock().isoformat()
            self._settle(entry, "sent", error=error or None, payload=payload)
        if for_good:
            shown = "; ".join(f"{a}: {answer}" for a, answer in sorted(for_good.items()))
            self._tell_operators(entry, email, f"refused for some recipients: {shown}")
        status = "retry" if owed else "sent"
        return MailDelivery(entry.id, status, email.recipients, error, attempts)

    def _settle(
        self,
        entry: OutboxEntry,
        status: str,
        *,
        error: str | None = None,
        next_attempt_at: dt.datetime | None = None,
        payload: dict[str, object] | None = None,
    ) -> None:
        def settle(uow: UnitOfWork) -> None:
            at = self.clock()
            uow.outbox.settle(
                entry.id,
                status,
                at=at,
                next_attempt_at=next_attempt_at,
                error=error,
                payload=payload,
            )
            follow_email(uow, entry.payload, entry.id, status, at)  # on its order, if any

        committed(self.uow_factory, settle)  # again when the order changed meanwhile

    def _tell_operators(self, entry: OutboxEntry, email: Email, error: str) -> None:
        if entry.payload.get("template") == "alert":
            return  # an alert that cannot reach the operators is not mailed to them again
        self.alerts.raise_alert(
            f"mail-refused:{entry.id}",
            "mail-refused",
            f"An email was refused: {email.subject}",
            [
                ("Email", f"outbox {entry.id}, {email.message_id}"),
                ("To", ", ".join(email.recipients)),
                ("Server's answer", error),
                ("What to do", f"fix the address, then `gateway mail retry {entry.id}`"),
            ],
            partner=entry.partner,
        )


def sample_data(text: str = "Sample") -> dict[str, dict[str, Any]]:
    """Data of the shape each template gets, every text field `text`: for checking templates at
    start-up, and for showing that partner data is never taken as HTML."""
    line = {
        "line_number": "1",
        "description": text,
        "product_ids": f"VP {text}",
        "unit_of_measure": "EA",
        "unit_price": "9.50",
        "ordered": "4",
        "fulfilled": "1",
        "cancelled": "2",
        "open": "1",
        "cancelled_now": "2",
    }
    about = {
        "partner": {"key": "sample", "name": text},
        "us": text,
        "order": {
            "po_number": text,
            "order_date": "2026-11-20",
            "our_role": "seller",
            "is_test": False,
            "flags": ["confirmed"],
            "requested_ship_date": "2026-11-25",
            "cancel_after_date": "2026-12-01",
        },
    }
    return {
        "cancellation": {
            **about,
            "cancellation": {
                "id": "C1",
                "whole_order": False,
                "by": "buyer",
                "by_name": text,
                "reason": text,
                "at": "2026-11-21T12:00:00+00:00",
            },
            "lines": [line],
            "open_lines": [line],
            "to": "us",
            "fallback": "",
        },
        "order-received": {
            **about,
            "lines": [line],
            "ship_to": {"role": "ST", "name": text, "id": "", "address": [text, "", ""]},
            "fallback": "",
        },
        "alert": {
            "kind": "quarantine",
            "title": text,
            "details": [["File", text]],
            "partner": "sample",
            "occurrences": [{"at": "2026-11-21T12:00:00+00:00", "title": text}],
            "repeats_before": 1,
            "us": text,
        },
    }


# -- what an operator sees and does -------------------------------------------------------------


def mail_view(entry: OutboxEntry, *, whole: bool = False) -> dict[str, Any]:
    """An email entry as a person reads it (`whole`: with its text and HTML)."""
    payload = entry.payload
    recipients = payload.get("recipients")
    data = _data(entry)
    view: dict[str, Any] = {
        "id": entry.id,
        "status": entry.status,
        "kind": payload.get("template", ""),
        "partner": entry.partner,
        "to": list(recipients) if isinstance(recipients, list) else [],
        "subject": payload.get("subject", ""),
        "attempts": entry.attempts,
        "queued_at": str(payload.get("created_at", "")),
        "sent_at": str(payload.get("sent_at", "")),
        "next_attempt_at": entry.next_attempt_at.isoformat() if entry.next_attempt_at else "",
        "last_error": entry.last_error or "",
        "message_id": payload.get("message_id", ""),
        "occurrences": len(_list(data.get("occurrences"))) or 1,
        "repeats_after_sending": len(_list(payload.get("repeats"))),
    }
    if whole:
        view["from"] = payload.get("sender", "")
        view["text"] = payload.get("text", "")
        view["html"] = payload.get("html", "")
        view["refused"] = payload.get("refused", {})
    return view


MAIL_STATUSES = ("queued", "sent", "failed")
"""Where an email stands: waiting to be sent (again), taken by the mail server (or captured to a
file), refused for good."""


def list_mail(
    uow: UnitOfWork, *, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The latest emails (in `status`, one of MAIL_STATUSES, when given), newest first."""
    with uow:
        return [mail_view(e) for e in uow.outbox.listing(KIND, status=status, limit=limit)]


def show_mail(uow: UnitOfWork, outbox_id: int) -> dict[str, Any]:
    """One email, whole."""
    with uow:
        return mail_view(_email_entry(uow, outbox_id), whole=True)


def retry_mail(uow_factory: Callable[[], UnitOfWork], outbox_id: int, now: dt.datetime) -> None:
    """Send an email again, due now, its attempts counted anew (after a failure, or to send a
    sent one once more: same Message-ID, so a reader sees it is the same message)."""
    with uow_factory() as uow:
        _email_entry(uow, outbox_id)
        uow.outbox.requeue(outbox_id, now)
        uow.commit()


def _email_entry(uow: UnitOfWork, outbox_id: int) -> OutboxEntry:
    entry = uow.outbox.entry(outbox_id)
    if entry is None or entry.kind != KIND:
        raise MailActionRefused("email-exists", f"no email {outbox_id}")
    return entry


def _listed(value: object) -> list[str]:
    """A stored JSON list of addresses ([] when absent)."""
    return [str(v) for v in value] if isinstance(value, list) else []


def _mapping(value: object) -> dict[str, str]:
    """A stored JSON object of address -> answer ({} when absent)."""
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
