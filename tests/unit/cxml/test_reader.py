"""cXML in: the project's samples read into the model exactly; every refusal names its path."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.cxml.model import (
    Address,
    Credential,
    Money,
    OrderHeader,
    OrderLine,
    OrderRequest,
    Parties,
    Response,
)
from gateway.cxml.reader import read_order_request, read_response, sniff
from gateway.errors import CxmlError

SAMPLES = Path(__file__).parents[3] / "samples" / "cxml"
EST = timezone(timedelta(hours=-5))


def sample(name: str) -> bytes:
    return (SAMPLES / f"order_request_{name}.xml").read_bytes()


PARTIES = Parties(
    from_=(Credential("NetworkID", "NWBUYER-01"),),
    to=(Credential("DUNS", "123456789"),),
    sender=(Credential("NetworkID", "NWBUYER-01", "not-a-real-secret"),),
    user_agent="Northwind Procurement 4.2",
)
SHIP_TO = Address(
    name="Northwind Distribution East",
    address_id="NW-DC-EAST",
    deliver_to=("Receiving Dock 4", "Attn: Dana Ortiz"),
    street=("400 Harbor Road", "Building C"),
    city="Newark",
    state="NJ",
    postal_code="07114",
    country="US",
)
BILL_TO = Address(
    name="Northwind Accounts Payable",
    address_id="NW-AP",
    street=("12 Market Square",),
    city="Hartford",
    state="CT",
    postal_code="06103",
    country="US",
)
LINE_1 = OrderLine(
    line_number=1,
    quantity=Decimal(10),
    supplier_part_id="WID-100",
    unit_price=Money(Decimal("12.50"), "USD"),
    unit_of_measure="EA",
    description="Widget, blue, 100 mm",
    supplier_part_aux_id="BLUE",
    buyer_part_id="NW-778100",
    requested_delivery_date=date(2026, 12, 10),
)
LINE_2 = OrderLine(
    line_number=2,
    quantity=Decimal(4),
    supplier_part_id="GEAR-22",
    unit_price=Money(Decimal("199.00"), "USD"),
    unit_of_measure="EA",
    description="Gearbox & mount kit",
    requested_delivery_date=date(2026, 12, 10),
)
LINE_3 = OrderLine(
    line_number=3,
    quantity=Decimal("2.5"),
    supplier_part_id="CBL-9",
    unit_price=Money(Decimal("108.60"), "USD"),
    unit_of_measure="MTR",
    description="Steel cable, sold by the metre",
    buyer_part_id="NW-440009",
)
EXTRINSICS = {"CostCenter": "CC-7310", "Requester": "Dana Ortiz"}


def test_the_new_order_is_read_exactly():
    assert read_order_request(sample("new")) == OrderRequest(
        payload_id="1765100000.4711@procure.northwind-buyer.example",
        timestamp=datetime(2026, 12, 1, 9, 15, tzinfo=EST),
        version="1.2.014",
        parties=PARTIES,
        header=OrderHeader(
            order_id="NW-PO-20481",
            order_date=datetime(2026, 12, 1, 9, 10, tzinfo=EST),
            order_type="new",
            total=Money(Decimal("1192.50"), "USD"),
            ship_to=SHIP_TO,
            bill_to=BILL_TO,
            comments="Deliver weekdays between 8 and 16; call ahead for pallets.",
            extrinsics=EXTRINSICS,
        ),
        lines=(LINE_1, LINE_2, LINE_3),
        deployment_mode="test",
    )


def test_the_deployment_mode_is_production_unless_test():
    data = sample("new").replace(b' deploymentMode="test"', b"")
    assert read_order_request(data).deployment_mode == "production"


def test_the_total_of_the_new_order_is_its_lines():
    order = read_order_request(sample("new"))
    total = sum(line.quantity * line.unit_price.amount for line in order.lines)
    assert order.header.total is not None
    assert total == order.header.total.amount


def test_the_update_is_read_exactly():
    order = read_order_request(sample("update"))
    assert order.payload_id == "1765300000.4712@procure.northwind-buyer.example"
    assert order.header.order_type == "update"
    assert order.header.order_id == "NW-PO-20481"
    assert order.header.order_date == datetime(2026, 12, 3, 13, 55, tzinfo=EST)
    assert order.header.total == Money(Decimal("946.00"), "USD")
    assert order.lines == (
        OrderLine(**{**_fields(LINE_1), "quantity": Decimal(12)}),
        LINE_2,
    )


def test_the_delete_is_read_exactly():
    order = read_order_request(sample("delete"))
    assert order.header.order_type == "delete"
    assert order.header.order_id == "NW-PO-20481"
    assert order.header.comments == "Project cancelled: please do not ship."
    assert order.lines == (LINE_1, LINE_2, LINE_3)


def _fields(line: OrderLine) -> dict[str, object]:
    return {name: getattr(line, name) for name in OrderLine.__slots__}


def refused(data: bytes) -> str:
    with pytest.raises(CxmlError) as caught:
        read_order_request(data)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def edited(old: str, new: str, name: str = "new") -> bytes:
    text = sample(name).decode()
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            ' orderID="NW-PO-20481"',
            "",
            "OrderRequest/OrderRequestHeader/@orderID (line 25): missing",
        ),
        (
            'lineNumber="3" quantity="2.5"',
            'lineNumber="3" quantity="x"',
            "OrderRequest/ItemOut[3]/@quantity (line 86): 'x' is not a number",
        ),
        (
            'lineNumber="2" quantity="4"',
            'lineNumber="2" quantity="-4"',
            "OrderRequest/ItemOut[2]/@quantity (line 74): -4 is not a positive quantity",
        ),
        (
            'lineNumber="2" quantity="4"',
            'lineNumber="2" quantity="NaN"',
            "OrderRequest/ItemOut[2]/@quantity (line 74): 'NaN' is not a number",
        ),
        (
            'type="new"',
            'type="replace"',
            "OrderRequest/OrderRequestHeader/@type (line 25): 'replace' is not an order type"
            " (new, update or delete)",
        ),
        (
            'orderDate="2026-12-01T09:10:00-05:00"',
            'orderDate="yesterday"',
            "OrderRequest/OrderRequestHeader/@orderDate (line 25): 'yesterday' is not an ISO 8601"
            " date and time",
        ),
        (
            'requestedDeliveryDate="2026-12-10"',
            'requestedDeliveryDate="2026-13-10"',
            "OrderRequest/ItemOut[1]/@requestedDeliveryDate (line 60): '2026-13-10' is not an"
            " ISO 8601 date",
        ),
        (
            'lineNumber="2"',
            'lineNumber="1"',
            "OrderRequest/ItemOut[2]/@lineNumber (line 74): line number 1 is given twice",
        ),
        (
            'lineNumber="2"',
            'lineNumber="two"',
            "OrderRequest/ItemOut[2]/@lineNumber (line 74): 'two' is not a line number",
        ),
        (
            "<SupplierPartID>GEAR-22</SupplierPartID>",
            "",
            "OrderRequest/ItemOut[2]/ItemID/SupplierPartID (line 75): missing",
        ),
        (
            "<SupplierPartID>GEAR-22</SupplierPartID>",
            "<SupplierPartID> </SupplierPartID>",
            "OrderRequest/ItemOut[2]/ItemID/SupplierPartID (line 76): empty",
        ),
        (
            '<Money currency="USD">199.00</Money>',
            "<Money>199.00</Money>",
            "OrderRequest/ItemOut[2]/ItemDetail/UnitPrice/Money/@currency (line 80): missing",
        ),
        (
            "<UnitOfMeasure>MTR</UnitOfMeasure>",
            "",
            "OrderRequest/ItemOut[3]/ItemDetail/UnitOfMeasure (line 91): missing",
        ),
        (
            '<Extrinsic name="Requester">',
            '<Extrinsic name="CostCenter">',
            "OrderRequest/OrderRequestHeader/Extrinsic[2] (line 58): the extrinsic 'CostCenter'"
            " is given twice",
        ),
        (
            "<Identity>123456789</Identity>",
            "",
            "cXML/Header/To/Credential[1]/Identity (line 11): missing",
        ),
        (' payloadID="1765100000.4711@procure.northwind-buyer.example"', "", "cXML/@payloadID"),
        ("<OrderRequest>", "<ProfileRequest><OrderRequest>", "not an OrderRequest"),
    ],
    ids=[
        "no-order-id",
        "bad-quantity",
        "negative-quantity",
        "nan-quantity",
        "unknown-type",
        "bad-order-date",
        "bad-delivery-date",
        "line-twice",
        "bad-line-number",
        "no-supplier-part",
        "empty-supplier-part",
        "no-currency",
        "no-unit-of-measure",
        "extrinsic-twice",
        "no-identity",
        "no-payload-id",
        "not-an-order",
    ],
)
def test_refusals_name_the_path(old, new, message):
    data = edited(old, new)
    if new == "<ProfileRequest><OrderRequest>":
        data = data.replace(b"</OrderRequest>", b"</OrderRequest></ProfileRequest>")
    assert message in refused(data)


def test_an_order_without_lines_is_refused_unless_deleted():
    text = sample("delete").decode()
    start, end = text.index("      <ItemOut"), text.index("    </OrderRequest>")
    assert read_order_request((text[:start] + text[end:]).encode()).lines == ()
    new = text.replace('type="delete"', 'type="new"')
    assert "OrderRequest/ItemOut (line 24): missing" in refused((new[:start] + new[end:]).encode())


def test_a_missing_type_is_new():
    assert read_order_request(edited(' type="new"', "")).header.order_type == "new"


def test_another_root_is_refused():
    assert "the root element is 'Invoice', not cXML" in refused(b"<Invoice/>")


def test_the_unsafe_is_refused_by_the_reader_too():
    data = b'<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY x SYSTEM "file:///etc/passwd">]><cXML/>'
    assert "entity" in refused(data)


RESPONSE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<cXML payloadID="r-1@buyer.example" timestamp="2026-12-01T10:00:00+00:00">
  <Response><Status code="406" text="Not Acceptable">Unknown order NW-PO-1</Status></Response>
</cXML>"""


def test_a_response_is_read():
    assert read_response(RESPONSE) == Response(
        "r-1@buyer.example", 406, "Not Acceptable", "Unknown order NW-PO-1"
    )


def test_a_response_without_a_status_code_is_refused():
    with pytest.raises(CxmlError, match=r"cXML/Response/Status/@code \(line 4\): missing"):
        read_response(RESPONSE.replace(b' code="406"', b""))
    with pytest.raises(CxmlError, match="'4xx' is not a status code"):
        read_response(RESPONSE.replace(b'code="406"', b'code="4xx"'))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (sample("new"), "cxml"),
        (RESPONSE, "cxml"),
        (b"\xef\xbb\xbf  <cXML payloadID='x'/>", "cxml"),
        ('<?xml version="1.0" encoding="UTF-16"?><cXML/>'.encode("utf-16"), "cxml"),
        (b"ISA*00*          *00*", None),
        (b"po_number,line,sku\n", None),
        (b"<?xml version='1.0'?><Invoice/>", None),
        (b"", None),
    ],
)
def test_sniff(data, expected):
    assert sniff(data) == expected
