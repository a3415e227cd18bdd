"""Small orders and commands built in the domain tests: one partner, one PO, times from T0."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from gateway.domain import carriers, commands
from gateway.domain.model import Order
from gateway.domain.rules import RULES
from gateway.domain.values import (
    ConfirmationMethod,
    DocumentKind,
    DocumentState,
    LineQuantity,
    PurchaseOrderLine,
    Role,
    Side,
)
from gateway.errors import RuleViolation

PARTNER = "ACME"
PO = "PO-1001"
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ORDER_DATE = date(2026, 11, 20)

Quantity = Decimal | int | str


def at(minutes: int = 0) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def qty(value: Quantity) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def po_line(line_number: str, ordered: Quantity, **terms) -> PurchaseOrderLine:
    terms.setdefault("unit_price", Decimal("2.50"))
    terms.setdefault("product_ids", (("VP", f"SKU-{line_number}"),))
    return PurchaseOrderLine(line_number=line_number, ordered=qty(ordered), **terms)


def quantities(*pairs: tuple[str, Quantity]) -> tuple[LineQuantity, ...]:
    return tuple(LineQuantity(number, qty(quantity)) for number, quantity in pairs)


def receive_order(*lines: tuple[str, Quantity], **header) -> commands.ReceiveOrder:
    header.setdefault("our_role", Role.SELLER)
    header.setdefault("order_date", ORDER_DATE)
    header.setdefault("at", at())
    header.setdefault("source", "850 #0001")
    return commands.ReceiveOrder(
        partner=PARTNER,
        po_number=PO,
        lines=tuple(po_line(number, ordered) for number, ordered in lines or (("1", 10),)),
        **header,
    )


def new_order(*lines: tuple[str, Quantity], **header) -> Order:
    """A received order (default: line 1 of 10 units), seller side, its events drained."""
    order = Order.receive(receive_order(*lines, **header))
    order.events.clear()
    return order


def on_order(command_class, **fields):
    """A command of class `command_class` for the test order, at T0 + 1 minute unless told."""
    fields.setdefault("at", at(1))
    return command_class(partner=PARTNER, po_number=PO, **fields)


def ups_tracking(serial: int) -> str:
    """A UPS tracking number with a right check digit, different for each serial."""
    body = f"1Z999AA1{serial:09d}"
    for digit in "0123456789":
        if carriers.tracking_problem(carriers.by_scac("UPSN"), body + digit) is None:
            return body + digit
    raise AssertionError(f"no check digit makes {body} a UPS number")


def tracking_for(fulfilment_id: str, count: int = 1) -> tuple[str, ...]:
    """Valid UPS tracking numbers of a fulfilment, the same for the same id."""
    seed = int(hashlib.sha256(fulfilment_id.encode()).hexdigest()[:6], 16) * 10
    return tuple(ups_tracking(seed + index) for index in range(count))


def fulfil(fulfilment_id: str, *lines: tuple[str, Quantity], **fields):
    """A fulfilment by UPS with a valid tracking number of its own unless told."""
    fields.setdefault("carrier", "UPSN")
    fields.setdefault("tracking_numbers", tracking_for(fulfilment_id))
    return on_order(
        commands.CreateFulfilment,
        fulfilment_id=fulfilment_id,
        lines=quantities(*lines),
        **fields,
    )


def cancel(cancellation_id: str, *lines: tuple[str, Quantity], **fields):
    fields.setdefault("requested_by", Side.BUYER)
    return on_order(
        commands.CancelLines, cancellation_id=cancellation_id, lines=quantities(*lines), **fields
    )


def cancel_order(cancellation_id: str = "C-all", **fields):
    fields.setdefault("requested_by", Side.BUYER)
    return on_order(commands.CancelOrder, cancellation_id=cancellation_id, **fields)


def give_back(return_id: str, *lines: tuple[str, Quantity], **fields):
    return on_order(commands.RecordReturn, return_id=return_id, lines=quantities(*lines), **fields)


def refund(refund_id: str, amount: Quantity, *lines: tuple[str, Quantity], **fields):
    return on_order(
        commands.RecordRefund,
        refund_id=refund_id,
        amount=qty(amount),
        lines=quantities(*lines),
        **fields,
    )


def invoice(number: str, amount: Quantity, *lines: tuple[str, Quantity], **fields):
    return on_order(
        commands.RecordInvoice,
        invoice_number=number,
        amount=qty(amount),
        lines=quantities(*lines),
        **fields,
    )


def accept(number: str, **fields):
    return on_order(commands.AcceptInvoice, invoice_number=number, **fields)


def mark_paid(amount: Quantity | None = None, **fields):
    return on_order(commands.MarkPaid, amount=None if amount is None else qty(amount), **fields)


def track(document: str, kind: DocumentKind, *fulfilment_ids: str, **fields):
    """Follow a document of ours just queued (an 856 carrying `fulfilment_ids`)."""
    return on_order(
        commands.TrackDocument,
        document=document,
        kind=kind,
        fulfilment_ids=fulfilment_ids,
        **fields,
    )


def document_state(document: str, state: DocumentState, **fields):
    return on_order(commands.RecordDocumentState, document=document, state=state, **fields)


def deliver(order: Order, document: str, kind: DocumentKind, *fulfilment_ids: str) -> None:
    """Queue a document of ours about the order, then record it delivered."""
    order.handle(track(document, kind, *fulfilment_ids))
    order.handle(document_state(document, DocumentState.DELIVERED))


def passed_on(order: Order, *fulfilment_ids: str) -> None:
    """Our 855 (once) and an 856 carrying the fulfilments, both delivered: a shipped order we
    sell becomes Completed."""
    if order.dispatch("855 #1") is None:
        deliver(order, "855 #1", DocumentKind.ACKNOWLEDGEMENT)
    deliver(order, f"856 for {','.join(fulfilment_ids)}", DocumentKind.SHIP_NOTICE, *fulfilment_ids)


def shipment(fulfilment_id: str, status, **fields):
    return on_order(
        commands.UpdateShipmentStatus, fulfilment_id=fulfilment_id, status=status, **fields
    )


def confirm(how: ConfirmationMethod = ConfirmationMethod.ACKNOWLEDGEMENT_SENT, **fields):
    return on_order(commands.ConfirmOrder, how=how, **fields)


def replace_order(*lines: tuple[str, Quantity], **header):
    header.setdefault("order_date", ORDER_DATE)
    return on_order(
        commands.ReplaceOrder,
        lines=tuple(po_line(number, ordered) for number, ordered in lines),
        **header,
    )


def refused(order: Order, command) -> RuleViolation:
    """Apply `command`, expect a RuleViolation that leaves `order` unchanged and names a rule
    that guards this kind of command; return the violation."""
    before = copy.deepcopy(order)
    with pytest.raises(RuleViolation) as caught:
        order.handle(command)
    violation = caught.value
    assert order == before, "a refused command changed the order"
    assert type(command) in RULES[violation.rule].guards, (
        f"{violation.rule} is not listed as guarding {type(command).__name__}"
    )
    assert violation.po_number == order.po_number
    return violation


def shipped_order(passed: bool = False) -> Order:
    """Lines 1 (10) and 2 (4), both fully fulfilled by F1; passed on when asked (Completed)."""
    order = new_order(("1", 10), ("2", 4))
    order.handle(fulfil("F1", ("1", 10), ("2", 4), tracking_numbers=tracking_for("F1", 2)))
    if passed:
        passed_on(order, "F1")
    order.events.clear()
    return order
