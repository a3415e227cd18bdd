"""The home page's figures (`gateway.service.dashboard`) on the fake store: orders per day by
the state they reached, and per partner the share acknowledged and shipped on time, counting
an order only once its outcome is known."""

from __future__ import annotations

import dataclasses
import datetime as dt

from gateway.config import LatePolicy
from gateway.domain.model import Order
from gateway.domain.values import ConfirmationMethod, Role
from gateway.service import dashboard
from tests.fakes import FakeStore
from tests.unit.domain.builders import T0, confirm, fulfil, receive_order
from tests.unit.service.conftest import profile

DAY = dt.date(2026, 11, 21)  # T0's day
DAYS = dt.timedelta(days=1)
PROFILES = {"ACME": profile("ACME", "buyer", late=LatePolicy(ack_due_hours=24))}


def stored(*orders: Order) -> FakeStore:
    store = FakeStore()
    uow = store.unit_of_work()
    with uow:
        for order in orders:
            uow.orders.add(order)
        uow.commit()
    return store


def order(po: str, day: dt.date = DAY, **header) -> Order:
    """A received order of PO number `po` (2 units of line 1)."""
    return Order.receive(dataclasses.replace(receive_order(("1", 2), order_date=day, **header),
                                             po_number=po))  # fmt: skip


def on(made: Order, command: object) -> None:
    """`command` (built for the builders' order) applied to `made`."""
    made.handle(dataclasses.replace(command, po_number=made.po_number))  # type: ignore[type-var]


def test_orders_per_day_counts_each_order_under_the_furthest_state_it_reached():
    confirmed = order("PO-1", our_role=Role.BUYER)  # the seller's 855 came
    on(confirmed, confirm(how=ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED))
    shipped = order("PO-2", DAY - dt.timedelta(days=2))
    on(shipped, fulfil("F1", ("1", 2)))
    old = order("PO-3", DAY - dt.timedelta(days=40))  # before the 30 days
    store = stored(confirmed, shipped, old, order("PO-4"))
    days, series = dashboard.orders_per_day(store.unit_of_work(), DAY, 30)
    assert len(days) == 30 and days[-1] == DAY and days[0] == DAY - dt.timedelta(days=29)
    assert list(series) == list(dashboard.STATES)
    assert series["confirmed"][-1] == 1 and series["received"][-1] == 1
    assert series["shipped"][-3] == 1
    assert sum(sum(counts) for counts in series.values()) == 3


def test_on_time_counts_an_order_only_once_its_outcome_is_known():
    prompt = order("PO-1", requested_ship_date=DAY + dt.timedelta(days=3))
    on(prompt, confirm(at=T0 + dt.timedelta(hours=2)))
    on(prompt, fulfil("F1", ("1", 2), ship_date=DAY + dt.timedelta(days=1), at=T0 + DAYS * 1))
    late = order("PO-2", requested_ship_date=DAY + dt.timedelta(days=1))
    on(late, confirm(at=T0 + dt.timedelta(hours=30)))
    on(late, fulfil("F2", ("1", 2), ship_date=DAY + dt.timedelta(days=4), at=T0 + DAYS * 4))
    waiting = order("PO-3", requested_ship_date=DAY + dt.timedelta(days=20))  # nothing due yet
    store = stored(prompt, late, waiting)
    now = T0 + dt.timedelta(hours=10)
    (acme,) = dashboard.on_time(store.unit_of_work(), PROFILES, now, 30)
    # at T0+10h: PO-1 acknowledged on time; PO-2's came later (after now), PO-3 not yet due
    assert (acme.acknowledged, acme.acknowledged_on_time) == (2, 1)
    assert (acme.shipped, acme.shipped_on_time) == (2, 1)
    assert acme.shares() == ("ACME", 0.5, 0.5)
    later = T0 + dt.timedelta(days=25)  # PO-3's acknowledgement and ship date are past now
    (acme,) = dashboard.on_time(store.unit_of_work(), PROFILES, later, 30)
    assert (acme.acknowledged, acme.acknowledged_on_time) == (3, 1)
    assert (acme.shipped, acme.shipped_on_time) == (3, 1)
