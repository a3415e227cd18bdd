"""What operators read and do beside the order desk, on the fake store: an order shown with its
documents and found by a search (`views`), a document of ours sent again, a document's content
cut into segments and its file validated again (`documents`), a late document alerted once
(`late`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.domain.values import LineQuantity
from gateway.errors import DocumentActionRefused
from gateway.service.documents import resend, segments, show_document, validation_report
from gateway.service.late import alert_late
from gateway.service.ports import OrderQuery, StoredDocument
from gateway.service.views import known_partners, list_orders, show_order
from tests.fakes import FakeGateway
from tests.unit.domain.builders import PARTNER, PO, receive_order, tracking_for
from tests.unit.service.conftest import OPERATORS, Clock, entries


@pytest.fixture
def shipped(gw: FakeGateway) -> FakeGateway:
    """An order we sell to ACME, shipped by F-1 (its 856 queued)."""
    gw.bus.handle(receive_order(("1", 10)))
    gw.desk().fulfil(
        PO,
        [LineQuantity("1", Decimal(10))],
        carrier="UPS",
        tracking_numbers=tracking_for("F-1"),
        fulfilment_id="F-1",
    )
    return gw


def test_an_order_is_shown_with_its_documents_and_found_by_its_tracking_number(
    shipped: FakeGateway,
):
    view = show_order(shipped.uow_factory(), PO)
    assert view["po_number"] == PO and "shipped" in view["flags"]
    assert [d["sets"] for d in view["documents"]] == [["856"]]
    assert [h["event"] for h in view["history"]][:2] == ["OrderReceived", "FulfilmentCreated"]
    search = tracking_for("F-1")[0][:10].lower()
    found = list_orders(shipped.uow_factory(), OrderQuery(search=search, scope="all"))
    assert [o["po_number"] for o in found["orders"]] == [PO] and found["total"] == 1
    assert list_orders(shipped.uow_factory(), OrderQuery(search="1z000"))["total"] == 0
    assert known_partners(shipped.uow_factory()) == [PARTNER]


def test_a_document_of_ours_is_sent_again_and_one_received_is_not(
    shipped: FakeGateway, clock: Clock
):
    (entry,) = entries(shipped, "x12")
    assert entry.document_id is not None
    with shipped.uow_factory() as uow:
        uow.outbox.settle(entry.id, "sent", at=clock.now)
        received = uow.documents.add(
            StoredDocument("ab" * 32, PARTNER, "in", 3, "accepted", raw=b"ISA")
        )
        uow.commit()
    again = resend(shipped.uow_factory, entry.document_id, clock.advance(minutes=5))
    assert (again.id, again.status, again.attempts) == (entry.id, "queued", 0)
    shown = show_document(shipped.uow_factory(), entry.document_id)
    assert shown["status"] == "queued"
    with pytest.raises(DocumentActionRefused, match="resend-only-outbound"):
        resend(shipped.uow_factory, received, clock.now)


def test_a_late_document_alerts_the_operators_once(gw: FakeGateway, clock: Clock):
    gw.bus.handle(receive_order(("1", 10), requested_ship_date=dt.date(2026, 11, 20)))
    (late,) = alert_late(gw.uow_factory, gw.alerts, gw.partners, clock.now)
    assert late.kind == "ship date passed"
    assert alert_late(gw.uow_factory, gw.alerts, gw.partners, clock.advance(hours=1)) == []
    (alert,) = entries(gw, "email")
    assert alert.payload["recipients"] == list(OPERATORS)
    assert alert.payload["subject"] == f"[gateway] Late: ship date passed, PO {PO} (Acme Stores)"
    assert f"gateway fulfil {PO}" in str(alert.payload["text"])


SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "850" / "850_004010_good.x12"


def test_a_documents_content_comes_as_its_segments_one_each_and_at_most_the_limit():
    raw = SAMPLE.read_bytes()
    found = segments(lambda: iter((raw[:50], raw[50:])))  # cut anywhere, read whole
    assert found[0].startswith("ISA*00*") and found[0].endswith("*>~")
    assert found[1:3] == [
        "GS*PO*079845213*CEDARRIDGEOUT*20261103*0915*5101*X*004010~",
        "ST*850*0001~",
    ]
    assert found[-1] == "IEA*1*000051001~" and len(found) == raw.count(b"~")
    lines = raw.replace(b"~\n", b"\n").replace(b"*>~", b"*>\n")  # line breaks end segments
    assert segments(lambda: iter((lines,)))[2] == "ST*850*0001"
    assert segments(lambda: iter((raw,)), limit=3) == found[:4]  # one more: there are more
    assert segments(lambda: iter((b"not X12\r\nat all\x1b",))) == ["not X12", "at all\x1b"]


def test_a_documents_file_is_validated_again_as_check_reads_it():
    raw = SAMPLE.read_bytes()
    good = StoredDocument("ab" * 32, PARTNER, "in", len(raw), "accepted", raw=raw, filename="po")
    report = validation_report(good, None)
    assert report is not None and report["accepted"] and report["errors"] == []
    bad = dataclasses.replace(good, raw=raw.replace(b"SE*29*", b"SE*28*"))
    report = validation_report(bad, None)
    assert report is not None and not report["accepted"]
    assert [(e["code"], e["segment_id"]) for e in report["errors"]][-1] == ("AK502:4", "SE")
    assert validation_report(dataclasses.replace(good, raw=None, raw_path="/x"), None) is None
