"""The order rules: the one place that says what an order's state is and which commands it takes.

Everything that decides whether a command is allowed, and everything an order's status is made
of, lives in this module, as h11 keeps its whole state machine in `_state.py`. Statuses are never
stored: the flags (`Flag`), the fulfilment status and the payment status are computed from the
quantities and the records the order holds (fulfilments, cancellations, returns, refunds,
invoices, payments, confirmations). So they cannot drift from the facts, and a rule about a status
is a rule about quantities. A command the rules refuse raises `RuleViolation` naming the rule, the
order's PO number and, when one line is at fault, the line. The checks only read the order: a
refused command leaves it exactly as it was.

Rules that refuse commands (a refused command names the first rule it breaks)::

    rule                                           commands it guards
    ---------------------------------------------  --------------------------------------------
    command-matches-order                          every command given to a held order
    order-received-once                            ReceiveOrder
    receive-purpose-must-open-order                ReceiveOrder
    order-needs-lines                              ReceiveOrder, ReplaceOrder, ChangeLines
    line-numbers-unique                            ReceiveOrder, ReplaceOrder, ChangeLines
    quantity-must-be-positive                      ReceiveOrder, ReplaceOrder, ChangeLines,
                                                   CreateFulfillment, CancelLines, RecordReturn,
                                                   RecordRefund, RecordInvoice
    price-cannot-be-negative                       ReceiveOrder, ReplaceOrder, ChangeLines
    amount-must-be-positive                        RecordRefund, RecordInvoice, MarkPaid
    record-needs-lines                             CreateFulfillment, CancelLines, RecordReturn
    line-must-exist                                CreateFulfillment, CancelLines, RecordReturn,
                                                   RecordRefund, RecordInvoice, ConfirmOrder,
                                                   RecordChangeAnswer
    record-id-unique                               CreateFulfillment, CancelLines, CancelOrder,
                                                   RecordReturn, RecordRefund, RecordInvoice,
                                                   AddNote
    cancelled-order-is-closed                      ReplaceOrder, ChangeLines, ConfirmOrder,
                                                   CancelLines, CancelOrder, ChangeCustomer,
                                                   ChangeDates
    completed-order-is-closed                      ReplaceOrder, ChangeLines, ConfirmOrder,
                                                   CancelLines, CancelOrder, ChangeCustomer,
                                                   ChangeDates
    acknowledgement-direction-follows-role         ConfirmOrder
    no-fulfilment-after-shipped                    CreateFulfillment
    cancelled-quantity-cannot-be-fulfilled         CreateFulfillment
    fulfilment-takes-only-open-quantity            CreateFulfillment
    several-tracking-numbers-need-several-products CreateFulfillment
    sscc-must-be-valid                             CreateFulfillment
    packs-match-fulfilment                         CreateFulfillment
    shipment-status-moves-forward                  CreateFulfillment, UpdateShipmentStatus
    fulfilment-must-exist                          UpdateShipmentStatus, MarkFulfillmentPassedOn
    fulfilment-passed-on-once                      MarkFulfillmentPassedOn
    fulfilled-quantity-cannot-be-cancelled         CancelLines
    cancellation-takes-only-open-quantity          CancelLines
    nothing-open-to-cancel                         CancelOrder
    replace-cannot-reduce-below-settled            ReplaceOrder, ChangeLines
    replace-cannot-remove-fulfilled-line           ReplaceOrder
    replace-cannot-reopen-shipped-order            ReplaceOrder, ChangeLines
    return-only-of-fulfilled-unreturned-quantity   RecordReturn
    invoice-must-exist                             AcceptInvoice
    invoice-accepted-once                          AcceptInvoice
    paid-order-cannot-be-marked-paid               MarkPaid
    note-must-exist                                EditNote, DeleteNote
    note-needs-text                                AddNote, EditNote

Rules kept by the absence of a command (nothing to check, nothing can break them)::

    rule                                           what is missing on purpose
    ---------------------------------------------  --------------------------------------------
    fulfilment-is-never-edited                     no command edits or deletes a fulfilment;
                                                   only its shipment status and passed-on mark
                                                   move on
    cancellation-is-final                          no command undoes a cancellation or lowers a
                                                   cancelled quantity

Rules that derive a status (computed on demand, never stored)::

    rule                                           derived from
    ---------------------------------------------  --------------------------------------------
    confirmed-once-acknowledged                    confirmations (855 sent/received, vendor
                                                   notified)
    settled-when-every-unit-fulfilled-or-cancelled open quantity of every line is zero
    shipped-when-every-line-fulfilled              settled, with some quantity fulfilled
    cancelled-when-every-unit-cancelled            settled, with nothing fulfilled
    completed-when-settled-and-passed-on           shipped, and every fulfilment passed on
    returned-when-return-or-refund-recorded        returns and refunds
    paid-when-invoice-accepted-or-marked-paid      invoices, their acceptance, payments
    fulfilment-status-at-a-glance                  quantities, shipment statuses, returns
    payment-status-from-amounts                    invoiced, paid and refunded amounts

A derived flag can raise an event of its own (state-triggered, as h11 has them): when a command
makes the order Shipped, Cancelled or Completed, `FLAG_EVENTS` says which event follows the
command's own.

Two deliberate readings: after Completed the goods side is closed (no replacement, confirmation,
cancellation or customer change; no fulfilment since it is Shipped), but returns, refunds,
invoices, payments, shipment tracking and notes still go on, because an 810 and the carrier's
delivery scan normally come after the 856 that completes a drop-ship order. And a fulfilment's
quantity counts as fulfilled whatever its shipment status, CANCELLED included: a fulfilment is a
fact that is never undone, so the units of a cancelled shipment stay fulfilled.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from gateway.domain import events
from gateway.domain.commands import (
    AcceptInvoice,
    AddNote,
    CancelLines,
    CancelOrder,
    ChangeCustomer,
    ChangeDates,
    ChangeLines,
    Command,
    ConfirmOrder,
    CreateFulfillment,
    DeleteNote,
    EditNote,
    MarkFulfillmentPassedOn,
    MarkPaid,
    ReceiveOrder,
    RecordChangeAnswer,
    RecordInvoice,
    RecordRefund,
    RecordRefusal,
    RecordReturn,
    ReplaceOrder,
    UpdateShipmentStatus,
)
from gateway.domain.values import (
    ConfirmationMethod,
    LineQuantity,
    Pack,
    PurchaseOrderLine,
    PurposeCode,
    Role,
    ShipmentStatus,
    merge_quantities,
    quantity_of,
)
from gateway.errors import RuleViolation

if TYPE_CHECKING:
    from gateway.domain.model import Order

ZERO = Decimal(0)


class Flag(enum.StrEnum):
    """What an order is, at a glance; several hold at once."""

    TEST = "test"
    CONFIRMED = "confirmed"
    SETTLED = "settled"  # every unit fulfilled or cancelled
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    RETURNED = "returned"
    PAID = "paid"


class FulfillmentStatus(enum.StrEnum):
    """Where the goods of the whole order stand."""

    UNFULFILLED = "unfulfilled"
    PARTIALLY_FULFILLED = "partially fulfilled"
    FULFILLED = "fulfilled"
    DELIVERED = "delivered"
    PARTIALLY_RETURNED = "partially returned"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class PaymentStatus(enum.StrEnum):
    """Where the money of the whole order stands."""

    UNPAID = "unpaid"
    IN_PROGRESS = "in progress"  # invoiced, not accepted nor paid
    PARTIALLY_PAID = "partially paid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially refunded"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class Rule:
    """One rule: its stable name, what it says, and the commands it can refuse."""

    name: str
    statement: str
    guards: tuple[type[Command], ...] = ()


EVERY_COMMAND: tuple[type[Command], ...] = (
    ReceiveOrder,
    ReplaceOrder,
    ChangeLines,
    ConfirmOrder,
    CreateFulfillment,
    UpdateShipmentStatus,
    MarkFulfillmentPassedOn,
    CancelLines,
    CancelOrder,
    RecordReturn,
    RecordRefund,
    RecordInvoice,
    AcceptInvoice,
    MarkPaid,
    AddNote,
    EditNote,
    DeleteNote,
    ChangeCustomer,
    ChangeDates,
    RecordRefusal,
    RecordChangeAnswer,
)
CLOSING: tuple[type[Command], ...] = (
    ReplaceOrder,
    ChangeLines,
    ConfirmOrder,
    CancelLines,
    CancelOrder,
    ChangeCustomer,
    ChangeDates,
)

GUARD_RULES = (
    Rule("command-matches-order", "a command names the order it is given to", EVERY_COMMAND),
    Rule("order-received-once", "an order already held is not received again", (ReceiveOrder,)),
    Rule(
        "receive-purpose-must-open-order",
        "a received order is an original, replacement, confirming or duplicate 850",
        (ReceiveOrder,),
    ),
    Rule(
        "order-needs-lines",
        "an order (and a change of its lines) has at least one line",
        (ReceiveOrder, ReplaceOrder, ChangeLines),
    ),
    Rule(
        "line-numbers-unique",
        "no two lines share a line number",
        (ReceiveOrder, ReplaceOrder, ChangeLines),
    ),
    Rule(
        "quantity-must-be-positive",
        "every quantity given is a finite number above zero",
        (
            ReceiveOrder,
            ReplaceOrder,
            ChangeLines,
            CreateFulfillment,
            CancelLines,
            RecordReturn,
            RecordRefund,
            RecordInvoice,
        ),
    ),
    Rule(
        "price-cannot-be-negative",
        "a unit price, when given, is zero or more",
        (ReceiveOrder, ReplaceOrder, ChangeLines),
    ),
    Rule(
        "amount-must-be-positive",
        "an amount of money given is a finite number above zero",
        (RecordRefund, RecordInvoice, MarkPaid),
    ),
    Rule(
        "record-needs-lines",
        "a fulfilment, cancellation or return names at least one line",
        (CreateFulfillment, CancelLines, RecordReturn),
    ),
    Rule(
        "line-must-exist",
        "a record names only lines of the order",
        (
            CreateFulfillment,
            CancelLines,
            RecordReturn,
            RecordRefund,
            RecordInvoice,
            ConfirmOrder,
            RecordChangeAnswer,
        ),
    ),
    Rule(
        "record-id-unique",
        "a new record does not reuse the id of one the order holds",
        (
            CreateFulfillment,
            CancelLines,
            CancelOrder,
            RecordReturn,
            RecordRefund,
            RecordInvoice,
            AddNote,
        ),
    ),
    Rule(
        "cancelled-order-is-closed",
        "a fully cancelled order takes no more changes to its goods (an acknowledgement that"
        " restates an earlier one is recorded: it changes nothing)",
        CLOSING,
    ),
    Rule(
        "completed-order-is-closed",
        "after Completed only returns, refunds, money, tracking and notes change the order",
        CLOSING,
    ),
    Rule(
        "acknowledgement-direction-follows-role",
        "a seller sends the 855, a buyer receives it",
        (ConfirmOrder,),
    ),
    Rule(
        "no-fulfilment-after-shipped",
        "once Shipped, no fulfilment is added",
        (CreateFulfillment,),
    ),
    Rule(
        "cancelled-quantity-cannot-be-fulfilled",
        "a fulfilment cannot take quantity that was cancelled",
        (CreateFulfillment,),
    ),
    Rule(
        "fulfilment-takes-only-open-quantity",
        "a line is not fulfilled beyond its open quantity",
        (CreateFulfillment,),
    ),
    Rule(
        "several-tracking-numbers-need-several-products",
        "a fulfilment of one line item carries at most one tracking number",
        (CreateFulfillment,),
    ),
    Rule(
        "sscc-must-be-valid",
        "a pack's SSCC-18 has 18 digits and a right mod-10 check digit",
        (CreateFulfillment,),
    ),
    Rule(
        "packs-match-fulfilment",
        "the packs of a fulfilment hold exactly its line quantities",
        (CreateFulfillment,),
    ),
    Rule(
        "shipment-status-moves-forward",
        "a shipment status follows SHIPMENT_TRANSITIONS; nothing starts as CANCELLED",
        (CreateFulfillment, UpdateShipmentStatus),
    ),
    Rule(
        "fulfilment-must-exist",
        "a command about a fulfilment names one the order holds",
        (UpdateShipmentStatus, MarkFulfillmentPassedOn),
    ),
    Rule(
        "fulfilment-passed-on-once",
        "a fulfilment is passed on to the other side once",
        (MarkFulfillmentPassedOn,),
    ),
    Rule(
        "fulfilled-quantity-cannot-be-cancelled",
        "a cancellation cannot take quantity that was fulfilled",
        (CancelLines,),
    ),
    Rule(
        "cancellation-takes-only-open-quantity",
        "a line is not cancelled beyond its open quantity",
        (CancelLines,),
    ),
    Rule(
        "nothing-open-to-cancel",
        "cancelling the order needs some open quantity",
        (CancelOrder,),
    ),
    Rule(
        "replace-cannot-reduce-below-settled",
        "a replacement or a change keeps each line at least at its fulfilled + cancelled quantity",
        (ReplaceOrder, ChangeLines),
    ),
    Rule(
        "replace-cannot-remove-fulfilled-line",
        "a replacement does not drop a line with fulfilled quantity",
        (ReplaceOrder,),
    ),
    Rule(
        "replace-cannot-reopen-shipped-order",
        "a replacement or a change of a Shipped order adds no open quantity",
        (ReplaceOrder, ChangeLines),
    ),
    Rule(
        "return-only-of-fulfilled-unreturned-quantity",
        "a return takes only quantity fulfilled and not yet returned",
        (RecordReturn,),
    ),
    Rule("invoice-must-exist", "an accepted invoice is one the order holds", (AcceptInvoice,)),
    Rule("invoice-accepted-once", "an invoice is accepted once", (AcceptInvoice,)),
    Rule(
        "paid-order-cannot-be-marked-paid",
        "an order already Paid is not marked paid again",
        (MarkPaid,),
    ),
    Rule(
        "note-must-exist", "a note edited or deleted is one the order holds", (EditNote, DeleteNote)
    ),
    Rule("note-needs-text", "a note says something", (AddNote, EditNote)),
)

STRUCTURAL_RULES = (
    Rule("fulfilment-is-never-edited", "a created fulfilment is never edited or deleted"),
    Rule("cancellation-is-final", "a cancellation is never undone"),
)

DERIVATION_RULES = (
    Rule("confirmed-once-acknowledged", "Confirmed once acknowledged or the vendor notified"),
    Rule(
        "settled-when-every-unit-fulfilled-or-cancelled",
        "settled (complete) when every unit is fulfilled or cancelled",
    ),
    Rule(
        "shipped-when-every-line-fulfilled",
        "Shipped when every line's ordered - cancelled quantity is fulfilled",
    ),
    Rule(
        "cancelled-when-every-unit-cancelled",
        "Cancelled when every unit is cancelled and none fulfilled",
    ),
    Rule(
        "completed-when-settled-and-passed-on",
        "Completed when shipped and every fulfilment passed on",
    ),
    Rule("returned-when-return-or-refund-recorded", "Returned once a return or refund is recorded"),
    Rule(
        "paid-when-invoice-accepted-or-marked-paid",
        "Paid when invoiced and accepted, marked paid, or paid the invoiced amount",
    ),
    Rule("fulfilment-status-at-a-glance", "one fulfilment status from quantities and shipments"),
    Rule("payment-status-from-amounts", "one payment status from invoices, payments, refunds"),
)

RULES: dict[str, Rule] = {
    rule.name: rule for rule in (*GUARD_RULES, *STRUCTURAL_RULES, *DERIVATION_RULES)
}

SHIPMENT_TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    ShipmentStatus.AWAITING_SHIPMENT: frozenset(
        {
            ShipmentStatus.SHIPPED,
            ShipmentStatus.IN_TRANSIT,
            ShipmentStatus.OUT_FOR_DELIVERY,
            ShipmentStatus.DELIVERED,
            ShipmentStatus.DELIVERY_FAILED,
            ShipmentStatus.CANCELLED,
        }
    ),
    ShipmentStatus.SHIPPED: frozenset(
        {
            ShipmentStatus.IN_TRANSIT,
            ShipmentStatus.OUT_FOR_DELIVERY,
            ShipmentStatus.DELIVERED,
            ShipmentStatus.DELIVERY_FAILED,
        }
    ),
    ShipmentStatus.IN_TRANSIT: frozenset(
        {ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.DELIVERED, ShipmentStatus.DELIVERY_FAILED}
    ),
    ShipmentStatus.OUT_FOR_DELIVERY: frozenset(
        {ShipmentStatus.DELIVERED, ShipmentStatus.DELIVERY_FAILED}
    ),
    # a failed delivery is tried again
    ShipmentStatus.DELIVERY_FAILED: frozenset(
        {ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.DELIVERED}
    ),
    ShipmentStatus.DELIVERED: frozenset(),
    ShipmentStatus.CANCELLED: frozenset(),
}
"""Which shipment status may follow which (a repeated status is no move and is refused)."""

INITIAL_SHIPMENT_STATUSES = frozenset(ShipmentStatus) - {ShipmentStatus.CANCELLED}

ACKNOWLEDGEMENT_DIRECTION: dict[ConfirmationMethod, Role] = {
    ConfirmationMethod.ACKNOWLEDGEMENT_SENT: Role.SELLER,
    ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED: Role.BUYER,
}
"""Who we must be for an 855 to go that way; a vendor can be notified by either side."""

RECEIVABLE_PURPOSES = frozenset(
    {PurposeCode.ORIGINAL, PurposeCode.REPLACE, PurposeCode.CONFIRMATION, PurposeCode.DUPLICATE}
)

FLAG_EVENTS: tuple[tuple[Flag, type[events.Event]], ...] = (
    (Flag.SHIPPED, events.OrderShipped),
    (Flag.CANCELLED, events.OrderCancelled),
    (Flag.COMPLETED, events.OrderCompleted),
)
"""State-triggered events: raised after a command's own events when it raises the flag."""


def refusal(rule: str, message: str, *, po_number: str, line: str = "") -> RuleViolation:
    """The `RuleViolation` for `rule`, which must be in `RULES` (a typo is our bug: KeyError)."""
    return RuleViolation(RULES[rule].name, message, po_number=po_number, line=line)


# Quantities and amounts ----------------------------------------------------------------------


def fulfilled_quantity(order: Order, line_number: str) -> Decimal:
    """Quantity of the line in all fulfilments (whatever their shipment status)."""
    return sum((quantity_of(f.lines, line_number) for f in order.fulfillments), ZERO)


def cancelled_quantity(order: Order, line_number: str) -> Decimal:
    """Quantity of the line in all cancellations."""
    return sum((quantity_of(c.lines, line_number) for c in order.cancellations), ZERO)


def returned_quantity(order: Order, line_number: str) -> Decimal:
    """Quantity of the line in all returns."""
    return sum((quantity_of(r.lines, line_number) for r in order.returns), ZERO)


def settled_quantity(order: Order, line_number: str) -> Decimal:
    """Fulfilled + cancelled quantity of the line."""
    return fulfilled_quantity(order, line_number) + cancelled_quantity(order, line_number)


def open_quantity(order: Order, line_number: str) -> Decimal:
    """Ordered - fulfilled - cancelled quantity of the line (zero for a line not held)."""
    line = order.line(line_number)
    if line is None:
        return ZERO
    return line.ordered - settled_quantity(order, line_number)


def total_fulfilled(order: Order) -> Decimal:
    """Quantity fulfilled over all lines."""
    return sum((e.quantity for f in order.fulfillments for e in f.lines), ZERO)


def invoiced_amount(order: Order) -> Decimal:
    """Sum of all invoices."""
    return sum((invoice.amount for invoice in order.invoices), ZERO)


def paid_amount(order: Order) -> Decimal:
    """Sum of all payments."""
    return sum((payment.amount for payment in order.payments), ZERO)


def refunded_amount(order: Order) -> Decimal:
    """Sum of all refunds."""
    return sum((refund.amount for refund in order.refunds), ZERO)


# Derived flags and statuses -------------------------------------------------------------------


def is_confirmed(order: Order) -> bool:
    """confirmed-once-acknowledged."""
    return bool(order.confirmations)


def is_settled(order: Order) -> bool:
    """settled-when-every-unit-fulfilled-or-cancelled (the order is complete)."""
    return all(open_quantity(order, line.line_number) <= 0 for line in order.lines)


def is_shipped(order: Order) -> bool:
    """shipped-when-every-line-fulfilled: settled, and not by cancellation alone."""
    return is_settled(order) and total_fulfilled(order) > 0


def is_cancelled(order: Order) -> bool:
    """cancelled-when-every-unit-cancelled: settled with nothing fulfilled."""
    return is_settled(order) and total_fulfilled(order) == 0


def is_completed(order: Order) -> bool:
    """completed-when-settled-and-passed-on (a fully cancelled order is Cancelled instead)."""
    return is_shipped(order) and all(f.passed_on for f in order.fulfillments)


def is_returned(order: Order) -> bool:
    """returned-when-return-or-refund-recorded."""
    return bool(order.returns or order.refunds)


def is_paid(order: Order) -> bool:
    """paid-when-invoice-accepted-or-marked-paid: marked paid in full; or invoiced and every
    invoice accepted; or invoiced and paid at least the invoiced amount."""
    if any(payment.in_full for payment in order.payments):
        return True
    invoiced = invoiced_amount(order)
    if invoiced <= 0:
        return False
    return all(i.accepted for i in order.invoices) or paid_amount(order) >= invoiced


def flags(order: Order) -> frozenset[Flag]:
    """Every flag that holds for the order now."""
    found = {
        Flag.TEST: order.is_test,
        Flag.CONFIRMED: is_confirmed(order),
        Flag.SETTLED: is_settled(order),
        Flag.SHIPPED: is_shipped(order),
        Flag.CANCELLED: is_cancelled(order),
        Flag.COMPLETED: is_completed(order),
        Flag.RETURNED: is_returned(order),
        Flag.PAID: is_paid(order),
    }
    return frozenset(flag for flag, holds in found.items() if holds)


def fulfillment_status(order: Order) -> FulfillmentStatus:
    """fulfilment-status-at-a-glance: Cancelled when fully cancelled; else by returns (Returned
    when every fulfilled unit came back, Partially returned when some did); else Unfulfilled,
    Partially fulfilled (some open quantity left), Delivered (every fulfilment delivered) or
    Fulfilled."""
    if is_cancelled(order):
        return FulfillmentStatus.CANCELLED
    fulfilled = total_fulfilled(order)
    returned = sum((e.quantity for r in order.returns for e in r.lines), ZERO)
    if returned > 0:
        if returned >= fulfilled:
            return FulfillmentStatus.RETURNED
        return FulfillmentStatus.PARTIALLY_RETURNED
    if fulfilled == 0:
        return FulfillmentStatus.UNFULFILLED
    if not is_settled(order):
        return FulfillmentStatus.PARTIALLY_FULFILLED
    if all(f.status is ShipmentStatus.DELIVERED for f in order.fulfillments):
        return FulfillmentStatus.DELIVERED
    return FulfillmentStatus.FULFILLED


def payment_status(order: Order) -> PaymentStatus:
    """payment-status-from-amounts. With refunds: Refunded once they reach what was paid (the
    payments, or the invoiced amount when the order is Paid), else Partially refunded. Without:
    Paid (see `is_paid`), Partially paid (some payment), In progress (invoiced), Unpaid."""
    paid = paid_amount(order)
    refunded = refunded_amount(order)
    if refunded > 0:
        basis = max(paid, invoiced_amount(order) if is_paid(order) else ZERO)
        return PaymentStatus.REFUNDED if refunded >= basis else PaymentStatus.PARTIALLY_REFUNDED
    if is_paid(order):
        return PaymentStatus.PAID
    if paid > 0:
        return PaymentStatus.PARTIALLY_PAID
    if invoiced_amount(order) > 0:
        return PaymentStatus.IN_PROGRESS
    return PaymentStatus.UNPAID


def raised_flags(before: frozenset[Flag], after: frozenset[Flag]) -> list[type[events.Event]]:
    """The state-triggered events of the flags a command raised, in `FLAG_EVENTS` order."""
    return [event for flag, event in FLAG_EVENTS if flag in after and flag not in before]


# Checks ---------------------------------------------------------------------------------------


def check_receipt(command: ReceiveOrder) -> None:
    """Refuse a new order the rules do not allow (the order does not exist yet)."""
    if command.purpose_code not in RECEIVABLE_PURPOSES:
        raise refusal(
            "receive-purpose-must-open-order",
            f"an 850 with purpose {command.purpose_code.value} does not open an order",
            po_number=command.po_number,
        )
    _check_order_lines(command.lines, command.po_number)


def check_same_order(order: Order, command: Command) -> None:
    """command-matches-order: refuse a command that names another order."""
    if (command.partner, command.po_number) != (order.partner, order.po_number):
        raise refusal(
            "command-matches-order",
            f"a command for {command.partner} {command.po_number} reached"
            f" {order.partner} {order.po_number}",
            po_number=order.po_number,
        )


def check(order: Order, command: Command) -> None:
    """Refuse `command` on `order` with the first rule it breaks; return when it is allowed."""
    check_same_order(order, command)
    match command:
        case ReceiveOrder():
            raise refusal("order-received-once", "the order is already held", po_number=_po(order))
        case ReplaceOrder():
            _check_replace(order, command)
        case ChangeLines():
            _check_change_lines(order, command)
        case ConfirmOrder():
            _check_confirm(order, command)
        case CreateFulfillment():
            _check_fulfillment(order, command)
        case UpdateShipmentStatus():
            _check_shipment_status(order, command)
        case MarkFulfillmentPassedOn():
            _check_passed_on(order, command)
        case CancelLines():
            _check_cancel_lines(order, command)
        case CancelOrder():
            _check_cancel_order(order, command)
        case RecordReturn():
            _check_return(order, command)
        case RecordRefund():
            _check_refund(order, command)
        case RecordInvoice():
            _check_invoice(order, command)
        case AcceptInvoice():
            _check_accept_invoice(order, command)
        case MarkPaid():
            _check_mark_paid(order, command)
        case AddNote():
            _check_new_id(order, command.note_id, [n.id for n in order.notes], "note")
            _check_note_text(order, command.text)
        case EditNote():
            _check_note_exists(order, command.note_id)
            _check_note_text(order, command.text)
        case DeleteNote():
            _check_note_exists(order, command.note_id)
        case ChangeCustomer():
            _check_not_closed(order)
        case ChangeDates():
            _check_not_closed(order)
        case RecordRefusal():
            pass  # a refusal is kept on any order, closed or not
        case RecordChangeAnswer():  # any order, closed or not, but only its own lines
            for answer in command.lines:
                if order.line(answer.line_number) is None:
                    raise refusal(
                        "line-must-exist",
                        "the answer to our change names a line the order does not have",
                        po_number=_po(order),
                        line=answer.line_number,
                    )
        case _:
            raise TypeError(f"no rules for {type(command).__name__}")


def _po(order: Order) -> str:
    return order.po_number


def _ordered(order: Order, line_number: str) -> Decimal:
    line = order.line(line_number)
    return ZERO if line is None else line.ordered


def _check_order_lines(lines: tuple[PurchaseOrderLine, ...], po_number: str) -> None:
    if not lines:
        raise refusal("order-needs-lines", "an order needs at least one line", po_number=po_number)
    seen: set[str] = set()
    for line in lines:
        if line.line_number in seen:
            raise refusal(
                "line-numbers-unique",
                "the line number is used twice",
                po_number=po_number,
                line=line.line_number,
            )
        seen.add(line.line_number)
        if not _positive(line.ordered):
            raise refusal(
                "quantity-must-be-positive",
                f"ordered quantity {line.ordered} is not above zero",
                po_number=po_number,
                line=line.line_number,
            )
        if line.unit_price is not None and not (
            line.unit_price.is_finite() and line.unit_price >= 0
        ):
            raise refusal(
                "price-cannot-be-negative",
                f"unit price {line.unit_price} is not zero or more",
                po_number=po_number,
                line=line.line_number,
            )


def _positive(number: Decimal) -> bool:
    return number.is_finite() and number > 0


def _check_not_closed(order: Order) -> None:
    if is_cancelled(order):
        raise refusal("cancelled-order-is-closed", "the order is cancelled", po_number=_po(order))
    if is_completed(order):
        raise refusal("completed-order-is-closed", "the order is completed", po_number=_po(order))


def _check_new_id(order: Order, new_id: str, held: Iterable[str], kind: str) -> None:
    if new_id in held:
        raise refusal(
            "record-id-unique", f"the order already holds {kind} {new_id!r}", po_number=_po(order)
        )


def _check_line_quantities(
    order: Order, lines: tuple[LineQuantity, ...], *, required: bool, what: str
) -> None:
    """record-needs-lines, then quantity-must-be-positive and line-must-exist per entry."""
    if required and not lines:
        raise refusal("record-needs-lines", f"{what} names no line", po_number=_po(order))
    for entry in lines:
        if not _positive(entry.quantity):
            raise refusal(
                "quantity-must-be-positive",
                f"{what} quantity {entry.quantity} is not above zero",
                po_number=_po(order),
                line=entry.line_number,
            )
        if order.line(entry.line_number) is None:
            raise refusal(
                "line-must-exist",
                f"{what} names a line the order does not have",
                po_number=_po(order),
                line=entry.line_number,
            )


def _check_replace(order: Order, command: ReplaceOrder) -> None:
    _check_not_closed(order)
    _check_order_lines(command.lines, _po(order))
    new = {line.line_number for line in command.lines}
    for held in order.lines:
        number = held.line_number
        if number not in new and fulfilled_quantity(order, number) > 0:
            raise refusal(
                "replace-cannot-remove-fulfilled-line",
                f"the replacement drops a line with {fulfilled_quantity(order, number)} fulfilled",
                po_number=_po(order),
                line=number,
            )
    _check_new_line_terms(order, command.lines, "replacement")


def _check_change_lines(order: Order, command: ChangeLines) -> None:
    _check_not_closed(order)
    _check_order_lines(command.lines, _po(order))
    _check_new_line_terms(order, command.lines, "change")


def _check_new_line_terms(order: Order, lines: tuple[PurchaseOrderLine, ...], what: str) -> None:
    """New terms for held lines keep them at their settled quantity at least; a Shipped order
    gets no open quantity back, neither by a raised quantity nor by a new line."""
    shipped = is_shipped(order)
    for terms in lines:
        number = terms.line_number
        if order.line(number) is None:
            if shipped:
                raise refusal(
                    "replace-cannot-reopen-shipped-order",
                    f"the order is shipped; the {what} adds a line",
                    po_number=_po(order),
                    line=number,
                )
            continue
        settled = settled_quantity(order, number)
        if terms.ordered < settled:
            raise refusal(
                "replace-cannot-reduce-below-settled",
                f"the {what} orders {terms.ordered}, below the {settled} fulfilled or cancelled",
                po_number=_po(order),
                line=number,
            )
        if shipped and terms.ordered > settled:
            raise refusal(
                "replace-cannot-reopen-shipped-order",
                f"the order is shipped; the {what} would leave {terms.ordered - settled} open",
                po_number=_po(order),
                line=number,
            )


def _check_confirm(order: Order, command: ConfirmOrder) -> None:
    restating = command.restates and any(c.how is command.how for c in order.confirmations)
    if not restating:  # a restatement decides nothing: a closed order records it too
        _check_not_closed(order)
    expected = ACKNOWLEDGEMENT_DIRECTION.get(command.how)
    if expected is not None and expected is not order.our_role:
        raise refusal(
            "acknowledgement-direction-follows-role",
            f"we are the {order.our_role.value}: an acknowledgement cannot be {command.how.value}",
            po_number=_po(order),
        )
    for answer in command.lines:
        if order.line(answer.line_number) is None:
            raise refusal(
                "line-must-exist",
                "the acknowledgement answers a line the order does not have",
                po_number=_po(order),
                line=answer.line_number,
            )


def _check_fulfillment(order: Order, command: CreateFulfillment) -> None:
    _check_new_id(order, command.fulfillment_id, [f.id for f in order.fulfillments], "fulfilment")
    if is_shipped(order):
        raise refusal(
            "no-fulfilment-after-shipped",
            f"the order is shipped; fulfilment {command.fulfillment_id!r} comes too late",
            po_number=_po(order),
        )
    _check_line_quantities(order, command.lines, required=True, what="the fulfilment")
    lines = merge_quantities(command.lines)
    for entry in lines:
        number = entry.line_number
        open_now = open_quantity(order, number)
        if entry.quantity > open_now:
            unfulfilled = _ordered(order, number) - fulfilled_quantity(order, number)
            fits_but_for_cancelled = entry.quantity <= unfulfilled
            raise refusal(
                "cancelled-quantity-cannot-be-fulfilled"
                if fits_but_for_cancelled
                else "fulfilment-takes-only-open-quantity",
                f"cannot fulfil {entry.quantity}: {open_now} open,"
                f" {cancelled_quantity(order, number)} cancelled",
                po_number=_po(order),
                line=number,
            )
    if len(command.tracking_numbers) > 1 and len(lines) < 2:
        raise refusal(
            "several-tracking-numbers-need-several-products",
            f"{len(command.tracking_numbers)} tracking numbers on a fulfilment of one line item",
            po_number=_po(order),
            line=lines[0].line_number,
        )
    _check_packs(order, command.packs, lines)
    if command.status not in INITIAL_SHIPMENT_STATUSES:
        raise refusal(
            "shipment-status-moves-forward",
            f"a fulfilment cannot start as {command.status.value}",
            po_number=_po(order),
        )


def _check_packs(order: Order, packs: tuple[Pack, ...], lines: tuple[LineQuantity, ...]) -> None:
    for pack in packs:
        if pack.sscc is not None and not valid_sscc(pack.sscc):
            raise refusal(
                "sscc-must-be-valid", f"{pack.sscc!r} is not an SSCC-18", po_number=_po(order)
            )
    if not packs:
        return
    for entry in (e for pack in packs for e in pack.lines):
        if not _positive(entry.quantity):
            problem = f"a pack holds {entry.quantity} of the line"
        elif quantity_of(lines, entry.line_number) == 0:
            problem = "a pack holds a line the fulfilment does not ship"
        else:
            continue
        raise refusal(
            "packs-match-fulfilment", problem, po_number=_po(order), line=entry.line_number
        )
    packed = merge_quantities(e for pack in packs for e in pack.lines)
    for entry in lines:
        in_packs = quantity_of(packed, entry.line_number)
        if in_packs != entry.quantity:
            raise refusal(
                "packs-match-fulfilment",
                f"the packs hold {in_packs}, the fulfilment ships {entry.quantity}",
                po_number=_po(order),
                line=entry.line_number,
            )


def valid_sscc(code: str) -> bool:
    """18 digits whose last is the GS1 mod-10 check digit of the first 17."""
    if len(code) != 18 or not code.isascii() or not code.isdigit():
        return False
    weighted = sum(
        int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(code[:17])
    )
    return (10 - weighted % 10) % 10 == int(code[17])


def _find_fulfillment_status(order: Order, fulfillment_id: str) -> ShipmentStatus:
    fulfillment = order.fulfillment(fulfillment_id)
    if fulfillment is None:
        raise refusal(
            "fulfilment-must-exist",
            f"no fulfilment {fulfillment_id!r} on the order",
            po_number=_po(order),
        )
    return fulfillment.status


def _check_shipment_status(order: Order, command: UpdateShipmentStatus) -> None:
    current = _find_fulfillment_status(order, command.fulfillment_id)
    if command.status not in SHIPMENT_TRANSITIONS[current]:
        raise refusal(
            "shipment-status-moves-forward",
            f"fulfilment {command.fulfillment_id!r} cannot go from {current.value} to"
            f" {command.status.value}",
            po_number=_po(order),
        )


def _check_passed_on(order: Order, command: MarkFulfillmentPassedOn) -> None:
    _find_fulfillment_status(order, command.fulfillment_id)
    fulfillment = order.fulfillment(command.fulfillment_id)
    if fulfillment is not None and fulfillment.passed_on:
        raise refusal(
            "fulfilment-passed-on-once",
            f"fulfilment {command.fulfillment_id!r} was already passed on",
            po_number=_po(order),
        )


def _check_cancel_lines(order: Order, command: CancelLines) -> None:
    _check_not_closed(order)
    _check_new_id(
        order, command.cancellation_id, [c.id for c in order.cancellations], "cancellation"
    )
    _check_line_quantities(order, command.lines, required=True, what="the cancellation")
    for entry in merge_quantities(command.lines):
        number = entry.line_number
        open_now = open_quantity(order, number)
        if entry.quantity > open_now:
            uncancelled = _ordered(order, number) - cancelled_quantity(order, number)
            fits_but_for_fulfilled = entry.quantity <= uncancelled
            raise refusal(
                "fulfilled-quantity-cannot-be-cancelled"
                if fits_but_for_fulfilled
                else "cancellation-takes-only-open-quantity",
                f"cannot cancel {entry.quantity}: {open_now} open,"
                f" {fulfilled_quantity(order, number)} fulfilled",
                po_number=_po(order),
                line=number,
            )


def _check_cancel_order(order: Order, command: CancelOrder) -> None:
    _check_not_closed(order)
    _check_new_id(
        order, command.cancellation_id, [c.id for c in order.cancellations], "cancellation"
    )
    if is_settled(order):
        raise refusal(
            "nothing-open-to-cancel", "every unit is fulfilled or cancelled", po_number=_po(order)
        )


def _check_return(order: Order, command: RecordReturn) -> None:
    _check_new_id(order, command.return_id, [r.id for r in order.returns], "return")
    _check_line_quantities(order, command.lines, required=True, what="the return")
    for entry in merge_quantities(command.lines):
        number = entry.line_number
        returnable = fulfilled_quantity(order, number) - returned_quantity(order, number)
        if entry.quantity > returnable:
            raise refusal(
                "return-only-of-fulfilled-unreturned-quantity",
                f"cannot return {entry.quantity}: {returnable} fulfilled and not returned",
                po_number=_po(order),
                line=number,
            )


def _check_amount(order: Order, amount: Decimal, what: str) -> None:
    if not _positive(amount):
        raise refusal(
            "amount-must-be-positive",
            f"{what} amount {amount} is not above zero",
            po_number=_po(order),
        )


def _check_refund(order: Order, command: RecordRefund) -> None:
    _check_new_id(order, command.refund_id, [r.id for r in order.refunds], "refund")
    _check_amount(order, command.amount, "the refund")
    _check_line_quantities(order, command.lines, required=False, what="the refund")


def _check_invoice(order: Order, command: RecordInvoice) -> None:
    _check_new_id(order, command.invoice_number, [i.number for i in order.invoices], "invoice")
    _check_amount(order, command.amount, "the invoice")
    _check_line_quantities(order, command.lines, required=False, what="the invoice")


def _check_accept_invoice(order: Order, command: AcceptInvoice) -> None:
    invoice = order.invoice(command.invoice_number)
    if invoice is None:
        raise refusal(
            "invoice-must-exist",
            f"no invoice {command.invoice_number!r} on the order",
            po_number=_po(order),
        )
    if invoice.accepted:
        raise refusal(
            "invoice-accepted-once",
            f"invoice {command.invoice_number!r} was already accepted",
            po_number=_po(order),
        )


def _check_mark_paid(order: Order, command: MarkPaid) -> None:
    if is_paid(order):
        raise refusal(
            "paid-order-cannot-be-marked-paid", "the order is already paid", po_number=_po(order)
        )
    if command.amount is not None:
        _check_amount(order, command.amount, "the payment")


def _check_note_exists(order: Order, note_id: str) -> None:
    if order.note(note_id) is None:
        raise refusal("note-must-exist", f"no note {note_id!r} on the order", po_number=_po(order))


def _check_note_text(order: Order, text: str) -> None:
    if not text.strip():
        raise refusal("note-needs-text", "the note is empty", po_number=_po(order))


# Invariants -----------------------------------------------------------------------------------


def broken_invariants(order: Order) -> list[str]:
    """What is wrong with `order`, worked out from its raw records (empty when all is well):
    no negative quantity; fulfilled + cancelled <= ordered and returned <= fulfilled per line;
    records name only lines the order has; flags and statuses agree with the quantities."""
    problems: list[str] = []
    line_numbers = {line.line_number for line in order.lines}
    if len(line_numbers) != len(order.lines):
        problems.append("two lines share a line number")
    records = [
        *(("fulfilment", f.id, f.lines) for f in order.fulfillments),
        *(("cancellation", c.id, c.lines) for c in order.cancellations),
        *(("return", r.id, r.lines) for r in order.returns),
    ]
    for kind, record_id, lines in records:
        for entry in lines:
            if entry.quantity <= 0:
                problems.append(f"{kind} {record_id} has quantity {entry.quantity}")
            if entry.line_number not in line_numbers:
                problems.append(f"{kind} {record_id} names missing line {entry.line_number}")
    totals: dict[str, dict[str, Decimal]] = {
        number: {"fulfilment": ZERO, "cancellation": ZERO, "return": ZERO}
        for number in line_numbers
    }
    for kind, _, lines in records:
        for entry in lines:
            if entry.line_number in totals:
                totals[entry.line_number][kind] += entry.quantity
    for line in order.lines:
        ordered = line.ordered
        sums = totals[line.line_number]
        fulfilled, cancelled, returned = sums["fulfilment"], sums["cancellation"], sums["return"]
        where = f"line {line.line_number}"
        if ordered < 0:
            problems.append(f"{where}: ordered {ordered} is negative")
        if fulfilled + cancelled > ordered:
            problems.append(f"{where}: fulfilled {fulfilled} + cancelled {cancelled} > {ordered}")
        if returned > fulfilled:
            problems.append(f"{where}: returned {returned} > fulfilled {fulfilled}")
        if (line.fulfilled, line.cancelled, line.returned) != (fulfilled, cancelled, returned):
            problems.append(f"{where}: derived quantities disagree with the records")
        if line.open != ordered - fulfilled - cancelled:
            problems.append(f"{where}: open {line.open} is not ordered - fulfilled - cancelled")
    problems.extend(_broken_flags(order, totals))
    return problems


def _broken_flags(order: Order, totals: dict[str, dict[str, Decimal]]) -> list[str]:
    problems: list[str] = []
    now = flags(order)
    every_open_zero = all(
        line.ordered
        - totals[line.line_number]["fulfilment"]
        - totals[line.line_number]["cancellation"]
        == 0
        for line in order.lines
    )
    any_fulfilled = any(sums["fulfilment"] > 0 for sums in totals.values())
    expected = {
        Flag.SETTLED: every_open_zero,
        Flag.SHIPPED: every_open_zero and any_fulfilled,
        Flag.CANCELLED: every_open_zero and not any_fulfilled,
        Flag.COMPLETED: every_open_zero
        and any_fulfilled
        and all(f.passed_on for f in order.fulfillments),
        Flag.RETURNED: bool(order.returns or order.refunds),
        Flag.CONFIRMED: bool(order.confirmations),
        Flag.TEST: order.is_test,
    }
    for flag, holds in expected.items():
        if (flag in now) != holds:
            problems.append(f"flag {flag.value} is {'missing' if holds else 'set'} wrongly")
    if Flag.SHIPPED in now and Flag.CANCELLED in now:
        problems.append("both Shipped and Cancelled")
    status = fulfillment_status(order)
    if (status is FulfillmentStatus.CANCELLED) != (Flag.CANCELLED in now):
        problems.append(f"fulfilment status {status.value} disagrees with the Cancelled flag")
    if status is FulfillmentStatus.UNFULFILLED and any_fulfilled:
        problems.append("fulfilment status Unfulfilled with quantity fulfilled")
    paid_statuses = {PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
    money = payment_status(order)
    if Flag.PAID in now and money not in paid_statuses:
        problems.append(f"flag Paid with payment status {money.value}")
    if money is PaymentStatus.PAID and Flag.PAID not in now:
        problems.append("payment status Paid without the Paid flag")
    for kind, amounts in (
        ("invoice", [i.amount for i in order.invoices]),
        ("payment", [p.amount for p in order.payments]),
        ("refund", [r.amount for r in order.refunds]),
    ):
        if any(amount < 0 for amount in amounts):
            problems.append(f"a negative {kind} amount")
    return problems


def check_invariants(order: Order) -> None:
    """Raise AssertionError listing every broken invariant (for tests and debugging)."""
    problems = broken_invariants(order)
    if problems:
        raise AssertionError(f"order {order.po_number}: " + "; ".join(problems))
