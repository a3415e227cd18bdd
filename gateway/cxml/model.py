"""The records of the cXML codec: what `reader` gives and what `writer` takes.

Frozen dataclasses of plain values: text as given (stripped), quantities and prices as
`Decimal`, dates and times as `datetime`/`date`. Nothing here knows the order model; mapping
these records onto orders is the job of the document kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

OrderType = Literal["new", "update", "delete"]
ORDER_TYPES: tuple[OrderType, ...] = ("new", "update", "delete")
ConfirmationType = Literal["accept", "reject", "detail"]
LineStatus = Literal["accept", "reject", "backordered", "detail"]


@dataclass(frozen=True, slots=True)
class Credential:
    """One `Credential` of `From`, `To` or `Sender`; `shared_secret` only in the Sender's."""

    domain: str
    identity: str
    shared_secret: str = ""


@dataclass(frozen=True, slots=True)
class Parties:
    """The `Header`: who sends (From), to whom (To), and who carries it (Sender)."""

    from_: tuple[Credential, ...]
    to: tuple[Credential, ...]
    sender: tuple[Credential, ...]
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Address:
    """A `ShipTo` or `BillTo`: the `Address` name and id, and its `PostalAddress`."""

    name: str
    address_id: str = ""
    deliver_to: tuple[str, ...] = ()
    street: tuple[str, ...] = ()
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""  # the isoCountryCode, or the Country text when no code is given


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One `ItemOut`."""

    line_number: int
    quantity: Decimal
    supplier_part_id: str
    unit_price: Money
    unit_of_measure: str
    description: str = ""
    supplier_part_aux_id: str = ""
    buyer_part_id: str = ""
    requested_delivery_date: date | None = None


@dataclass(frozen=True, slots=True)
class OrderHeader:
    """The `OrderRequestHeader`."""

    order_id: str
    order_date: datetime
    order_type: OrderType
    total: Money | None = None
    ship_to: Address | None = None
    bill_to: Address | None = None
    comments: str = ""
    extrinsics: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A whole cXML document holding one `OrderRequest`."""

    payload_id: str
    timestamp: datetime
    version: str
    parties: Parties
    header: OrderHeader
    lines: tuple[OrderLine, ...]
    deployment_mode: str = "production"  # the Request's deploymentMode: production or test


@dataclass(frozen=True, slots=True)
class Response:
    """A partner's `Response`: its `Status` code, its text attribute and its body (`detail`)."""

    payload_id: str
    status_code: int
    text: str
    detail: str = ""
    in_reply_to: str = ""  # the payloadID answered, when a comment before the Response says it


# what the writer takes


@dataclass(frozen=True, slots=True)
class Envelope:
    """What every document we write carries: its id, its time and the three credentials."""

    payload_id: str
    timestamp: datetime
    from_: Credential
    to: Credential
    sender: Credential
    user_agent: str = "edi-gateway"


@dataclass(frozen=True, slots=True)
class OrderReference:
    """The order a document answers: its orderID and the payloadID it came in."""

    order_id: str
    payload_id: str
    order_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConfirmationLine:
    """One `ConfirmationItem`: the decision on a line (the 855's ACK)."""

    line_number: int
    quantity: Decimal
    status: LineStatus
    unit_of_measure: str
    delivery_date: date | None = None
    comments: str = ""


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A `ConfirmationRequest`: accept or reject the whole order, or `detail` per line."""

    order: OrderReference
    confirm_id: str
    confirmation_type: ConfirmationType
    notice_date: datetime
    lines: tuple[ConfirmationLine, ...] = ()
    comments: str = ""


@dataclass(frozen=True, slots=True)
class ShippedLine:
    line_number: int
    quantity: Decimal
    unit_of_measure: str


@dataclass(frozen=True, slots=True)
class ShipNotice:
    """A `ShipNoticeRequest` (the 856): one shipment of one order."""

    order: OrderReference
    shipment_id: str
    notice_date: datetime
    shipment_date: datetime
    carrier_name: str
    tracking_number: str
    lines: tuple[ShippedLine, ...]
    carrier_scac: str = ""
    tracking_url: str = ""
    delivery_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    line_number: int
    quantity: Decimal
    unit_of_measure: str
    unit_price: Decimal
    supplier_part_id: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Invoice:
    """An `InvoiceDetailRequest` (the 810) for one order, in one currency."""

    order: OrderReference
    invoice_id: str
    invoice_date: datetime
    currency: str
    lines: tuple[InvoiceLine, ...]
    tax: Decimal = Decimal(0)
    tax_description: str = ""
