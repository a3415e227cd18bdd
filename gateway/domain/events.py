"""Events: what happened to an order, in the past tense.

The order appends each event twice: to `order.events`, the pending list a message bus drains
after the unit of work commits (to send an 855, an e-mail...), and, turned into a `Fact`, to
`order.history`, the persisted record an operator reads. A fact is plain data (strings, numbers,
lists, dicts), so a store can write it as JSON without knowing the event classes.

Every event carries the partner and PO number of its order and the time it happened, taken from
the command that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from gateway.domain.plain import Plain, PlainData
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
class Event:
    """What every event carries."""

    partner: str
    po_number: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class OrderReceived(Event):
    """A new order was taken in."""

    our_role: Role
    purpose_code: PurposeCode
    order_date: date
    currency: str
    lines: tuple[PurchaseOrderLine, ...]
    parties: tuple[Party, ...]
    terms: Terms | None
    carrier_routing: CarrierRouting | None
    requested_ship_date: date | None
    requested_delivery_date: date | None
    cancel_after_date: date | None
    is_test: bool


@dataclass(frozen=True, kw_only=True)
class LinesChanged(Event):
    """Some lines got new terms (quantity, price, ids, description) or were added."""

    lines: tuple[PurchaseOrderLine, ...]
    added_lines: tuple[str, ...]
    reason: str


@dataclass(frozen=True, kw_only=True)
class OrderReplaced(Event):
    """The order's header and lines were replaced; `removed_lines` are the lines taken out."""

    order_date: date
    currency: str
    lines: tuple[PurchaseOrderLine, ...]
    removed_lines: tuple[str, ...]
    parties: tuple[Party, ...]
    terms: Terms | None
    carrier_routing: CarrierRouting | None
    requested_ship_date: date | None
    requested_delivery_date: date | None
    cancel_after_date: date | None


@dataclass(frozen=True, kw_only=True)
class OrderConfirmed(Event):
    """The order was acknowledged or the vendor notified."""

    how: ConfirmationMethod
    lines: tuple[LineAnswer, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FulfilmentCreated(Event):
    """Some quantity of some lines was shipped."""

    fulfilment_id: str
    lines: tuple[LineQuantity, ...]
    carrier: str
    tracking_numbers: tuple[str, ...]
    tracking_url: str
    ship_date: date | None
    status: ShipmentStatus
    packs: tuple[Pack, ...]
    passed_on: bool


@dataclass(frozen=True, kw_only=True)
class FulfilmentRefused(Event):
    """A fulfilment the rules refused (typically a late one after Shipped), kept for an operator."""

    fulfilment_id: str
    lines: tuple[LineQuantity, ...]
    carrier: str
    tracking_numbers: tuple[str, ...]
    rule: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class DocumentRefused(Event):
    """A document about the order was refused as a whole, kept for an operator."""

    what: str
    rule: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ShipmentStatusChanged(Event):
    """A fulfilment's shipment moved on."""

    fulfilment_id: str
    previous: ShipmentStatus
    status: ShipmentStatus


@dataclass(frozen=True, kw_only=True)
class FulfilmentPassedOn(Event):
    """A fulfilment was passed to the other side."""

    fulfilment_id: str
    via: str


@dataclass(frozen=True, kw_only=True)
class DocumentTracked(Event):
    """A document of ours about the order was queued, and is followed until it arrives."""

    document: str
    kind: DocumentKind
    fulfilment_ids: tuple[str, ...]
    needs_acceptance: bool


@dataclass(frozen=True, kw_only=True)
class DocumentStateChanged(Event):
    """A followed document got further (or failed, or was queued again)."""

    document: str
    kind: DocumentKind
    previous: DocumentState
    state: DocumentState
    detail: str


@dataclass(frozen=True, kw_only=True)
class ConfirmationProven(Event):
    """The order became Confirmed: the vendor is known to have it."""


@dataclass(frozen=True, kw_only=True)
class OrderShipped(Event):
    """Every unit not cancelled has now been fulfilled."""


@dataclass(frozen=True, kw_only=True)
class LinesCancelled(Event):
    """Some open quantity was cancelled; `whole_order` when it was all the open quantity."""

    cancellation_id: str
    lines: tuple[LineQuantity, ...]
    requested_by: Side
    reason: str
    whole_order: bool


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(Event):
    """Every unit of the order is now cancelled, none fulfilled."""


@dataclass(frozen=True, kw_only=True)
class ReturnRecorded(Event):
    """Goods came back."""

    return_id: str
    lines: tuple[LineQuantity, ...]
    reason: str


@dataclass(frozen=True, kw_only=True)
class RefundRecorded(Event):
    """Money was given back."""

    refund_id: str
    amount: Decimal
    lines: tuple[LineQuantity, ...]
    reason: str


@dataclass(frozen=True, kw_only=True)
class InvoiceRecorded(Event):
    """An invoice was sent or received."""

    invoice_number: str
    amount: Decimal
    lines: tuple[LineQuantity, ...]


@dataclass(frozen=True, kw_only=True)
class InvoiceAccepted(Event):
    """An invoice was accepted."""

    invoice_number: str


@dataclass(frozen=True, kw_only=True)
class PaymentRecorded(Event):
    """A payment was recorded; `in_full` when it was marked as paying everything owed."""

    amount: Decimal
    in_full: bool
    reference: str


@dataclass(frozen=True, kw_only=True)
class OrderCompleted(Event):
    """Every unit is settled and every fulfilment has been passed on."""


@dataclass(frozen=True, kw_only=True)
class NoteAdded(Event):
    """An operator's note was attached."""

    note_id: str
    author: str
    text: str


@dataclass(frozen=True, kw_only=True)
class NoteEdited(Event):
    """A note's text changed."""

    note_id: str
    author: str
    text: str
    previous_text: str


@dataclass(frozen=True, kw_only=True)
class NoteDeleted(Event):
    """A note was removed from the order; `text` is what it said."""

    note_id: str
    author: str
    text: str


@dataclass(frozen=True, kw_only=True)
class CustomerChanged(Event):
    """The ship-to (and maybe bill-to) party changed."""

    ship_to: Party
    bill_to: Party | None
    previous_ship_to: Party | None
    previous_bill_to: Party | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class ChangeAnswered(Event):
    """The seller answered a change we asked of them: taken or refused, line by line."""

    accepted: bool
    change_sequence: str
    lines: tuple[LineAnswer, ...]
    note: str


@dataclass(frozen=True, kw_only=True)
class DatesChanged(Event):
    """The order's dates changed: each date named, with what it was before."""

    changed: tuple[tuple[str, date | None, date], ...]  # (name, before, after)
    reason: str


@dataclass(frozen=True)
class Fact:
    """One entry of an order's history: the event's name, its time and its fields as plain data."""

    event: str
    at: datetime
    fields: dict[str, Any]  # `Plain` values; typed loosely so a generic store restores them as is


plain = PlainData()
"""`value` as JSON-ready data (see `gateway.domain.plain`)."""


def fact(event: Event, source: str = "") -> Fact:
    """The plain, persistable form of `event` (every field but its time, which `Fact.at` holds),
    with `source` when given: where the command that caused it came from (a document, or the
    person who acted), for the order's history."""
    fields = cast(dict[str, Plain], plain(event))  # an event is a dataclass: a dict
    del fields["at"]
    if source:
        fields["source"] = source
    return Fact(event=type(event).__name__, at=event.at, fields=fields)
