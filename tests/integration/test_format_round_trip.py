"""A trade across two formats, on SQLite and PostgreSQL: Northwind buys from us in cXML, we buy
the same goods from Summit in X12, and Summit runs the gateway too. Northwind's OrderRequest
becomes our order A (we sell); we place order B with Summit (an 850), which Summit's gateway
takes in as its order S. Summit's 855 with changes and its 856 come back to us, and we pass the
same decision and the same shipment on to Northwind as a ConfirmationRequest and a
ShipNoticeRequest. After every step the three records of the order agree line by line
(ordered, cancelled, fulfilled), and so do the cXML documents Northwind is sent.

Our store is the `store_engine` of the parametrization; Summit's is a second database of the
same kind (a second SQLite file, or a second PostgreSQL database made from the migrated
template). Documents between the two gateways go through each one's outbox and are answered by
the receiver's 997, as in test_round_trip.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy.engine import Engine

from gateway.adapters.store import create_store_engine
from gateway.config import (
    DatabaseConfig,
    GatewayConfig,
    Identity,
    PartnerProfile,
    load_mappings,
    load_partner,
)
from gateway.cxml import writer
from gateway.cxml.reader import read_response
from gateway.domain import commands
from gateway.domain.model import Order
from gateway.domain.values import LineQuantity, PurchaseOrderLine, Role
from gateway.mapping.engine import Mappings
from gateway.mapping.outbound import Decision, LineDecision, LineStatus
from gateway.service.export import ExportResult, export
from gateway.service.ingest import Ingestor
from gateway.service.outcomes import IngestResult
from tests.conftest import PostgresServer, fresh_postgres_database
from tests.integration.conftest import harborview
from tests.integration.outbound_scenarios import Store, fresh_store

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "partners"
ORDER_REQUEST = ROOT / "samples" / "cxml" / "order_request_new.xml"
NOW = dt.datetime(2026, 12, 2, 15, 30, tzinfo=dt.UTC)
SOLD = "NW-PO-20481"  # Northwind's order with us: A
BOUGHT = "CR-PO-20481"  # ours with Summit: B at our gateway, S at Summit's
OURS = "CEDARRIDGEOUT"  # our ISA id towards Summit: the partner of S in Summit's store
TRACKING = "1Z999AA10123456784"

NONE = Decimal(0)

Lines = list[tuple[str, Decimal, Decimal, Decimal]]


def summit(folder: Path) -> PartnerProfile:
    """Summit Industrial Supply, an X12 seller we buy from."""
    return dataclasses.replace(
        harborview(folder),
        key="summit",
        name="Summit Industrial Supply",
        role="seller",
        identity=Identity("ZZ", "SUMMITIND", "SUMMITIND"),
        us=Identity("ZZ", OURS, OURS),
    )


class Middle:
    """Our gateway: selling to Northwind (cXML), buying from Summit (X12)."""

    def __init__(self, engine: Engine, folder: Path):
        self.store = Store(engine)
        self.profiles = {
            p.key: p for p in (load_partner(CONFIG / "northwind.toml"), summit(folder))
        }
        self.store.mappings = Mappings(
            load_mappings(), {k: p.mapping_overrides() for k, p in self.profiles.items()}
        )

    def take(self, data: bytes, name: str, partner: str) -> IngestResult:
        ingestor = Ingestor(
            self.store.uow,
            self.store.mappings,
            clock=lambda: NOW,
            partners=list(self.profiles.values()),
        )
        return ingestor.ingest(data, name, mailbox=self.profiles[partner])

    def export(self, po: str, set_id: str, partner: str, **options: object) -> ExportResult:
        return export(
            self.store.uow,
            po,
            set_id,
            partner,
            mappings=self.store.mappings,
            clock=lambda: NOW,
            profiles=self.profiles,
            **options,  # type: ignore[arg-type]
        )

    def delivered_to_northwind(self, sent: ExportResult) -> etree._Element:
        """`sent` handed to Northwind's mailbox by the outbox, read as cXML and checked against
        the schema of the elements we write."""
        self.store.deliver()
        assert sent.content in self.store.mailbox("northwind").files.values()
        root = etree.fromstring(sent.content)
        writer.schema().assertValid(root)
        return root


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHWIND_CXML_SECRET", "not-a-real-secret")


@pytest.fixture
def middle(store_engine: Engine, tmp_path: Path) -> Middle:
    return Middle(store_engine, tmp_path / "summit")


@pytest.fixture
def seller(store_engine: Engine, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Summit's gateway: a second store on the same kind of database as ours."""
    if store_engine.dialect.name == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = fresh_postgres_database(server)
        engine = create_store_engine(
            GatewayConfig(data_dir=tmp_path / "seller", database=DatabaseConfig(url=url))
        )
    else:
        engine = fresh_store(tmp_path / "seller")
    yield Store(engine)
    engine.dispose()


def order_in(store: Store, partner: str, po: str) -> Order:
    with store.uow() as uow:
        found = uow.orders.get(partner, po)
    assert found is not None, (partner, po)
    return found


def lines_of(order: Order) -> Lines:
    return [(li.line_number, li.ordered, li.cancelled, li.fulfilled) for li in order.lines]


def three_records(middle: Middle, seller: Store) -> tuple[Lines, Lines, Lines]:
    """A, B and S line by line: (line, ordered, cancelled, fulfilled)."""
    return (
        lines_of(order_in(middle.store, "northwind", SOLD)),
        lines_of(order_in(middle.store, "summit", BOUGHT)),
        lines_of(order_in(seller, OURS, BOUGHT)),
    )


def agreed(middle: Middle, seller: Store) -> Lines:
    """The one record the three orders agree on."""
    sold, bought, at_seller = three_records(middle, seller)
    assert sold == bought == at_seller
    return sold


def summit_takes(middle: Middle, sent: ExportResult, seller: Store, name: str) -> list[str]:
    """Our X12 document delivered to Summit and taken in by its gateway, whose 997 we take in
    from Summit's mailbox; what Summit's gateway did with each set."""
    middle.store.deliver()
    assert sent.content in middle.store.mailbox("summit").files.values()
    taken = Ingestor(seller.uow, seller.mappings, clock=lambda: NOW).ingest(sent.content, name)
    assert taken.accepted, taken.first_issue
    (acknowledgement,) = taken.acknowledgements
    answer = middle.take(acknowledgement.content, f"997-{name}", "summit")
    assert [outcome.action for outcome in answer.sets] == ["acknowledged"]
    return [outcome.action for outcome in taken.sets]


def we_take(seller: Store, sent: ExportResult, middle: Middle, name: str) -> list[str]:
    """Summit's X12 document delivered by its outbox and taken in from Summit's mailbox, our 997
    taken in by Summit; what we did with each set."""
    assert (sent.document_id, "sent") in {(d.document_id, d.status) for d in seller.deliver()}
    taken = middle.take(sent.content, name, "summit")
    assert taken.accepted and taken.unauthorized == "", taken.first_issue
    (acknowledgement,) = taken.acknowledgements
    answer = Ingestor(seller.uow, seller.mappings, clock=lambda: NOW).ingest(
        acknowledgement.content, f"997-{name}"
    )
    assert [outcome.action for outcome in answer.sets] == ["acknowledged"]
    return [outcome.action for outcome in taken.sets]


def confirmation_items(
    root: etree._Element,
) -> list[tuple[str, Decimal, tuple[tuple[str, Decimal], ...]]]:
    """Each ConfirmationItem: (line, its quantity, its statuses' (type, quantity))."""
    return [
        (
            item.get("lineNumber", ""),
            Decimal(item.get("quantity", "")),
            tuple(
                (status.get("type", ""), Decimal(status.get("quantity", "")))
                for status in item.findall("ConfirmationStatus")
            ),
        )
        for item in root.findall(".//ConfirmationRequest/ConfirmationItem")
    ]


def test_a_cxml_buyer_and_an_x12_seller_keep_the_order_equal_line_by_line_through_us(
    middle: Middle, seller: Store
):
    # 1. Northwind's OrderRequest: order A, answered by a Response
    taken = middle.take(ORDER_REQUEST.read_bytes(), ORDER_REQUEST.name, "northwind")
    assert [(s.set_id, s.action, s.po_number) for s in taken.sets] == [
        ("OrderRequest", "created", SOLD)
    ]
    (response,) = taken.acknowledgements
    assert response.kind == "Response" and read_response(response.content).status_code == 200
    sold = order_in(middle.store, "northwind", SOLD)
    assert sold.our_role is Role.SELLER
    assert lines_of(sold) == [
        ("1", Decimal(10), NONE, NONE),
        ("2", Decimal(4), NONE, NONE),
        ("3", Decimal("2.5"), NONE, NONE),
    ]

    # 2. order B placed with Summit for the same goods, its 850 taken in by Summit's gateway
    middle.store.bus.handle(
        commands.ReceiveOrder(
            partner="summit",
            po_number=BOUGHT,
            at=NOW,
            source=f"placed for Northwind's {SOLD}",
            our_role=Role.BUYER,
            order_date=NOW.date(),
            lines=tuple(
                PurchaseOrderLine(
                    line.line_number,
                    line.ordered,
                    line.unit_of_measure,  # kept in X12's units (MTR taken in as MR)
                    line.unit_price,
                    (("VP", line.product_ids["VP"]),),
                    line.description,
                )
                for line in sold.lines
            ),
        )
    )
    placing = middle.export(BOUGHT, "850", "summit")
    assert placing.set_id == "850"
    assert b"*ZZ*CEDARRIDGEOUT  *ZZ*SUMMITIND      *" in placing.content  # as the profile says
    assert summit_takes(middle, placing, seller, "850") == ["created"]
    at_seller = order_in(seller, OURS, BOUGHT)
    assert at_seller.our_role is Role.SELLER
    assert [li.product_ids for li in at_seller.lines] == [
        {"VP": "WID-100"},
        {"VP": "GEAR-22"},
        {"VP": "CBL-9"},
    ]
    assert [li.unit_of_measure for li in at_seller.lines] == ["EA", "EA", "MR"]
    assert agreed(middle, seller) == lines_of(sold)

    # 3. Summit rejects line 2 and cuts line 3 from 2.5 m to 2 m; we answer Northwind the same
    decision = Decision.with_changes(
        LineDecision("2", LineStatus.REJECTED),
        LineDecision("3", LineStatus.QUANTITY_CHANGED, Decimal(2)),
    )
    acknowledgement = seller.export(BOUGHT, "855", decision=decision)
    assert b"BAK*00*AC*" in acknowledgement.content
    assert we_take(seller, acknowledgement, middle, "855") == ["confirmed"]
    bought = order_in(middle.store, "summit", BOUGHT)
    assert "confirmed" in {flag.value for flag in bought.flags}
    assert lines_of(bought) == lines_of(order_in(seller, OURS, BOUGHT))
    # until we tell Northwind, A still stands as ordered
    assert lines_of(order_in(middle.store, "northwind", SOLD)) == lines_of(sold)

    confirmation = middle.export(SOLD, "855", "northwind", decision=decision)
    assert confirmation.set_id == "ConfirmationRequest"
    assert confirmation.recorded  # the cancellations it sends are recorded on A
    after_decision = agreed(middle, seller)
    assert after_decision == [
        ("1", Decimal(10), NONE, NONE),
        ("2", Decimal(4), Decimal(4), NONE),
        ("3", Decimal("2.5"), Decimal("0.5"), NONE),
    ]
    root = middle.delivered_to_northwind(confirmation)
    header = root.find(".//ConfirmationRequest/ConfirmationHeader")
    assert header is not None and header.get("type") == "detail"
    reference = root.find(".//ConfirmationRequest/OrderReference")
    assert reference is not None and reference.get("orderID") == SOLD
    # one item per line, of what was ordered; its statuses add up to it: what stays open is
    # accepted, what was cancelled is rejected
    assert confirmation_items(root) == [
        ("1", Decimal(10), (("accept", Decimal(10)),)),
        ("2", Decimal(4), (("reject", Decimal(4)),)),
        ("3", Decimal("2.5"), (("accept", Decimal(2)), ("reject", Decimal("0.5")))),
    ]
    for (number, ordered, cancelled, _), (line, quantity, statuses) in zip(
        after_decision, confirmation_items(root), strict=True
    ):
        assert (line, quantity) == (number, ordered)
        said = dict(statuses)
        assert said.get("reject", NONE) == cancelled
        assert said.get("accept", NONE) == ordered - cancelled

    # 4. Summit ships what stays open; its 856 comes to us and we pass the shipment on
    seller.bus.handle(
        commands.CreateFulfilment(
            partner=OURS,
            po_number=BOUGHT,
            at=NOW,
            fulfilment_id="SUM-SH-7710",
            lines=(LineQuantity("1", Decimal(10)), LineQuantity("3", Decimal(2))),
            carrier="UPSN",
            tracking_numbers=(TRACKING,),
            ship_date=NOW.date(),
        )
    )
    notice = seller.export(BOUGHT, "856")
    assert we_take(seller, notice, middle, "856") == ["fulfilled"]
    (received,) = order_in(middle.store, "summit", BOUGHT).fulfilments
    (shipped,) = order_in(seller, OURS, BOUGHT).fulfilments
    assert received.id == shipped.id == "SUM-SH-7710"
    assert received.tracking_numbers == shipped.tracking_numbers == (TRACKING,)
    assert received.carrier == "UPSN"

    middle.store.bus.handle(
        commands.CreateFulfilment(
            partner="northwind",
            po_number=SOLD,
            at=NOW,
            source=f"Summit's 856 for {BOUGHT}",
            fulfilment_id=received.id,
            lines=tuple(received.lines),
            carrier=received.carrier,
            tracking_numbers=tuple(received.tracking_numbers),
            ship_date=received.ship_date,
        )
    )
    ship_notice = middle.export(SOLD, "856", "northwind")
    assert ship_notice.set_id == "ShipNoticeRequest"
    after_shipping = agreed(middle, seller)
    assert after_shipping == [
        ("1", Decimal(10), NONE, Decimal(10)),
        ("2", Decimal(4), Decimal(4), NONE),
        ("3", Decimal("2.5"), Decimal("0.5"), Decimal(2)),
    ]
    root = middle.delivered_to_northwind(ship_notice)
    assert root.find(".//ShipNoticeHeader").get("shipmentID") == "SUM-SH-7710"  # type: ignore[union-attr]
    assert root.findtext(".//ShipControl/ShipmentIdentifier") == TRACKING
    assert root.find(".//ShipNoticePortion/OrderReference").get("orderID") == SOLD  # type: ignore[union-attr]
    items = [
        (item.get("lineNumber"), Decimal(item.get("quantity", "")), item.findtext("UnitOfMeasure"))
        for item in root.findall(".//ShipNoticePortion/ShipNoticeItem")
    ]
    assert items == [("1", Decimal(10), "EA"), ("3", Decimal(2), "MTR")]
    assert [(n, f) for n, _, _, f in after_shipping if f] == [(n, q) for n, q, _ in items]
    for order in (
        order_in(middle.store, "northwind", SOLD),
        order_in(middle.store, "summit", BOUGHT),
        order_in(seller, OURS, BOUGHT),
    ):
        assert all(line.open == 0 for line in order.lines)
        assert "shipped" in {flag.value for flag in order.flags}
