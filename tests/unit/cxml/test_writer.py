"""cXML out: every document the writer builds starts as cXML does, is valid against the
project's RELAX NG schema (loaded here from the file), and reads back safely; a Response
reads back through `read_response`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

import gateway.cxml
from gateway.cxml import writer
from gateway.cxml.model import (
    Confirmation,
    ConfirmationLine,
    Credential,
    Envelope,
    Invoice,
    InvoiceLine,
    OrderReference,
    Response,
    ShipNotice,
    ShippedLine,
)
from gateway.cxml.reader import read_response, sniff
from gateway.cxml.safe import parse
from gateway.errors import InvalidOutboundDocument

SCHEMA_FILE = Path(gateway.cxml.__file__).parent / "schemas" / "outbound.rng"
EST = timezone(timedelta(hours=-5))
WHEN = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)

ENVELOPE = Envelope(
    payload_id="1765200000.1@gateway.example",
    timestamp=WHEN,
    from_=Credential("DUNS", "123456789"),
    to=Credential("NetworkID", "NWBUYER-01"),
    sender=Credential("DUNS", "123456789", "our-secret"),
)
ORDER = OrderReference(
    "NW-PO-20481",
    "1765100000.4711@procure.northwind-buyer.example",
    datetime(2026, 12, 1, 9, 10, tzinfo=EST),
)


def valid(data: bytes) -> etree._Element:
    schema = etree.RelaxNG(etree.parse(str(SCHEMA_FILE)))
    root = parse(data)
    assert schema.validate(root), schema.error_log
    return root


def check_head(data: bytes, dtd: str) -> None:
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == "<?xml version='1.0' encoding='UTF-8'?>"
    assert lines[1] == f'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/{dtd}">'
    assert sniff(data) == "cxml"


@pytest.mark.parametrize(
    ("code", "text", "detail"),
    [
        (200, "OK", ""),
        (406, "Not Acceptable", "OrderRequest/ItemOut[3]/@quantity: 'x' is not a number"),
    ],
)
def test_a_response_is_valid_and_reads_back(code, text, detail):
    data = writer.response(
        "1765100000.4711@procure.northwind-buyer.example",
        code,
        text,
        payload_id="r-9@gateway.example",
        timestamp=WHEN,
        detail=detail,
    )
    check_head(data, "cXML.dtd")
    root = valid(data)
    assert read_response(data) == Response(
        "r-9@gateway.example",
        code,
        text,
        detail,
        in_reply_to="1765100000.4711@procure.northwind-buyer.example",
    )
    comment = root.getprevious() if root.getprevious() is not None else root[0]
    assert (
        "in reply to 1765100000.4711@procure.northwind-buyer.example"
        in etree.tostring(comment).decode()
    )


def test_a_response_to_nothing_known_has_no_reply_comment():
    data = writer.response(None, 400, "Bad Request", payload_id="r-10@gw", timestamp=WHEN)
    valid(data)
    assert b"in reply to" not in data
    assert read_response(data).status_code == 400


def test_a_reply_comment_cannot_break_the_comment():
    data = writer.response("a--b-", 200, "OK", payload_id="r-11@gw", timestamp=WHEN)
    valid(data)
    assert b"<!-- in reply to a-b -->" in data


def test_a_confirmation_per_line_is_valid():
    confirmation = Confirmation(
        order=ORDER,
        confirm_id="CONF-20481-1",
        confirmation_type="detail",
        notice_date=WHEN,
        lines=(
            ConfirmationLine(1, Decimal(10), "accept", "EA", date(2026, 12, 10)),
            ConfirmationLine(2, Decimal(4), "backordered", "EA", comments="back in stock Jan 5"),
            ConfirmationLine(3, Decimal("2.5"), "reject", "MTR", comments="discontinued"),
        ),
        comments="Partly confirmed.",
    )
    data = writer.confirmation_request(ENVELOPE, confirmation)
    check_head(data, "Fulfill.dtd")
    root = valid(data)
    assert root.findtext("Header/Sender/Credential/SharedSecret") == "our-secret"
    header = root.find("Request/ConfirmationRequest/ConfirmationHeader")
    assert header is not None
    assert header.attrib == {
        "confirmID": "CONF-20481-1",
        "operation": "new",
        "type": "detail",
        "noticeDate": "2026-12-02T15:30:00+00:00",
    }
    reference = root.find("Request/ConfirmationRequest/OrderReference")
    assert reference is not None
    assert reference.get("orderID") == "NW-PO-20481"
    assert reference.get("orderDate") == "2026-12-01T09:10:00-05:00"
    assert reference[0].get("payloadID") == ORDER.payload_id
    statuses = root.findall("Request/ConfirmationRequest/ConfirmationItem/ConfirmationStatus")
    assert [(s.get("type"), s.get("quantity"), s.get("deliveryDate")) for s in statuses] == [
        ("accept", "10", "2026-12-10"),
        ("backordered", "4", None),
        ("reject", "2.5", None),
    ]


def test_a_whole_order_accept_has_no_items():
    confirmation = Confirmation(ORDER, "CONF-1", "accept", WHEN)
    root = valid(writer.confirmation_request(ENVELOPE, confirmation, mode="test"))
    assert root.findall("Request/ConfirmationRequest/ConfirmationItem") == []
    request = root.find("Request")
    assert request is not None
    assert request.get("deploymentMode") == "test"


def test_a_ship_notice_is_valid_and_carries_carrier_and_tracking():
    notice = ShipNotice(
        order=ORDER,
        shipment_id="SH-5501",
        notice_date=WHEN,
        shipment_date=datetime(2026, 12, 2, 12, 0, tzinfo=UTC),
        carrier_name="United Parcel Service",
        carrier_scac="UPSN",
        tracking_number="1Z999AA10123456784",
        tracking_url="https://track.example/1Z999AA10123456784?a=1&b=2",
        lines=(ShippedLine(1, Decimal(10), "EA"), ShippedLine(3, Decimal("2.5"), "MTR")),
        delivery_date=datetime(2026, 12, 5, 17, 0, tzinfo=UTC),
    )
    data = writer.ship_notice_request(ENVELOPE, notice)
    check_head(data, "Fulfill.dtd")
    root = valid(data)
    body = root.find("Request/ShipNoticeRequest")
    assert body is not None
    carriers = body.findall("ShipControl/CarrierIdentifier")
    assert [(c.get("domain"), c.text) for c in carriers] == [
        ("companyName", "United Parcel Service"),
        ("SCAC", "UPSN"),
    ]
    assert body.findtext("ShipControl/ShipmentIdentifier") == "1Z999AA10123456784"
    assert (
        body.findtext("ShipNoticeHeader/Extrinsic[@name='trackingURL']")
        == "https://track.example/1Z999AA10123456784?a=1&b=2"
    )
    items = body.findall("ShipNoticePortion/ShipNoticeItem")
    assert [
        (i.get("lineNumber"), i.get("quantity"), i.findtext("UnitOfMeasure")) for i in items
    ] == [
        ("1", "10", "EA"),
        ("3", "2.5", "MTR"),
    ]


def test_a_ship_notice_without_scac_or_url_is_valid():
    notice = ShipNotice(
        ORDER, "SH-1", WHEN, WHEN, "Local Courier", "LC-1", (ShippedLine(2, Decimal(4), "EA"),)
    )
    root = valid(writer.ship_notice_request(ENVELOPE, notice))
    assert root.find("Request/ShipNoticeRequest/ShipNoticeHeader/Extrinsic") is None


def test_an_invoice_is_valid_and_adds_up():
    invoice = Invoice(
        order=ORDER,
        invoice_id="INV-7001",
        invoice_date=WHEN,
        currency="USD",
        lines=(
            InvoiceLine(1, Decimal(10), "EA", Decimal("12.50"), "WID-100", "Widget, blue"),
            InvoiceLine(3, Decimal("2.5"), "MTR", Decimal("108.60"), "CBL-9"),
        ),
        tax=Decimal("23.79"),
        tax_description="NJ sales tax",
    )
    data = writer.invoice_detail_request(ENVELOPE, invoice)
    check_head(data, "InvoiceDetail.dtd")
    root = valid(data)
    summary = root.find("Request/InvoiceDetailRequest/InvoiceDetailSummary")
    assert summary is not None
    assert summary.findtext("SubtotalAmount/Money") == "396.50"
    assert summary.findtext("Tax/Money") == "23.79"
    assert summary.findtext("DueAmount/Money") == "420.29"
    items = root.findall("Request/InvoiceDetailRequest/InvoiceDetailOrder/InvoiceDetailItem")
    assert [i.findtext("InvoiceDetailItemReference/ItemID/SupplierPartID") for i in items] == [
        "WID-100",
        "CBL-9",
    ]
    assert [i.get("invoiceLineNumber") for i in items] == ["1", "2"]
    assert [i.find("InvoiceDetailItemReference").get("lineNumber") for i in items] == ["1", "3"]


def test_a_document_that_fails_our_schema_is_never_returned():
    notice = ShipNotice(ORDER, "SH-2", WHEN, WHEN, "Courier", "T-1", lines=())
    with pytest.raises(InvalidOutboundDocument, match="ShipNoticeRequest we built fails"):
        writer.ship_notice_request(ENVELOPE, notice)
    empty_order = OrderReference("", "p@x")
    with pytest.raises(InvalidOutboundDocument):
        writer.confirmation_request(ENVELOPE, Confirmation(empty_order, "C", "accept", WHEN))


# golden files: what the writer gives for fixed records, byte for byte (samples/cxml/outbound)

GOLDEN = Path(__file__).parents[3] / "samples" / "cxml" / "outbound"
GOLDEN_DOCUMENTS = {
    "response_200": lambda: writer.response(
        ORDER.payload_id, 200, "OK", payload_id="r-1@gateway.example", timestamp=WHEN
    ),
    "response_406": lambda: writer.response(
        ORDER.payload_id,
        406,
        "Not Acceptable",
        payload_id="r-2@gateway.example",
        timestamp=WHEN,
        detail="OrderRequest/ItemOut[3]/@quantity (line 86): 'x' is not a number",
    ),
    "confirmation_detail": lambda: writer.confirmation_request(
        ENVELOPE,
        Confirmation(
            ORDER,
            "CONF-20481-1",
            "detail",
            WHEN,
            (
                ConfirmationLine(1, Decimal(10), "accept", "EA", date(2026, 12, 10)),
                ConfirmationLine(2, Decimal(4), "backordered", "EA", comments="due Jan 5"),
                ConfirmationLine(3, Decimal("2.5"), "reject", "MTR", comments="discontinued"),
            ),
        ),
    ),
    "ship_notice": lambda: writer.ship_notice_request(
        ENVELOPE,
        ShipNotice(
            ORDER,
            "SH-5501",
            WHEN,
            datetime(2026, 12, 2, 12, 0, tzinfo=UTC),
            "United Parcel Service",
            "1Z999AA10123456784",
            (ShippedLine(1, Decimal(10), "EA"), ShippedLine(2, Decimal(4), "EA")),
            carrier_scac="UPSN",
            tracking_url="https://track.example/1Z999AA10123456784",
        ),
    ),
    "invoice": lambda: writer.invoice_detail_request(
        ENVELOPE,
        Invoice(
            ORDER,
            "INV-7001",
            WHEN,
            "USD",
            (
                InvoiceLine(1, Decimal(10), "EA", Decimal("12.50"), "WID-100", "Widget, blue"),
                InvoiceLine(2, Decimal(4), "EA", Decimal("199.00"), "GEAR-22"),
            ),
            tax=Decimal("64.51"),
            tax_description="NJ sales tax",
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_DOCUMENTS))
def test_each_document_equals_its_golden_file(name):
    data = GOLDEN_DOCUMENTS[name]()
    assert data == (GOLDEN / f"{name}.xml").read_bytes()
    valid(data)


def test_every_golden_file_has_its_document():
    assert {path.stem for path in GOLDEN.glob("*.xml")} == set(GOLDEN_DOCUMENTS)


def test_a_line_answered_in_parts_is_one_item_adding_up_to_its_statuses():
    confirmation = Confirmation(
        OrderReference("PO-1", "p-1"),
        "c-1",
        "detail",
        WHEN,
        (
            ConfirmationLine(3, Decimal(2), "accept", "MTR"),
            ConfirmationLine(3, Decimal("0.5"), "reject", "MTR"),
            ConfirmationLine(4, Decimal(1), "backordered", "EA", date(2026, 12, 20)),
        ),
    )
    root = valid(writer.confirmation_request(ENVELOPE, confirmation))
    items = root.findall(".//ConfirmationItem")
    assert [(i.get("lineNumber"), i.get("quantity")) for i in items] == [("3", "2.5"), ("4", "1")]
    statuses = [(s.get("type"), s.get("quantity")) for s in items[0].findall("ConfirmationStatus")]
    assert statuses == [("accept", "2"), ("reject", "0.5")]
