"""Orders brought to a known state through the gateway's own paths (an 850 sample ingested, or
commands through the message bus), then exported with a fixed clock into a fresh store, so the
control numbers are fixed too. The golden tests compare each export with its file in
samples/outbound/; the cross-check tests read the same exports through node-x12 and pyx12.

To rewrite the golden files after a deliberate change to a mapping or a builder, run
`.venv/bin/python -m tests.integration.outbound_scenarios --write` and review the diff (and
`.venv/bin/python -m tests.e2e.test_samples --write` for their expected `check` and `ack`, as for
every sample).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from gateway.adapters.migrate import upgrade
from gateway.adapters.store import SqlUnitOfWork, create_store_engine
from gateway.config import GatewayConfig, load_mappings
from gateway.domain import commands
from gateway.domain.values import (
    Address,
    CarrierRouting,
    EntityCode,
    LineQuantity,
    Pack,
    Party,
    PurchaseOrderLine,
    Role,
    Side,
    Terms,
)
from gateway.mapping.engine import Mappings
from gateway.mapping.outbound import Decision, LineDecision, LineStatus
from gateway.mapping.outbound_settings import HierarchyStructure
from gateway.service.delivery import Deliverer, Delivery
from gateway.service.export import ExportResult, export
from gateway.service.ingest import Ingestor
from gateway.service.messagebus import MessageBus
from gateway.service.tracking import set_document_status
from tests.unit.domain.builders import tracking_for

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "samples" / "outbound"
PO_4010 = ROOT / "samples" / "850" / "850_004010_good.x12"
PO_5010 = ROOT / "samples" / "850" / "850_005010_good.x12"
BUYER = "079845213"  # Harborview's ISA id: the partner of the orders we receive
VENDOR = "CEDARRIDGEOUT"  # Cedar Ridge's ISA id: the partner of the orders we place
NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)
SHIPPED = dt.date(2026, 11, 20)
SSCC_1, SSCC_2 = "008123450000451276", "008123450000451283"
TRACKING_1, TRACKING_2 = "1Z8E47W10391284758", "1Z8E47W10391284767"


def clock() -> dt.datetime:
    return NOW


def fresh_store(folder: Path) -> Engine:
    """A migrated, empty SQLite store in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(GatewayConfig(data_dir=folder))
    upgrade(engine)
    return engine


@dataclass
class Mailbox:
    """A partner's outbound mailbox in memory: the files handed to it, by name."""

    partner: str
    files: dict[str, bytes] = field(default_factory=dict)

    def deliver(self, name: str, content: bytes) -> str:
        self.files[name] = content
        return f"{self.partner}'s mailbox"


class Store:
    """A store with the gateway's paths into it, for one scenario."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.mappings = Mappings(load_mappings())
        self.bus = MessageBus(self.uow)
        self.mailboxes: dict[str, Mailbox] = {}

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def ingest(self, sample: Path) -> None:
        result = Ingestor(self.uow, self.mappings, clock=clock).ingest(
            sample.read_bytes(), sample.name
        )
        assert [s.action for s in result.sets] == ["created"], result

    def export(self, po_number: str, set_id: str, **options: object) -> ExportResult:
        return export(self.uow, po_number, set_id, mappings=self.mappings, clock=clock, **options)

    def mailbox(self, partner: str) -> Mailbox:
        return self.mailboxes.setdefault(partner, Mailbox(partner))

    def deliver(self) -> list[Delivery]:
        """Drain the outbox to the partners' mailboxes, as the running gateway does: each order
        that follows a document delivered records it delivered."""
        return Deliverer(self.uow, self.mailbox, clock=clock).drain()

    def acknowledge(self, document_id: int, status: str = "acknowledged") -> None:
        """The partner's 997 about a document we sent, recorded as taking it in records it."""
        with self.uow() as uow:
            set_document_status(uow, document_id, status, NOW, "their 997")
            uow.commit()


def quantities(*pairs: tuple[str, int]) -> tuple[LineQuantity, ...]:
    return tuple(LineQuantity(number, Decimal(quantity)) for number, quantity in pairs)


# -- orders we received (850 samples from Harborview; we are Cedar Ridge or Bluewater) ------

SELLER_PO, SELLER_PO_5010 = "HV4500871234", "HV4500871288"


def ship(store: Store, fulfilment_id: str, *lines: tuple[str, int], **fields: object) -> None:
    """A fulfilment by UPS with a valid tracking number of its own unless told."""
    fields.setdefault("carrier", "UPSN")
    fields.setdefault("tracking_numbers", tracking_for(fulfilment_id))
    store.bus.handle(
        commands.CreateFulfilment(
            partner=BUYER,
            po_number=fields.pop("po_number", SELLER_PO),
            at=NOW - dt.timedelta(hours=1),
            fulfilment_id=fulfilment_id,
            lines=quantities(*lines),
            ship_date=SHIPPED,
            **fields,
        )
    )


def shipped_in_two_packs(store: Store) -> None:
    """Lines 1 (2 tents) and 3 (4 headlamps) shipped by UPS in two labelled cartons."""
    store.ingest(PO_4010)
    ship(
        store,
        "CRS-SH-0045127",
        ("1", 2),
        ("3", 4),
        carrier="UPSN",
        tracking_numbers=(TRACKING_1, TRACKING_2),
        packs=(Pack(quantities(("1", 2)), SSCC_1), Pack(quantities(("3", 4)), SSCC_2)),
    )


def shipped_twice(store: Store) -> None:
    """Two shipments without carton labels, one tracking number each."""
    store.ingest(PO_4010)
    ship(
        store, "CRS-SH-0045127", ("1", 2), ("2", 1), carrier="UPSN", tracking_numbers=(TRACKING_1,)
    )
    ship(
        store, "CRS-SH-0045128", ("3", 4), ("4", 1), carrier="UPSN", tracking_numbers=(TRACKING_2,)
    )


def shipped_5010(store: Store) -> None:
    store.ingest(PO_5010)
    ship(
        store,
        "BKW-ASN-20417",
        ("1", 1),
        ("2", 2),
        po_number=SELLER_PO_5010,
        carrier="UPSN",
        tracking_numbers=("1Z4A90F20377215908",),
        packs=(Pack(quantities(("1", 1), ("2", 2)), "108560172000004170"),),
    )


def shipped_with_a_return(store: Store) -> None:
    """Everything but line 2 shipped (line 2 cancelled by the buyer), then one headlamp back."""
    store.ingest(PO_4010)
    store.bus.handle(
        commands.CancelLines(
            partner=BUYER,
            po_number=SELLER_PO,
            at=NOW - dt.timedelta(hours=3),
            cancellation_id="C1",
            lines=quantities(("2", 1)),
            requested_by=Side.BUYER,
            reason="sleeping bag no longer wanted",
        )
    )
    ship(
        store,
        "CRS-SH-0045127",
        ("1", 2),
        ("3", 4),
        ("4", 1),
        carrier="UPSN",
        tracking_numbers=(TRACKING_1,),
    )
    store.bus.handle(
        commands.RecordReturn(
            partner=BUYER,
            po_number=SELLER_PO,
            at=NOW - dt.timedelta(minutes=30),
            return_id="R1",
            lines=quantities(("3", 1)),
            reason="damaged in transit",
        )
    )


# -- an order we place (we are Harborview; Cedar Ridge sells) -----------------------------

BUYER_PO = "HV4500871301"
OUR_ID = "079845213"
HARBORVIEW_BILL_TO = Party(
    EntityCode.BILL_TO,
    "Harborview Home Goods Inc",
    "92",
    "HVAP01",
    Address(("400 Commerce Parkway SE",), "Grand Rapids", "MI", "49503", "US"),
)


def placed(store: Store) -> None:
    """An order for three lines placed with Cedar Ridge."""
    store.bus.handle(
        commands.ReceiveOrder(
            partner=VENDOR,
            po_number=BUYER_PO,
            at=NOW - dt.timedelta(days=1),
            source="placed by the buying team",
            our_role=Role.BUYER,
            order_date=dt.date(2026, 11, 20),
            lines=(
                PurchaseOrderLine(
                    "1",
                    Decimal(6),
                    "EA",
                    Decimal("89.50"),
                    (("UP", "812345100211"), ("VP", "CR-TNT2P-GRN")),
                    "Two-person backpacking tent, forest green",
                ),
                PurchaseOrderLine(
                    "2",
                    Decimal(4),
                    "EA",
                    Decimal("64.25"),
                    (("UP", "812345100440"), ("VP", "CR-SLB20-NVY")),
                    "Down sleeping bag 20F, navy, regular length",
                ),
                PurchaseOrderLine(
                    "3",
                    Decimal(12),
                    "EA",
                    Decimal("12.75"),
                    (("UP", "812345101072"), ("VP", "CR-HLMP300-BLK")),
                    "Rechargeable LED headlamp 300 lumen, black",
                ),
            ),
            parties=(
                Party(
                    EntityCode.SHIP_TO,
                    "Harborview Distribution Center",
                    "92",
                    "DC07",
                    Address(("7800 Logistics Drive",), "Holland", "MI", "49424", "US"),
                ),
                HARBORVIEW_BILL_TO,
                Party(EntityCode.VENDOR, "Cedar Ridge Outdoor Supply Co", "92", "58213"),
            ),
            terms=Terms(
                description="2% 10 NET 30",
                type_code="01",
                basis_date_code="3",
                discount_percent=Decimal(2),
                discount_days=10,
                net_days=30,
            ),
            carrier_routing=CarrierRouting("2", "UPSN", "U", "UPS GROUND"),
            requested_ship_date=dt.date(2026, 11, 25),
            requested_delivery_date=dt.date(2026, 12, 1),
        )
    )


def placed_and_sent(store: Store) -> None:
    placed(store)
    store.export(BUYER_PO, "850", sender_id=OUR_ID)


def placed_then_cut(store: Store) -> None:
    """The 850 sent, then line 2 dropped and line 3 cut from 12 to 8."""
    placed_and_sent(store)
    store.bus.handle(
        commands.CancelLines(
            partner=VENDOR,
            po_number=BUYER_PO,
            at=NOW - dt.timedelta(hours=2),
            cancellation_id="C1",
            lines=quantities(("2", 4), ("3", 4)),
            requested_by=Side.BUYER,
            reason="range change",
        )
    )


def placed_then_cancelled(store: Store) -> None:
    placed_and_sent(store)
    store.bus.handle(
        commands.CancelOrder(
            partner=VENDOR,
            po_number=BUYER_PO,
            at=NOW - dt.timedelta(hours=2),
            cancellation_id="C1",
            requested_by=Side.BUYER,
            reason="season cancelled",
        )
    )


# -- the scenarios ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A golden file: the state an order is brought to, and the export compared with it."""

    name: str
    prepare: Callable[[Store], None]
    export: Callable[[Store], ExportResult]

    @property
    def golden(self) -> Path:
        return GOLDEN / f"{self.name}.x12"

    def run(self, folder: Path) -> ExportResult:
        engine = fresh_store(folder)
        try:
            store = Store(engine)
            self.prepare(store)
            return self.export(store)
        finally:
            engine.dispose()


def _changes() -> Decision:
    return Decision.with_changes(
        LineDecision("2", LineStatus.REJECTED),
        LineDecision("3", LineStatus.QUANTITY_CHANGED, Decimal(3)),
        LineDecision("4", LineStatus.BACKORDERED, ship_date=dt.date(2026, 12, 4)),
        ship_date=dt.date(2026, 11, 24),
        sales_order="CRS-SO-0098812",
    )


def _ingest_4010(store: Store) -> None:
    store.ingest(PO_4010)


def _ingest_5010(store: Store) -> None:
    store.ingest(PO_5010)


def _acknowledged_then_cut(store: Store) -> None:
    """Our 855 with changes sent, then we cut line 1 from 2 tents to 1 and drop line 4 (the
    backordered trekking poles): the buyer is owed an 855 that replaces the first."""
    store.ingest(PO_4010)
    store.export(SELLER_PO, "855", decision=_changes())
    store.bus.handle(
        commands.CancelLines(
            partner=BUYER,
            po_number=SELLER_PO,
            at=NOW - dt.timedelta(minutes=30),
            cancellation_id="C1",
            lines=quantities(("1", 1), ("4", 1)),
            requested_by=Side.SELLER,
            reason="out of stock",
        )
    )


CHANGE_4010 = ROOT / "samples" / "860" / "860_004010_good_change.x12"


def _shipped_line_2(store: Store) -> None:
    """The 850 taken in, line 2 (the sleeping bag) shipped: the buyer's 860 deleting it is too
    late."""
    store.ingest(PO_4010)
    ship(store, "F1", ("2", 1), carrier="UPSN", tracking_numbers=(TRACKING_1,))


def _answering_every_change(store: Store) -> None:
    """The 850 taken in, from a buyer whose profile asks an 865 for every 860."""
    store.mappings = Mappings(
        load_mappings(), overrides={BUYER: {"865-out": {"settings": {"answer": "always"}}}}
    )
    store.ingest(PO_4010)


def queued_865(store: Store, partner: str, po_number: str) -> ExportResult:
    """The newest 865 the gateway queued in answer to a buyer's 860 about the order."""
    with store.uow() as uow:
        document = [
            d for d in uow.documents.for_order(partner, po_number) if "865" in d.transaction_sets
        ][-1]
        (pending,) = [
            entry for entry in uow.outbox.pending() if entry["document_id"] == document.id
        ]
    assert document.id is not None and document.raw is not None
    return ExportResult(
        partner=partner,
        po_number=po_number,
        set_id="865",
        interchange_control=document.interchange_control or "",
        set_controls=document.set_controls,
        content=document.raw,
        document_id=document.id,
        outbox_id=int(str(pending["id"])),
    )


def _answer_to_change(store: Store) -> ExportResult:
    """Take the buyer's 860 in; the 865 the gateway queued in answer."""
    result = Ingestor(store.uow, store.mappings, clock=clock).ingest(
        CHANGE_4010.read_bytes(), CHANGE_4010.name
    )
    (outcome,) = result.sets
    assert "865" in outcome.message, outcome
    return queued_865(store, BUYER, SELLER_PO)


SCENARIOS = (
    Scenario(
        "855_accept_all",
        _ingest_4010,
        lambda s: s.export(
            SELLER_PO,
            "855",
            decision=Decision.accept_all(
                ship_date=dt.date(2026, 11, 24), sales_order="CRS-SO-0098812"
            ),
        ),
    ),
    Scenario(
        "855_reject_all",
        _ingest_4010,
        lambda s: s.export(SELLER_PO, "855", decision=Decision.reject_all()),
    ),
    Scenario(
        "855_with_changes",
        _ingest_4010,
        lambda s: s.export(SELLER_PO, "855", decision=_changes()),
    ),
    Scenario(
        "855_005010_accept_all",
        _ingest_5010,
        lambda s: s.export(SELLER_PO_5010, "855", decision=Decision.accept_all()),
    ),
    Scenario(
        "855_replacing_ours_after_a_cut",
        _acknowledged_then_cut,
        lambda s: s.export(
            SELLER_PO, "855", decision=Decision.as_it_stands(sales_order="CRS-SO-0098812")
        ),
    ),
    Scenario(
        "856_pack_level",
        shipped_in_two_packs,
        lambda s: s.export(SELLER_PO, "856"),
    ),
    Scenario(
        "856_tare_level",
        shipped_in_two_packs,
        lambda s: s.export(SELLER_PO, "856", structure=HierarchyStructure.SOTPI),
    ),
    Scenario(
        "856_item_then_pack",
        shipped_in_two_packs,
        lambda s: s.export(SELLER_PO, "856", structure=HierarchyStructure.SOIP),
    ),
    Scenario(
        "856_two_shipments_no_packs",
        shipped_twice,
        lambda s: s.export(SELLER_PO, "856"),
    ),
    Scenario(
        "856_005010",
        shipped_5010,
        lambda s: s.export(SELLER_PO_5010, "856"),
    ),
    Scenario(
        "810_shipped_less_returned",
        shipped_with_a_return,
        lambda s: s.export(SELLER_PO, "810", invoice_number="CRI2026-04418"),
    ),
    Scenario(
        "850_placed",
        placed,
        lambda s: s.export(BUYER_PO, "850", sender_id=OUR_ID),
    ),
    Scenario(
        "860_lines_cut",
        placed_then_cut,
        lambda s: s.export(BUYER_PO, "860"),
    ),
    Scenario(
        "860_order_cancelled",
        placed_then_cancelled,
        lambda s: s.export(BUYER_PO, "860"),
    ),
    Scenario("865_change_refused", _shipped_line_2, _answer_to_change),
    Scenario("865_change_accepted", _answering_every_change, _answer_to_change),
)


def write_golden(folder: Path) -> None:
    GOLDEN.mkdir(exist_ok=True)
    for scenario in SCENARIOS:
        result = scenario.run(folder / scenario.name)
        scenario.golden.write_bytes(result.content)
        print(f"wrote {scenario.golden.relative_to(ROOT)}")


if __name__ == "__main__":
    if "--write" in sys.argv:
        import tempfile

        with tempfile.TemporaryDirectory() as temporary:
            write_golden(Path(temporary))
