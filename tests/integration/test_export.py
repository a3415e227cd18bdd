"""Exporting documents about orders, on SQLite and PostgreSQL: each export is compared with its
golden file in samples/outbound/, and what the order records, the store keeps and the outbox
queues commit together with it or not at all."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.domain import commands
from gateway.domain.model import Order
from gateway.domain.values import ConfirmationMethod, Side
from gateway.errors import ConfigurationError, InvalidOutboundDocument, OrderNotFound, RuleViolation
from gateway.mapping import outbound
from gateway.mapping.outbound import Decision, LineDecision, LineStatus
from gateway.service.ingest import Ingestor
from gateway.x12.document import Segment
from gateway.x12.reader import parse_bytes, read_bytes
from tests.integration.outbound_scenarios import (
    BUYER,
    BUYER_PO,
    GOLDEN,
    NOW,
    OUR_ID,
    PO_4010,
    SCENARIOS,
    SELLER_PO,
    VENDOR,
    Scenario,
    Store,
    placed,
    placed_and_sent,
    quantities,
    ship,
    shipped_in_two_packs,
    shipped_twice,
)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_each_export_equals_its_golden_file(scenario: Scenario, tmp_path: Path):
    result = scenario.run(tmp_path)
    golden = scenario.golden.read_bytes()
    assert result.content.decode("latin-1") == golden.decode("latin-1"), (
        "an export changed: if the change is meant, run "
        "`.venv/bin/python -m tests.integration.outbound_scenarios --write` and review the diff"
    )
    assert read_bytes(golden).accepted


def test_every_golden_file_has_its_scenario():
    assert {p.stem for p in GOLDEN.glob("*.x12")} == {s.name for s in SCENARIOS}


@pytest.fixture
def store(store_engine: Engine) -> Store:
    return Store(store_engine)


def held(store: Store, partner: str = BUYER, po_number: str = SELLER_PO):
    with store.uow() as uow:
        order = uow.orders.get(partner, po_number)
        assert order is not None
        documents = uow.documents.for_order(partner, po_number)
        pending = uow.outbox.pending("x12")
        return order, documents, pending


def next_number(store: Store, partner: str, kind: str) -> int:
    with store.uow() as uow:
        return uow.control_numbers.next(partner, kind)  # rolled back: nothing is taken


def flags_of(order: Order) -> set[str]:
    return {flag.value for flag in order.flags}


def deliveries(store: Store) -> set[tuple[int | None, str]]:
    """Drain the outbox to the partners' mailboxes: each document handed over, and how."""
    return {(delivery.document_id, delivery.status) for delivery in store.deliver()}


def test_an_acknowledgement_is_stored_queued_and_confirms_the_order(store: Store):
    store.ingest(PO_4010)
    result = store.export(SELLER_PO, "855", decision=Decision.accept_all())
    order, documents, pending = held(store)
    assert [c.how for c in order.confirmations] == [ConfirmationMethod.ACKNOWLEDGEMENT_SENT]
    assert order.cancellations == [] and result.recorded == ["ConfirmOrder"]
    sent = documents[-1]
    assert (sent.direction, sent.status, sent.transaction_sets) == ("out", "queued", ("855",))
    assert sent.raw == result.content and sent.id == result.document_id
    assert (sent.sender_id, sent.receiver_id) == ("CEDARRIDGEOUT", BUYER)
    queued = [p for p in pending if p["document_id"] == result.document_id]
    assert queued and queued[0]["payload"] == {
        "document_id": result.document_id,
        "kind": "855",
        "po_number": SELLER_PO,
    }
    assert order.source_documents[-1].startswith(
        f"855 #0001 in interchange {result.interchange_control}"
    )
    (followed,) = order.dispatches
    assert (followed.document, followed.kind.value, followed.state.value) == (
        f"document {result.document_id}",
        "855",
        "queued",
    )
    assert "confirmed" not in flags_of(order)  # queued proves nothing
    assert (result.document_id, "sent") in deliveries(store)  # with the 997 to the 850
    order, documents, _ = held(store)
    assert documents[-1].status == "sent" and order.dispatches[0].state.value == "delivered"
    assert "confirmed" in flags_of(order)


def test_an_acknowledgement_with_changes_cancels_what_it_withdraws(store: Store):
    store.ingest(PO_4010)
    decision = Decision.with_changes(
        LineDecision("2", LineStatus.REJECTED),
        LineDecision("3", LineStatus.QUANTITY_CHANGED, Decimal(3)),
        LineDecision("4", LineStatus.BACKORDERED),
    )
    result = store.export(SELLER_PO, "855", decision=decision)
    order, _, _ = held(store)
    assert result.recorded == ["ConfirmOrder", "CancelLines"]
    (cancellation,) = order.cancellations
    assert cancellation.requested_by is Side.SELLER
    assert [(q.line_number, q.quantity) for q in cancellation.lines] == [("2", 1), ("3", 1)]
    assert [line.open for line in order.lines] == [2, 0, 3, 1]
    (confirmation,) = order.confirmations
    assert [(a.line_number, a.status, a.quantity) for a in confirmation.lines] == [
        ("1", LineStatus.ACCEPTED, 2),
        ("2", LineStatus.REJECTED, 1),
        ("3", LineStatus.QUANTITY_CHANGED, 3),
        ("4", LineStatus.BACKORDERED, 1),
    ]


def test_rejecting_the_order_cancels_it(store: Store):
    store.ingest(PO_4010)
    result = store.export(SELLER_PO, "855", decision=Decision.reject_all())
    order, _, _ = held(store)
    assert result.recorded == ["ConfirmOrder", "CancelOrder"]
    assert "cancelled" in flags_of(order) and "confirmed" not in flags_of(order)
    store.deliver()
    order, _, _ = held(store)
    assert {"confirmed", "cancelled"} <= flags_of(order)
    with pytest.raises(RuleViolation) as caught:
        store.export(SELLER_PO, "855", decision=Decision.accept_all())
    assert caught.value.rule == "cancelled-order-is-closed"


def test_a_ship_notice_passes_its_fulfilments_on_and_is_not_sent_twice(store: Store):
    shipped_twice(store)
    acknowledged = store.export(SELLER_PO, "855", decision=Decision.accept_all())
    result = store.export(SELLER_PO, "856")
    order, _, _ = held(store)
    assert result.set_controls == ("0002", "0003")
    assert result.recorded == []  # the order only follows the 856
    notice = order.dispatch(f"document {result.document_id}")
    assert notice is not None and notice.needs_acceptance  # no profile: a 997 is owed
    assert notice.fulfilment_ids == ("CRS-SH-0045127", "CRS-SH-0045128")
    assert not any(f.passed_on for f in order.fulfilments)  # queued proves nothing
    assert "completed" not in flags_of(order)
    with pytest.raises(RuleViolation) as caught:
        store.export(SELLER_PO, "856")  # what it carries is on its way
    assert caught.value.rule == "ship-notice-needs-fulfilment"

    assert {(acknowledged.document_id, "sent"), (result.document_id, "sent")} <= deliveries(store)
    order, _, _ = held(store)
    assert "confirmed" in flags_of(order)  # our 855 delivered
    assert not any(f.passed_on for f in order.fulfilments)  # delivered, their 997 owed
    assert "completed" not in flags_of(order)

    store.acknowledge(result.document_id)
    order, _, _ = held(store)
    assert all(f.passed_on for f in order.fulfilments)
    assert {"shipped", "confirmed", "completed"} <= flags_of(order)
    with pytest.raises(RuleViolation) as caught:
        store.export(SELLER_PO, "856")
    assert caught.value.rule == "ship-notice-needs-fulfilment"


def test_a_fulfilment_named_again_is_not_sent_twice(store: Store):
    shipped_twice(store)
    store.export(SELLER_PO, "856")
    _, documents_before, pending_before = held(store)
    with pytest.raises(RuleViolation, match="carries it already"):
        store.export(SELLER_PO, "856", fulfilment_ids=["CRS-SH-0045127"])
    _, documents, pending = held(store)
    assert (documents, pending) == (documents_before, pending_before)


def test_a_ship_notice_sends_only_the_fulfilments_named(store: Store):
    shipped_twice(store)
    result = store.export(SELLER_PO, "856", fulfilment_ids=["CRS-SH-0045128"])
    order, _, _ = held(store)
    assert [d.fulfilment_ids for d in order.dispatches] == [("CRS-SH-0045128",)]
    assert [f.passed_on for f in order.fulfilments] == [False, False]  # not there yet
    assert b"BSN*00*CRS-SH-0045128*" in result.content
    assert b"CRS-SH-0045127" not in result.content
    store.deliver()
    store.acknowledge(result.document_id)
    order, _, _ = held(store)
    assert [f.passed_on for f in order.fulfilments] == [False, True]
    with pytest.raises(RuleViolation, match="no such fulfilment") as caught:
        store.export(SELLER_PO, "856", fulfilment_ids=["NOPE"])
    assert caught.value.rule == "ship-notice-needs-fulfilment"


def test_an_invoice_is_recorded_and_not_sent_twice(store: Store):
    shipped_in_two_packs(store)
    result = store.export(SELLER_PO, "810")
    order, _, _ = held(store)
    (recorded,) = order.invoices
    assert (recorded.number, recorded.amount) == (f"{SELLER_PO}-1", Decimal("230.00"))
    assert b"TDS*23000~" in result.content
    assert order.payment_status.value == "pending"  # invoiced, nothing paid nor accepted
    with pytest.raises(RuleViolation) as caught:
        store.export(SELLER_PO, "810")
    assert caught.value.rule == "invoice-needs-shipped-quantity"
    ship(store, "CRS-SH-0045129", ("4", 1), carrier="FDEG", tracking_numbers=("748900000010",))
    second = store.export(SELLER_PO, "810")
    assert (
        b"BIG*20261121*HV4500871234-2*" in second.content and b"IT1*4*1*EA*38.00" in second.content
    )


def test_a_refused_export_takes_nothing(store: Store):
    store.ingest(PO_4010)
    interchange = next_number(store, BUYER, "interchange")
    _, documents_before, pending_before = held(store)
    with pytest.raises(RuleViolation) as caught:
        store.export(SELLER_PO, "850")
    assert caught.value.rule == "export-follows-role"
    with pytest.raises(RuleViolation):
        store.export(
            SELLER_PO, "855", decision=Decision.with_changes(LineDecision("9", LineStatus.REJECTED))
        )
    _, documents, pending = held(store)
    assert (documents, pending) == (documents_before, pending_before)
    assert next_number(store, BUYER, "interchange") == interchange


def test_a_document_that_fails_validation_is_never_stored_or_queued(
    store: Store, monkeypatch: pytest.MonkeyPatch
):
    store.ingest(PO_4010)
    original = outbound.acknowledgement

    def broken(*args, **kwargs):
        return [Segment("BAK", ["00", "ZZZ"]), *original(*args, **kwargs)[1:]]

    monkeypatch.setattr("gateway.kinds.x12_855.acknowledgement", broken)
    with pytest.raises(InvalidOutboundDocument, match="fails validation"):
        store.export(SELLER_PO, "855", decision=Decision.accept_all())
    order, documents, _ = held(store)
    assert order.confirmations == [] and [d.direction for d in documents] == ["in"]


def test_an_order_we_place_goes_out_with_the_sender_id_given_then_as_before(store: Store):
    placed(store)
    with pytest.raises(ConfigurationError, match="--sender-id"):
        store.export(BUYER_PO, "850")
    first = store.export(BUYER_PO, "850", sender_id=OUR_ID)
    again = store.export(BUYER_PO, "850")  # follows the 850 sent before
    (sent,), _ = parse_bytes(again.content)
    assert (sent.sender_id, sent.receiver_id) == (OUR_ID, VENDOR)
    assert first.interchange_control != again.interchange_control
    order, documents, _ = held(store, VENDOR, BUYER_PO)
    assert [d.transaction_sets for d in documents] == [("850",), ("850",)]
    assert order.confirmations == [] and "confirmed" not in flags_of(order)
    assert [d.document for d in order.dispatches] == [f"document {d.id}" for d in documents]
    with store.uow() as uow:
        assert [e["name"] for e in uow.orders.history(VENDOR, BUYER_PO)] == [
            "OrderReceived",
            "DocumentTracked",
            "DocumentTracked",
        ]


def test_change_orders_are_numbered_in_sequence(store: Store):
    placed_and_sent(store)
    for number, line in enumerate(("2", "3"), start=1):
        store.bus.handle(
            commands.CancelLines(
                partner=VENDOR,
                po_number=BUYER_PO,
                at=NOW,
                cancellation_id=f"C{number}",
                lines=quantities((line, 1)),
                requested_by=Side.BUYER,
            )
        )
        result = store.export(BUYER_PO, "860")
        assert f"BCH*04*SA*{BUYER_PO}**{number}*20261120~".encode() in result.content


def test_an_unknown_order_or_set_is_reported(store: Store):
    with pytest.raises(OrderNotFound):
        store.export("NOPE", "850", sender_id=OUR_ID)
    with pytest.raises(ConfigurationError, match="not transaction set '997'"):
        store.export(SELLER_PO, "997")
    with pytest.raises(ConfigurationError, match="an 855 needs the seller's decision"):
        store.export(SELLER_PO, "855")
    with pytest.raises(
        ConfigurationError, match=r"an 810 takes no fulfilments \(given to an 856\)"
    ):
        store.export(SELLER_PO, "810", fulfilment_ids=["F1"])
    with pytest.raises(
        ConfigurationError, match=r"an 850 takes no seller's decision \(given to an 855\)"
    ):
        store.export(SELLER_PO, "850", decision=Decision.accept_all())


def test_a_test_order_goes_out_as_test_data(store: Store):
    test_file = PO_4010.read_bytes().replace(b"*0*P*>~", b"*0*T*>~")
    Ingestor(store.uow, store.mappings, clock=lambda: NOW).ingest(test_file, "po-test.x12")
    result = store.export(SELLER_PO, "855", decision=Decision.accept_all())
    assert result.content.split(b"~")[0].endswith(b"*0*T*>")
