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
                                                   CreateFulfilment, CancelLines, RecordReturn,
                                                   RecordRefund, RecordInvoice
    quantity-within-limit                          CreateFulfilment, CancelLines, RecordReturn,
                                                   RecordRefund
    counted-units-are-whole                        CreateFulfilment, CancelLines, RecordReturn,
                                                   RecordRefund
    price-cannot-be-negative                       ReceiveOrder, ReplaceOrder, ChangeLines
    amount-must-be-positive                        RecordRefund, RecordInvoice, MarkPaid
    amount-within-limit                            RecordRefund, RecordInvoice, MarkPaid
    record-needs-lines                             CreateFulfilment, CancelLines, RecordReturn
    line-must-exist                                CreateFulfilment, CancelLines, RecordReturn,
                                                   RecordRefund, RecordInvoice, ConfirmOrder,
                                                   RecordChangeAnswer
    record-id-unique                               CreateFulfilment, TrackDocument, CancelLines,
                                                   CancelOrder, RecordReturn, RecordRefund,
                                                   RecordInvoice, AddNote
    cancelled-order-is-closed                      ReplaceOrder, ChangeLines, ConfirmOrder,
                                                   CancelLines, CancelOrder, ChangeCustomer,
                                                   ChangeDates
    no-change-after-shipped                        ReplaceOrder, ChangeLines, ConfirmOrder,
                                                   CancelLines, CancelOrder, ChangeCustomer,
                                                   ChangeDates, CreateFulfilment
    acknowledgement-direction-follows-role         ConfirmOrder
    cancelled-quantity-cannot-be-fulfilled         CreateFulfilment
    fulfilment-takes-only-open-quantity            CreateFulfilment
    carrier-must-be-known                          CreateFulfilment
    tracking-number-required                       CreateFulfilment
    tracking-number-must-be-valid                  CreateFulfilment
    tracking-number-used-once                      CreateFulfilment
    tracking-url-http-only                         CreateFulfilment
    ship-date-plausible                            CreateFulfilment
    several-tracking-numbers-need-several-products CreateFulfilment
    sscc-must-be-valid                             CreateFulfilment
    packs-match-fulfilment                         CreateFulfilment
    shipment-status-moves-forward                  CreateFulfilment, UpdateShipmentStatus
    fulfilment-must-exist                          UpdateShipmentStatus, TrackDocument
    document-must-be-tracked                       RecordDocumentState
    document-state-moves-forward                   RecordDocumentState
    fulfilled-quantity-cannot-be-cancelled         CancelLines
    cancellation-takes-only-open-quantity          CancelLines
    nothing-open-to-cancel                         CancelOrder
    replace-cannot-reduce-below-settled            ReplaceOrder, ChangeLines
    replace-cannot-remove-fulfilled-line           ReplaceOrder
    return-only-of-fulfilled-unreturned-quantity   RecordReturn
    refund-only-of-shipped-quantity                RecordRefund
    refund-cannot-exceed-paid                      RecordRefund
    invoice-must-exist                             AcceptInvoice
    invoice-accepted-once                          AcceptInvoice
    paid-order-cannot-be-marked-paid               MarkPaid
    payment-needs-invoiced-balance                 MarkPaid
    payment-cannot-exceed-balance                  MarkPaid
    note-must-exist                                EditNote, DeleteNote
    note-needs-text                                AddNote, EditNote

Rules kept by the absence of a command (nothing to check, nothing can break them)::

    rule                                           what is missing on purpose
    ---------------------------------------------  --------------------------------------------
    fulfilment-is-never-edited                     no command edits or deletes a fulfilment;
                                                   only its shipment status moves on, and it is
                                                   passed on when its 856 reaches the partner
    cancellation-is-final                          no command undoes a cancellation or lowers a
                                                   cancelled quantity

Rules that derive a status (computed on demand, never stored)::

    rule                                           derived from
    ---------------------------------------------  --------------------------------------------
    confirmed-once-vendor-has-the-order            their 855 received; our 850 or order email
                                                   reaching the seller; our 855 delivered
    settled-when-every-unit-fulfilled-or-cancelled open quantity of every line is zero
    shipped-when-every-line-fulfilled              settled, with some quantity fulfilled
    cancelled-when-every-unit-cancelled            settled, with nothing fulfilled
    completed-when-fulfilment-information-reached-the-other-side
                                                   shipped, confirmed, every fulfilment passed
                                                   on, no 855/856 still queued or failed
    returned-when-return-or-refund-recorded        returns and refunds
    paid-when-payments-reach-invoiced-and-shipped-invoiced
                                                   invoices, their lines, payments
    fulfilment-status-at-a-glance                  quantities
    payment-status-from-amounts                    invoiced, paid and refunded amounts

A derived flag can raise an event of its own (state-triggered, as h11 has them): when a command
makes the order Confirmed, Shipped, Cancelled or Completed, `FLAG_EVENTS` says which event
follows the command's own.

Flags are facts the gateway can prove, never intentions: a document queued proves nothing. The
order follows each document of ours about it (`Dispatch`: queued, delivered, accepted, rejected,
failed, moved on by `TrackDocument` and `RecordDocumentState` as the outbox, the mail server and
the partner's acknowledgements report), and Confirmed and Completed are read from those states.

Two deliberate readings: Shipped locks the order's goods and terms (no replacement, deciding
acknowledgement, cancellation, customer or date change, no new fulfilment), but returns, refunds,
invoices, payments, shipment tracking, notes and acknowledgements that agree with what shipped
still go on, because an 810 and the carrier's delivery scan normally come after the 856. And a
fulfilment's quantity counts as fulfilled whatever its shipment status, CANCELLED included: a
fulfilment is a fact that is never undone, so the units of a cancelled shipment stay fulfilled.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gateway.domain import carriers, events
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
    CreateFulfilment,
    DeleteNote,
    EditNote,
    MarkPaid,
    ReceiveOrder,
    RecordChangeAnswer,
    RecordDocumentState,
    RecordInvoice,
    RecordRefund,
    RecordRefusal,
    RecordReturn,
    ReplaceOrder,
    TrackDocument,
    UpdateShipmentStatus,
)
from gateway.domain.records import (
    ZERO,
    Dispatch,
    OrderRecord,
    cancelled_quantity,
    fulfilled_quantity,
    returned_quantity,
)
from gateway.domain.values import (
    COUNTED_UNITS,
    DATE_FIELDS,
    MAX_AMOUNT,
    MAX_QUANTITY,
    ConfirmationMethod,
    DocumentKind,
    DocumentState,
    LineAnswerStatus,
    LineQuantity,
    Pack,
    PurchaseOrderLine,
    PurposeCode,
    Role,
    ShipmentStatus,
    merge_quantities,
    quantity_of,
)
from gateway.errors import RuleViolation, register_rule

CENT = Decimal("0.01")


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


class FulfilmentStatus(enum.StrEnum):
    """Where the goods of the whole order stand (the specification's order page)."""

    UNFULFILLED = "unfulfilled"
    PARTIALLY_FULFILLED = "partially fulfilled"
    FULFILLED = "fulfilled"


class PaymentStatus(enum.StrEnum):
    """Where the money of the whole order stands (the specification's order page)."""

    PENDING = "pending"  # nothing paid yet
    AUTHORIZED = "authorized"  # every invoice accepted by the side that owes it, not paid yet
    PARTIALLY_PAID = "partially paid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"  # cancelled with nothing paid: nothing will be


@dataclass(frozen=True)
class Rule:
    """One rule: its stable name, what it says, and the commands it can refuse."""

    name: str
    statement: str
    guards: tuple[type[Command], ...] = ()

    def __post_init__(self) -> None:
        register_rule(self.name, self.statement)  # one registry of every rule (gateway.errors)


EVERY_COMMAND: tuple[type[Command], ...] = (
    ReceiveOrder,
    ReplaceOrder,
    ChangeLines,
    ConfirmOrder,
    CreateFulfilment,
    UpdateShipmentStatus,
    TrackDocument,
    RecordDocumentState,
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
LOCKED_AFTER_SHIPPED: tuple[type[Command], ...] = (*CLOSING, CreateFulfilment)
"""What Shipped locks: the order's goods, terms, ship-to and dates. Returns, refunds, invoices,
payments, notes, shipment statuses, documents' progress and acknowledgements that agree with
what shipped go on."""
RECORD_LINES: tuple[type[Command], ...] = (
    CreateFulfilment,
    CancelLines,
    RecordReturn,
    RecordRefund,
)
"""The records whose line quantities are counted goods (whole numbers for counted units)."""

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
            CreateFulfilment,
            CancelLines,
            RecordReturn,
            RecordRefund,
            RecordInvoice,
        ),
    ),
    Rule(
        "quantity-within-limit",
        f"a quantity recorded is at most {MAX_QUANTITY:,}",
        RECORD_LINES,
    ),
    Rule(
        "counted-units-are-whole",
        "a quantity of a unit that is counted (EA, CA, PK...) is a whole number",
        RECORD_LINES,
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
        "amount-within-limit",
        f"an amount of money is in cents and at most {MAX_AMOUNT:,}",
        (RecordRefund, RecordInvoice, MarkPaid),
    ),
    Rule(
        "record-needs-lines",
        "a fulfilment, cancellation or return names at least one line",
        (CreateFulfilment, CancelLines, RecordReturn),
    ),
    Rule(
        "line-must-exist",
        "a record names only lines of the order",
        (
            CreateFulfilment,
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
            CreateFulfilment,
            TrackDocument,
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
        "no-change-after-shipped",
        "after Shipped only returns, refunds, invoices, payments, notes, shipment statuses and"
        " acknowledgements that agree with what shipped change the order",
        LOCKED_AFTER_SHIPPED,
    ),
    Rule(
        "acknowledgement-direction-follows-role",
        "a seller sends the 855, a buyer receives it",
        (ConfirmOrder,),
    ),
    Rule(
        "cancelled-quantity-cannot-be-fulfilled",
        "a fulfilment cannot take quantity that was cancelled",
        (CreateFulfilment,),
    ),
    Rule(
        "fulfilment-takes-only-open-quantity",
        "a line is not fulfilled beyond its open quantity",
        (CreateFulfilment,),
    ),
    Rule(
        "carrier-must-be-known",
        "a fulfilment names its carrier by the SCAC of a carrier of the carriers table",
        (CreateFulfilment,),
    ),
    Rule(
        "tracking-number-required",
        "a fulfilment carries at least one tracking number",
        (CreateFulfilment,),
    ),
    Rule(
        "tracking-number-must-be-valid",
        "a tracking number has its carrier's form and check digit, and is no dummy",
        (CreateFulfilment,),
    ),
    Rule(
        "tracking-number-used-once",
        "a tracking number appears once on an order",
        (CreateFulfilment,),
    ),
    Rule(
        "tracking-url-http-only",
        "a tracking URL is an absolute http or https address",
        (CreateFulfilment,),
    ),
    Rule(
        "ship-date-plausible",
        "a ship date is not before the order date and not in the future",
        (CreateFulfilment,),
    ),
    Rule(
        "several-tracking-numbers-need-several-products",
        "a fulfilment of one line item carries at most one tracking number",
        (CreateFulfilment,),
    ),
    Rule(
        "sscc-must-be-valid",
        "a pack's SSCC-18 has 18 digits and a right mod-10 check digit",
        (CreateFulfilment,),
    ),
    Rule(
        "packs-match-fulfilment",
        "the packs of a fulfilment hold exactly its line quantities",
        (CreateFulfilment,),
    ),
    Rule(
        "shipment-status-moves-forward",
        "a shipment status follows SHIPMENT_TRANSITIONS; nothing starts as CANCELLED",
        (CreateFulfilment, UpdateShipmentStatus),
    ),
    Rule(
        "fulfilment-must-exist",
        "a command about a fulfilment names one the order holds",
        (UpdateShipmentStatus, TrackDocument),
    ),
    Rule(
        "document-must-be-tracked",
        "the progress recorded is of a document the order follows",
        (RecordDocumentState,),
    ),
    Rule(
        "document-state-moves-forward",
        "a document's state follows DOCUMENT_TRANSITIONS",
        (RecordDocumentState,),
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
        "return-only-of-fulfilled-unreturned-quantity",
        "a return takes only quantity fulfilled and not yet returned",
        (RecordReturn,),
    ),
    Rule(
        "refund-only-of-shipped-quantity",
        "the quantities refunded on a line add up to at most what shipped of it",
        (RecordRefund,),
    ),
    Rule(
        "refund-cannot-exceed-paid",
        "refunds add up to at most what was paid",
        (RecordRefund,),
    ),
    Rule("invoice-must-exist", "an accepted invoice is one the order holds", (AcceptInvoice,)),
    Rule("invoice-accepted-once", "an invoice is accepted once", (AcceptInvoice,)),
    Rule(
        "paid-order-cannot-be-marked-paid",
        "an order already Paid is not marked paid again",
        (MarkPaid,),
    ),
    Rule(
        "payment-needs-invoiced-balance",
        "a payment pays an invoiced balance still open",
        (MarkPaid,),
    ),
    Rule(
        "payment-cannot-exceed-balance",
        "a payment is at most the invoiced balance still open (no overpayment)",
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
    Rule(
        "confirmed-once-vendor-has-the-order",
        "Confirmed once the vendor is known to have the order: their 855 received, our 850"
        " delivered (and accepted when they owe a 997), our order email taken by the mail"
        " server, or, when we sell, our 855 delivered",
    ),
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
        "completed-when-fulfilment-information-reached-the-other-side",
        "Completed when Shipped, Confirmed, every fulfilment passed on (its 856 delivered, and"
        " accepted when a 997 is owed, or received from the seller) and no 855 or 856 about the"
        " order still queued or failed",
    ),
    Rule("returned-when-return-or-refund-recorded", "Returned once a return or refund is recorded"),
    Rule(
        "paid-when-payments-reach-invoiced-and-shipped-invoiced",
        "Paid when the payments reach the invoiced total and what shipped is invoiced",
    ),
    Rule("fulfilment-status-at-a-glance", "one fulfilment status from the quantities"),
    Rule("payment-status-from-amounts", "one payment status from invoices, payments, refunds"),
)

RULES: dict[str, Rule] = {
    rule.name: rule for rule in (*GUARD_RULES, *STRUCTURAL_RULES, *DERIVATION_RULES)
}

_ON_THE_WAY = frozenset(
    {
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.OUT_FOR_DELIVERY,
        ShipmentStatus.DELIVERED,
        ShipmentStatus.DELIVERY_FAILED,
        ShipmentStatus.RETURNED_TO_SENDER,
    }
)
SHIPMENT_TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    ShipmentStatus.AWAITING_SHIPMENT: frozenset(
        {ShipmentStatus.LABEL_CREATED, ShipmentStatus.SHIPPED, ShipmentStatus.CANCELLED}
        | _ON_THE_WAY
    ),
    ShipmentStatus.LABEL_CREATED: frozenset({ShipmentStatus.SHIPPED, ShipmentStatus.CANCELLED})
    | _ON_THE_WAY,
    ShipmentStatus.SHIPPED: _ON_THE_WAY,
    ShipmentStatus.IN_TRANSIT: _ON_THE_WAY - {ShipmentStatus.IN_TRANSIT},
    ShipmentStatus.OUT_FOR_DELIVERY: frozenset(
        {
            ShipmentStatus.DELIVERED,
            ShipmentStatus.DELIVERY_FAILED,
            ShipmentStatus.RETURNED_TO_SENDER,
        }
    ),
    # a failed delivery is tried again, or the parcel goes back
    ShipmentStatus.DELIVERY_FAILED: _ON_THE_WAY - {ShipmentStatus.DELIVERY_FAILED},
    ShipmentStatus.DELIVERED: frozenset(),
    ShipmentStatus.RETURNED_TO_SENDER: frozenset(),
    ShipmentStatus.CANCELLED: frozenset(),
}
"""Which shipment status may follow which (a repeated status is no move and is refused)."""

DOCUMENT_TRANSITIONS: dict[DocumentState, frozenset[DocumentState]] = {
    # the partner's answer proves delivery too (a crash may lose our record of handing it over)
    DocumentState.QUEUED: frozenset(
        {
            DocumentState.DELIVERED,
            DocumentState.ACCEPTED,
            DocumentState.REJECTED,
            DocumentState.FAILED,
        }
    ),
    # a later acknowledgement may correct an earlier one; anything may be queued to be resent
    DocumentState.DELIVERED: frozenset(
        {DocumentState.ACCEPTED, DocumentState.REJECTED, DocumentState.QUEUED}
    ),
    DocumentState.ACCEPTED: frozenset({DocumentState.REJECTED, DocumentState.QUEUED}),
    DocumentState.REJECTED: frozenset({DocumentState.ACCEPTED, DocumentState.QUEUED}),
    DocumentState.FAILED: frozenset({DocumentState.QUEUED, DocumentState.DELIVERED}),
}
"""Which state of a followed document may follow which (the same state again records
nothing)."""

OUTSTANDING = frozenset({DocumentState.QUEUED, DocumentState.FAILED})
"""A document in these states has not reached the partner, and may still be sent."""

FULFILMENT_INFORMATION = frozenset({DocumentKind.ACKNOWLEDGEMENT, DocumentKind.SHIP_NOTICE})
"""The documents that carry what the other side must know before the order is Completed."""

INITIAL_SHIPMENT_STATUSES = frozenset(ShipmentStatus) - {
    ShipmentStatus.CANCELLED,
    ShipmentStatus.RETURNED_TO_SENDER,
}

ACKNOWLEDGEMENT_DIRECTION: dict[ConfirmationMethod, Role] = {
    ConfirmationMethod.ACKNOWLEDGEMENT_SENT: Role.SELLER,
    ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED: Role.BUYER,
}
"""Who we must be for an 855 to go that way; a vendor can be notified by either side."""

RECEIVABLE_PURPOSES = frozenset(
    {PurposeCode.ORIGINAL, PurposeCode.REPLACE, PurposeCode.CONFIRMATION, PurposeCode.DUPLICATE}
)

FLAG_EVENTS: tuple[tuple[Flag, type[events.Event]], ...] = (
    (Flag.CONFIRMED, events.ConfirmationProven),
    (Flag.SHIPPED, events.OrderShipped),
    (Flag.CANCELLED, events.OrderCancelled),
    (Flag.COMPLETED, events.OrderCompleted),
)
"""State-triggered events: raised after a command's own events when it raises the flag."""


def refusal(rule: str, message: str, *, po_number: str, line: str = "") -> RuleViolation:
    """The `RuleViolation` for `rule`, which must be in `RULES` (a typo is our bug: KeyError)."""
    return RuleViolation(RULES[rule].name, message, po_number=po_number, line=line)


# Quantities and amounts ----------------------------------------------------------------------


def settled_quantity(order: OrderRecord, line_number: str) -> Decimal:
    """Fulfilled + cancelled quantity of the line."""
    return fulfilled_quantity(order, line_number) + cancelled_quantity(order, line_number)


def open_quantity(order: OrderRecord, line_number: str) -> Decimal:
    """Ordered - fulfilled - cancelled quantity of the line (zero for a line not held)."""
    line = order.line(line_number)
    if line is None:
        return ZERO
    return line.ordered - settled_quantity(order, line_number)


def total_fulfilled(order: OrderRecord) -> Decimal:
    """Quantity fulfilled over all lines."""
    return sum((e.quantity for f in order.fulfilments for e in f.lines), ZERO)


def invoiced_amount(order: OrderRecord) -> Decimal:
    """Sum of all invoices."""
    return sum((invoice.amount for invoice in order.invoices), ZERO)


def paid_amount(order: OrderRecord) -> Decimal:
    """Sum of all payments."""
    return sum((payment.amount for payment in order.payments), ZERO)


def refunded_amount(order: OrderRecord) -> Decimal:
    """Sum of all refunds."""
    return sum((refund.amount for refund in order.refunds), ZERO)


# Derived flags and statuses -------------------------------------------------------------------


def delivered(dispatch: Dispatch) -> bool:
    """The document reached the partner (their mailbox or mail server took it) and was not
    rejected since."""
    return dispatch.state in (DocumentState.DELIVERED, DocumentState.ACCEPTED)


def reached(dispatch: Dispatch) -> bool:
    """The document reached the partner's system: accepted by their 997/999 when they owe one,
    else delivered."""
    if dispatch.needs_acceptance:
        return dispatch.state is DocumentState.ACCEPTED
    return delivered(dispatch)


def carrying_notice(order: OrderRecord, fulfilment_id: str) -> str | None:
    """The 856 of ours that carries the fulfilment, on its way or arrived (a rejected one does
    not: it must be sent again); None when none does."""
    return next(
        (
            d.document
            for d in order.dispatches
            if d.kind is DocumentKind.SHIP_NOTICE
            and fulfilment_id in d.fulfilment_ids
            and d.state is not DocumentState.REJECTED
        ),
        None,
    )


def acknowledgement_delivered(order: OrderRecord) -> bool:
    """An 855 of ours reached the buyer (and was not rejected since)."""
    return any(d.kind is DocumentKind.ACKNOWLEDGEMENT and delivered(d) for d in order.dispatches)


def is_confirmed(order: OrderRecord) -> bool:
    """confirmed-once-vendor-has-the-order."""
    if any(c.how is ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED for c in order.confirmations):
        return True
    if order.our_role is Role.SELLER:
        return acknowledgement_delivered(order)
    return any(
        d.kind in (DocumentKind.ORDER, DocumentKind.ORDER_EMAIL) and reached(d)
        for d in order.dispatches
    )


def dates_moved(order: OrderRecord, command: ChangeDates) -> list[tuple[str, date | None, date]]:
    """The dates `command` gives that differ from the order's: (name, now, new) each."""
    moved = []
    for name in DATE_FIELDS:
        new = getattr(command, name)
        if new is not None and new != getattr(order, name):
            moved.append((name, getattr(order, name), new))
    return moved


def is_settled(order: OrderRecord) -> bool:
    """settled-when-every-unit-fulfilled-or-cancelled (the order is complete)."""
    return all(open_quantity(order, line.line_number) <= 0 for line in order.lines)


def is_shipped(order: OrderRecord) -> bool:
    """shipped-when-every-line-fulfilled: settled, and not by cancellation alone."""
    return is_settled(order) and total_fulfilled(order) > 0


def is_cancelled(order: OrderRecord) -> bool:
    """cancelled-when-every-unit-cancelled: settled with nothing fulfilled."""
    return is_settled(order) and total_fulfilled(order) == 0


def is_completed(order: OrderRecord) -> bool:
    """completed-when-fulfilment-information-reached-the-other-side (a fully cancelled order is
    Cancelled instead)."""
    return (
        is_shipped(order)
        and is_confirmed(order)
        and all(f.passed_on for f in order.fulfilments)
        and not any(
            d.state in OUTSTANDING for d in order.dispatches if d.kind in FULFILMENT_INFORMATION
        )
    )


def is_archived(order: OrderRecord) -> bool:
    """Nothing more is expected of the order but returns or problems: Completed or Cancelled."""
    return is_completed(order) or is_cancelled(order)


def is_returned(order: OrderRecord) -> bool:
    """returned-when-return-or-refund-recorded."""
    return bool(order.returns or order.refunds)


def invoiced_quantity(order: OrderRecord, line_number: str) -> Decimal:
    """Quantity of the line in all invoices."""
    return sum((quantity_of(i.lines, line_number) for i in order.invoices), ZERO)


def shipped_is_invoiced(order: OrderRecord) -> bool:
    """Every line's fulfilled quantity is invoiced (an invoice without lines bills the order as
    a whole)."""
    if any(not i.lines for i in order.invoices):
        return True
    return all(
        invoiced_quantity(order, line.line_number) >= fulfilled_quantity(order, line.line_number)
        for line in order.lines
    )


def open_balance(order: OrderRecord) -> Decimal:
    """The invoiced amount not paid yet (zero or more)."""
    return max(invoiced_amount(order) - paid_amount(order), ZERO)


def is_paid(order: OrderRecord) -> bool:
    """paid-when-payments-reach-invoiced-and-shipped-invoiced."""
    invoiced = invoiced_amount(order)
    return invoiced > 0 and paid_amount(order) >= invoiced and shipped_is_invoiced(order)


def flags(order: OrderRecord) -> frozenset[Flag]:
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


def fulfilment_status(order: OrderRecord) -> FulfilmentStatus:
    """fulfilment-status-at-a-glance: Unfulfilled while nothing is fulfilled, Fulfilled once
    every line is fulfilled or cancelled, Partially fulfilled between the two."""
    if total_fulfilled(order) == 0:
        return FulfilmentStatus.UNFULFILLED
    if not is_settled(order):
        return FulfilmentStatus.PARTIALLY_FULFILLED
    return FulfilmentStatus.FULFILLED


def payment_status(order: OrderRecord) -> PaymentStatus:
    """payment-status-from-amounts. With refunds: Refunded once they reach what was paid, else
    Partially refunded. Without: Paid (see `is_paid`), Partially paid (some payment), Voided (a
    cancelled order with nothing paid), Authorized (invoiced and every invoice accepted),
    Pending."""
    paid = paid_amount(order)
    refunded = refunded_amount(order)
    if refunded > 0:
        return PaymentStatus.REFUNDED if refunded >= paid else PaymentStatus.PARTIALLY_REFUNDED
    if is_paid(order):
        return PaymentStatus.PAID
    if paid > 0:
        return PaymentStatus.PARTIALLY_PAID
    if is_cancelled(order):
        return PaymentStatus.VOIDED
    if order.invoices and all(i.accepted for i in order.invoices):
        return PaymentStatus.AUTHORIZED
    return PaymentStatus.PENDING


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


def check_same_order(order: OrderRecord, command: Command) -> None:
    """command-matches-order: refuse a command that names another order."""
    if (command.partner, command.po_number) != (order.partner, order.po_number):
        raise refusal(
            "command-matches-order",
            f"a command for {command.partner} {command.po_number} reached"
            f" {order.partner} {order.po_number}",
            po_number=order.po_number,
        )


def check(order: OrderRecord, command: Command) -> None:
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
        case CreateFulfilment():
            _check_fulfilment(order, command)
        case UpdateShipmentStatus():
            _check_shipment_status(order, command)
        case TrackDocument():
            _check_new_id(
                order, command.document, [d.document for d in order.dispatches], "document"
            )
            for fulfilment_id in command.fulfilment_ids:
                _find_fulfilment_status(order, fulfilment_id)
        case RecordDocumentState():
            _check_document_state(order, command)
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
            _check_not_closed(order, "the goods are on their way to the ship-to they had")
        case ChangeDates():
            if dates_moved(order, command):  # the same dates again (an 860 restating them) pass
                _check_not_closed(order, "its dates can no longer move")
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


def _po(order: OrderRecord) -> str:
    return order.po_number


def _ordered(order: OrderRecord, line_number: str) -> Decimal:
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


def _check_not_closed(order: OrderRecord, what: str = "") -> None:
    if is_cancelled(order):
        raise refusal("cancelled-order-is-closed", "the order is cancelled", po_number=_po(order))
    if is_shipped(order):
        raise refusal(
            "no-change-after-shipped",
            f"the order is shipped{': ' + what if what else ''}",
            po_number=_po(order),
        )


def _check_new_id(order: OrderRecord, new_id: str, held: Iterable[str], kind: str) -> None:
    if new_id in held:
        raise refusal(
            "record-id-unique", f"the order already holds {kind} {new_id!r}", po_number=_po(order)
        )


def _check_line_quantities(
    order: OrderRecord,
    lines: tuple[LineQuantity, ...],
    *,
    required: bool,
    what: str,
    goods: bool = True,
) -> None:
    """record-needs-lines, then per entry quantity-must-be-positive, line-must-exist and, for
    records of goods (`goods`), quantity-within-limit and counted-units-are-whole."""
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
        line = order.line(entry.line_number)
        if line is None:
            raise refusal(
                "line-must-exist",
                f"{what} names a line the order does not have",
                po_number=_po(order),
                line=entry.line_number,
            )
        if not goods:
            continue
        if entry.quantity > MAX_QUANTITY:
            raise refusal(
                "quantity-within-limit",
                f"{what} quantity {entry.quantity} is above {MAX_QUANTITY:,}",
                po_number=_po(order),
                line=entry.line_number,
            )
        if (
            line.unit_of_measure.upper() in COUNTED_UNITS
            and entry.quantity != entry.quantity.to_integral_value()
        ):
            raise refusal(
                "counted-units-are-whole",
                f"{what} quantity {entry.quantity} {line.unit_of_measure} is not a whole number",
                po_number=_po(order),
                line=entry.line_number,
            )


def _check_replace(order: OrderRecord, command: ReplaceOrder) -> None:
    _check_not_closed(order, "its lines and terms can no longer be replaced")
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


def _check_change_lines(order: OrderRecord, command: ChangeLines) -> None:
    _check_not_closed(order, "its lines, quantities and prices can no longer change")
    _check_order_lines(command.lines, _po(order))
    _check_new_line_terms(order, command.lines, "change")


def _check_new_line_terms(
    order: OrderRecord, lines: tuple[PurchaseOrderLine, ...], what: str
) -> None:
    """New terms for held lines keep them at their settled quantity at least."""
    for terms in lines:
        number = terms.line_number
        if order.line(number) is None:
            continue
        settled = settled_quantity(order, number)
        if terms.ordered < settled:
            raise refusal(
                "replace-cannot-reduce-below-settled",
                f"the {what} orders {terms.ordered}, below the {settled} fulfilled or cancelled",
                po_number=_po(order),
                line=number,
            )


def _check_confirm(order: OrderRecord, command: ConfirmOrder) -> None:
    restating = command.restates and any(c.how is command.how for c in order.confirmations)
    if not restating:  # a restatement decides nothing: a closed order records it too
        if is_cancelled(order):
            raise refusal(
                "cancelled-order-is-closed", "the order is cancelled", po_number=_po(order)
            )
        if is_shipped(order):
            _check_agrees_with_shipment(order, command)
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


NOT_ACCEPTING = frozenset(
    {LineAnswerStatus.REJECTED, LineAnswerStatus.BACKORDERED, LineAnswerStatus.ON_HOLD}
)
"""Line answers that accept no quantity now."""


def _check_agrees_with_shipment(order: OrderRecord, command: ConfirmOrder) -> None:
    """After Shipped, an acknowledgement may still be recorded (a seller who shipped before
    answering), but only one that says what happened: each line it answers accepted at exactly
    its fulfilled quantity."""
    answered: dict[str, Decimal] = {}
    for answer in command.lines:
        line = order.line(answer.line_number)
        if line is None:
            continue  # line-must-exist says so
        accepted = ZERO
        if answer.status not in NOT_ACCEPTING:
            accepted = line.ordered if answer.quantity is None else answer.quantity
        answered[answer.line_number] = answered.get(answer.line_number, ZERO) + accepted
    for number, accepted in answered.items():
        shipped = fulfilled_quantity(order, number)
        if accepted != shipped:
            raise refusal(
                "no-change-after-shipped",
                f"the order is shipped with {shipped} of the line; an acknowledgement"
                f" accepting {accepted} contradicts it",
                po_number=_po(order),
                line=number,
            )


def _check_fulfilment(order: OrderRecord, command: CreateFulfilment) -> None:
    _check_new_id(order, command.fulfilment_id, [f.id for f in order.fulfilments], "fulfilment")
    if is_shipped(order):
        raise refusal(
            "no-change-after-shipped",
            f"the order is shipped; fulfilment {command.fulfilment_id!r} comes too late",
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
    _check_shipment_data(order, command)
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


SHIP_DATE_LEEWAY = dt.timedelta(days=1)
"""A ship date may be one day past the command's UTC date: where the seller is, east of UTC,
it may already be tomorrow."""


def _check_shipment_data(order: OrderRecord, command: CreateFulfilment) -> None:
    """What a fulfilment tells the other side, checked before it is recorded for good: a known
    carrier, valid tracking numbers used once, an http(s) tracking URL, a plausible ship
    date."""
    carrier = carriers.by_scac(command.carrier)
    if carrier is None:
        known = sorted(c.scac for c in carriers.CARRIERS)
        given = f"carrier {command.carrier!r} is not" if command.carrier else "no carrier is"
        raise refusal(
            "carrier-must-be-known",
            f"{given} a SCAC of the carriers table (known: {', '.join(known)})",
            po_number=_po(order),
        )
    if not command.tracking_numbers:
        raise refusal(
            "tracking-number-required",
            f"fulfilment {command.fulfilment_id!r} has no tracking number",
            po_number=_po(order),
        )
    held = {number for f in order.fulfilments for number in f.tracking_numbers}
    seen: set[str] = set()
    for number in command.tracking_numbers:
        problem = carriers.tracking_problem(carrier, number)
        if problem is not None:
            raise refusal("tracking-number-must-be-valid", problem, po_number=_po(order))
        if number in held or number in seen:
            raise refusal(
                "tracking-number-used-once",
                f"tracking number {number!r} is already on the order",
                po_number=_po(order),
            )
        seen.add(number)
    problem = carriers.tracking_url_problem(command.tracking_url)
    if problem is not None:
        raise refusal("tracking-url-http-only", problem, po_number=_po(order))
    ship_date = command.ship_date
    if ship_date is not None:
        latest = (command.at + SHIP_DATE_LEEWAY).date()
        if ship_date < order.order_date or ship_date > latest:
            raise refusal(
                "ship-date-plausible",
                f"ship date {ship_date.isoformat()} is "
                + (
                    f"before the order date {order.order_date.isoformat()}"
                    if ship_date < order.order_date
                    else "in the future"
                ),
                po_number=_po(order),
            )


def _check_packs(
    order: OrderRecord, packs: tuple[Pack, ...], lines: tuple[LineQuantity, ...]
) -> None:
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
    return carriers.gs1_check_digit(code[:17]) == int(code[17])


def _find_fulfilment_status(order: OrderRecord, fulfilment_id: str) -> ShipmentStatus:
    fulfilment = order.fulfilment(fulfilment_id)
    if fulfilment is None:
        raise refusal(
            "fulfilment-must-exist",
            f"no fulfilment {fulfilment_id!r} on the order",
            po_number=_po(order),
        )
    return fulfilment.status


def _check_shipment_status(order: OrderRecord, command: UpdateShipmentStatus) -> None:
    current = _find_fulfilment_status(order, command.fulfilment_id)
    if command.status not in SHIPMENT_TRANSITIONS[current]:
        raise refusal(
            "shipment-status-moves-forward",
            f"fulfilment {command.fulfilment_id!r} cannot go from {current.value} to"
            f" {command.status.value}",
            po_number=_po(order),
        )


def _check_document_state(order: OrderRecord, command: RecordDocumentState) -> None:
    dispatch = order.dispatch(command.document)
    if dispatch is None:
        raise refusal(
            "document-must-be-tracked",
            f"the order follows no {command.document}",
            po_number=_po(order),
        )
    if dispatch.state is not command.state and (
        command.state not in DOCUMENT_TRANSITIONS[dispatch.state]
    ):
        raise refusal(
            "document-state-moves-forward",
            f"{command.document} cannot go from {dispatch.state.value} to {command.state.value}",
            po_number=_po(order),
        )


def _check_cancel_lines(order: OrderRecord, command: CancelLines) -> None:
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


def _check_cancel_order(order: OrderRecord, command: CancelOrder) -> None:
    _check_not_closed(order)
    _check_new_id(
        order, command.cancellation_id, [c.id for c in order.cancellations], "cancellation"
    )
    if is_settled(order):
        raise refusal(
            "nothing-open-to-cancel", "every unit is fulfilled or cancelled", po_number=_po(order)
        )


def _check_return(order: OrderRecord, command: RecordReturn) -> None:
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


def _check_amount(order: OrderRecord, amount: Decimal, what: str) -> None:
    if not _positive(amount):
        raise refusal(
            "amount-must-be-positive",
            f"{what} amount {amount} is not above zero",
            po_number=_po(order),
        )
    if amount > MAX_AMOUNT or amount != amount.quantize(CENT):
        raise refusal(
            "amount-within-limit",
            f"{what} amount {amount} is "
            + (f"above {MAX_AMOUNT:,}" if amount > MAX_AMOUNT else "not in whole cents"),
            po_number=_po(order),
        )


def _check_refund(order: OrderRecord, command: RecordRefund) -> None:
    _check_new_id(order, command.refund_id, [r.id for r in order.refunds], "refund")
    _check_amount(order, command.amount, "the refund")
    _check_line_quantities(order, command.lines, required=False, what="the refund")
    refundable = paid_amount(order) - refunded_amount(order)
    if command.amount > refundable:
        raise refusal(
            "refund-cannot-exceed-paid",
            f"cannot refund {command.amount}: {paid_amount(order)} paid,"
            f" {refunded_amount(order)} refunded already",
            po_number=_po(order),
        )
    for entry in merge_quantities(command.lines):
        number = entry.line_number
        before = sum((quantity_of(r.lines, number) for r in order.refunds), ZERO)
        shipped = fulfilled_quantity(order, number)
        if before + entry.quantity > shipped:
            raise refusal(
                "refund-only-of-shipped-quantity",
                f"cannot refund {entry.quantity}: {shipped} shipped, {before} refunded already",
                po_number=_po(order),
                line=number,
            )


def _check_invoice(order: OrderRecord, command: RecordInvoice) -> None:
    _check_new_id(order, command.invoice_number, [i.number for i in order.invoices], "invoice")
    _check_amount(order, command.amount, "the invoice")
    _check_line_quantities(order, command.lines, required=False, what="the invoice", goods=False)


def _check_accept_invoice(order: OrderRecord, command: AcceptInvoice) -> None:
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


def _check_mark_paid(order: OrderRecord, command: MarkPaid) -> None:
    if is_paid(order):
        raise refusal(
            "paid-order-cannot-be-marked-paid", "the order is already paid", po_number=_po(order)
        )
    if command.amount is not None:
        _check_amount(order, command.amount, "the payment")
    balance = open_balance(order)
    if balance <= 0:
        raise refusal(
            "payment-needs-invoiced-balance",
            "nothing is invoiced yet: invoice what shipped first"
            if not order.invoices
            else f"the {invoiced_amount(order)} invoiced is paid; invoice what shipped since",
            po_number=_po(order),
        )
    if command.amount is not None and command.amount > balance:
        raise refusal(
            "payment-cannot-exceed-balance",
            f"a payment of {command.amount} is more than the {balance} still owed",
            po_number=_po(order),
        )


def _check_note_exists(order: OrderRecord, note_id: str) -> None:
    if order.note(note_id) is None:
        raise refusal("note-must-exist", f"no note {note_id!r} on the order", po_number=_po(order))


def _check_note_text(order: OrderRecord, text: str) -> None:
    if not text.strip():
        raise refusal("note-needs-text", "the note is empty", po_number=_po(order))


# Invariants -----------------------------------------------------------------------------------


def broken_invariants(order: OrderRecord) -> list[str]:
    """What is wrong with `order`, worked out from its raw records (empty when all is well):
    no negative quantity; fulfilled + cancelled <= ordered and returned <= fulfilled per line;
    records name only lines the order has; flags and statuses agree with the quantities."""
    problems: list[str] = []
    line_numbers = {line.line_number for line in order.lines}
    if len(line_numbers) != len(order.lines):
        problems.append("two lines share a line number")
    records = [
        *(("fulfilment", f.id, f.lines) for f in order.fulfilments),
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


def _broken_flags(order: OrderRecord, totals: dict[str, dict[str, Decimal]]) -> list[str]:
    """The flags and statuses worked out again from the raw records, each from its definition,
    and compared with what `flags` and the status functions say."""
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
    answered = any(
        c.how is ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED for c in order.confirmations
    )
    proof = {
        Role.SELLER: {DocumentKind.ACKNOWLEDGEMENT},
        Role.BUYER: {DocumentKind.ORDER, DocumentKind.ORDER_EMAIL},
    }[order.our_role]
    notified = any(
        d.kind in proof
        and (
            d.state is DocumentState.ACCEPTED
            or (
                d.state is DocumentState.DELIVERED
                and (not d.needs_acceptance or d.kind is DocumentKind.ACKNOWLEDGEMENT)
            )
        )
        for d in order.dispatches
    )
    waiting = any(
        d.kind in (DocumentKind.ACKNOWLEDGEMENT, DocumentKind.SHIP_NOTICE)
        and d.state in (DocumentState.QUEUED, DocumentState.FAILED)
        for d in order.dispatches
    )
    confirmed = answered or notified
    invoiced = sum((i.amount for i in order.invoices), ZERO)
    paid = sum((p.amount for p in order.payments), ZERO)
    billed = {
        line.line_number: sum(
            (
                e.quantity
                for i in order.invoices
                for e in i.lines
                if e.line_number == line.line_number
            ),
            ZERO,
        )
        for line in order.lines
    }
    whole_invoice = any(not i.lines for i in order.invoices)
    expected = {
        Flag.SETTLED: every_open_zero,
        Flag.SHIPPED: every_open_zero and any_fulfilled,
        Flag.CANCELLED: every_open_zero and not any_fulfilled,
        Flag.COMPLETED: every_open_zero
        and any_fulfilled
        and confirmed
        and not waiting
        and all(f.passed_on for f in order.fulfilments),
        Flag.RETURNED: bool(order.returns or order.refunds),
        Flag.CONFIRMED: confirmed,
        Flag.TEST: order.is_test,
        Flag.PAID: invoiced > 0
        and paid >= invoiced
        and (
            whole_invoice
            or all(billed[number] >= sums["fulfilment"] for number, sums in totals.items())
        ),
    }
    for flag, holds in expected.items():
        if (flag in now) != holds:
            problems.append(f"flag {flag.value} is {'missing' if holds else 'set'} wrongly")
    if Flag.SHIPPED in now and Flag.CANCELLED in now:
        problems.append("both Shipped and Cancelled")
    for fulfilment in order.fulfilments:
        carried = any(
            d.kind is DocumentKind.SHIP_NOTICE and fulfilment.id in d.fulfilment_ids and reached(d)
            for d in order.dispatches
        )
        if carried and not fulfilment.passed_on:
            problems.append(f"fulfilment {fulfilment.id} reached the partner, not passed on")
    status = fulfilment_status(order)
    goods = (
        FulfilmentStatus.UNFULFILLED
        if not any_fulfilled
        else FulfilmentStatus.FULFILLED
        if every_open_zero
        else FulfilmentStatus.PARTIALLY_FULFILLED
    )
    if status is not goods:
        problems.append(f"fulfilment status {status.value}, the quantities say {goods.value}")
    money = payment_status(order)
    if (money is PaymentStatus.PAID) != (Flag.PAID in now and not order.refunds):
        problems.append(f"payment status {money.value} disagrees with the Paid flag")
    refunded = sum((r.amount for r in order.refunds), ZERO)
    if refunded > paid:
        problems.append(f"refunded {refunded} > paid {paid}")
    if paid > invoiced:
        problems.append(f"paid {paid} > invoiced {invoiced}")
    for kind, amounts in (
        ("invoice", [i.amount for i in order.invoices]),
        ("payment", [p.amount for p in order.payments]),
        ("refund", [r.amount for r in order.refunds]),
    ):
        if any(amount < 0 for amount in amounts):
            problems.append(f"a negative {kind} amount")
    return problems


def check_invariants(order: OrderRecord) -> None:
    """Raise AssertionError listing every broken invariant (for tests and debugging)."""
    problems = broken_invariants(order)
    if problems:
        raise AssertionError(f"order {order.po_number}: " + "; ".join(problems))
