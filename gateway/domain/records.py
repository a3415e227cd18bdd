"""The records of an order: its lines and what happened to them (fulfilments, cancellations,
returns, refunds, invoices, payments, confirmations, the documents of ours it follows, notes),
and the facts read straight from them (a line's fulfilled, cancelled and returned quantities).

These are plain data, with no rule: `gateway.domain.rules` reads them to say what an order's state
is and which commands it takes, and `gateway.domain.model.Order` (an `OrderRecord` with its
commands) changes them. So the rules depend on the records, the model on both, and nothing
depends back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from gateway.domain.events import Event, Fact
from gateway.domain.values import (
    CarrierRouting,
    ConfirmationMethod,
    DocumentKind,
    DocumentState,
    LineAnswer,
    LineQuantity,
    Pack,
    Party,
    PurchaseOrderLine,
    PurposeCode,
    Role,
    ShipmentStatus,
    Side,
    Terms,
    quantity_of,
)

ZERO = Decimal(0)


def fulfilled_quantity(order: OrderRecord | LineRecords, line_number: str) -> Decimal:
    """Quantity of the line in all fulfilments (whatever their shipment status)."""
    return sum((quantity_of(f.lines, line_number) for f in order.fulfilments), ZERO)


def cancelled_quantity(order: OrderRecord | LineRecords, line_number: str) -> Decimal:
    """Quantity of the line in all cancellations."""
    return sum((quantity_of(c.lines, line_number) for c in order.cancellations), ZERO)


def returned_quantity(order: OrderRecord | LineRecords, line_number: str) -> Decimal:
    """Quantity of the line in all returns."""
    return sum((quantity_of(r.lines, line_number) for r in order.returns), ZERO)


@dataclass(frozen=True, slots=True)
class LineRecords:
    """What a line reads its quantities from: its order's lists of records (the lists
    themselves, which the order only ever appends to)."""

    fulfilments: list[Fulfilment]
    cancellations: list[Cancellation]
    returns: list[Return]


@dataclass
class LineItem:
    """One line of the order. Its fulfilled, cancelled, returned and open quantities are read
    from the records of the order it belongs to, which the order attaches it to; the link is a
    plain attribute, not a field, so copies, comparisons and stores see only the line's terms.
    The line holds the order's lists of records, not the order: an order and its lines form no
    reference cycle, so an order no longer used is freed at once by reference counting rather
    than left to the cycle collector (whose passes grew with the orders of a big file)."""

    line_number: str
    ordered: Decimal
    unit_of_measure: str = "EA"
    unit_price: Decimal | None = None
    product_ids: dict[str, str] = field(default_factory=dict)  # qualifier -> value (UP, VN...)
    description: str = ""

    def __post_init__(self) -> None:
        self._order: LineRecords | None = None

    def attach(self, order: OrderRecord | None) -> None:
        """Make this a line of `order` (None: of no order), whose records it reads."""
        self._order = (
            LineRecords(order.fulfilments, order.cancellations, order.returns)
            if order is not None
            else None
        )

    @classmethod
    def from_purchase_order_line(cls, line: PurchaseOrderLine) -> LineItem:
        """A new line item with the terms of a PO1 line."""
        return cls(
            line_number=line.line_number,
            ordered=line.ordered,
            unit_of_measure=line.unit_of_measure,
            unit_price=line.unit_price,
            product_ids=dict(line.product_ids),
            description=line.description,
        )

    def take_terms(self, terms: PurchaseOrderLine) -> None:
        """Take the quantity, unit, price, ids and description of a PO1 (or POC) line."""
        self.ordered = terms.ordered
        self.unit_of_measure = terms.unit_of_measure
        self.unit_price = terms.unit_price
        self.product_ids = dict(terms.product_ids)
        self.description = terms.description

    @property
    def fulfilled(self) -> Decimal:
        """Quantity of this line in the order's fulfilments."""
        order = self._order
        return fulfilled_quantity(order, self.line_number) if order else ZERO

    @property
    def cancelled(self) -> Decimal:
        """Quantity of this line in the order's cancellations."""
        order = self._order
        return cancelled_quantity(order, self.line_number) if order else ZERO

    @property
    def returned(self) -> Decimal:
        """Quantity of this line in the order's returns."""
        order = self._order
        return returned_quantity(order, self.line_number) if order else ZERO

    @property
    def open(self) -> Decimal:
        """Ordered - fulfilled - cancelled."""
        return self.ordered - self.fulfilled - self.cancelled


@dataclass
class Fulfilment:
    """A shipment of some quantity of some lines. Never edited once created: only its shipment
    status moves on and it gets marked as passed on to the other side."""

    id: str
    lines: tuple[LineQuantity, ...]
    created_at: datetime
    carrier: str = ""
    tracking_numbers: tuple[str, ...] = ()
    tracking_url: str = ""
    ship_date: date | None = None
    status: ShipmentStatus = ShipmentStatus.SHIPPED
    packs: tuple[Pack, ...] = ()
    passed_on: bool = False


@dataclass(frozen=True)
class Cancellation:
    """Open quantity taken off some lines, by either side, for good."""

    id: str
    lines: tuple[LineQuantity, ...]
    requested_by: Side
    reason: str
    source: str
    at: datetime


@dataclass(frozen=True)
class Return:
    """Fulfilled quantity that came back."""

    id: str
    lines: tuple[LineQuantity, ...]
    reason: str
    source: str
    at: datetime


@dataclass(frozen=True)
class Refund:
    """Money given back, for some lines or for the order as a whole."""

    id: str
    amount: Decimal
    lines: tuple[LineQuantity, ...]
    reason: str
    source: str
    at: datetime


@dataclass
class Invoice:
    """An invoice (810) for the order; `accepted` once the side that owes it accepted it."""

    number: str
    amount: Decimal
    lines: tuple[LineQuantity, ...]
    source: str
    at: datetime
    accepted: bool = False


@dataclass(frozen=True)
class Payment:
    """Money received (or paid) for the order; `in_full` when it paid the open balance."""

    amount: Decimal
    in_full: bool
    reference: str
    at: datetime


@dataclass(frozen=True)
class Confirmation:
    """The order was acknowledged (855 either way) or the vendor notified."""

    how: ConfirmationMethod
    source: str
    at: datetime
    lines: tuple[LineAnswer, ...] = ()


@dataclass
class Dispatch:
    """A document of ours about the order (an 850, 855, 856, 810, 860, 865 or the order's
    email), followed from the outbox to the partner: what the flags Confirmed and Completed
    rest on, since a flag means a fact the gateway can prove, never a document merely queued."""

    document: str
    kind: DocumentKind
    queued_at: datetime
    state: DocumentState = DocumentState.QUEUED
    fulfilment_ids: tuple[str, ...] = ()
    needs_acceptance: bool = False
    updated_at: datetime | None = None
    detail: str = ""


@dataclass
class Note:
    """An operator's note."""

    id: str
    author: str
    text: str
    created_at: datetime
    edited_by: str = ""
    edited_at: datetime | None = None


@dataclass
class OrderRecord:
    """One purchase order's terms and records, as stored: what the rules read."""

    partner: str
    po_number: str
    our_role: Role
    order_date: date
    purpose_code: PurposeCode = PurposeCode.ORIGINAL
    currency: str = "USD"
    parties: list[Party] = field(default_factory=list)
    terms: Terms | None = None
    carrier_routing: CarrierRouting | None = None
    requested_ship_date: date | None = None
    requested_delivery_date: date | None = None
    cancel_after_date: date | None = None
    lines: list[LineItem] = field(default_factory=list)
    is_test: bool = False
    received_at: datetime | None = None  # when the order came (or we placed it)
    notes: list[Note] = field(default_factory=list)
    source_documents: list[str] = field(default_factory=list)
    confirmations: list[Confirmation] = field(default_factory=list)
    fulfilments: list[Fulfilment] = field(default_factory=list)
    cancellations: list[Cancellation] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    dispatches: list[Dispatch] = field(default_factory=list)
    version: int = 0
    events: list[Event] = field(default_factory=list)
    history: list[Fact] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._attach_lines()

    def line(self, line_number: str) -> LineItem | None:
        """The line with that number, if the order has it."""
        return next((line for line in self.lines if line.line_number == line_number), None)

    def fulfilment(self, fulfilment_id: str) -> Fulfilment | None:
        """The fulfilment with that id, if the order has it."""
        return next((f for f in self.fulfilments if f.id == fulfilment_id), None)

    def invoice(self, number: str) -> Invoice | None:
        """The invoice with that number, if the order has it."""
        return next((i for i in self.invoices if i.number == number), None)

    def dispatch(self, document: str) -> Dispatch | None:
        """The followed document with that name, if the order follows it."""
        return next((d for d in self.dispatches if d.document == document), None)

    def note(self, note_id: str) -> Note | None:
        """The note with that id, if the order still has it."""
        return next((n for n in self.notes if n.id == note_id), None)

    def party(self, entity_code: str) -> Party | None:
        """The first party with that N101 code (`EntityCode.SHIP_TO`...), if any."""
        return next((p for p in self.parties if p.entity_code == entity_code), None)

    def _attach_lines(self) -> None:
        for line in self.lines:
            line.attach(self)
