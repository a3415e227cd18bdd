"""cXML and CSV files taken in through the same ingestor as X12, on SQLite and PostgreSQL: a
cXML OrderRequest (new, update, delete) becomes the order, its change or its cancellation and is
answered with a Response; anything not from the partner is refused as unauthorized and never
applied; a CSV file's orders each apply on their own, a bad row refusing its order alone; a
vendor's CSV ship notice records the fulfilment; cancellations in both directions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from gateway.config import PartnerProfile, load_mappings, load_partner
from gateway.cxml.reader import read_response
from gateway.domain import commands
from gateway.domain.values import PurchaseOrderLine, Role
from gateway.mapping.engine import Mappings
from gateway.service.documents import replay
from gateway.service.ingest import Ingestor
from gateway.service.outcomes import IngestResult
from tests.integration.outbound_scenarios import Store

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
CONFIG = ROOT / "config" / "partners"
NOW = dt.datetime(2026, 12, 2, 15, 30, tzinfo=dt.UTC)
SECRET = "not-a-real-secret"  # the one the cXML samples carry
PO = "NW-PO-20481"


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("NORTHWIND_CXML_SECRET", SECRET)
    return SECRET


@pytest.fixture
def store(store_engine: Engine) -> Store:
    return Store(store_engine)


def profiles() -> dict[str, PartnerProfile]:
    return {p: load_partner(CONFIG / f"{p}.toml") for p in ("northwind", "alpenhof")}


def ingestor(store: Store) -> Ingestor:
    found = profiles()
    mappings = Mappings(load_mappings(), {k: p.mapping_overrides() for k, p in found.items()})
    return Ingestor(store.uow, mappings, clock=lambda: NOW, partners=list(found.values()))


def take(store: Store, data: bytes, partner: str = "northwind", name: str = "f") -> IngestResult:
    return ingestor(store).ingest(data, name, mailbox=profiles()[partner])


def cxml(name: str) -> bytes:
    return (SAMPLES / "cxml" / f"order_request_{name}.xml").read_bytes()


def answer(result: IngestResult) -> tuple[int, str]:
    (response,) = result.acknowledgements
    assert response.kind == "Response"
    read = read_response(response.content)
    return read.status_code, read.detail


def test_a_cxml_order_is_created_with_its_lines_notes_and_answered_200(store: Store, secret: str):
    result = take(store, cxml("new"))
    assert [(s.set_id, s.action, s.po_number) for s in result.sets] == [
        ("OrderRequest", "created", PO)
    ]
    assert answer(result)[0] == 200
    with store.uow() as uow:
        order = uow.orders.get("northwind", PO)
        assert order is not None
        (document,) = uow.documents.with_sha256(result.sha256)
    assert order.our_role is Role.SELLER and order.is_test  # deploymentMode="test"
    assert [(line.line_number, line.ordered, line.unit_price) for line in order.lines] == [
        ("1", Decimal(10), Decimal("12.50")),
        ("2", Decimal(4), Decimal("199.00")),
        ("3", Decimal("2.5"), Decimal("108.60")),
    ]
    assert order.lines[0].product_ids == {"VP": "WID-100", "VA": "BLUE", "BP": "NW-778100"}
    assert order.lines[2].unit_of_measure == "MR"  # metre, kept as X12 says it
    texts = [note.text for note in order.notes]
    assert any("call ahead for pallets" in t for t in texts)
    assert any("CostCenter = CC-7310" in t for t in texts)
    assert (document.status, document.interchange_control) == (
        "accepted",
        "1765100000.4711@procure.northwind-buyer.example",
    )


def test_an_update_replaces_the_order_and_a_delete_cancels_it(store: Store, secret: str):
    take(store, cxml("new"))
    updated = take(store, cxml("update"), name="update")
    assert [s.action for s in updated.sets] == ["replaced"] and answer(updated)[0] == 200
    with store.uow() as uow:
        order = uow.orders.get("northwind", PO)
        assert order is not None
        assert [(line.line_number, line.ordered) for line in order.lines] == [
            ("1", Decimal(12)),
            ("2", Decimal(4)),
        ]
    deleted = take(store, cxml("delete"), name="delete")
    assert [s.action for s in deleted.sets] == ["cancelled"] and answer(deleted)[0] == 200
    with store.uow() as uow:
        order = uow.orders.get("northwind", PO)
        assert order is not None
        assert "cancelled" in {flag.value for flag in order.flags}
        assert "cXML OrderRequest type delete" in order.cancellations[0].reason


def test_the_same_payload_again_is_answered_and_not_applied_twice(store: Store, secret: str):
    take(store, cxml("new"))
    again = take(store, cxml("new").replace(b"<Comments", b"<!-- resent -->\n<Comments"))
    assert again.sets == [] and again.duplicate
    assert answer(again)[0] == 200
    with store.uow() as uow:
        assert len(uow.orders.find(PO)) == 1
    same_bytes = take(store, cxml("new"))
    assert same_bytes.duplicate and same_bytes.sets == [] and same_bytes.acknowledgements == []


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (b"<Identity>NWBUYER-01</Identity>\n      </Credential>\n    </From>",
         b"<Identity>SOMEONE-ELSE</Identity>\n      </Credential>\n    </From>", "From"),
        (b"<Identity>123456789</Identity>", b"<Identity>987654321</Identity>", "To"),
        (b"not-a-real-secret", b"a-guessed-secret", "SharedSecret"),
    ],
)  # fmt: skip
def test_a_document_not_from_the_partner_to_us_is_unauthorized_and_never_applied(
    store: Store, secret: str, old: bytes, new: bytes, why: str
):
    data = cxml("new")
    assert old in data
    result = take(store, data.replace(old, new, 1))
    assert why in result.unauthorized and result.sets == []
    assert answer(result)[0] == 401
    with store.uow() as uow:
        assert uow.orders.find(PO) == []
        (document,) = uow.documents.with_sha256(result.sha256)
        assert document.status == "unauthorized"


def test_a_broken_document_is_answered_400_and_values_the_order_cannot_take_406(
    store: Store, secret: str
):
    broken = take(store, cxml("new")[:-40])
    assert not broken.accepted and answer(broken)[0] == 400
    wrong_total = take(store, cxml("new").replace(b">1192.50<", b">1000.00<"), name="t")
    (outcome,) = wrong_total.sets
    assert outcome.action == "rejected" and "Total" in outcome.message
    assert answer(wrong_total) == (406, outcome.message)


def test_an_update_of_an_order_that_shipped_is_answered_409_with_the_rule(
    store: Store, secret: str
):
    take(store, cxml("new"))
    with store.uow() as uow:
        order = uow.orders.get("northwind", PO)
        assert order is not None
        lines = order.lines
    store.bus.handle(
        commands.CreateFulfilment(
            partner="northwind",
            po_number=PO,
            at=NOW,
            source="test",
            fulfilment_id="F1",
            lines=tuple(commands.LineQuantity(line.line_number, line.ordered) for line in lines),
            carrier="UPSN",
            tracking_numbers=("1Z999AA10123456784",),
        )
    )
    result = take(store, cxml("update"), name="update")
    (outcome,) = result.sets
    assert outcome.action == "refused"
    code, detail = answer(result)
    assert code == 409 and detail == outcome.message


# -- CSV --

ALPENHOF_SHIP = (
    "Bestellnummer;Position;Menge;Spediteur;Sendungsnummer;Sendungsverfolgung;Versanddatum\r\n"
    "CR-PO-7001;1;2;UPS;1Z999AA10123456784;https://example.test/t/1;03.12.2026\r\n"
    "CR-PO-7001;2;1,5;UPS;1Z999AA10123456784;https://example.test/t/1;03.12.2026\r\n"
    "CR-PO-7002;1;x;UPS;1Z999AA10123456784;;03.12.2026\r\n"
)


def placed(store: Store, po_number: str) -> None:
    store.bus.handle(
        commands.ReceiveOrder(
            partner="alpenhof",
            po_number=po_number,
            at=NOW,
            source="placed by us",
            our_role=Role.BUYER,
            order_date=NOW.date(),
            lines=(
                PurchaseOrderLine("1", Decimal(2), "EA", Decimal("10.00"), (("VP", "A-1"),)),
                PurchaseOrderLine("2", Decimal(3), "M", Decimal("4.00"), (("VP", "A-2"),)),
            ),
        )
    )


def test_a_vendors_csv_ship_notice_records_its_fulfilment_a_bad_row_refuses_its_order_alone(
    store: Store,
):
    placed(store, "CR-PO-7001")
    placed(store, "CR-PO-7002")
    result = take(store, ALPENHOF_SHIP.encode(), "alpenhof", "versand.csv")
    assert sorted((s.po_number, s.action) for s in result.sets) == [
        ("CR-PO-7001", "fulfilled"),
        ("CR-PO-7002", "rejected"),
    ]
    refused = next(s for s in result.sets if s.action == "rejected")
    assert "row 4" in refused.message and "Menge" in refused.message
    assert result.acknowledgements == []  # a CSV partner gets no answer file
    with store.uow() as uow:
        shipped = uow.orders.get("alpenhof", "CR-PO-7001")
        untouched = uow.orders.get("alpenhof", "CR-PO-7002")
        (document,) = uow.documents.with_sha256(result.sha256)
    assert shipped is not None and untouched is not None
    (fulfilment,) = shipped.fulfilments
    assert fulfilment.carrier == "UPSN" and fulfilment.tracking_url == "https://example.test/t/1"
    assert [(q.line_number, q.quantity) for q in fulfilment.lines] == [
        ("1", Decimal(2)),
        ("2", Decimal("1.5")),
    ]
    assert untouched.fulfilments == []
    assert document.status == "partly accepted"
    again = take(store, ALPENHOF_SHIP.encode(), "alpenhof", "versand.csv")
    assert again.duplicate and again.sets == []


def test_a_vendors_csv_cancellation_takes_only_what_is_open(store: Store):
    placed(store, "CR-PO-7003")
    data = b"Bestellnummer;Position;Menge;Grund\r\nCR-PO-7003;2;;ausverkauft\r\n"
    result = take(store, data, "alpenhof", "storno.csv")
    assert [(s.po_number, s.action) for s in result.sets] == [("CR-PO-7003", "cancelled")]
    with store.uow() as uow:
        order = uow.orders.get("alpenhof", "CR-PO-7003")
    assert order is not None
    (cancellation,) = order.cancellations
    assert cancellation.reason == "ausverkauft"
    assert [(q.line_number, q.quantity) for q in cancellation.lines] == [("2", Decimal(3))]


def test_a_csv_file_matching_no_layout_is_rejected_naming_the_files_expected(store: Store):
    result = take(store, b"a;b;c\r\n1;2;3\r\n", "alpenhof", "what.csv")
    assert not result.accepted and "csv-ship-notices" in result.first_issue


def test_a_csv_ship_notice_for_an_order_not_yet_held_applies_when_replayed(store: Store):
    rows = ALPENHOF_SHIP.splitlines()[:3]
    first = take(store, ("\r\n".join(rows) + "\r\n").encode(), "alpenhof", "versand.csv")
    assert [(s.po_number, s.action) for s in first.sets] == [("CR-PO-7001", "refused")]
    placed(store, "CR-PO-7001")
    (document_id,) = first.document_ids
    again = replay(store.uow, ingestor(store), document_id)
    assert [(s.po_number, s.action) for s in again.sets] == [("CR-PO-7001", "fulfilled")]
    with store.uow() as uow:
        order = uow.orders.get("alpenhof", "CR-PO-7001")
    assert order is not None and len(order.fulfilments) == 1
