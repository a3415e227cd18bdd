"""Files taken in on the fake store: the samples of the sets we receive as the seller (850, 860)
give the orders of their golden files (the same stories as tests/integration/
test_inbound_golden.py, there on SQLite and PostgreSQL), through the ingest's deferred writes and
savepoints; an 860 cancelling lines emails our order desk in the file's transaction."""

from __future__ import annotations

import json

import pytest

from gateway.config import Identity
from gateway.service.ingest import Ingestor
from gateway.service.ports import OrderQuery
from gateway.service.views import order_view
from tests.fakes import FakeGateway, wire
from tests.integration.test_inbound_golden import NOW, SENT, STORIES, expected_path, sample_path
from tests.unit.service.conftest import MAIL, ORDER_DESK, Clock, entries, profile

SELLERS_STORIES = sorted(
    name for name, steps in STORIES.items() if not any(s.startswith(SENT) for s in (*steps, name))
)
HARBORVIEW = profile(
    "harborview",
    "buyer",
    name="Harborview Home Goods",
    identity=Identity("01", "079845213", "079845213"),
    contacts=(("default", ("edi@harborview.example",)),),
)
PO = "HV4500871234"


def take_in(gw: FakeGateway, ingestor: Ingestor, *names: str) -> None:
    for name in names:
        result = ingestor.ingest(sample_path(name).read_bytes(), name)
        assert result.accepted, result.first_issue
        assert all(s.action not in ("refused", "rejected") for s in result.sets), result.sets


@pytest.mark.parametrize("name", SELLERS_STORIES)
def test_an_inbound_sample_gives_the_orders_of_its_golden_file(name: str):
    gw = wire(clock=lambda: NOW)
    take_in(gw, Ingestor(gw.uow_factory, gw.mappings, clock=lambda: NOW), *STORIES[name], name)
    with gw.uow_factory() as uow:
        query = OrderQuery(scope="all", include_test=True, sort="partner", limit=None)
        views = []
        for summary in uow.orders.summaries(query).summaries:
            order = uow.orders.get(summary.partner, summary.po_number)
            assert order is not None
            views.append(order_view(order, uow.orders.history(summary.partner, summary.po_number)))
    assert views == json.loads(expected_path(name).read_text(encoding="utf-8"))


def test_an_860_cancelling_lines_emails_our_order_desk_with_its_set_records(clock: Clock):
    gw = wire((HARBORVIEW,), MAIL, clock=clock)
    ingestor = Ingestor(
        gw.uow_factory,
        gw.mappings,
        partners=(HARBORVIEW,),
        alerts=gw.alerts,
        bus=gw.bus,
        clock=clock,
    )
    take_in(gw, ingestor, "850_004010_good.x12")
    assert entries(gw, "email") == []  # an order received by EDI needs no email
    take_in(gw, ingestor, "860_004010_good_change.x12")
    (email,) = entries(gw, "email")
    assert email.payload["recipients"] == list(ORDER_DESK)
    assert email.payload["subject"] == f"Order {PO}: 2 lines cancelled by Harborview Home Goods"
    assert [e.payload["kind"] for e in entries(gw, "x12")] == ["997", "997"]
    with gw.uow_factory() as uow:
        (order_860, order_850) = uow.documents.listing(direction="in")
        assert [r.action for r in uow.documents.sets(order_850.id or 0)] == ["created"]
        assert [r.action for r in uow.documents.sets(order_860.id or 0)] == ["changed"]
        assert uow.documents.orders_of(order_860.id or 0) == [("harborview", PO)]
        assert order_860.processed_at is not None
    order = gw.store.order("harborview", PO)
    assert order is not None and order.version == 2
