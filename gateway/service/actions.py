"""An operator's actions on an order: the same commands, rules and records as the documents.

Strategy: each action is one command through the message bus (so the order rules decide, the
history records it, a conflicting worker makes it retry, and the emails it calls for are queued
with it), then the document the partner is owed for it, built and queued by `export` as a
`gateway export` would: an 856 for a fulfilment of an order we sell, an 860 for a cancellation
of an order we placed with a seller who takes EDI, an 855 for the seller's decision, an 810 for
an invoice. A seller who fulfils directly gets no document: the cancellation's email is their
notice, and a fulfilment they report is recorded as come from them. When the document cannot be
built (no envelope known for an order nothing was exchanged about yet...), the action stays
done and the result says what to send by hand.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gateway.config import PartnerProfile
from gateway.domain import commands, rules
from gateway.domain.model import Order
from gateway.domain.values import (
    Address,
    LineQuantity,
    Party,
    PurchaseOrderLine,
    Role,
    ShipmentStatus,
    Side,
)
from gateway.errors import GatewayError, RuleViolation
from gateway.mapping.engine import Mappings
from gateway.mapping.outbound import Decision, acknowledged_by_us
from gateway.service.export import export, find_order
from gateway.service.messagebus import MessageBus, RefusalRecorded
from gateway.service.ports import UnitOfWork
from gateway.service.shipping import with_carrier_resolved


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


TEST_LINES = (
    PurchaseOrderLine(
        "1", Decimal(1), "EA", Decimal("1.00"), (("VP", "TEST-ITEM-1"),), "Test item"
    ),
    PurchaseOrderLine(
        "2", Decimal(2), "EA", Decimal("2.50"), (("VP", "TEST-ITEM-2"),), "Test item"
    ),
)
TEST_ADDRESS = Address(("1 Test Street",), "Testville", "MI", "49686", "US")


def new_id(prefix: str) -> str:
    """An id for a record an operator makes (`F-1a2b3c4d`), unique within its order."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class ActionResult:
    """What an action did: to which order, the record it made, the documents it queued."""

    action: str
    partner: str
    po_number: str
    record: str = ""  # the id of the record made (fulfilment, cancellation, note...)
    documents: list[dict[str, Any]] = field(default_factory=list)
    unsent: str = ""  # the document owed that could not be built, and why
    flags: list[str] = field(default_factory=list)
    later: str = ""  # the document that will carry this action when it is sent

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "partner": self.partner,
            "po_number": self.po_number,
            "record": self.record,
            "documents": self.documents,
            "unsent": self.unsent,
            "flags": self.flags,
            "later": self.later,
        }


class OrderDesk:
    """The operator's actions (see the module docstring)."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        mappings: Mappings,
        partners: Mapping[str, PartnerProfile],
        *,
        clock: Callable[[], dt.datetime] = _now,
        bus: MessageBus | None = None,
        actor: str = "operator",
    ):
        self.uow_factory = uow_factory
        self.actor = actor  # who acts, as the order's history names them
        self.bus = bus or MessageBus(uow_factory)  # the gateway's one bus (bootstrap)
        self.mappings = mappings
        self.partners = dict(partners)
        self.clock = clock

    # -- the order's goods ----------------------------------------------------------------

    def fulfil(
        self,
        po_number: str,
        lines: Sequence[LineQuantity],
        *,
        partner: str | None = None,
        carrier: str = "",
        tracking_numbers: Sequence[str] = (),
        tracking_url: str = "",
        ship_date: dt.date | None = None,
        fulfilment_id: str | None = None,
    ) -> ActionResult:
        """Record a shipment, its carrier resolved to a SCAC through the partner's aliases. An
        order we sell sends its 856, built and checked in the same unit of work: when it cannot
        be sent, the fulfilment is not recorded either (a fulfilment is never edited, so one
        whose 856 could never leave must not be made)."""
        order = self._order(po_number, partner)
        record = fulfilment_id or new_id("F")
        profile = self.partners.get(order.partner)
        command = with_carrier_resolved(
            commands.CreateFulfilment(
                **self._about(order),
                fulfilment_id=record,
                lines=tuple(lines),
                carrier=carrier,
                tracking_numbers=tuple(tracking_numbers),
                tracking_url=tracking_url,
                ship_date=ship_date or self.clock().date(),
                passed_on=order.our_role is Role.BUYER,  # reported by the seller
            ),
            profile.carrier_aliases() if profile else {},
        )
        if order.our_role is Role.BUYER:
            return self._apply("fulfilled", order, record, command)
        result = ActionResult("fulfilled", order.partner, order.po_number, record)
        try:
            self._send(result, "856", required=True, fulfilment_ids=(record,), first=command)
        except RefusalRecorded:
            return self._apply("fulfilled", order, record, command)  # records it, then refuses
        result.flags = self._flags(order)
        return result

    def cancel(
        self,
        po_number: str,
        lines: Sequence[LineQuantity],
        *,
        by: Side,
        reason: str,
        partner: str | None = None,
        cancellation_id: str | None = None,
    ) -> ActionResult:
        """Cancel open quantity (`lines`, or the whole order when none are named). The partner
        hears of it by EDI when they take it: an order we placed sends its 860; an order we
        sell and have acknowledged sends an 855 that replaces ours (BAK01 05) with the order as
        it now stands; one not acknowledged yet carries the cancellation in its first 855 (the
        result says so). Cancelled at the other side's word (`by` the partner), nothing is sent
        back: they know. The emails go out either way (see `Notifier`)."""
        order = self._order(po_number, partner)
        record = cancellation_id or new_id("C")
        about = {**self._about(order), "cancellation_id": record, "requested_by": by}
        command: commands.Command = (
            commands.CancelLines(**about, lines=tuple(lines), reason=reason)
            if lines
            else commands.CancelOrder(**about, reason=reason)
        )
        result = self._apply("cancelled", order, record, command)
        ours = (order.our_role is Role.BUYER) == (by is Side.BUYER)
        if not ours or not self._takes_edi(order.partner):
            return result
        if order.our_role is Role.BUYER:
            self._send(result, "860")
        elif acknowledged_by_us(order):
            self._send(result, "855", decision=Decision.as_it_stands())
        else:
            result.later = (
                f"the order is not acknowledged yet: its 855 (`gateway ack {order.po_number}`)"
                " will tell the buyer of this cancellation"
            )
        return result

    def acknowledge(
        self, po_number: str, decision: Decision, *, partner: str | None = None
    ) -> ActionResult:
        """The seller's decision on an order we sell, sent as an 855 (which records it)."""
        order = self._order(po_number, partner)
        result = ActionResult("acknowledged", order.partner, order.po_number)
        self._send(result, "855", decision=decision, required=True)
        result.flags = self._flags(order)
        return result

    def shipment_status(
        self,
        po_number: str,
        fulfilment_id: str,
        status: ShipmentStatus,
        *,
        partner: str | None = None,
    ) -> ActionResult:
        """Record how far a fulfilment's shipment got (in transit, delivered, failed, returned to
        sender...): goes on after Shipped and Completed, as the carrier's scans come in."""
        order = self._order(po_number, partner)
        return self._apply(
            f"shipment {status.value}",
            order,
            fulfilment_id,
            commands.UpdateShipmentStatus(
                **self._about(order), fulfilment_id=fulfilment_id, status=status
            ),
        )

    def record_return(
        self,
        po_number: str,
        lines: Sequence[LineQuantity],
        *,
        reason: str = "",
        partner: str | None = None,
    ) -> ActionResult:
        order = self._order(po_number, partner)
        record = new_id("R")
        return self._apply(
            "returned",
            order,
            record,
            commands.RecordReturn(
                **self._about(order), return_id=record, lines=tuple(lines), reason=reason
            ),
        )

    def refund(
        self,
        po_number: str,
        amount: Decimal,
        *,
        lines: Sequence[LineQuantity] = (),
        reason: str = "",
        partner: str | None = None,
    ) -> ActionResult:
        order = self._order(po_number, partner)
        record = new_id("RF")
        return self._apply(
            "refunded",
            order,
            record,
            commands.RecordRefund(
                **self._about(order),
                refund_id=record,
                amount=amount,
                lines=tuple(lines),
                reason=reason,
            ),
        )

    def invoice(
        self, po_number: str, *, number: str | None = None, partner: str | None = None
    ) -> ActionResult:
        """Invoice what shipped and was not invoiced yet, as an 810 (which records it)."""
        order = self._order(po_number, partner)
        result = ActionResult("invoiced", order.partner, order.po_number)
        self._send(result, "810", invoice_number=number, required=True)
        result.flags = self._flags(order)
        return result

    def mark_paid(
        self,
        po_number: str,
        *,
        amount: Decimal | None = None,
        reference: str = "",
        partner: str | None = None,
    ) -> ActionResult:
        order = self._order(po_number, partner)
        return self._apply(
            "paid",
            order,
            reference,
            commands.MarkPaid(**self._about(order), amount=amount, reference=reference),
        )

    def test_order(self, partner: str) -> ActionResult:
        """Place a test order with a seller (usage T everywhere: ISA15 = T on the 850 it sends,
        "[TEST]" on the email a direct seller gets), to try their set-up before going live.
        Test orders are left out of listings and reports unless asked for."""
        profile = self.partners.get(partner)
        if profile is None:
            raise RuleViolation(
                "test-order-partner-known", f"no partner profile {partner!r} (config/partners/)"
            )
        if profile.role != "seller":
            raise RuleViolation(
                "test-order-to-a-seller",
                f"{profile.name} is a buyer: their test orders come from them (an 850 with "
                "ISA15 = T), and are taken in and flagged as test like any other",
            )
        now = self.clock()
        po_number = self._new_test_po(partner, now)
        self.bus.handle(
            commands.ReceiveOrder(
                partner=partner,
                po_number=po_number,
                at=now,
                source="test order",
                our_role=Role.BUYER,
                order_date=now.date(),
                lines=TEST_LINES,
                parties=(Party("ST", "Test Receiver", address=TEST_ADDRESS),),
                is_test=True,
            )
        )
        result = ActionResult("test order placed", partner, po_number, po_number)
        if profile.fulfilment == "edi":
            self._send(result, "850")
        result.flags = self._flags(self._order(po_number, partner))
        return result

    def _new_test_po(self, partner: str, now: dt.datetime) -> str:
        """TEST-CCYYMMDDHHMMSS, with -2, -3... when a test order of that second exists (two
        placed in one second); at most 22 characters, as BEG03 allows."""
        base = f"TEST-{now:%Y%m%d%H%M%S}"
        with self.uow_factory() as uow:
            for suffix in ("", *(f"-{n}" for n in range(2, 100))):
                if not uow.orders.find(base + suffix, partner):
                    return base + suffix
        raise RuleViolation(
            "test-order-number-free", f"no free test order number for {base}: wait a second"
        )

    # -- notes and the customer -------------------------------------------------------------

    def add_note(
        self, po_number: str, text: str, *, author: str, partner: str | None = None
    ) -> ActionResult:
        order = self._order(po_number, partner)
        record = new_id("N")
        return self._apply(
            "note added",
            order,
            record,
            commands.AddNote(**self._about(order), note_id=record, author=author, text=text),
        )

    def edit_note(
        self, po_number: str, note_id: str, text: str, *, author: str, partner: str | None = None
    ) -> ActionResult:
        order = self._order(po_number, partner)
        return self._apply(
            "note edited",
            order,
            note_id,
            commands.EditNote(**self._about(order), note_id=note_id, author=author, text=text),
        )

    def delete_note(
        self, po_number: str, note_id: str, *, author: str, partner: str | None = None
    ) -> ActionResult:
        order = self._order(po_number, partner)
        return self._apply(
            "note deleted",
            order,
            note_id,
            commands.DeleteNote(**self._about(order), note_id=note_id, author=author),
        )

    def change_customer(
        self,
        po_number: str,
        ship_to: Party,
        *,
        bill_to: Party | None = None,
        reason: str = "",
        partner: str | None = None,
    ) -> ActionResult:
        order = self._order(po_number, partner)
        return self._apply(
            "customer changed",
            order,
            "",
            commands.ChangeCustomer(
                **self._about(order), ship_to=ship_to, bill_to=bill_to, reason=reason
            ),
        )

    def change_dates(
        self,
        po_number: str,
        *,
        requested_ship_date: dt.date | None = None,
        requested_delivery_date: dt.date | None = None,
        cancel_after_date: dt.date | None = None,
        reason: str = "",
        partner: str | None = None,
    ) -> ActionResult:
        """New dates for the order (those not given stay); an order we placed with a seller
        who takes EDI sends its 860 with them, when one of them moved."""
        order = self._order(po_number, partner)
        command = commands.ChangeDates(
            **self._about(order),
            requested_ship_date=requested_ship_date,
            requested_delivery_date=requested_delivery_date,
            cancel_after_date=cancel_after_date,
            reason=reason,
        )
        moved = bool(rules.dates_moved(order, command))
        result = self._apply("dates changed" if moved else "dates unchanged", order, "", command)
        if moved and order.our_role is Role.BUYER and self._takes_edi(order.partner):
            self._send(result, "860")
        return result

    # -- inner workings ---------------------------------------------------------------------

    def _order(self, po_number: str, partner: str | None) -> Order:
        with self.uow_factory() as uow:
            return find_order(uow, po_number, partner)

    def _about(self, order: Order) -> dict[str, Any]:
        return {
            "partner": order.partner,
            "po_number": order.po_number,
            "at": self.clock(),
            "source": self.actor,
        }

    def _apply(
        self, action: str, order: Order, record: str, command: commands.Command
    ) -> ActionResult:
        outcome = self.bus.handle(command)
        return ActionResult(
            action,
            order.partner,
            order.po_number,
            record,
            flags=sorted(flag.value for flag in outcome.order.flags),
        )

    def _flags(self, order: Order) -> list[str]:
        with self.uow_factory() as uow:
            fresh = find_order(uow, order.po_number, order.partner)
            return sorted(flag.value for flag in fresh.flags)

    def _takes_edi(self, partner: str) -> bool:
        profile = self.partners.get(partner)
        return profile is None or profile.fulfilment == "edi"

    def _send(
        self,
        result: ActionResult,
        set_id: str,
        *,
        required: bool = False,
        **options: Any,
    ) -> None:
        """Build and queue the document the action owes the partner; when it cannot be built,
        say so in the result (or, for an action that is the document, refuse)."""
        try:
            sent = export(
                self.uow_factory,
                result.po_number,
                set_id,
                result.partner,
                mappings=self.mappings,
                clock=self.clock,
                profiles=self.partners,
                **options,
            )
        except GatewayError as exc:
            if required:
                raise
            result.unsent = (
                f"{set_id} not sent: {exc}; send it with `gateway export {result.po_number} "
                f"--set {set_id}` once that is fixed"
            )
            return
        result.documents.append(
            {
                "set": sent.set_id,
                "document_id": sent.document_id,
                "interchange": sent.interchange_control,
                "outbox_id": sent.outbox_id,
            }
        )


def parse_line_quantity(text: str) -> LineQuantity:
    """`N:QTY` (a line number and a quantity): ValueError otherwise."""
    line, colon, quantity = text.partition(":")
    try:
        amount = Decimal(quantity)
    except ArithmeticError:
        amount = Decimal(-1)
    if not colon or not line.strip() or not amount.is_finite() or amount <= 0:
        raise ValueError(f"{text!r} is not LINE:QUANTITY with a quantity above 0, like 2:3")
    return LineQuantity(line.strip(), amount)


def parse_answer(text: str) -> str:
    """An 855 line answer as the CLI writes it (`N:accept`, `N:reject`, `N:qty=Q`,
    `N:backorder`, each with an optional `@CCYYMMDD`) in the form `LineDecision.parse` reads."""
    line, colon, rest = text.partition(":")
    if not colon or not line.strip():
        raise ValueError(f"{text!r} is not LINE:accept|reject|qty=Q|backorder")
    word, at, when = rest.partition("@")
    if word.startswith("qty="):
        word = f"change:{word.removeprefix('qty=')}"
    return f"{line.strip()}={word}{at}{when}"
