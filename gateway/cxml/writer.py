"""cXML documents out: records of `gateway.cxml.model` to UTF-8 bytes.

Each document starts with the XML declaration and the cXML DOCTYPE line of its DTD (cXML.dtd
for a Response, Fulfill.dtd for confirmations and ship notices, InvoiceDetail.dtd for
invoices), and is checked against the project's RELAX NG schema of what we write
(`schemas/outbound.rng`) before it is returned: a document that fails it is our bug and
raises `InvalidOutboundDocument`, never sent.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Literal

from lxml import etree

from gateway.cxml.model import (
    Confirmation,
    ConfirmationLine,
    Credential,
    Envelope,
    Invoice,
    OrderReference,
    ShipNotice,
)
from gateway.errors import InvalidOutboundDocument

VERSION = "1.2.014"
LANG = "en-US"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DeploymentMode = Literal["production", "test"]

_Element = etree._Element


@cache
def schema() -> etree.RelaxNG:
    """The RELAX NG schema of the documents we write (loaded once, from the package)."""
    text = resources.files("gateway.cxml").joinpath("schemas/outbound.rng").read_bytes()
    return etree.RelaxNG(etree.fromstring(text))


def _when(value: datetime | date) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else value.isoformat()


def _number(value: Decimal) -> str:
    return format(value, "f")


def _sub(parent: _Element, tag: str, text: str = "", /, **attributes: str) -> _Element:
    element = etree.SubElement(parent, tag, attributes)
    if text:
        element.text = text
    return element


def _root(payload_id: str, timestamp: datetime) -> _Element:
    root = etree.Element("cXML", payloadID=payload_id, timestamp=_when(timestamp), version=VERSION)
    root.set(XML_LANG, LANG)
    return root


def _finish(root: _Element, kind: str, dtd: str) -> bytes:
    valid = schema()
    if not valid.validate(root):
        error = valid.error_log.last_error
        raise InvalidOutboundDocument(
            f"the cXML {kind} we built fails outbound.rng: {error.message if error else 'invalid'}"
        )
    doctype = f'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/{VERSION}/{dtd}">'
    return etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", doctype=doctype, pretty_print=True
    )


def _credential(parent: _Element, credential: Credential) -> None:
    element = _sub(parent, "Credential", domain=credential.domain)
    _sub(element, "Identity", credential.identity)
    if credential.shared_secret:
        _sub(element, "SharedSecret", credential.shared_secret)


def _request(envelope: Envelope, mode: DeploymentMode) -> tuple[_Element, _Element]:
    root = _root(envelope.payload_id, envelope.timestamp)
    header = _sub(root, "Header")
    _credential(_sub(header, "From"), envelope.from_)
    _credential(_sub(header, "To"), envelope.to)
    sender = _sub(header, "Sender")
    _credential(sender, envelope.sender)
    _sub(sender, "UserAgent", envelope.user_agent)
    return root, _sub(root, "Request", deploymentMode=mode)


def _comments(parent: _Element, text: str) -> None:
    if text:
        _sub(parent, "Comments", text).set(XML_LANG, LANG)


def _order_reference(parent: _Element, order: OrderReference) -> None:
    element = _sub(parent, "OrderReference", orderID=order.order_id)
    if order.order_date is not None:
        element.set("orderDate", _when(order.order_date))
    _sub(element, "DocumentReference", payloadID=order.payload_id)


def _money(parent: _Element, tag: str, amount: Decimal, currency: str) -> _Element:
    element = _sub(parent, tag)
    _sub(element, "Money", _number(amount), currency=currency)
    return element


def payload_id(now: datetime, *parts: object, host: str) -> str:
    """A payloadID as cXML recommends it, `time.unique parts@host`: unique for as long as the
    parts are (a control number of the store, a random one)."""
    return ".".join([f"{now:%Y%m%d%H%M%S}", *map(str, parts)]) + f"@{host}"


def response(
    in_reply_to_payload: str | None,
    code: int,
    text: str,
    *,
    payload_id: str,
    timestamp: datetime,
    detail: str = "",
) -> bytes:
    """The `Response` to a document we took in: its status `code` (200 when applied, 4xx
    naming the problem otherwise), the status `text`, and `detail` as the Status body.

    cXML 1.2 has no attribute for the answered payloadID (over HTTP the answer travels in the
    same exchange); for file transports it is written as a comment before the Response.
    """
    root = _root(payload_id, timestamp)
    if in_reply_to_payload:
        root.append(etree.Comment(f" in reply to {_comment_safe(in_reply_to_payload)} "))
    _sub(_sub(root, "Response"), "Status", detail, code=str(code), text=text)
    return _finish(root, "Response", "cXML.dtd")


def _comment_safe(text: str) -> str:
    """`text` as it may stand in an XML comment (no `--`, no trailing `-`)."""
    while "--" in text:
        text = text.replace("--", "-")
    return text.rstrip("-")


def confirmation_request(
    envelope: Envelope, confirmation: Confirmation, *, mode: DeploymentMode = "production"
) -> bytes:
    """A `ConfirmationRequest` (the 855): the order accepted or rejected whole, or `detail`
    with one `ConfirmationItem` per line, its quantity the sum of its `ConfirmationStatus`es
    (one per line of `confirmation.lines` with its number: 3 accepted and 1 backordered of an
    item of 4)."""
    root, request = _request(envelope, mode)
    body = _sub(request, "ConfirmationRequest")
    header = _sub(
        body,
        "ConfirmationHeader",
        confirmID=confirmation.confirm_id,
        operation="new",
        type=confirmation.confirmation_type,
        noticeDate=_when(confirmation.notice_date),
    )
    _comments(header, confirmation.comments)
    _order_reference(body, confirmation.order)
    items: dict[int, list[ConfirmationLine]] = {}
    for line in confirmation.lines:  # a line answered 3 accepted, 1 backordered: one item
        items.setdefault(line.line_number, []).append(line)
    for number, statuses in items.items():
        item = _sub(
            body,
            "ConfirmationItem",
            lineNumber=str(number),
            quantity=_number(sum((line.quantity for line in statuses), Decimal(0))),
        )
        _sub(item, "UnitOfMeasure", statuses[0].unit_of_measure)
        for line in statuses:
            status = _sub(
                item, "ConfirmationStatus", quantity=_number(line.quantity), type=line.status
            )
            if line.delivery_date is not None:
                status.set("deliveryDate", _when(line.delivery_date))
            _sub(status, "UnitOfMeasure", line.unit_of_measure)
            _comments(status, line.comments)
    return _finish(root, "ConfirmationRequest", "Fulfill.dtd")


def ship_notice_request(
    envelope: Envelope, notice: ShipNotice, *, mode: DeploymentMode = "production"
) -> bytes:
    """A `ShipNoticeRequest` (the 856): the carrier by name (and SCAC when known), the
    tracking number as the `ShipmentIdentifier`, the tracking URL as the header's
    `trackingURL` extrinsic, and the lines shipped with their quantities."""
    root, request = _request(envelope, mode)
    body = _sub(request, "ShipNoticeRequest")
    header = _sub(
        body,
        "ShipNoticeHeader",
        shipmentID=notice.shipment_id,
        operation="new",
        noticeDate=_when(notice.notice_date),
        shipmentDate=_when(notice.shipment_date),
    )
    if notice.delivery_date is not None:
        header.set("deliveryDate", _when(notice.delivery_date))
    if notice.tracking_url:
        _sub(header, "Extrinsic", notice.tracking_url, name="trackingURL")
    control = _sub(body, "ShipControl")
    _sub(control, "CarrierIdentifier", notice.carrier_name, domain="companyName")
    if notice.carrier_scac:
        _sub(control, "CarrierIdentifier", notice.carrier_scac, domain="SCAC")
    _sub(
        control,
        "ShipmentIdentifier",
        notice.tracking_number,
        trackingNumberDate=_when(notice.shipment_date),
    )
    portion = _sub(body, "ShipNoticePortion")
    _order_reference(portion, notice.order)
    for line in notice.lines:
        item = _sub(
            portion,
            "ShipNoticeItem",
            lineNumber=str(line.line_number),
            quantity=_number(line.quantity),
        )
        _sub(item, "UnitOfMeasure", line.unit_of_measure)
    return _finish(root, "ShipNoticeRequest", "Fulfill.dtd")


def invoice_detail_request(
    envelope: Envelope, invoice: Invoice, *, mode: DeploymentMode = "production"
) -> bytes:
    """An `InvoiceDetailRequest` (the 810) for one order: one `InvoiceDetailItem` per line
    (quantity times unit price, rounded half up to the places of the price), and the
    summary: subtotal, tax, gross, net and due."""
    root, request = _request(envelope, mode)
    body = _sub(request, "InvoiceDetailRequest")
    header = _sub(
        body,
        "InvoiceDetailRequestHeader",
        invoiceID=invoice.invoice_id,
        purpose="standard",
        operation="new",
        invoiceDate=_when(invoice.invoice_date),
    )
    _sub(header, "InvoiceDetailHeaderIndicator")
    _sub(header, "InvoiceDetailLineIndicator")
    order = _sub(body, "InvoiceDetailOrder")
    _order_reference(_sub(order, "InvoiceDetailOrderInfo"), invoice.order)
    currency = invoice.currency
    subtotal = Decimal(0)
    for number, line in enumerate(invoice.lines, 1):
        # to the places of the unit price: 2.5 m at 108.60 is 271.50
        amount = (line.quantity * line.unit_price).quantize(line.unit_price, ROUND_HALF_UP)
        subtotal += amount
        item = _sub(
            order,
            "InvoiceDetailItem",
            invoiceLineNumber=str(number),
            quantity=_number(line.quantity),
        )
        _sub(item, "UnitOfMeasure", line.unit_of_measure)
        _money(item, "UnitPrice", line.unit_price, currency)
        reference = _sub(item, "InvoiceDetailItemReference", lineNumber=str(line.line_number))
        _sub(_sub(reference, "ItemID"), "SupplierPartID", line.supplier_part_id)
        if line.description:
            _sub(reference, "Description", line.description).set(XML_LANG, LANG)
        _money(item, "SubtotalAmount", amount, currency)
    summary = _sub(body, "InvoiceDetailSummary")
    _money(summary, "SubtotalAmount", subtotal, currency)
    tax = _money(summary, "Tax", invoice.tax, currency)
    _sub(tax, "Description", invoice.tax_description or "tax").set(XML_LANG, LANG)
    total = subtotal + invoice.tax
    for tag in ("GrossAmount", "NetAmount", "DueAmount"):
        _money(summary, tag, total, currency)
    return _finish(root, "InvoiceDetailRequest", "InvoiceDetail.dtd")
