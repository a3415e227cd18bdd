"""Small orders and commands built in the domain tests: one partner, one PO, times from T0."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from gateway.domain import commands
from gateway.domain.model import Order
from gateway.domain.rules import RULES
from gateway.domain.values import (
    ConfirmationMethod,
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


def on_order(kind, **fields):
    """A command of class `kind` for the test order, at T0 + 1 minute unless told."""
    fields.setdefault("at", at(1))
    return kind(partner=PARTNER, po_number=PO, **fields)


def fulfil(fulfillment_id: str, *lines: tuple[str, Quantity], **fields):
    return on_order(
        commands.CreateFulfillment,
        fulfillment_id=fulfillment_id,
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


def passed_on(fulfillment_id: str, **fields):
    return on_order(commands.MarkFulfillmentPassedOn, fulfillment_id=fulfillment_id, **fields)


def shipment(fulfillment_id: str, status, **fields):
    return on_order(
        commands.UpdateShipmentStatus, fulfillment_id=fulfillment_id, status=status, **fields
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
    order.handle(fulfil("F1", ("1", 10), ("2", 4), tracking_numbers=("1Z1", "1Z2")))
    if passed:
        order.handle(passed_on("F1", via="856"))
    order.events.clear()
    return order
