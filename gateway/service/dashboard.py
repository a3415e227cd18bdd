"""The figures of the console's home page: orders per day by state, and per partner the share
of orders acknowledged and shipped on time.

Strategy: read the orders of the last days from the store's listing (their order date and
flags say their state) and, for the shares, each order itself (when it came, when it was first
acknowledged, its requested ship date and fulfilments). An order counts in a share only once
its outcome is known: acknowledged (on time or not), or unacknowledged past its deadline; shipped
(on time if its last fulfilment was on or before the requested ship date), or unshipped past
that date. Test orders are left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.config import LatePolicy, PartnerProfile
from gateway.domain import rules
from gateway.domain.model import Order
from gateway.service.ports import OrderQuery, UnitOfWork

STATES = ("received", "confirmed", "shipped", "completed", "cancelled")
"""An order's state on the chart: the furthest of these its flags reach."""


def state_of(flags: tuple[str, ...] | frozenset[str]) -> str:
    """The chart's state of an order with these flags."""
    for state in ("cancelled", "completed", "shipped", "confirmed"):
        if state in flags:
            return state
    return "received"


@dataclass(frozen=True, slots=True)
class OnTime:
    """One partner's orders of the period: how many had their acknowledgement and their
    shipment decided, and how many of those were on time (None: none decided)."""

    partner: str
    acknowledged: int
    acknowledged_on_time: int
    shipped: int
    shipped_on_time: int

    def shares(self) -> tuple[str, float | None, float | None]:
        return (
            self.partner,
            self.acknowledged_on_time / self.acknowledged if self.acknowledged else None,
            self.shipped_on_time / self.shipped if self.shipped else None,
        )


def orders_per_day(
    uow: UnitOfWork, today: dt.date, days: int = 30, partner: str | None = None
) -> tuple[list[dt.date], dict[str, list[int]]]:
    """The last `days` days up to `today`, and for each state the count of orders of each day
    (by order date) in that state now."""
    first = today - dt.timedelta(days=days - 1)
    dates = [first + dt.timedelta(days=n) for n in range(days)]
    series = {state: [0] * days for state in STATES}
    query = OrderQuery(partner=partner, scope="all", since=first, until=today, limit=None)
    with uow:
        summaries = uow.orders.summaries(query).summaries
    for summary in summaries:
        index = (dt.date.fromisoformat(summary.order_date[:10]) - first).days
        if 0 <= index < days:
            series[state_of(summary.flags)][index] += 1
    return dates, series


def on_time(
    uow: UnitOfWork,
    profiles: Mapping[str, PartnerProfile],
    now: dt.datetime,
    days: int = 30,
    partner: str | None = None,
) -> list[OnTime]:
    """Per partner (in name order), the acknowledgements and shipments of its orders of the
    last `days` days decided by `now`, and how many of them were on time."""
    first = now.date() - dt.timedelta(days=days - 1)
    query = OrderQuery(partner=partner, scope="all", since=first, until=now.date(), limit=None)
    counts: dict[str, list[int]] = {}
    with uow:
        for summary in uow.orders.summaries(query).summaries:
            order = uow.orders.get(summary.partner, summary.po_number)
            if order is None:
                continue
            profile = profiles.get(order.partner)
            policy = profile.late if profile is not None else LatePolicy()
            tally = counts.setdefault(order.partner, [0, 0, 0, 0])
            acknowledged = _acknowledged_on_time(order, policy, now)
            if acknowledged is not None:
                tally[0] += 1
                tally[1] += acknowledged
            shipped = _shipped_on_time(order, now)
            if shipped is not None:
                tally[2] += 1
                tally[3] += shipped
    return [OnTime(name, *counts[name]) for name in sorted(counts)]


def _acknowledged_on_time(order: Order, policy: LatePolicy, now: dt.datetime) -> bool | None:
    """Whether the order's first acknowledgement came within the policy's hours of the order
    (None: no deadline, or none yet and the deadline not passed)."""
    if policy.ack_due_hours <= 0 or order.received_at is None or rules.is_cancelled(order):
        return None
    due = order.received_at + dt.timedelta(hours=policy.ack_due_hours)
    if order.confirmations:
        return min(c.at for c in order.confirmations) <= due
    return False if now >= due else None


def _shipped_on_time(order: Order, now: dt.datetime) -> bool | None:
    """Whether everything shipped by the requested ship date (None: no such date, cancelled
    whole, or not shipped and the date not passed)."""
    due = order.requested_ship_date
    if due is None or (rules.is_cancelled(order) and not order.fulfilments):
        return None
    if rules.is_settled(order) and order.fulfilments:
        last = max(f.ship_date or f.created_at.date() for f in order.fulfilments)
        return last <= due
    return False if now.date() > due else None
