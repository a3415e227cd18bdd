"""Late documents: what costs suppliers chargebacks, found before the partner finds it.

Strategy: the facts are on the orders (when each came, their requested ship and cancel-after
dates, their open quantities, the documents of ours they follow), and each partner's `[late]`
policy says which lateness counts. `late_documents` reads them from one order; `find_late`
from every open order; `alert_late` tells the operators of each late document once: the alert's
key names the order and the fact that made it late (the date passed, the fulfilments waiting),
so a document stays alerted while it stays late in the same way, and is alerted again when it
changes (a new ship date passed, another fulfilment waiting). `gateway report` lists them live.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.config import LatePolicy, PartnerProfile
from gateway.domain import rules
from gateway.domain.model import Order
from gateway.domain.values import Role
from gateway.service.notify import KIND, Alerts
from gateway.service.ports import UnitOfWork

ACK_OVERDUE = "855 overdue"
SHIP_DATE_PASSED = "ship date passed"
CANCEL_AFTER_PASSED = "cancel-after date passed"
SHIP_NOTICE_BEFORE_ACK = "856 due before the 855"


@dataclass(frozen=True, slots=True)
class LateDocument:
    """One late document of an order: what is late, since when, and the alert's key."""

    kind: str
    partner: str
    po_number: str
    what: str
    since: str  # ISO date or time
    key: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "partner": self.partner,
            "po_number": self.po_number,
            "what": self.what,
            "since": self.since,
        }


def late_documents(order: Order, policy: LatePolicy, now: dt.datetime) -> list[LateDocument]:
    """What is late about `order` at `now`, as `policy` counts it (nothing for an order
    Completed or Cancelled)."""
    if rules.is_archived(order):
        return []
    found: list[LateDocument] = []
    about = (order.partner, order.po_number)

    def late(kind: str, what: str, since: str, detail: str) -> None:
        key = f"late:{kind}:{order.partner}:{order.po_number}:{detail}"
        found.append(LateDocument(kind, *about, what, since, key))

    today = now.date()
    selling = order.our_role is Role.SELLER
    if selling and policy.ack_due_hours > 0 and not rules.acknowledgement_delivered(order):
        received = order.received_at
        due = received + dt.timedelta(hours=policy.ack_due_hours) if received else None
        if due is not None and now >= due:
            late(
                ACK_OVERDUE,
                f"no 855 sent {policy.ack_due_hours:g} hours after the order came",
                due.isoformat(timespec="minutes"),
                "",
            )
    open_quantity = not rules.is_settled(order)
    ship_date = order.requested_ship_date
    if policy.ship_date and open_quantity and ship_date is not None and ship_date < today:
        late(
            SHIP_DATE_PASSED,
            f"requested ship date {ship_date.isoformat()} passed with quantity open",
            ship_date.isoformat(),
            ship_date.isoformat(),
        )
    cancel_after = order.cancel_after_date
    if policy.cancel_after and open_quantity and cancel_after is not None and cancel_after < today:
        late(
            CANCEL_AFTER_PASSED,
            f"cancel-after date {cancel_after.isoformat()} passed with quantity open: the buyer"
            " may refuse what ships now",
            cancel_after.isoformat(),
            cancel_after.isoformat(),
        )
    if (
        selling
        and policy.ship_notice_before_ack
        and order.fulfilments
        and not rules.acknowledgement_delivered(order)
    ):
        waiting = ",".join(f.id for f in order.fulfilments)
        first = min(f.created_at for f in order.fulfilments)
        late(
            SHIP_NOTICE_BEFORE_ACK,
            f"fulfilment(s) {waiting} recorded, their 856 due, while the order's 855 is not sent",
            first.isoformat(timespec="minutes"),
            waiting,
        )
    return found


def find_late(
    uow: UnitOfWork, profiles: Mapping[str, PartnerProfile], now: dt.datetime
) -> list[LateDocument]:
    """The late documents of every open order (test orders left out), in `uow`: the store
    names the orders that may be late (`OrderRepository.late_candidates`, from the earliest an
    855 can be due under any partner's policy), and only those are read back and judged."""
    hours = [p.late.ack_due_hours for p in profiles.values()] + [LatePolicy().ack_due_hours]
    soonest = min((h for h in hours if h > 0), default=None)
    received_by = None
    if soonest is not None:  # a day's margin: a time stored with another offset than ours
        received_by = (now - dt.timedelta(hours=soonest)).date() + dt.timedelta(days=1)
    found: list[LateDocument] = []
    for partner, po_number in uow.orders.late_candidates(now.date(), received_by):
        profile = profiles.get(partner)
        order = uow.orders.read(partner, po_number)  # not kept: thousands may be read
        if order is not None:
            policy = profile.late if profile is not None else LatePolicy()
            found.extend(late_documents(order, policy, now))
    return found


def alert_late(
    uow_factory: Callable[[], UnitOfWork],
    alerts: Alerts,
    profiles: Mapping[str, PartnerProfile],
    now: dt.datetime,
) -> list[LateDocument]:
    """Alert the operators of each late document not alerted yet (see the module docstring);
    the ones alerted now."""
    alerted: list[LateDocument] = []
    with uow_factory() as uow:
        for late in find_late(uow, profiles, now):
            if uow.outbox.latest_in_group(KIND, late.key) is not None:
                continue
            profile = profiles.get(late.partner)
            name = profile.name if profile else late.partner
            found = alerts.record(
                uow,
                late.key,
                "late-document",
                f"Late: {late.kind}, PO {late.po_number} ({name})",
                [
                    ("Partner", name),
                    ("PO number", late.po_number),
                    ("What is late", late.what),
                    ("Since", late.since),
                    ("What to do", _what_to_do(late)),
                ],
                partner=late.partner,
            )
            if found is not None:
                alerted.append(late)
        uow.commit()
    return alerted


def _what_to_do(late: LateDocument) -> str:
    po = late.po_number
    return {
        ACK_OVERDUE: f"answer it: `gateway ack {po} --accept-all` (or --line ...)",
        SHIP_DATE_PASSED: f"ship what is open (`gateway fulfil {po} ...`), or cancel it and tell"
        " the buyer",
        CANCEL_AFTER_PASSED: f"cancel what is open (`gateway cancel {po} --by seller ...`) unless"
        " the buyer agreed to a later date",
        SHIP_NOTICE_BEFORE_ACK: f"send the 855 now (`gateway ack {po} ...`): the buyer may refuse"
        " an 856 for an order not acknowledged",
    }.get(late.kind, f"see `gateway orders show {po}`")
