"""The Order aggregate: events and history, replacement of lines, notes, the customer, and the
plain facts the history keeps."""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
from datetime import date
from decimal import Decimal

import pytest

from gateway.domain import commands, events
from gateway.domain.model import LineItem, Order
from gateway.domain.rules import Flag
from gateway.domain.values import (
    Address,
    Contact,
    DocumentKind,
    DocumentState,
    EntityCode,
    LineQuantity,
    Pack,
    Party,
    PurposeCode,
    Role,
    ShipmentStatus,
    Side,
    Terms,
)
from tests.unit.domain.builders import (
    PARTNER,
    PO,
    T0,
    at,
    cancel,
    cancel_order,
    confirm,
    document_state,
    fulfil,
    give_back,
    invoice,
    mark_paid,
    new_order,
    on_order,
    receive_order,
    refund,
    replace_order,
    shipment,
    track,
)

SHIP_TO = Party(
    EntityCode.SHIP_TO,
    name="Jane Doe",
    address=Address(("1 Main St", "Apt 2"), "Springfield", "IL", "62701", "US"),
    contacts=(Contact("Jane Doe", "555-0100", "jane@example.com"),),
)


def test_receiving_an_order_records_what_was_sent():
    command = receive_order(
        ("1", 10),
        ("2", "2.5"),
        our_role=Role.BUYER,
        parties=(SHIP_TO, Party(EntityCode.VENDOR, name="Widgets Inc", id_qualifier="92", id="V1")),
        terms=Terms(description="Net 30", net_days=30, discount_percent=Decimal(2)),
        is_test=True,
    )
    order = Order.receive(command)
    assert (order.partner, order.po_number, order.our_role) == (PARTNER, PO, Role.BUYER)
    assert order.party(EntityCode.SHIP_TO) == SHIP_TO
    assert order.party(EntityCode.VENDOR).id == "V1"
    assert order.terms.net_days == 30
    assert Flag.TEST in order.flags
    assert order.lines[1].ordered == Decimal("2.5")
    assert order.lines[0].product_ids == {"VP": "SKU-1"}
    assert order.source_documents == ["850 #0001"]
    assert order.version == 0
    [received] = order.events
    assert isinstance(received, events.OrderReceived)
    assert received.lines == command.lines and received.is_test
    assert [fact.event for fact in order.history] == ["OrderReceived"]


def test_every_event_names_its_order_and_time_and_lands_in_history():
    order = new_order(("1", 10), ("2", 5))
    script = [
        confirm(at=at(1)),
        fulfil("F1", ("1", 10), at=at(2)),
        shipment("F1", ShipmentStatus.IN_TRANSIT, at=at(3)),
        cancel("C1", ("2", 5), at=at(4)),
        track("document 1", DocumentKind.SHIP_NOTICE, "F1", at=at(5)),
        document_state("document 1", DocumentState.DELIVERED, at=at(5)),
        give_back("R1", ("1", 1), at=at(6)),
        invoice("INV1", 25, at=at(8)),
        mark_paid(10, at=at(9)),
        refund("RF1", 3, at=at(7)),
        commands.AcceptInvoice(partner=PARTNER, po_number=PO, at=at(10), invoice_number="INV1"),
        on_order(commands.AddNote, note_id="N1", author="ann", text="hello", at=at(11)),
        on_order(commands.EditNote, note_id="N1", author="bob", text="hello!", at=at(12)),
        on_order(commands.DeleteNote, note_id="N1", author="ann", at=at(13)),
    ]
    for command in script:
        recorded = len(order.history)
        order.handle(command)
        assert len(order.history) > recorded, type(command).__name__
        for event in order.events[recorded - 1 :]:
            assert (event.partner, event.po_number, event.at) == (PARTNER, PO, command.at)
    assert [type(e).__name__ for e in order.events] == [fact.event for fact in order.history[1:]]
    assert [type(e).__name__ for e in order.events] == [
        "OrderConfirmed",
        "FulfilmentCreated",
        "ShipmentStatusChanged",
        "LinesCancelled",
        "OrderShipped",
        "DocumentTracked",
        "DocumentStateChanged",
        "FulfilmentPassedOn",
        "ReturnRecorded",
        "InvoiceRecorded",
        "PaymentRecorded",
        "RefundRecorded",
        "InvoiceAccepted",
        "NoteAdded",
        "NoteEdited",
        "NoteDeleted",
    ]


def test_history_facts_are_plain_json_data():
    order = new_order(("1", 10))
    order.handle(
        fulfil(
            "F1",
            ("1", "2"),
            packs=(Pack(lines=(LineQuantity("1", Decimal("2")),), sscc="006141411234567890"),),
            ship_date=T0.date(),
        )
    )
    fact = order.history[-1]
    assert fact.event == "FulfilmentCreated" and fact.at == at(1)
    assert fact.fields["lines"] == [{"line_number": "1", "quantity": "2"}]
    assert fact.fields["status"] == "shipped"
    assert fact.fields["ship_date"] == "2026-11-21"
    assert fact.fields["packs"][0]["sscc"] == "006141411234567890"
    assert "at" not in fact.fields and fact.fields["po_number"] == PO
    json.dumps([f.fields for f in order.history])  # nothing but plain data
    with pytest.raises(TypeError):
        events.plain(object())


def test_line_quantities_are_derived_from_records():
    order = new_order(("1", 10))
    line = order.line("1")
    order.handle(fulfil("F1", ("1", 4)))
    order.handle(cancel("C1", ("1", 1)))
    order.handle(give_back("R1", ("1", 2)))
    assert (line.fulfilled, line.cancelled, line.returned, line.open) == (4, 1, 2, 5)
    detached = LineItem("9", Decimal(3))
    assert (detached.fulfilled, detached.cancelled, detached.returned, detached.open) == (
        0,
        0,
        0,
        3,
    )


def test_a_copy_compares_equal_and_keeps_its_own_lines():
    order = new_order(("1", 10))
    order.handle(fulfil("F1", ("1", 4)))
    twin = copy.deepcopy(order)
    assert twin == order
    twin.handle(cancel("C1", ("1", 2)))
    assert twin.line("1").cancelled == 2 and order.line("1").cancelled == 0
    assert twin != order


def test_replacement_updates_header_and_lines():
    order = new_order(("1", 10), ("2", 5), ("3", 2))
    order.handle(fulfil("F1", ("1", 4)))
    order.handle(cancel("C1", ("3", 1)))
    order.handle(invoice("INV1", 5))
    new_ship_to = dataclasses.replace(SHIP_TO, name="John Doe")
    order.handle(
        replace_order(
            ("4", 1),
            ("1", 6),
            currency="CAD",
            parties=(new_ship_to,),
            requested_ship_date=T0.date(),
            source="850 #0002",
        )
    )
    # line 2 had no record: it is gone; line 3 had a cancellation: it stays, cut to it
    assert [line.line_number for line in order.lines] == ["4", "1", "3"]
    assert (order.line("3").ordered, order.line("3").open) == (1, 0)
    assert order.line("1").open == 2 and order.line("1").fulfilled == 4
    assert order.purpose_code is PurposeCode.REPLACE and order.currency == "CAD"
    assert order.party(EntityCode.SHIP_TO).name == "John Doe"
    assert order.requested_ship_date == T0.date()
    assert order.source_documents == ["850 #0001", "850 #0002"]
    replaced = order.events[-1]
    assert isinstance(replaced, events.OrderReplaced)
    assert replaced.removed_lines == ("2", "3")


def test_replacement_can_ship_or_cancel_an_order():
    order = new_order(("1", 10), ("2", 5))
    order.handle(fulfil("F1", ("1", 10)))
    order.handle(replace_order(("1", 10)))
    assert Flag.SHIPPED in order.flags
    assert [type(e).__name__ for e in order.events][-2:] == ["OrderReplaced", "OrderShipped"]
    cancelled = new_order(("1", 10), ("2", 5))
    cancelled.handle(cancel("C1", ("1", 10)))
    cancelled.handle(replace_order(("1", 10)))
    assert Flag.CANCELLED in cancelled.flags


def test_notes_keep_their_history():
    order = new_order()
    order.handle(
        on_order(commands.AddNote, note_id="N1", author="ann", text="call buyer", at=at(1))
    )
    order.handle(on_order(commands.EditNote, note_id="N1", author="bob", text="called", at=at(2)))
    note = order.note("N1")
    assert (note.author, note.text, note.created_at, note.edited_by, note.edited_at) == (
        "ann",
        "called",
        at(1),
        "bob",
        at(2),
    )
    order.handle(on_order(commands.DeleteNote, note_id="N1", author="cy", at=at(3)))
    assert order.notes == []
    texts = [(f.event, f.fields.get("text"), f.fields.get("author")) for f in order.history[1:]]
    assert texts == [
        ("NoteAdded", "call buyer", "ann"),
        ("NoteEdited", "called", "bob"),
        ("NoteDeleted", "called", "cy"),
    ]
    assert order.history[2].fields["previous_text"] == "call buyer"


def test_changing_the_customer_replaces_ship_to_and_bill_to():
    order = new_order(parties=(SHIP_TO, Party(EntityCode.VENDOR, name="Widgets Inc")))
    moved = Party("ZZ", name="Jane Doe", address=Address(("9 Elm St",), "Dover", "DE", "19901"))
    billed = Party(EntityCode.BILL_TO, name="Jane's Company")
    order.handle(on_order(commands.ChangeCustomer, ship_to=moved, reason="moved"))
    assert order.party(EntityCode.SHIP_TO).address.city == "Dover"
    assert order.party(EntityCode.SHIP_TO).entity_code == "ST"
    assert len(order.parties) == 2
    changed = order.events[-1]
    assert changed.previous_ship_to == SHIP_TO and changed.bill_to is None
    order.handle(on_order(commands.ChangeCustomer, ship_to=moved, bill_to=billed))
    assert order.party(EntityCode.BILL_TO) == billed and len(order.parties) == 3


def test_changing_dates_changes_only_the_dates_given_and_says_what_they_were():
    order = new_order(requested_ship_date=date(2026, 12, 1), cancel_after_date=date(2026, 12, 20))
    order.handle(
        on_order(
            commands.ChangeDates,
            requested_ship_date=date(2026, 12, 8),
            requested_delivery_date=date(2026, 12, 12),
            reason="860 #2",
        )
    )
    assert (order.requested_ship_date, order.requested_delivery_date) == (
        date(2026, 12, 8),
        date(2026, 12, 12),
    )
    assert order.cancel_after_date == date(2026, 12, 20)  # not given: kept
    (changed,) = order.events
    assert changed.changed == (
        ("requested_ship_date", date(2026, 12, 1), date(2026, 12, 8)),
        ("requested_delivery_date", None, date(2026, 12, 12)),
    )
    fact = order.history[-1]
    assert fact.event == "DatesChanged"
    assert json.loads(json.dumps(fact.fields))["changed"] == [
        ["requested_ship_date", "2026-12-01", "2026-12-08"],
        ["requested_delivery_date", None, "2026-12-12"],
    ]
    order.events.clear()
    order.handle(on_order(commands.ChangeDates, requested_ship_date=date(2026, 12, 8)))
    assert order.events == []  # the same date again: nothing happened


def test_after_a_partial_fulfilment_the_customer_can_still_change():
    order = new_order(("1", 10))
    order.handle(fulfil("F1", ("1", 2)))
    order.handle(on_order(commands.ChangeCustomer, ship_to=SHIP_TO))
    assert order.party(EntityCode.SHIP_TO) == SHIP_TO


def test_mark_paid_without_amount_pays_what_is_owed():
    order = new_order()
    order.handle(invoice("INV1", 100))
    order.handle(mark_paid(30))
    order.handle(mark_paid(reference="cheque 7"))
    assert [(p.amount, p.in_full) for p in order.payments] == [(30, False), (70, True)]
    assert Flag.PAID in order.flags


def test_cancel_order_records_whole_order_cancellation_with_requester():
    order = new_order(("1", 10))
    order.handle(cancel_order("C1", requested_by=Side.SELLER, reason="discontinued", source="865"))
    [cancellation] = order.cancellations
    assert (cancellation.requested_by, cancellation.reason, cancellation.source) == (
        Side.SELLER,
        "discontinued",
        "865",
    )
    assert order.events[0].whole_order


def test_handle_refuses_what_is_not_a_command():
    with pytest.raises(TypeError):
        new_order().handle(commands.Command(partner=PARTNER, po_number=PO, at=at()))


def test_an_order_and_its_lines_form_no_reference_cycle():
    """An order no longer used is freed by reference counting at once, not left to the cycle
    collector (whose passes grew with the orders of a big file); a line kept after its order
    still reads its quantities."""

    def one_line() -> LineItem:
        order = new_order(("1", 3), ("2", 4))
        order.handle(fulfil("F1", ("1", 1)))
        copied = copy.deepcopy(order)
        assert (
            copied.lines[0].fulfilled == 1 and copied.lines[0]._order is not order.lines[0]._order
        )
        return order.lines[0]

    gc.collect()
    gc.disable()
    try:
        line = one_line()
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert (line.fulfilled, line.open) == (1, 2)
