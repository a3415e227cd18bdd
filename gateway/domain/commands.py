"""Commands: what a caller (a mapped X12 document, the CLI, an operator) asks an order to do.

Each is a frozen dataclass with an imperative name. Every command names its order by partner and
PO number and carries the time it happened: the domain never reads a clock. `source` says where
the command came from ("850 #0001 from file X", "cli"); a non-empty source is kept in the order's
`source_documents`. Ids of new records (fulfilments, cancellations, notes...) are given by the
caller too, so that applying the same document twice is refused instead of doubling a record.
Whether a command is allowed is decided in `rules`, never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

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
)


@dataclass(frozen=True, kw_only=True)
class Command:
    """What every command carries: the order it is for, when it happened, where it came from."""

    partner: str
    po_number: str
    at: datetime
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class ReceiveOrder(Command):
    """Take in a new order (an 850 we receive as seller, or one we send as buyer)."""

    our_role: Role
    order_date: date
    lines: tuple[PurchaseOrderLine, ...]
    purpose_code: PurposeCode = PurposeCode.ORIGINAL
    currency: str = "USD"
    parties: tuple[Party, ...] = ()
    terms: Terms | None = None
    carrier_routing: CarrierRouting | None = None
    requested_ship_date: date | None = None
    requested_delivery_date: date | None = None
    cancel_after_date: date | None = None
    is_test: bool = False


@dataclass(frozen=True, kw_only=True)
class ReplaceOrder(Command):
    """Replace the header and lines of an order already held (an 850 with BEG01 05).

    `lines` is the whole new list: a held line missing from it is removed."""

    order_date: date
    lines: tuple[PurchaseOrderLine, ...]
    currency: str = "USD"
    parties: tuple[Party, ...] = ()
    terms: Terms | None = None
    carrier_routing: CarrierRouting | None = None
    requested_ship_date: date | None = None
    requested_delivery_date: date | None = None
    cancel_after_date: date | None = None


@dataclass(frozen=True, kw_only=True)
class ChangeLines(Command):
    """Change the terms of some lines, or add lines (an 860 raising a quantity, changing a price,
    adding an item). `lines` carries the whole new terms of each line it names; lines it does not
    name stay as they are. Terms are absolute, so the same change applied twice changes nothing
    the second time."""

    lines: tuple[PurchaseOrderLine, ...]
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ConfirmOrder(Command):
    """Record that the order was acknowledged (855 sent or received) or the vendor notified;
    `lines` keeps what the acknowledgement said of each line. `restates`: an acknowledgement
    that only states again, after a cancellation, an order acknowledged the same way before
    (an 855 replacing ours); it decides nothing, so a closed order takes it."""

    how: ConfirmationMethod
    lines: tuple[LineAnswer, ...] = ()
    restates: bool = False


@dataclass(frozen=True, kw_only=True)
class CreateFulfilment(Command):
    """Record a shipment of some quantity of some lines (an 856, a shipping label, an operator)."""

    fulfilment_id: str
    lines: tuple[LineQuantity, ...]
    carrier: str = ""
    tracking_numbers: tuple[str, ...] = ()
    tracking_url: str = ""
    ship_date: date | None = None
    status: ShipmentStatus = ShipmentStatus.SHIPPED
    packs: tuple[Pack, ...] = ()
    passed_on: bool = False  # True when it came from the other side (an 856 received)


@dataclass(frozen=True, kw_only=True)
class UpdateShipmentStatus(Command):
    """Move a fulfilment's shipment on (in transit, delivered...)."""

    fulfilment_id: str
    status: ShipmentStatus


@dataclass(frozen=True, kw_only=True)
class TrackDocument(Command):
    """Start following a document of ours about the order, just queued: `document` names it
    ("document 12", "email 7"), `kind` says what it can prove once it arrives, `fulfilment_ids`
    the fulfilments an 856 carries, `needs_acceptance` whether the partner owes a 997/999 for it
    (then only their acceptance proves it reached their system)."""

    document: str
    kind: DocumentKind
    fulfilment_ids: tuple[str, ...] = ()
    needs_acceptance: bool = False


@dataclass(frozen=True, kw_only=True)
class RecordDocumentState(Command):
    """Record how far a followed document got (delivered, accepted or rejected by the partner's
    acknowledgement, failed for good, queued again to be resent)."""

    document: str
    state: DocumentState
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class CancelLines(Command):
    """Cancel some open quantity of some lines (an 860, an 865, an operator)."""

    cancellation_id: str
    lines: tuple[LineQuantity, ...]
    requested_by: Side
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CancelOrder(Command):
    """Cancel every open quantity of the order (860 BCH01 01, 850 BEG01 01, an operator)."""

    cancellation_id: str
    requested_by: Side
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RecordReturn(Command):
    """Record goods coming back."""

    return_id: str
    lines: tuple[LineQuantity, ...]
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RecordRefund(Command):
    """Record money given back, for some lines or for the order as a whole."""

    refund_id: str
    amount: Decimal
    lines: tuple[LineQuantity, ...] = ()
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RecordInvoice(Command):
    """Record an invoice (an 810 sent or received)."""

    invoice_number: str
    amount: Decimal
    lines: tuple[LineQuantity, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AcceptInvoice(Command):
    """Record that an invoice was accepted by the side that owes it."""

    invoice_number: str


@dataclass(frozen=True, kw_only=True)
class MarkPaid(Command):
    """Record a payment: of `amount`, or, without an amount, of everything still owed."""

    amount: Decimal | None = None
    reference: str = ""


@dataclass(frozen=True, kw_only=True)
class AddNote(Command):
    """Attach an operator's note to the order."""

    note_id: str
    author: str
    text: str


@dataclass(frozen=True, kw_only=True)
class EditNote(Command):
    """Change the text of a note (its history keeps the earlier texts)."""

    note_id: str
    author: str
    text: str


@dataclass(frozen=True, kw_only=True)
class DeleteNote(Command):
    """Remove a note from the order (its history keeps it)."""

    note_id: str
    author: str


@dataclass(frozen=True, kw_only=True)
class ChangeCustomer(Command):
    """Change whom the order goes to: the ship-to party, and the bill-to party when given."""

    ship_to: Party
    bill_to: Party | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ChangeDates(Command):
    """New dates for the order (an 860's header DTM, an operator): the requested ship and
    delivery dates and the cancel-after date; a date left None stays as it is."""

    requested_ship_date: date | None = None
    requested_delivery_date: date | None = None
    cancel_after_date: date | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RecordChangeAnswer(Command):
    """Keep on the order the seller's answer (an 865) to a change we asked of them (our 860):
    taken or refused, and what it says of each line. It changes no goods: a refused change
    cannot undo the cancellation we made (no cancellation can be undone), so a person settles
    it with the seller. Any order, closed or not, records it."""

    accepted: bool
    change_sequence: str = ""
    lines: tuple[LineAnswer, ...] = ()
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class RecordRefusal(Command):
    """Keep on the order that a document about it was refused (an 860 whose change the rules
    refuse, an 855 or 810 that names what the order does not have): what it was, the rule it
    broke and why. The order's goods and statuses do not change; any order, closed or not,
    records it."""

    what: str
    rule: str
    reason: str
