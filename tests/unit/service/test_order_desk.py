"""The operator's actions (`OrderDesk`) on the fake store: each is one command through the bus,
with the document it owes built and queued in the same unit of work, and refused by the rules
with nothing recorded (no order change, no document, no control number, no email)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from gateway.domain.values import LineQuantity, Party, Role, ShipmentStatus, Side
from gateway.errors import OrderNotFound, RuleViolation
from gateway.mapping.outbound import Decision
from gateway.x12.reader import parse_bytes
from tests.fakes import FakeGateway
from tests.unit.domain.builders import PARTNER, PO, receive_order, tracking_for
from tests.unit.service.conftest import ACME_CANCELLATIONS, ORDER_DESK, entries, held, history


def lines(*pairs: tuple[str, int]) -> list[LineQuantity]:
    return [LineQuantity(number, Decimal(quantity)) for number, quantity in pairs]


@pytest.fixture
def sold(gw: FakeGateway) -> FakeGateway:
    """An order we sell to ACME, a buyer on EDI: line 1 of 10 units, line 2 of 4 (2.50 each)."""
    gw.bus.handle(receive_order(("1", 10), ("2", 4)))
    return gw


def place(gw: FakeGateway, partner: str) -> None:
    """An order we place with a seller: line 1 of 3 units, line 2 of 1."""
    gw.bus.handle(
        dataclasses.replace(receive_order(("1", 3), ("2", 1), our_role=Role.BUYER), partner=partner)
    )


def ship_all(gw: FakeGateway, fulfilment_id: str = "F-1") -> None:
    gw.desk().fulfil(
        PO,
        lines(("1", 10), ("2", 4)),
        carrier="UPS",
        tracking_numbers=tracking_for(fulfilment_id, 2),
        fulfilment_id=fulfilment_id,
    )


def unchanged(gw: FakeGateway, commits: int) -> None:
    """Nothing was committed since the store counted `commits`: no order change, no document,
    no control number, nothing queued."""
    assert gw.store.commits == commits


# -- fulfilments ----------------------------------------------------------------------------------


def test_a_fulfilment_of_an_order_we_sell_sends_its_856_in_the_same_transaction(sold: FakeGateway):
    before = sold.store.commits
    result = sold.desk().fulfil(
        PO,
        lines(("1", 10)),
        carrier="UPS",
        tracking_numbers=tracking_for("F-1"),
        fulfilment_id="F-1",
    )
    assert sold.store.commits == before + 1  # the fulfilment, its 856 and their records: one
    assert result.record == "F-1" and [d["set"] for d in result.documents] == ["856"]
    order = held(sold)
    assert [f.id for f in order.fulfilments] == ["F-1"]
    assert order.fulfilments[0].carrier == "UPSN"  # "UPS" recorded as its SCAC
    assert order.lines[0].fulfilled == 10 and order.lines[1].open == 4
    (entry,) = entries(sold, "x12")
    assert entry.payload == {
        "document_id": result.documents[0]["document_id"],
        "kind": "856",
        "po_number": PO,
    }
    with sold.uow_factory() as uow:
        (document,) = uow.documents.for_order(PARTNER, PO)
    assert document.id == entry.document_id and document.interchange_control == "000000001"
    assert document.raw is not None
    interchanges, report = parse_bytes(document.raw)
    assert report.accepted, report.first_issue()
    assert interchanges[0].receiver_id == "ACME"  # the envelope of the partner's profile
    assert [d.document for d in order.dispatches] == [f"document {document.id}"]
    assert history(sold)[-2:] == ["FulfilmentCreated", "DocumentTracked"]


@pytest.mark.parametrize(
    ("cancelled", "fulfilled", "rule"),
    [
        (0, 11, "fulfilment-takes-only-open-quantity"),
        (2, 9, "cancelled-quantity-cannot-be-fulfilled"),
    ],
)
def test_a_fulfilment_larger_than_the_open_quantity_is_refused_and_nothing_recorded(
    sold: FakeGateway, cancelled: int, fulfilled: int, rule: str
):
    if cancelled:
        sold.desk().cancel(PO, lines(("1", cancelled)), by=Side.BUYER, reason="fewer")
    before, version = sold.store.commits, held(sold).version
    with pytest.raises(RuleViolation) as refused:
        sold.desk().fulfil(
            PO, lines(("1", fulfilled)), carrier="UPS", tracking_numbers=tracking_for("F-9")
        )
    assert refused.value.rule == rule
    unchanged(sold, before)
    assert held(sold).version == version and held(sold).fulfilments == []
    assert entries(sold, "x12") == [] and sold.store.tables["control_numbers"] == {}


def test_a_fulfilment_after_shipped_is_kept_on_the_order_then_refused(sold: FakeGateway):
    ship_all(sold)
    with pytest.raises(RuleViolation, match="no-change-after-shipped"):
        sold.desk().fulfil(
            PO,
            lines(("1", 1)),
            carrier="UPS",
            tracking_numbers=tracking_for("F-2"),
            fulfilment_id="F-2",
        )
    order = held(sold)
    assert [f.id for f in order.fulfilments] == ["F-1"]
    assert history(sold)[-1] == "FulfilmentRefused"  # kept for an operator
    assert [e.payload["kind"] for e in entries(sold, "x12")] == ["856"]  # no 856 for it


def test_an_unknown_carrier_is_refused_before_anything_is_recorded(sold: FakeGateway):
    before = sold.store.commits
    with pytest.raises(RuleViolation, match="carrier-must-be-known"):
        sold.desk().fulfil(PO, lines(("1", 1)), carrier="Pigeon Post", tracking_numbers=("1",))
    unchanged(sold, before)


def test_a_seller_who_fulfils_directly_reports_a_fulfilment_that_sends_nothing(gw: FakeGateway):
    place(gw, "pinecrest")
    result = gw.desk().fulfil(
        PO,
        lines(("1", 3), ("2", 1)),
        partner="pinecrest",
        carrier="UPS",
        tracking_numbers=tracking_for("PINE-1", 2),
        fulfilment_id="PINE-1",
    )
    assert result.documents == [] and "shipped" in result.flags
    order = held(gw, "pinecrest")
    assert order.fulfilments[0].passed_on  # reported by the seller: theirs
    assert entries(gw, "x12") == []


def test_a_shipment_status_is_recorded_after_shipped_and_only_forward(sold: FakeGateway):
    ship_all(sold)
    desk = sold.desk()
    result = desk.shipment_status(PO, "F-1", ShipmentStatus.DELIVERED)
    assert result.action == "shipment delivered"
    assert held(sold).fulfilments[0].status is ShipmentStatus.DELIVERED
    with pytest.raises(RuleViolation, match="shipment-status-moves-forward"):
        desk.shipment_status(PO, "F-1", ShipmentStatus.IN_TRANSIT)
    with pytest.raises(RuleViolation, match="fulfilment-must-exist"):
        desk.shipment_status(PO, "F-404", ShipmentStatus.DELIVERED)


# -- cancellations --------------------------------------------------------------------------------


def test_our_cancellation_before_our_855_is_emailed_now_and_carried_by_the_855(sold: FakeGateway):
    desk = sold.desk()
    result = desk.cancel(PO, lines(("2", 1)), by=Side.SELLER, reason="short", cancellation_id="C-1")
    assert result.documents == [] and f"gateway ack {PO}" in result.later
    (email,) = entries(sold, "email")
    assert email.payload["recipients"] == list(ACME_CANCELLATIONS)
    assert email.payload["subject"] == f"Order {PO}: 1 line cancelled by Cedar Ridge Outfitters"
    acknowledged = desk.acknowledge(PO, Decision.accept_all())
    assert [d["set"] for d in acknowledged.documents] == ["855"]
    assert held(sold).lines[1].cancelled == 1


def test_our_cancellation_after_our_855_sends_an_855_replacing_it(sold: FakeGateway):
    desk = sold.desk()
    desk.acknowledge(PO, Decision.accept_all())
    result = desk.cancel(PO, lines(("1", 1)), by=Side.SELLER, reason="short")
    assert [d["set"] for d in result.documents] == ["855"]
    with sold.uow_factory() as uow:
        document = uow.documents.get(result.documents[0]["document_id"])
    assert document is not None and document.raw is not None
    interchanges, _ = parse_bytes(document.raw)
    (transaction,) = interchanges[0].groups[0].transactions
    bak = next(s for s in transaction.segments if s.id == "BAK")
    assert bak.elements[:2] == ["05", "AC"]  # replaces ours, with a change
    assert len(held(sold).confirmations) == 2
    assert [e.payload["kind"] for e in entries(sold, "x12")] == ["855", "855"]


def test_a_cancellation_at_the_buyers_word_sends_nothing_back_and_tells_our_desk(
    sold: FakeGateway,
):
    result = sold.desk().cancel(PO, [], by=Side.BUYER, reason="the buyer phoned")
    assert result.documents == [] and result.later == "" and "cancelled" in result.flags
    assert entries(sold, "x12") == []
    (email,) = entries(sold, "email")
    assert email.payload["recipients"] == list(ORDER_DESK)


@pytest.mark.parametrize(
    ("fulfilled", "cancel", "rule"),
    [
        ((("1", 10), ("2", 4)), (("2", 1),), "no-change-after-shipped"),
        ((("1", 10), ("2", 4)), (), "no-change-after-shipped"),
        ((("1", 6),), (("1", 5),), "fulfilled-quantity-cannot-be-cancelled"),
        ((), (("1", 11),), "cancellation-takes-only-open-quantity"),
        ((), (("3", 1),), "line-must-exist"),
    ],
)
def test_a_cancellation_the_rules_refuse_records_and_emails_nothing(
    sold: FakeGateway, fulfilled, cancel, rule: str
):
    if fulfilled:
        sold.desk().fulfil(
            PO,
            lines(*fulfilled),
            carrier="UPS",
            tracking_numbers=tracking_for("F-1", len(fulfilled)),
        )
    before = sold.store.commits
    with pytest.raises(RuleViolation) as refused:
        sold.desk().cancel(PO, lines(*cancel), by=Side.SELLER, reason="too late")
    assert refused.value.rule == rule
    unchanged(sold, before)
    assert held(sold).cancellations == [] and entries(sold, "email") == []


def test_a_cancelled_order_is_closed(sold: FakeGateway):
    desk = sold.desk()
    desk.cancel(PO, [], by=Side.BUYER, reason="gone")
    with pytest.raises(RuleViolation, match="cancelled-order-is-closed"):
        desk.change_dates(PO, cancel_after_date=dt.date(2026, 12, 31))


def test_a_cancellation_of_an_order_we_placed_with_an_edi_seller_sends_the_860(gw: FakeGateway):
    place(gw, "bluewater")
    result = gw.desk().cancel(PO, lines(("2", 1)), by=Side.BUYER, reason="the customer cancelled")
    assert [d["set"] for d in result.documents] == ["860"]
    (email,) = entries(gw, "email")  # and the seller's contacts hear of it
    assert email.payload["recipients"] == ["orders@bluewater.example"]


# -- the acknowledgement, the invoice, the money --------------------------------------------------


def test_an_acknowledgement_sends_the_855_which_records_the_decision(sold: FakeGateway):
    result = sold.desk().acknowledge(PO, Decision.accept_all())
    assert [d["set"] for d in result.documents] == ["855"]
    assert "confirmed" not in result.flags  # queued, not delivered: the buyer does not know
    order = held(sold)
    assert len(order.confirmations) == 1
    assert order.dispatches[0].kind.value == "855"


def test_an_acknowledgement_is_for_an_order_we_sell(gw: FakeGateway):
    place(gw, "bluewater")
    before = gw.store.commits
    with pytest.raises(RuleViolation, match="export-follows-role"):
        gw.desk().acknowledge(PO, Decision.accept_all())
    unchanged(gw, before)


def test_an_invoice_is_of_what_shipped_and_is_sent_as_an_810(sold: FakeGateway):
    desk = sold.desk()
    with pytest.raises(RuleViolation, match="invoice-needs-shipped-quantity"):
        desk.invoice(PO)
    ship_all(sold)
    result = desk.invoice(PO, number="INV-1")
    assert [d["set"] for d in result.documents] == ["810"]
    (invoice,) = held(sold).invoices
    assert (invoice.number, invoice.amount) == ("INV-1", Decimal("35.00"))
    # the interchange control numbers count on from the 856's
    assert sold.store.tables["control_numbers"][(PARTNER, "interchange")] == 2


def test_payment_needs_an_invoiced_balance_and_settles_it(sold: FakeGateway):
    desk = sold.desk()
    with pytest.raises(RuleViolation, match="payment-needs-invoiced-balance"):
        desk.mark_paid(PO, amount=Decimal(1))
    ship_all(sold)
    desk.invoice(PO)
    with pytest.raises(RuleViolation, match="payment-cannot-exceed-balance"):
        desk.mark_paid(PO, amount=Decimal(36))
    result = desk.mark_paid(PO, reference="wire 7")
    assert "paid" in result.flags and held(sold).payment_status.value == "paid"
    with pytest.raises(RuleViolation, match="paid-order-cannot-be-marked-paid"):
        desk.mark_paid(PO)


def test_a_return_and_a_refund_are_of_what_shipped_and_was_paid(sold: FakeGateway):
    desk = sold.desk()
    with pytest.raises(RuleViolation, match="return-only-of-fulfilled-unreturned-quantity"):
        desk.record_return(PO, lines(("1", 1)))
    ship_all(sold)
    desk.invoice(PO)
    desk.mark_paid(PO)
    returned = desk.record_return(PO, lines(("1", 2)), reason="damaged")
    assert "returned" in returned.flags
    with pytest.raises(RuleViolation, match="refund-cannot-exceed-paid"):
        desk.refund(PO, Decimal(100))
    desk.refund(PO, Decimal(5), lines=lines(("1", 2)), reason="damaged")
    order = held(sold)
    assert [r.lines[0].quantity for r in order.returns] == [2]
    assert [r.amount for r in order.refunds] == [Decimal(5)]
    assert history(sold)[-2:] == ["ReturnRecorded", "RefundRecorded"]


# -- notes, the customer, the dates ---------------------------------------------------------------


def test_notes_are_added_edited_and_deleted_in_the_orders_history(sold: FakeGateway):
    desk = sold.desk()
    added = desk.add_note(PO, "call before delivery", author="kim")
    desk.edit_note(PO, added.record, "call the day before", author="kim")
    assert held(sold).notes[0].text == "call the day before"
    desk.delete_note(PO, added.record, author="lee")
    assert held(sold).note(added.record) is None
    with pytest.raises(RuleViolation, match="note-needs-text"):
        desk.add_note(PO, " ", author="kim")
    with pytest.raises(RuleViolation, match="note-must-exist"):
        desk.edit_note(PO, "N-404", "x", author="kim")
    assert [n for n in history(sold) if n.startswith("Note")] == [
        "NoteAdded",
        "NoteEdited",
        "NoteDeleted",
    ]


def test_a_new_customer_is_recorded(sold: FakeGateway):
    result = sold.desk().change_customer(PO, Party("ST", "Jane Doe"), reason="moved")
    assert result.action == "customer changed"
    ship_to = held(sold).party("ST")
    assert ship_to is not None and ship_to.name == "Jane Doe"


def test_new_dates_on_an_order_we_sell_are_recorded_and_send_nothing(sold: FakeGateway):
    desk = sold.desk()
    result = desk.change_dates(PO, cancel_after_date=dt.date(2026, 12, 24))
    assert result.action == "dates changed" and result.documents == []
    again = desk.change_dates(PO, cancel_after_date=dt.date(2026, 12, 24))
    assert again.action == "dates unchanged"
    assert held(sold).cancel_after_date == dt.date(2026, 12, 24)
    assert entries(sold, "x12") == []


def test_new_dates_on_an_order_we_placed_go_to_an_edi_seller_in_an_860(gw: FakeGateway):
    place(gw, "bluewater")
    result = gw.desk().change_dates(
        PO, partner="bluewater", requested_ship_date=dt.date(2026, 12, 9)
    )
    assert [d["set"] for d in result.documents] == ["860"]
    assert held(gw, "bluewater").requested_ship_date == dt.date(2026, 12, 9)


def test_an_action_on_an_order_nobody_holds_is_refused(gw: FakeGateway):
    with pytest.raises(OrderNotFound):
        gw.desk().add_note("PO-404", "hello", author="kim")


def test_a_po_number_held_from_two_partners_needs_the_partner_named(gw: FakeGateway):
    place(gw, "bluewater")
    place(gw, "pinecrest")
    with pytest.raises(RuleViolation, match="po-number-names-one-order"):
        gw.desk().add_note(PO, "which one?", author="kim")
    assert gw.desk().add_note(PO, "this one", author="kim", partner="pinecrest").partner == (
        "pinecrest"
    )


def test_two_test_orders_placed_in_one_second_have_numbers_of_their_own(gw: FakeGateway):
    first = gw.desk().test_order("pinecrest")
    second = gw.desk().test_order("pinecrest")
    assert first.po_number != second.po_number
    assert second.po_number == first.po_number + "-2" and len(second.po_number) <= 22
