"""Emails on the fake store and a fake mail server: the Notifier queues them in the transaction
of the change that calls for them (so they commit with it, or not at all), Alerts group repeats,
and the Mailer drains the outbox: a 4xx is tried again later with backoff, a 5xx fails the email
and tells the operators, a lease held by a dead worker ends."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from gateway.domain.values import Side
from gateway.errors import MailRefused, TransportError
from gateway.service.delivery import LEASE
from gateway.service.notify import KIND, retry_mail
from tests.fakes import FakeGateway, wire
from tests.unit.domain.builders import PARTNER, PO, cancel, receive_order
from tests.unit.service.conftest import (
    ACME_CANCELLATIONS,
    MAIL,
    OPERATORS,
    ORDER_DESK,
    PARTNERS,
    Clock,
    entries,
    held,
    history,
)
from tests.unit.service.test_order_desk import place


@pytest.fixture
def received(gw: FakeGateway) -> FakeGateway:
    """An order we sell to ACME: line 1 of 10 units, line 2 of 4."""
    gw.bus.handle(receive_order(("1", 10), ("2", 4)))
    return gw


def a_cancellation(gw: FakeGateway) -> int:
    """The buyer cancels 2 units of line 1: an email to our order desk, queued; its id."""
    gw.bus.handle(cancel("C1", ("1", 2), requested_by=Side.BUYER))
    (email,) = entries(gw, KIND)
    return email.id


# -- the Notifier -------------------------------------------------------------------------------


def test_our_cancellation_and_its_email_commit_in_one_transaction(received: FakeGateway):
    before = received.store.commits
    received.bus.handle(cancel("C1", ("1", 2), requested_by=Side.SELLER, reason="short"))
    assert received.store.commits == before + 1
    (email,) = entries(received, KIND)
    assert email.payload["recipients"] == list(ACME_CANCELLATIONS)  # we cancelled: the buyer
    assert email.payload["subject"] == f"Order {PO}: 1 line cancelled by Cedar Ridge Outfitters"
    assert "cancelled now 2, cancelled in all 2, shipped 0, still open 8" in str(
        email.payload["text"]
    )
    assert str(email.payload["message_id"]).endswith("@gateway.test>")
    assert email.payload["order"] == {"partner": PARTNER, "po_number": PO}
    with received.uow_factory() as uow:
        (row,) = uow.outbox.pending(KIND)
    assert row["order_id"] == received.store.tables["orders"][(PARTNER, PO)].id


def test_an_email_is_queued_with_its_change_or_not_at_all(received: FakeGateway):
    with received.uow_factory() as uow:  # changed, never committed
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        order.handle(cancel("C-1", ("1", 1)))
    assert entries(received, KIND) == []
    with received.uow_factory() as uow:  # a savepoint rolled back, the rest committed
        with pytest.raises(RuntimeError), uow.savepoint():
            order = uow.orders.get(PARTNER, PO)
            assert order is not None
            order.handle(cancel("C-2", ("1", 1)))
            raise RuntimeError("the set failed")
        order = uow.orders.get(PARTNER, PO)
        assert order is not None and order.cancellations == []  # read again: C-2 is gone
        order.handle(cancel("C-3", ("2", 1)))
        uow.commit()
    (email,) = entries(received, KIND)
    data = email.payload["data"]
    assert isinstance(data, dict)
    assert [line["line_number"] for line in data["lines"]] == ["2"]
    assert data["cancellation"]["id"] == "C-3"
    assert [c.id for c in held(received).cancellations] == ["C-3"]


def test_without_a_contact_the_operators_hear_of_the_cancellation(clock: Clock):
    partners = (dataclasses.replace(PARTNERS[0], contacts=()), *PARTNERS[1:])
    gw = wire(partners, MAIL, clock=clock)
    gw.bus.handle(receive_order(("1", 10)))
    gw.bus.handle(cancel("C1", ("1", 2), requested_by=Side.SELLER))
    (email,) = entries(gw, KIND)
    assert email.payload["recipients"] == list(OPERATORS)
    assert "(Sent to the operators: no contact is configured for Acme Stores" in str(
        email.payload["text"]
    )


def test_an_order_for_a_direct_seller_is_emailed_and_confirmed_once_the_server_takes_it(
    gw: FakeGateway,
):
    place(gw, "pinecrest")
    (email,) = entries(gw, KIND)
    assert email.payload["template"] == "order-received"
    assert email.payload["recipients"] == ["ship@pinecrest.example"]
    order = held(gw, "pinecrest")
    assert "confirmed" not in {f.value for f in order.flags}  # queued proves nothing
    assert [d.document for d in order.dispatches] == [f"email {email.id}"]
    assert [m.status for m in gw.mailer.drain()] == ["sent"]
    (sent,) = gw.sender.sent
    assert sent.subject == f"New order {PO} from Cedar Ridge Outfitters: 2 lines to ship"
    assert sent.message_id == email.payload["message_id"]
    order = held(gw, "pinecrest")
    assert "confirmed" in {f.value for f in order.flags}
    assert order.dispatches[0].state.value == "delivered"
    assert history(gw, "pinecrest")[-2:] == ["DocumentStateChanged", "ConfirmationProven"]


def test_an_order_for_a_direct_seller_without_contact_alerts_the_operators(clock: Clock):
    partners = (*PARTNERS[:2], dataclasses.replace(PARTNERS[2], contacts=()))
    gw = wire(partners, MAIL, clock=clock)
    place(gw, "pinecrest")
    (alert,) = entries(gw, KIND)
    assert alert.payload["template"] == "alert" and alert.payload["recipients"] == list(OPERATORS)
    assert "could not be sent: no contact" in str(alert.payload["subject"])
    assert held(gw, "pinecrest").dispatches == []


# -- Alerts ---------------------------------------------------------------------------------------


def test_repeated_alerts_are_grouped_while_waiting_and_counted_after_sending(
    gw: FakeGateway, clock: Clock
):
    details = [("Partner", "acme")]
    first = gw.alerts.raise_alert("mailbox:acme", "mailbox-unreachable", "Down", details)
    clock.advance(minutes=1)
    again = gw.alerts.raise_alert("mailbox:acme", "mailbox-unreachable", "Down", details)
    assert first is not None and first == again  # joined the email waiting
    assert [m.status for m in gw.mailer.drain()] == ["sent"]
    (sent,) = gw.sender.sent
    assert sent.subject == "[gateway] Down (2 times)" and sent.recipients == OPERATORS
    for _ in range(3):  # within the hour: counted, not sent
        clock.advance(minutes=5)
        assert gw.alerts.raise_alert("mailbox:acme", "x", "Down", details) is None
    assert gw.mailer.drain() == []
    clock.advance(hours=1)
    later = gw.alerts.raise_alert("mailbox:acme", "x", "Down", details)
    assert later is not None and later != first
    gw.mailer.drain()
    assert "It also happened 3 more times after the last email about it." in gw.sender.sent[1].text
    other = gw.alerts.raise_alert("mailbox:pinecrest", "x", "Pinecrest down", details)
    assert other not in (first, later)  # another subject, another email


def test_without_operators_an_alert_is_not_recorded(clock: Clock):
    gw = wire(PARTNERS, dataclasses.replace(MAIL, operators=()), clock=clock)
    assert gw.alerts.raise_alert("mailbox:acme", "x", "Down", []) is None
    assert entries(gw, KIND) == []


# -- the Mailer -----------------------------------------------------------------------------------


def test_a_temporary_refusal_is_requeued_with_backoff_and_sent_later_unchanged(
    received: FakeGateway, clock: Clock
):
    outbox_id = a_cancellation(received)
    received.sender.answers = [TransportError("451 4.3.0 mailbox busy, try later")]
    (delivery,) = received.mailer.drain()
    assert (delivery.status, delivery.attempts) == ("retry", 1)
    (entry,) = entries(received, KIND)
    assert entry.status == "queued" and "451 4.3.0" in (entry.last_error or "")
    assert entry.next_attempt_at == clock.now + dt.timedelta(seconds=30)  # the first backoff
    assert received.mailer.drain() == []  # not due yet
    clock.advance(seconds=31)
    (delivery,) = received.mailer.drain()
    assert (delivery.outbox_id, delivery.status, delivery.attempts) == (outbox_id, "sent", 2)
    (sent,) = received.sender.sent
    assert sent.message_id == entry.payload["message_id"] and sent.recipients == ORDER_DESK
    assert entries(received, KIND)[0].status == "sent"
    clock.advance(hours=2)
    assert received.mailer.drain() == []  # sent once


def test_a_permanent_refusal_fails_the_email_and_the_operators_are_told(received: FakeGateway):
    outbox_id = a_cancellation(received)
    received.sender.answers = [MailRefused("550 5.1.1 no such user")]
    assert [m.status for m in received.mailer.drain()] == ["failed", "sent"]  # then the alert
    cancellation, alert = entries(received, KIND)
    assert cancellation.status == "failed" and "550 5.1.1" in (cancellation.last_error or "")
    assert alert.status == "sent"
    (told,) = received.sender.sent
    assert told.recipients == OPERATORS
    assert told.subject.startswith("[gateway] An email was refused: Order")
    assert f"gateway mail retry {outbox_id}" in told.text
    assert received.mailer.drain() == []  # a failed email is not retried by itself
    retry_mail(received.uow_factory, outbox_id, received.clock())  # an operator retries it
    assert [m.status for m in received.mailer.drain()] == ["sent"]
    assert received.sender.sent[-1].message_id == cancellation.payload["message_id"]


def test_a_refused_alert_is_not_mailed_to_the_operators_again(gw: FakeGateway):
    gw.alerts.raise_alert("mailbox:acme", "x", "Down", [])
    gw.sender.answers = [MailRefused("550 5.1.1 no such user")]
    assert [m.status for m in gw.mailer.drain()] == ["failed"]
    assert len(entries(gw, KIND)) == 1


def test_a_recipient_refused_for_now_gets_the_email_later_and_only_it(clock: Clock):
    desk = ("orders@cedarridge.example", "desk@cedarridge.example")
    gw = wire(PARTNERS, dataclasses.replace(MAIL, order_desk=desk), clock=clock)
    gw.bus.handle(receive_order(("1", 10)))
    a_cancellation(gw)
    gw.sender.answers = [{desk[0]: "451 4.2.1 mailbox busy, try again later"}]
    assert [m.status for m in gw.mailer.drain()] == ["retry"]
    (entry,) = entries(gw, KIND)
    assert entry.status == "queued" and entry.payload["delivered_to"] == [desk[1]]
    assert entry.next_attempt_at is not None
    clock.now = entry.next_attempt_at + dt.timedelta(seconds=1)
    assert [m.status for m in gw.mailer.drain()] == ["sent"]
    first, second = gw.sender.sent
    assert first.recipients == desk and second.recipients == desk[:1]  # only the one owed
    assert first.message_id == second.message_id
    (entry,) = entries(gw, KIND)
    assert entry.status == "sent" and sorted(entry.payload["delivered_to"]) == sorted(desk)


def test_an_email_claimed_by_a_worker_that_died_is_sent_once_its_lease_ends(
    received: FakeGateway, clock: Clock
):
    outbox_id = a_cancellation(received)
    with received.uow_factory() as uow:  # the dead worker's claim, committed before it died
        assert uow.outbox.claim(outbox_id, clock.now, clock.now + LEASE, "other:0:7")
        uow.commit()
    with received.uow_factory() as uow:
        assert uow.outbox.claimants() == ["other:0:7"]
    assert received.mailer.drain() == []  # held by the lease
    clock.advance(seconds=LEASE.total_seconds() + 1)
    (delivery,) = received.mailer.drain()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    with received.uow_factory() as uow:
        assert uow.outbox.claimants() == []
