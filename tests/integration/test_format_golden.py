"""Golden files of the cXML and CSV documents, in and out, in the style of the X12 ones.

In: each cXML and CSV sample, taken in by a fresh store that holds what came before it in the
story of its order, gives the orders and the answers written beside it
(samples/<format>/expected/<sample>.orders.json). Out: one day with a cXML buyer (Northwind), a
CSV buyer (Müller, the samples' German layout) and a CSV vendor (Alpenhof) writes every document
we send them, each equal to its file in samples/<format>/expected/ (the clock fixed, so ids and
times are too). A change to a mapping, a writer or the order model shows up as a diff.

To refresh the files after a deliberate change, run
`.venv/bin/python -m tests.integration.test_format_golden --write` and review the diff.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.adapters.migrate import upgrade
from gateway.adapters.store import SqlUnitOfWork, create_store_engine
from gateway.config import (
    FolderTransport,
    GatewayConfig,
    PartnerProfile,
    load_mappings,
    load_partner,
)
from gateway.csvformat import read_orders
from gateway.cxml.reader import read_response
from gateway.domain import commands
from gateway.domain.values import LineQuantity, Role, Side
from gateway.mapping.csv_orders import layout, purchase_order
from gateway.mapping.engine import Mappings
from gateway.mapping.inbound import Context
from gateway.mapping.outbound import Decision, LineDecision, LineStatus
from gateway.service.export import export
from gateway.service.ingest import Ingestor
from gateway.service.messagebus import MessageBus
from gateway.service.ports import OrderQuery
from gateway.service.views import order_view

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
NOW = dt.datetime(2026, 12, 2, 15, 30, tzinfo=dt.UTC)
SECRET = "not-a-real-secret"
TRACKING = "1Z999AA10123456784"

STORIES: dict[str, tuple[str, ...]] = {
    "cxml/order_request_new.xml": (),
    "cxml/order_request_update.xml": ("cxml/order_request_new.xml",),
    "cxml/order_request_delete.xml": ("cxml/order_request_new.xml",),
    "csv/orders.csv": (),
    "csv/orders_bad_row.csv": (),
    "csv/ship_notices.csv": ("placed:csv/orders.csv",),
}
"""Each sample with what comes before it: files taken in, or orders we placed (`placed:`)."""

PARTNER_OF = {"cxml": "northwind", "csv/orders": "muller", "csv/ship_notices": "alpenhof"}


def profiles(folder: Path) -> dict[str, PartnerProfile]:
    """Northwind and Alpenhof as configured; Müller, a CSV buyer writing the samples' layout."""
    layouts = tomllib.loads((SAMPLES / "csv" / "layouts.toml").read_text(encoding="utf-8"))
    northwind = load_partner(ROOT / "config" / "partners" / "northwind.toml")
    muller = dataclasses.replace(
        northwind,
        key="muller",
        name="Müller Haushaltswaren GmbH",
        format="csv",
        cxml=None,
        acknowledgements=dataclasses.replace(
            northwind.acknowledgements, send="none", expect="none"
        ),
        transport=FolderTransport(folder / "muller" / "in", folder / "muller" / "out"),
        mappings=(
            ("csv-orders-in", {"settings": {**layouts["orders"], "currency": "EUR"}}),
            (
                "csv-acknowledgements-out",
                {"settings": {"delimiter": ";", "decimal_separator": ","}},
            ),
            (
                "csv-ship-notices-out",
                {"settings": {k: v for k, v in layouts["ship_notices"].items() if k != "kind"}},
            ),
        ),
    )
    alpenhof = load_partner(ROOT / "config" / "partners" / "alpenhof.toml")
    return {p.key: p for p in (northwind, muller, alpenhof)}


class Day:
    """A fresh store with the three partners, its clock fixed."""

    def __init__(self, folder: Path):
        self.engine = create_store_engine(GatewayConfig(data_dir=folder))
        upgrade(self.engine)
        self.profiles = profiles(folder)
        self.mappings = Mappings(
            load_mappings(), {k: p.mapping_overrides() for k, p in self.profiles.items()}
        )
        self.ingestor = Ingestor(
            self.uow, self.mappings, clock=lambda: NOW, partners=list(self.profiles.values())
        )
        self.bus = MessageBus(self.uow)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def take(self, name: str) -> list[Any]:
        partner = next(p for prefix, p in PARTNER_OF.items() if name.startswith(prefix))
        result = self.ingestor.ingest(
            (SAMPLES / name).read_bytes(), Path(name).name, mailbox=self.profiles[partner]
        )
        answers = [read_response(a.content) for a in result.acknowledgements]
        return [
            *([s.set_id, s.po_number, s.action, s.message] for s in result.sets),
            *(["Response", a.in_reply_to, a.status_code, a.detail] for a in answers),
        ]

    def place(self, name: str) -> None:
        """The orders of a CSV orders file, placed by us with Alpenhof."""
        mapping = self.mappings.get("csv-orders-in", "muller")  # the samples' layout
        context = Context("alpenhof", Role.BUYER, NOW, f"placed from {name}")
        for order in read_orders((SAMPLES / name).read_bytes(), layout(mapping)).orders:
            self.bus.handle(purchase_order(order, mapping, context).receive())

    def orders(self) -> list[dict[str, Any]]:
        views = []
        with self.uow() as uow:
            for summary in uow.orders.summaries(
                OrderQuery(scope="all", include_test=True, sort="partner", limit=None)
            ).summaries:
                order = uow.orders.get(summary.partner, summary.po_number)
                assert order is not None
                history = uow.orders.history(summary.partner, summary.po_number)
                views.append(order_view(order, history))
        return views

    def export(self, po: str, set_id: str, partner: str, **options: Any) -> bytes:
        sent = export(
            self.uow,
            po,
            set_id,
            partner,
            mappings=self.mappings,
            clock=lambda: NOW,
            profiles=self.profiles,
            **options,
        )
        return sent.content

    def ship(self, partner: str, po: str, *lines: tuple[str, str]) -> None:
        self.bus.handle(
            commands.CreateFulfilment(
                partner=partner,
                po_number=po,
                at=NOW,
                source="golden day",
                fulfilment_id="F-1",
                lines=tuple(LineQuantity(n, Decimal(q)) for n, q in lines),
                carrier="UPSN",
                tracking_numbers=(TRACKING,),
                tracking_url=f"https://www.ups.com/track?tracknum={TRACKING}",
            )
        )

    def close(self) -> None:
        self.engine.dispose()


def inbound(name: str, folder: Path) -> dict[str, Any]:
    day = Day(folder)
    try:
        for step in STORIES[name]:
            if step.startswith("placed:"):
                day.place(step.removeprefix("placed:"))
            else:
                day.take(step)
        return {"taken": day.take(name), "orders": day.orders()}
    finally:
        day.close()


def outbound(folder: Path) -> dict[str, bytes]:
    """Every document of a day with the three partners, by its golden file's name."""
    day = Day(folder)
    found: dict[str, bytes] = {}
    try:
        day.take("cxml/order_request_new.xml")
        decision = Decision.with_changes(
            LineDecision("2", LineStatus.BACKORDERED, ship_date=dt.date(2026, 12, 20)),
            LineDecision("3", LineStatus.QUANTITY_CHANGED, Decimal(2)),
        )
        found["cxml/out_confirmation.xml"] = day.export(
            "NW-PO-20481", "855", "northwind", decision=decision
        )
        day.ship("northwind", "NW-PO-20481", ("1", "10"), ("3", "2"))
        found["cxml/out_ship_notice.xml"] = day.export("NW-PO-20481", "856", "northwind")
        found["cxml/out_invoice.xml"] = day.export("NW-PO-20481", "810", "northwind")
        day.take("csv/orders.csv")
        found["csv/out_acknowledgements.csv"] = day.export(
            "PO-7001",
            "855",
            "muller",
            decision=Decision.with_changes(LineDecision("3", LineStatus.REJECTED)),
        )
        day.ship("muller", "PO-7001", ("1", "12"), ("2", "4"))
        found["csv/out_ship_notices.csv"] = day.export("PO-7001", "856", "muller")
        day.place("csv/orders.csv")
        found["csv/out_orders.csv"] = day.export("PO-7002", "850", "alpenhof")
        day.bus.handle(
            commands.CancelLines(
                partner="alpenhof",
                po_number="PO-7002",
                at=NOW,
                source="golden day",
                cancellation_id="C-1",
                lines=(LineQuantity("2", Decimal(1)),),
                requested_by=Side.BUYER,
                reason="Kunde hat storniert",
            )
        )
        found["csv/out_cancellations.csv"] = day.export("PO-7002", "860", "alpenhof")
        with day.uow() as uow:
            responses = [
                d for d in uow.documents.listing(direction="out", limit=100)
                if d.transaction_sets == ("Response",)
            ]  # fmt: skip
            (response,) = responses
            stored = uow.documents.get(response.id or 0)
        assert stored is not None and stored.raw is not None
        found["cxml/out_response.xml"] = stored.raw
        return found
    finally:
        day.close()


def expected_in(name: str) -> Path:
    path = SAMPLES / name
    return path.parent / "expected" / f"{path.stem}.orders.json"


def expected_out(name: str) -> Path:
    format_folder, _, file = name.partition("/")
    return SAMPLES / format_folder / "expected" / file


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHWIND_CXML_SECRET", SECRET)


@pytest.mark.parametrize("name", sorted(STORIES))
def test_a_cxml_or_csv_sample_gives_the_expected_orders_and_answers(name: str, tmp_path: Path):
    found = json.loads(json.dumps(inbound(name, tmp_path), default=str))
    assert found == json.loads(expected_in(name).read_text(encoding="utf-8"))


def test_every_document_we_send_a_cxml_or_csv_partner_equals_its_golden_file(tmp_path: Path):
    found = outbound(tmp_path)
    assert sorted(found) == sorted(
        f"{p.parent.parent.name}/{p.name}"
        for fmt in ("cxml", "csv")
        for p in (SAMPLES / fmt / "expected").glob("out_*")
    )
    for name, content in found.items():
        assert content == expected_out(name).read_bytes(), name


def test_every_inbound_sample_has_its_story():
    samples = {
        f"{fmt}/{p.name}"
        for fmt, pattern in (("cxml", "order_request_*.xml"), ("csv", "*.csv"))
        for p in (SAMPLES / fmt).glob(pattern)
    }
    assert samples == set(STORIES)


def write_expected() -> None:
    os.environ["NORTHWIND_CXML_SECRET"] = SECRET
    for name in STORIES:
        with tempfile.TemporaryDirectory() as folder:
            found = inbound(name, Path(folder))
        path = expected_in(name)
        path.parent.mkdir(exist_ok=True)
        text = json.dumps(found, indent=2, default=str, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder:
        for name, content in outbound(Path(folder)).items():
            expected_out(name).write_bytes(content)


if __name__ == "__main__":
    if "--write" in sys.argv:
        write_expected()
