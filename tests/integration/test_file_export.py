"""What we send partners who do not speak X12, on SQLite and PostgreSQL: the same request an
operator makes of an X12 partner (an 855 with a decision, an 856, an 810, an 850, an 860) builds
the document of the partner's format (a cXML ConfirmationRequest, ShipNoticeRequest or
InvoiceDetailRequest; a CSV acknowledgement, ship notice, order or cancellation file), records
the same on the order, is delivered under a name with its format's extension, and a cXML
partner's Response marks it acknowledged or rejected."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy.engine import Engine

from gateway.config import FolderTransport, PartnerProfile, load_mappings, load_partner
from gateway.csvformat import read_cancellations, read_orders, read_ship_notices
from gateway.cxml import writer
from gateway.domain import commands
from gateway.domain.values import LineQuantity, PurchaseOrderLine, Role, Side
from gateway.errors import ExportRefused
from gateway.mapping.csv_orders import layout
from gateway.mapping.engine import Mappings
from gateway.mapping.outbound import Decision, LineDecision, LineStatus
from gateway.service.delivery import Deliverer, overdue
from gateway.service.documents import acknowledgements, validation_report
from gateway.service.export import ExportResult, export
from gateway.service.ingest import Ingestor
from tests.integration.outbound_scenarios import Mailbox, Store

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "partners"
NOW = dt.datetime(2026, 12, 2, 15, 30, tzinfo=dt.UTC)
PO = "NW-PO-20481"
TRACKING = "1Z999AA10123456784"


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHWIND_CXML_SECRET", "not-a-real-secret")


def csv_buyer(tmp_path: Path) -> PartnerProfile:
    """A buyer sending CSV orders in the shipped (English) layout."""
    northwind = load_partner(CONFIG / "northwind.toml")
    return dataclasses.replace(
        northwind,
        key="birchwood",
        name="Birchwood Supply",
        format="csv",
        cxml=None,
        acknowledgements=dataclasses.replace(
            northwind.acknowledgements, send="none", expect="none"
        ),
        transport=FolderTransport(tmp_path / "in", tmp_path / "out"),
    )


class Partners:
    def __init__(self, engine: Engine, tmp_path: Path):
        self.store = Store(engine)
        self.profiles = {
            p.key: p
            for p in (
                load_partner(CONFIG / "northwind.toml"),
                load_partner(CONFIG / "alpenhof.toml"),
                csv_buyer(tmp_path),
            )
        }
        self.mappings = Mappings(
            load_mappings(), {k: p.mapping_overrides() for k, p in self.profiles.items()}
        )
        self.mailboxes: dict[str, Mailbox] = {}

    def take(self, partner: str, data: bytes, name: str = "file"):  # type: ignore[no-untyped-def]
        ingestor = Ingestor(
            self.store.uow, self.mappings, clock=lambda: NOW, partners=list(self.profiles.values())
        )
        return ingestor.ingest(data, name, mailbox=self.profiles[partner])

    def export(self, po: str, set_id: str, partner: str, **options: object) -> ExportResult:
        return export(
            self.store.uow,
            po,
            set_id,
            partner,
            mappings=self.mappings,
            clock=lambda: NOW,
            profiles=self.profiles,
            **options,  # type: ignore[arg-type]
        )

    def deliver(self) -> dict[str, bytes]:
        def mailbox(partner: str) -> Mailbox:
            return self.mailboxes.setdefault(partner, Mailbox(partner))

        Deliverer(self.store.uow, mailbox, clock=lambda: NOW).drain()
        return {name: data for box in self.mailboxes.values() for name, data in box.files.items()}

    def order(self, partner: str, po: str):  # type: ignore[no-untyped-def]
        with self.store.uow() as uow:
            found = uow.orders.get(partner, po)
        assert found is not None
        return found

    def ship(self, partner: str, po: str, fulfilment_id: str, *lines: tuple[str, int]) -> None:
        self.store.bus.handle(
            commands.CreateFulfilment(
                partner=partner,
                po_number=po,
                at=NOW,
                source="test",
                fulfilment_id=fulfilment_id,
                lines=tuple(LineQuantity(n, Decimal(q)) for n, q in lines),
                carrier="UPSN",
                tracking_numbers=(TRACKING,),
                tracking_url=f"https://www.ups.com/track?tracknum={TRACKING}",
            )
        )


@pytest.fixture
def partners(store_engine: Engine, tmp_path: Path) -> Partners:
    return Partners(store_engine, tmp_path)


def northwind_order(partners: Partners) -> None:
    sample = ROOT / "samples" / "cxml" / "order_request_new.xml"
    result = partners.take("northwind", sample.read_bytes())
    assert [s.action for s in result.sets] == ["created"]
    partners.deliver()  # its Response


def cxml_of(sent: ExportResult) -> etree._Element:
    root = etree.fromstring(sent.content)
    writer.schema().assertValid(root)  # the schema of the elements we write
    return root


def test_an_855_to_a_cxml_buyer_is_a_confirmation_request_of_its_order(partners: Partners):
    northwind_order(partners)
    decision = Decision.with_changes(
        LineDecision("2", LineStatus.REJECTED),
        LineDecision("3", LineStatus.QUANTITY_CHANGED, Decimal(2)),
    )
    sent = partners.export(PO, "855", "northwind", decision=decision)
    assert sent.set_id == "ConfirmationRequest"
    root = cxml_of(sent)
    reference = root.find(".//ConfirmationRequest/OrderReference")
    assert reference is not None and reference.get("orderID") == PO
    document = reference.find("DocumentReference")
    assert document is not None
    assert document.get("payloadID") == "1765100000.4711@procure.northwind-buyer.example"
    items = root.findall(".//ConfirmationItem")
    assert [
        (i.get("lineNumber"), i.get("quantity"), [(s.get("type"), s.get("quantity")) for s in i])
        for i in items
    ] == [
        ("1", "10", [(None, None), ("accept", "10")]),  # (its UnitOfMeasure, then statuses)
        ("2", "4", [(None, None), ("reject", "4")]),
        ("3", "2.5", [(None, None), ("accept", "2"), ("reject", "0.5")]),
    ]
    assert items[2].findtext("UnitOfMeasure") == "MTR"  # kept as MR, sent as cXML spells it
    sender = root.find("Header/Sender/Credential")
    assert sender is not None and sender.findtext("SharedSecret") == "not-a-real-secret"
    assert root.find("Request").get("deploymentMode") == "test"  # type: ignore[union-attr]
    order = partners.order("northwind", PO)
    assert [
        (c.requested_by.value, [(q.line_number, q.quantity) for q in c.lines])
        for c in order.cancellations
    ] == [("seller", [("2", Decimal(4)), ("3", Decimal("0.5"))])]
    delivered = partners.deliver()
    assert any(
        name.startswith("ConfirmationRequest_") and name.endswith(".xml") for name in delivered
    )


def test_a_cxml_buyers_response_acknowledges_or_rejects_the_document_it_answers(
    partners: Partners,
):
    northwind_order(partners)
    sent = partners.export(PO, "855", "northwind", decision=Decision.accept_all())
    partners.deliver()
    answer = writer.response(
        sent.interchange_control, 200, "OK", payload_id="r-1@northwind.example", timestamp=NOW
    )
    taken = partners.take("northwind", answer, "response.xml")
    assert [s.action for s in taken.sets] == ["acknowledged"] and taken.acknowledgements == []
    with partners.store.uow() as uow:
        document = uow.documents.get(sent.document_id)
    assert document is not None and document.status == "acknowledged"
    fulfil_then_ship = partners
    fulfil_then_ship.ship("northwind", PO, "F-1", ("1", 10))
    notice = partners.export(PO, "856", "northwind")
    partners.deliver()
    refused = writer.response(
        notice.interchange_control,
        406,
        "Not Acceptable",
        payload_id="r-2@northwind.example",
        timestamp=NOW,
        detail="unknown carrier",
    )
    partners.take("northwind", refused, "response-2.xml")
    with partners.store.uow() as uow:
        document = uow.documents.get(notice.document_id)
    assert document is not None and document.status == "rejected"


def test_an_856_to_a_cxml_buyer_carries_carrier_tracking_and_lines(partners: Partners):
    northwind_order(partners)
    partners.ship("northwind", PO, "F-1", ("1", 10), ("2", 4))
    sent = partners.export(PO, "856", "northwind")
    assert sent.set_id == "ShipNoticeRequest"
    root = cxml_of(sent)
    assert root.find(".//ShipNoticeHeader").get("shipmentID") == "F-1"  # type: ignore[union-attr]
    tracking = root.find(".//ShipmentIdentifier")
    assert tracking is not None and tracking.text == TRACKING
    url = root.find(".//ShipNoticeHeader/Extrinsic[@name='trackingURL']")
    assert url is not None and url.text == f"https://www.ups.com/track?tracknum={TRACKING}"
    items = root.findall(".//ShipNoticeItem")
    assert [(i.get("lineNumber"), i.get("quantity")) for i in items] == [("1", "10"), ("2", "4")]
    partners.deliver()
    (fulfilment,) = partners.order("northwind", PO).fulfilments
    assert not fulfilment.passed_on  # delivered, not yet accepted: they answer with a Response
    answer = writer.response(
        sent.interchange_control, 200, "OK", payload_id="r-3@northwind.example", timestamp=NOW
    )
    partners.take("northwind", answer, "response.xml")
    (fulfilment,) = partners.order("northwind", PO).fulfilments
    assert fulfilment.passed_on


def test_an_810_to_a_cxml_buyer_is_an_invoice_detail_request_recorded_on_the_order(
    partners: Partners,
):
    northwind_order(partners)
    partners.ship("northwind", PO, "F-1", ("1", 10))
    sent = partners.export(PO, "810", "northwind")
    assert sent.set_id == "InvoiceDetailRequest"
    root = cxml_of(sent)
    due = root.find(".//InvoiceDetailSummary/DueAmount/Money")
    assert due is not None and Decimal(due.text or "") == Decimal("125.00")
    (invoice,) = partners.order("northwind", PO).invoices
    assert invoice.amount == Decimal("125.00")


def test_a_csv_buyer_gets_acknowledgement_and_ship_notice_files(partners: Partners):
    orders = (
        "po_number,order_date,line,vendor_part,quantity,unit_price\r\n"
        "BW-1,2026-12-01,1,WID-100,5,12.50\r\n"
        "BW-1,2026-12-01,2,GEAR-22,2,199.00\r\n"
    )
    result = partners.take("birchwood", orders.encode(), "orders.csv")
    assert [(s.po_number, s.action) for s in result.sets] == [("BW-1", "created")]
    acknowledgement = partners.export(
        "BW-1",
        "855",
        "birchwood",
        decision=Decision.with_changes(LineDecision("2", LineStatus.REJECTED)),
    )
    assert acknowledgement.content.decode().splitlines() == [
        "po_number,line,status,quantity,unit_price,ship_date,note",
        "BW-1,1,accepted,5,12.50,,",
        "BW-1,2,rejected,2,199.00,,",
    ]
    partners.ship("birchwood", "BW-1", "F-1", ("1", 5))
    notice = partners.export("BW-1", "856", "birchwood")
    mapping = partners.mappings.get("csv-ship-notices-out", "birchwood")
    (row,) = read_ship_notices(notice.content, layout(mapping)).notices
    assert (row.po_number, row.line_number, row.quantity, row.tracking_number) == (
        "BW-1",
        "1",
        Decimal(5),
        TRACKING,
    )
    delivered = partners.deliver()
    assert sorted(name.rsplit(".", 1)[1] for name in delivered) == ["csv", "csv"]
    assert "shipped" in {flag.value for flag in partners.order("birchwood", "BW-1").flags}


def test_an_order_and_its_cancellation_to_a_csv_vendor_are_files_in_their_layout(
    partners: Partners,
):
    partners.store.bus.handle(
        commands.ReceiveOrder(
            partner="alpenhof",
            po_number="CR-PO-7001",
            at=NOW,
            source="placed by us",
            our_role=Role.BUYER,
            order_date=NOW.date(),
            lines=(
                PurchaseOrderLine("1", Decimal(2), "EA", Decimal("10.50"), (("VP", "A-1"),)),
                PurchaseOrderLine("2", Decimal(3), "M", Decimal("4.00"), (("VP", "A-2"),)),
            ),
        )
    )
    placed = partners.export("CR-PO-7001", "850", "alpenhof")
    assert placed.content.decode().splitlines()[0].startswith("Bestellnummer;Bestelldatum;")
    mapping = partners.mappings.get("csv-orders-out", "alpenhof")
    (order,) = read_orders(placed.content, layout(mapping)).orders
    assert [(line.vendor_part, line.quantity, line.unit_price) for line in order.lines] == [
        ("A-1", Decimal(2), Decimal("10.50")),
        ("A-2", Decimal(3), Decimal("4.00")),
    ]
    assert ";10,50;" in placed.content.decode()
    with pytest.raises(ExportRefused, match="no cancellation"):
        partners.export("CR-PO-7001", "860", "alpenhof")
    partners.store.bus.handle(
        commands.CancelLines(
            partner="alpenhof",
            po_number="CR-PO-7001",
            at=NOW,
            source="test",
            cancellation_id="C-1",
            lines=(LineQuantity("2", Decimal(1)),),
            requested_by=Side.BUYER,
            reason="too many",
        )
    )
    cancelled = partners.export("CR-PO-7001", "860", "alpenhof")
    mapping = partners.mappings.get("csv-cancellations-out", "alpenhof")
    (row,) = read_cancellations(cancelled.content, layout(mapping)).cancellations
    assert (row.po_number, row.line_number, row.quantity, row.reason) == (
        "CR-PO-7001",
        "2",
        Decimal(1),
        "too many",
    )


def test_a_document_a_format_has_no_kind_for_is_refused_with_its_rule(partners: Partners):
    northwind_order(partners)
    with pytest.raises(ExportRefused) as refused:
        partners.export(PO, "850", "northwind")  # no cXML document stands for an 850 we send
    assert refused.value.rule == "partner-takes-the-document"


def test_a_cxml_document_unanswered_past_the_deadline_is_overdue(partners: Partners):
    northwind_order(partners)
    sent = partners.export(PO, "855", "northwind", decision=Decision.accept_all())
    partners.deliver()
    hours = partners.profiles["northwind"].acknowledgements.deadline_hours
    later = NOW + dt.timedelta(hours=hours, minutes=1)
    with partners.store.uow() as uow:  # the store dates the delivery with its own clock
        (document,) = [
            d for d in uow.documents.listing(direction="out") if d.id == sent.document_id
        ]
    assert document.status == "sent"
    marked = overdue(partners.store.uow, partners.profiles, later + (dt.datetime.now(dt.UTC) - NOW))
    assert [d.id for d in marked] == [sent.document_id]  # the Response of theirs is never owed


def test_a_cxml_documents_page_has_no_x12_acknowledgements_and_no_x12_validation(
    partners: Partners,
):
    northwind_order(partners)
    sent = partners.export(PO, "855", "northwind", decision=Decision.accept_all())
    with partners.store.uow() as uow:
        document = uow.documents.get(sent.document_id)
        assert document is not None
        assert acknowledgements(uow, document) == []  # its answer is a Response, not a 997
    assert validation_report(document, None) is None
