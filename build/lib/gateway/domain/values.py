"""Value objects and code lists of the order domain, shared by the model, the commands, the events
and the rules.

They live apart from `model` so that `rules` can read them at run time while `model` calls
`rules`: `rules` needs the order's vocabulary (roles, shipment statuses, purposes), the order
needs the rules, and neither imports the other in a circle. Everything here is immutable and
compares by value; codes keep their X12 spelling (`PurposeCode.REPLACE == "05"`), so what a
mapping reads from a BEG01 or an N101 can be used as is.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


class Role(enum.StrEnum):
    """Which side of the trade we are on for one order."""

    BUYER = "buyer"  # we send the 850 and receive the 855/856/810
    SELLER = "seller"  # we receive the 850 and send the 855/856/810


class Side(enum.StrEnum):
    """Who asked for something (a cancellation), whichever side we are."""

    BUYER = "buyer"
    SELLER = "seller"


class PurposeCode(enum.StrEnum):
    """BEG01 transaction set purpose codes of an 850."""

    ORIGINAL = "00"
    CANCELLATION = "01"
    CHANGE = "04"
    REPLACE = "05"
    CONFIRMATION = "06"
    DUPLICATE = "07"


class EntityCode(enum.StrEnum):
    """N101 entity identifier codes of the parties an order names most often."""

    SHIP_TO = "ST"
    BILL_TO = "BT"
    BUYER = "BY"
    VENDOR = "VN"
    SELLER = "SE"
    SHIP_FROM = "SF"
    REMIT_TO = "RI"


class ConfirmationMethod(enum.StrEnum):
    """How an order came to be confirmed."""

    ACKNOWLEDGEMENT_SENT = "855 sent"  # we are the seller and acknowledged it
    ACKNOWLEDGEMENT_RECEIVED = "855 received"  # we are the buyer and the seller acknowledged it
    VENDOR_NOTIFIED = "vendor notified"  # the vendor was told by other means (e-mail, portal)


class LineAnswerStatus(enum.StrEnum):
    """What the seller said of one order line when acknowledging the order (an 855's ACK01, or
    the seller's decision when we are the seller)."""

    ACCEPTED = "accepted"
    ACCEPTED_WITH_CHANGES = "accepted with changes"
    QUANTITY_CHANGED = "quantity changed"
    PRICE_CHANGED = "price changed"
    RESCHEDULED = "rescheduled"
    SUBSTITUTED = "substituted"
    BACKORDERED = "backordered"
    ON_HOLD = "on hold"
    REJECTED = "rejected"


class ShipmentStatus(enum.StrEnum):
    """Where the goods of one fulfilment are; the moves allowed between these are in `rules`."""

    AWAITING_SHIPMENT = "awaiting shipment"
    LABEL_CREATED = "label created"
    SHIPPED = "shipped"
    IN_TRANSIT = "in transit"
    OUT_FOR_DELIVERY = "out for delivery"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery failed"
    RETURNED_TO_SENDER = "returned to sender"
    CANCELLED = "cancelled"


class DocumentKind(enum.StrEnum):
    """What a document of ours about an order is, for the flags it can prove."""

    ORDER = "850"  # our purchase order to an EDI seller
    ORDER_EMAIL = "order email"  # our order emailed to a seller who fulfils directly
    ACKNOWLEDGEMENT = "855"
    SHIP_NOTICE = "856"
    INVOICE = "810"
    CHANGE = "860"
    CHANGE_ANSWER = "865"


class DocumentState(enum.StrEnum):
    """How far a document of ours about an order got: queued (in our outbox), delivered (the
    partner's mailbox or the mail server took it), accepted or rejected (their 997/999/TA1
    answered it), failed (given up: a mail server refused it for good)."""

    QUEUED = "queued"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"


COUNTED_UNITS = frozenset(
    {
        "EA",  # each
        "CA",  # case
        "PK",  # package
        "BX",  # box
        "CT",  # carton
        "PC",  # piece
        "PR",  # pair
        "DZ",  # dozen
        "BG",  # bag
        "BO",  # bottle
        "CN",  # can
        "DR",  # drum
        "PL",  # pallet
        "RL",  # roll
        "ST",  # set
        "KT",  # kit
        "UN",  # unit
        "BD",  # bundle
        "TB",  # tube
        "JR",  # jar
        "CS",  # case (non-standard, common)
        "SH",  # sheet
        "PH",  # pack of several
    }
)
"""Units of measure (X12 355) counted in whole numbers: a half of one is not shipped,
cancelled, returned or refunded."""

DATE_FIELDS = ("requested_ship_date", "requested_delivery_date", "cancel_after_date")
"""The order's dates that ChangeDates changes (the same names on the order and the command)."""

MAX_QUANTITY = Decimal(1_000_000_000)
"""The largest quantity a record takes (no order line in trade comes near it)."""

MAX_AMOUNT = Decimal(1_000_000_000_000)
"""The largest amount of money a record takes (an 810's TDS01 holds at most 15 digits)."""


@dataclass(frozen=True, slots=True)
class Address:
    """N3/N4: street lines, city, state or province, postal code, country."""

    lines: tuple[str, ...] = ()
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True)
class Contact:
    """PER: a named contact and how to reach them."""

    name: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Party:
    """One N1 loop: entity code (N101), name, identification qualifier and code (N103/N104)."""

    entity_code: str
    name: str = ""
    id_qualifier: str = ""
    id: str = ""
    address: Address | None = None
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True, slots=True)
class Terms:
    """ITD terms of sale, kept as sent: the free text and the discount and net fields."""

    description: str = ""  # ITD12
    type_code: str = ""  # ITD01
    basis_date_code: str = ""  # ITD02
    discount_percent: Decimal | None = None  # ITD03
    discount_due_date: date | None = None  # ITD04
    discount_days: int | None = None  # ITD05
    net_due_date: date | None = None  # ITD06
    net_days: int | None = None  # ITD07


@dataclass(frozen=True, slots=True)
class CarrierRouting:
    """TD5 carrier details, kept as sent."""

    id_qualifier: str = ""  # TD502
    carrier_id: str = ""  # TD503 (a SCAC when TD502 is 2)
    transportation_method: str = ""  # TD504
    routing: str = ""  # TD505
    service_level: str = ""  # TD512


@dataclass(frozen=True, slots=True)
class PurchaseOrderLine:
    """One PO1 line as a partner sends it; the order turns it into a `model.LineItem`."""

    line_number: str  # PO101 is AN: "1", "001" and "A1" are three different lines
    ordered: Decimal  # PO102
    unit_of_measure: str = "EA"  # PO103
    unit_price: Decimal | None = None  # PO104
    product_ids: tuple[tuple[str, str], ...] = ()  # (qualifier, value): ("UP", "0123..."), ...
    description: str = ""  # PID05


@dataclass(frozen=True, slots=True)
class LineQuantity:
    """A quantity of one order line (in a fulfilment, a cancellation, a return, an invoice)."""

    line_number: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class LineAnswer:
    """The seller's answer about one line: its status, the quantity it concerns (None: the line's
    quantity), the date the seller gives (ship date, backorder date) and the code it came with
    (ACK01) when a document said it. A line may have several (3 accepted, 1 backordered)."""

    line_number: str
    status: LineAnswerStatus
    quantity: Decimal | None = None
    date: date | None = None
    code: str = ""


@dataclass(frozen=True, slots=True)
class Pack:
    """One carton of a fulfilment: its SSCC-18 when labelled (MAN*GM) and what it holds."""

    lines: tuple[LineQuantity, ...]
    sscc: str | None = None


def merge_quantities(lines: Iterable[LineQuantity]) -> tuple[LineQuantity, ...]:
    """One entry per line number, quantities added up, in the order the lines first appear."""
    totals: dict[str, Decimal] = {}
    for entry in lines:
        totals[entry.line_number] = totals.get(entry.line_number, Decimal(0)) + entry.quantity
    return tuple(LineQuantity(number, quantity) for number, quantity in totals.items())


def quantity_of(lines: Iterable[LineQuantity], line_number: str) -> Decimal:
    """The total quantity that `lines` give to `line_number` (zero when it is not there)."""
    return sum((e.quantity for e in lines if e.line_number == line_number), Decimal(0))
