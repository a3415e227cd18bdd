"""One test per rule of `gateway.domain.rules`, named after the rule; plus checks that the rule
table, its docstring and these tests list the same rules."""

from __future__ import annotations

import copy
import datetime as dt
import inspect
import re
import sys
from decimal import Decimal

import pytest

from gateway.domain import commands, rules
from gateway.domain.model import Order
from gateway.domain.rules import RULES, Flag, FulfilmentStatus, PaymentStatus
from gateway.domain.values import (
    ConfirmationMethod,
    DocumentKind,
    DocumentState,
    LineAnswer,
    LineAnswerStatus,
    LineQuantity,
    Pack,
    Party,
    PurposeCode,
    Role,
    ShipmentStatus,
)
from gateway.errors import PartnerError, RuleViolation
from tests.unit.domain.builders import (
    ORDER_DATE,
    PARTNER,
    PO,
    accept,
    at,
    cancel,
    cancel_order,
    confirm,
    deliver,
    document_state,
    fulfil,
    give_back,
    invoice,
    mark_paid,
    new_order,
    on_order,
    passed_on,
    po_line,
    receive_order,
    refund,
    refused,
    replace_order,
    shipment,
    shipped_order,
    track,
    tracking_for,
)

VALID_SSCC = "006141411234567890"  # the GS1 example: extension 0, prefix 0614141, check 0


# The table itself -----------------------------------------------------------------------------


def test_every_rule_has_a_test_named_after_it():
    tests = {name for name, _ in inspect.getmembers(sys.modules[__name__], inspect.isfunction)}
    missing = [name for name in RULES if "test_" + name.replace("-", "_") not in tests]
    assert not missing


def test_docstring_tables_list_exactly_the_rules():
    documented = re.findall(r"^    ([a-z0-9]+(?:-[a-z0-9]+)+)\s", rules.__doc__ or "", re.M)
    assert sorted(documented) == sorted(RULES)
    assert len(documented) == len(set(documented))


def test_docstring_lists_the_commands_each_rule_guards():
    text = rules.__doc__ or ""
    for rule in rules.GUARD_RULES:
        block = re.search(
            rf"^    {re.escape(rule.name)}\s+(.*?)(?=^    \S|^\S|^$|\Z)", text, re.M | re.S
        )
        assert block, rule.name
        if rule.guards == rules.EVERY_COMMAND:
            assert "every command" in block.group(1)
            continue
        named = set(re.findall(r"[A-Z][A-Za-z]+", block.group(1)))
        assert named == {kind.__name__ for kind in rule.guards}, rule.name


def test_every_command_is_guarded_by_some_rule_and_every_guard_is_a_command():
    kinds = {
        kind
        for _, kind in inspect.getmembers(commands, inspect.isclass)
        if issubclass(kind, commands.Command) and kind is not commands.Command
    }
    assert set(rules.EVERY_COMMAND) == kinds
    for rule in rules.GUARD_RULES:
        assert set(rule.guards) <= kinds


def test_a_refusal_is_a_partner_error_naming_rule_order_and_line():
    violation = refused(new_order(), fulfil("F1", ("1", 11)))
    assert isinstance(violation, PartnerError)
    assert (violation.rule, violation.po_number, violation.line) == (
        "fulfilment-takes-only-open-quantity",
        PO,
        "1",
    )
    assert f"order {PO} line 1" in str(violation)


def test_an_unknown_rule_name_is_our_bug():
    with pytest.raises(KeyError):
        rules.refusal("no-such-rule", "x", po_number=PO)


# Rules that refuse commands ------------------------------------------------------------------


def test_command_matches_order():
    order = new_order()
    violation = refused(
        order,
        commands.AddNote(
            partner=PARTNER, po_number="PO-9", at=at(), note_id="N1", author="ann", text="hi"
        ),
    )
    assert violation.rule == "command-matches-order"
    other_partner = fulfil("F1", ("1", 1))
    other_partner = commands.CreateFulfilment(
        **{**other_partner.__dict__, "partner": "OTHER"}  # same command, another partner
    )
    assert refused(order, other_partner).rule == "command-matches-order"


def test_order_received_once():
    order = new_order()
    assert refused(order, receive_order()).rule == "order-received-once"


@pytest.mark.parametrize("purpose", [PurposeCode.CANCELLATION, PurposeCode.CHANGE])
def test_receive_purpose_must_open_order(purpose):
    with pytest.raises(RuleViolation) as caught:
        Order.receive(receive_order(purpose_code=purpose))
    assert caught.value.rule == "receive-purpose-must-open-order"
    for opening in (PurposeCode.ORIGINAL, PurposeCode.CONFIRMATION, PurposeCode.DUPLICATE):
        assert Order.receive(receive_order(purpose_code=opening)).purpose_code is opening


def test_order_needs_lines():
    with pytest.raises(RuleViolation) as caught:
        Order.receive(commands.ReceiveOrder(**{**receive_order().__dict__, "lines": ()}))
    assert caught.value.rule == "order-needs-lines"
    assert refused(new_order(), replace_order()).rule == "order-needs-lines"


def test_line_numbers_unique():
    with pytest.raises(RuleViolation) as caught:
        Order.receive(receive_order(("1", 2), ("2", 2), ("1", 3)))
    assert (caught.value.rule, caught.value.line) == ("line-numbers-unique", "1")
    violation = refused(new_order(), replace_order(("A", 1), ("A", 1)))
    assert (violation.rule, violation.line) == ("line-numbers-unique", "A")
    # PO101 is AN: "1" and "001" are two lines
    assert len(new_order(("1", 2), ("001", 2)).lines) == 2


@pytest.mark.parametrize("bad", ["0", "-1", "NaN", "Infinity", "-0.5"])
def test_quantity_must_be_positive(bad):
    with pytest.raises(RuleViolation) as caught:
        Order.receive(receive_order(("1", 2), ("2", bad)))
    assert (caught.value.rule, caught.value.line) == ("quantity-must-be-positive", "2")
    order = new_order(("1", 10), ("2", 10))
    order.handle(fulfil("F0", ("1", 5)))
    for command in (
        replace_order(("1", 10), ("2", bad)),
        fulfil("F1", ("1", 1), ("2", bad)),
        cancel("C1", ("2", bad)),
        give_back("R1", ("1", bad)),
        refund("RF1", 5, ("1", bad)),
        invoice("INV1", 5, ("1", bad)),
    ):
        assert refused(order, command).rule == "quantity-must-be-positive", command
    # entries that add up to a positive quantity are still refused one by one
    assert refused(order, cancel("C1", ("2", 3), ("2", -1))).rule == "quantity-must-be-positive"


def test_price_cannot_be_negative():
    command = receive_order()
    line = command.lines[0]
    negative = commands.ReceiveOrder(
        **{
            **command.__dict__,
            "lines": (type(line)(**{**_fields(line), "unit_price": Decimal(-1)}),),
        }
    )
    with pytest.raises(RuleViolation) as caught:
        Order.receive(negative)
    assert caught.value.rule == "price-cannot-be-negative"
    free = commands.ReceiveOrder(
        **{
            **command.__dict__,
            "lines": (type(line)(**{**_fields(line), "unit_price": Decimal(0)}),),
        }
    )
    assert Order.receive(free).lines[0].unit_price == 0
    replacing = replace_order(("1", 10))
    bad_line = type(line)(**{**_fields(replacing.lines[0]), "unit_price": Decimal("-0.01")})
    bad_replace = commands.ReplaceOrder(**{**replacing.__dict__, "lines": (bad_line,)})
    assert refused(new_order(), bad_replace).rule == "price-cannot-be-negative"


def _fields(value):
    return {name: getattr(value, name) for name in value.__dataclass_fields__}


@pytest.mark.parametrize("bad", ["0", "-5", "NaN"])
def test_amount_must_be_positive(bad):
    order = new_order()
    order.handle(invoice("INV0", 10))
    for command in (refund("RF1", bad), invoice("INV1", bad), mark_paid(bad)):
        assert refused(order, command).rule == "amount-must-be-positive"


def test_record_needs_lines():
    order = shipped_order()
    assert refused(new_order(), fulfil("F1")).rule == "record-needs-lines"
    assert refused(new_order(), cancel("C1")).rule == "record-needs-lines"
    assert refused(order, give_back("R1")).rule == "record-needs-lines"
    # refunds and invoices may be for the order as a whole
    order.handle(invoice("INV1", 30))
    order.handle(mark_paid())
    order.handle(refund("RF1", 5))


def test_line_must_exist():
    order = shipped_order()
    fresh = new_order()
    for target, command in (
        (fresh, fulfil("F1", ("1", 1), ("9", 1))),
        (fresh, cancel("C1", ("9", 1))),
        (order, give_back("R1", ("9", 1))),
        (order, refund("RF1", 5, ("9", 1))),
        (order, invoice("INV1", 5, ("9", 1))),
        (fresh, confirm(lines=(LineAnswer("9", LineAnswerStatus.REJECTED),))),
    ):
        violation = refused(target, command)
        assert (violation.rule, violation.line) == ("line-must-exist", "9")


def test_record_id_unique():
    order = new_order(("1", 10))
    order.handle(fulfil("F1", ("1", 1)))
    order.handle(cancel("C1", ("1", 1)))
    order.handle(give_back("R1", ("1", 1)))
    order.handle(invoice("INV1", 1))
    order.handle(mark_paid())
    order.handle(refund("RF1", "0.5"))
    order.handle(track("document 1", DocumentKind.SHIP_NOTICE, "F1"))
    order.handle(on_order(commands.AddNote, note_id="N1", author="ann", text="call them"))
    for command in (
        fulfil("F1", ("1", 1)),
        cancel("C1", ("1", 1)),
        cancel_order("C1"),
        give_back("R1", ("1", 1)),
        refund("RF1", "0.5"),
        invoice("INV1", 1),
        track("document 1", DocumentKind.INVOICE),
        on_order(commands.AddNote, note_id="N1", author="bob", text="again"),
    ):
        assert refused(order, command).rule == "record-id-unique", command


def test_cancelled_order_is_closed():
    order = new_order(("1", 10))
    order.handle(cancel_order("C1"))
    assert Flag.CANCELLED in order.flags
    for command in (
        replace_order(("1", 20)),
        confirm(),
        cancel("C2", ("1", 1)),
        cancel_order("C2"),
        on_order(commands.ChangeCustomer, ship_to=Party("ST", name="New Person")),
        on_order(commands.ChangeDates, requested_ship_date=ORDER_DATE),
    ):
        assert refused(order, command).rule == "cancelled-order-is-closed", command
    # a fulfilment is refused by the quantity rule (the service may keep it as refused)
    assert refused(order, fulfil("F1", ("1", 1))).rule == "cancelled-quantity-cannot-be-fulfilled"
    order.handle(on_order(commands.AddNote, note_id="N1", author="ann", text="buyer cancelled"))


def test_an_acknowledgement_restating_an_earlier_one_is_recorded_on_a_closed_order():
    """After our cancellation an 855 replacing ours states the order again: it decides nothing,
    so a cancelled order records it; a first (or deciding) one is refused."""
    order = new_order(("1", 10))
    order.handle(cancel_order("C1"))
    assert refused(order, confirm(restates=True)).rule == "cancelled-order-is-closed"  # no earlier
    order = new_order(("1", 10))
    order.handle(confirm())
    order.handle(cancel_order("C1"))
    assert refused(order, confirm()).rule == "cancelled-order-is-closed"  # a new decision
    assert (
        refused(  # restating an acknowledgement of another kind
            order, confirm(ConfirmationMethod.VENDOR_NOTIFIED, restates=True)
        ).rule
        == "cancelled-order-is-closed"
    )
    flags = order.flags
    order.handle(confirm(restates=True))
    assert len(order.confirmations) == 2 and order.flags == flags


def test_acknowledgement_direction_follows_role():
    seller = new_order(our_role=Role.SELLER)
    violation = refused(seller, confirm(ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED))
    assert violation.rule == "acknowledgement-direction-follows-role"
    seller.handle(confirm(ConfirmationMethod.ACKNOWLEDGEMENT_SENT))
    buyer = new_order(our_role=Role.BUYER)
    violation = refused(buyer, confirm(ConfirmationMethod.ACKNOWLEDGEMENT_SENT))
    assert violation.rule == "acknowledgement-direction-follows-role"
    buyer.handle(confirm(ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED))
    for order in (new_order(our_role=Role.SELLER), new_order(our_role=Role.BUYER)):
        order.handle(confirm(ConfirmationMethod.VENDOR_NOTIFIED))
        assert Flag.CONFIRMED not in order.flags  # a claim, not a proof


def test_cancelled_quantity_cannot_be_fulfilled():
    order = new_order(("1", 10))
    order.handle(cancel("C1", ("1", 4)))
    violation = refused(order, fulfil("F1", ("1", 7)))
    assert (violation.rule, violation.line) == ("cancelled-quantity-cannot-be-fulfilled", "1")
    order.handle(fulfil("F1", ("1", 6)))
    assert order.line("1").open == 0


def test_fulfilment_takes_only_open_quantity():
    order = new_order(("1", 10), ("2", 5))
    order.handle(fulfil("F1", ("1", 6)))
    violation = refused(order, fulfil("F2", ("2", 1), ("1", 5)))
    assert (violation.rule, violation.line) == ("fulfilment-takes-only-open-quantity", "1")
    # entries for the same line add up
    violation = refused(order, fulfil("F2", ("1", 3), ("1", 2)))
    assert violation.rule == "fulfilment-takes-only-open-quantity"
    assert refused(new_order(("1", 10)), fulfil("F1", ("1", 11))).rule == (
        "fulfilment-takes-only-open-quantity"
    )
    order.handle(fulfil("F2", ("1", 3), ("1", 1)))
    assert order.fulfilment("F2").lines == (LineQuantity("1", Decimal(4)),)


def test_several_tracking_numbers_need_several_products():
    order = new_order(("1", 10), ("2", 10))
    two = tracking_for("F1", 2)
    violation = refused(order, fulfil("F1", ("1", 2), ("1", 3), tracking_numbers=two))
    assert (violation.rule, violation.line) == (
        "several-tracking-numbers-need-several-products",
        "1",
    )
    order.handle(fulfil("F1", ("1", 5)))
    order.handle(fulfil("F2", ("1", 1), ("2", 1), tracking_numbers=tracking_for("F2", 3)))


def test_sscc_must_be_valid():
    assert rules.valid_sscc(VALID_SSCC)
    order = new_order(("1", 10))
    for bad in (
        "006141411234567891",
        "00614141123456789",
        "0061414112345678900",
        "00614141123456789X",
    ):
        command = fulfil(
            "F1", ("1", 2), packs=(Pack(lines=((LineQuantity("1", Decimal(2))),), sscc=bad),)
        )
        assert refused(order, command).rule == "sscc-must-be-valid", bad
    order.handle(
        fulfil(
            "F1", ("1", 2), packs=(Pack(lines=(LineQuantity("1", Decimal(2)),), sscc=VALID_SSCC),)
        )
    )
    order.handle(fulfil("F2", ("1", 1), packs=(Pack(lines=(LineQuantity("1", Decimal(1)),)),)))


def test_packs_match_fulfilment():
    order = new_order(("1", 10), ("2", 10))

    def pack(*pairs):
        return Pack(lines=tuple(LineQuantity(n, Decimal(q)) for n, q in pairs))

    for packs in (
        (pack(("1", 2)),),  # one unit of line 1 in no pack
        (pack(("1", 2), ("2", 1)), pack(("1", 1))),  # line 2 is not shipped
        (pack(("1", 4)),),  # more than shipped
        (pack(("1", 3)), pack(("1", 0))),  # an empty entry
    ):
        violation = refused(order, fulfil("F1", ("1", 3), packs=packs))
        assert violation.rule == "packs-match-fulfilment", packs
    order.handle(fulfil("F1", ("1", 3), ("2", 1), packs=(pack(("1", 2)), pack(("1", 1), ("2", 1)))))


def test_shipment_status_moves_forward():
    order = new_order(("1", 10))
    violation = refused(order, fulfil("F1", ("1", 1), status=ShipmentStatus.CANCELLED))
    assert violation.rule == "shipment-status-moves-forward"
    order.handle(fulfil("F1", ("1", 1), status=ShipmentStatus.AWAITING_SHIPMENT))
    for status in (
        ShipmentStatus.SHIPPED,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.DELIVERY_FAILED,
        ShipmentStatus.OUT_FOR_DELIVERY,
        ShipmentStatus.DELIVERED,
    ):
        order.handle(shipment("F1", status))
    for status in ShipmentStatus:  # DELIVERED is the end
        assert refused(order, shipment("F1", status)).rule == "shipment-status-moves-forward"
    order.handle(fulfil("F2", ("1", 1), status=ShipmentStatus.IN_TRANSIT))
    for back in (ShipmentStatus.IN_TRANSIT, ShipmentStatus.SHIPPED, ShipmentStatus.CANCELLED):
        assert refused(order, shipment("F2", back)).rule == "shipment-status-moves-forward"
    order.handle(fulfil("F3", ("1", 1), status=ShipmentStatus.AWAITING_SHIPMENT))
    order.handle(shipment("F3", ShipmentStatus.CANCELLED))
    assert refused(order, shipment("F3", ShipmentStatus.SHIPPED)).rule == (
        "shipment-status-moves-forward"
    )
    # every status has an entry in the table, and no status may follow itself
    assert set(rules.SHIPMENT_TRANSITIONS) == set(ShipmentStatus)
    assert all(status not in nexts for status, nexts in rules.SHIPMENT_TRANSITIONS.items())


def test_fulfilment_must_exist():
    order = new_order()
    assert refused(order, shipment("F9", ShipmentStatus.DELIVERED)).rule == "fulfilment-must-exist"
    notice = track("document 1", DocumentKind.SHIP_NOTICE, "F9")
    assert refused(order, notice).rule == "fulfilment-must-exist"


def test_fulfilled_quantity_cannot_be_cancelled():
    order = new_order(("1", 10), ("2", 5))
    order.handle(fulfil("F1", ("1", 8)))
    violation = refused(order, cancel("C1", ("2", 1), ("1", 3)))
    assert (violation.rule, violation.line) == ("fulfilled-quantity-cannot-be-cancelled", "1")
    order.handle(fulfil("F2", ("1", 2)))
    assert refused(order, cancel("C1", ("1", 1))).rule == "fulfilled-quantity-cannot-be-cancelled"
    order.handle(cancel("C1", ("2", 5)))
    assert order.line("1").cancelled == 0


def test_cancellation_takes_only_open_quantity():
    order = _weighed_order()
    order.handle(cancel("C1", ("1", 4)))
    violation = refused(order, cancel("C2", ("1", 7)))
    assert (violation.rule, violation.line) == ("cancellation-takes-only-open-quantity", "1")
    assert refused(order, cancel("C2", ("1", 3), ("1", 4))).rule == (
        "cancellation-takes-only-open-quantity"
    )
    order.handle(fulfil("F1", ("2", 2)))
    order.handle(cancel("C2", ("2", "3.5")))  # a partial cancellation of what is open
    assert (order.line("2").cancelled, order.line("2").open) == (Decimal("3.5"), Decimal("4.5"))


def test_nothing_open_to_cancel():
    partly = new_order(("1", 10), ("2", 4))
    partly.handle(fulfil("F1", ("1", 3)))
    partly.handle(cancel("C1", ("2", 1)))
    partly.handle(cancel_order("C2", reason="out of stock"))
    assert partly.cancellations[-1].lines == (
        LineQuantity("1", Decimal(7)),
        LineQuantity("2", Decimal(3)),
    )
    # what was fulfilled stays; the order is now Shipped, not Cancelled
    assert Flag.SHIPPED in partly.flags and Flag.CANCELLED not in partly.flags
    # settled by cancellations alone, with nothing fulfilled: the order is Cancelled, closed
    assert refused(partly, cancel_order("C3")).rule == "no-change-after-shipped"
    one_line = new_order(("1", 10), ("2", 4))
    one_line.handle(cancel("C1", ("1", 10)))
    one_line.handle(cancel("C2", ("2", 4)))
    assert refused(one_line, cancel_order("C3")).rule == "cancelled-order-is-closed"
    assert rules.is_settled(one_line) and not rules.is_shipped(one_line)


def test_replace_cannot_reduce_below_settled():
    order = new_order(("1", 10), ("2", 5))
    order.handle(fulfil("F1", ("1", 4)))
    order.handle(cancel("C1", ("1", 3)))
    violation = refused(order, replace_order(("1", "6.5"), ("2", 5)))
    assert (violation.rule, violation.line) == ("replace-cannot-reduce-below-settled", "1")
    order.handle(replace_order(("1", 7), ("2", 1)))
    assert order.line("1").open == 0 and order.line("2").open == 1


def test_replace_cannot_remove_fulfilled_line():
    order = new_order(("1", 10), ("2", 5))
    order.handle(fulfil("F1", ("2", 1)))
    violation = refused(order, replace_order(("1", 10)))
    assert (violation.rule, violation.line) == ("replace-cannot-remove-fulfilled-line", "2")
    order.handle(replace_order(("2", 5), ("3", 1)))  # line 1 had nothing: it goes
    assert [line.line_number for line in order.lines] == ["2", "3"]


def test_return_only_of_fulfilled_unreturned_quantity():
    order = new_order(("1", 10), ("2", 5))
    order.handle(fulfil("F1", ("1", 4)))
    violation = refused(order, give_back("R1", ("2", 1)))
    assert (violation.rule, violation.line) == ("return-only-of-fulfilled-unreturned-quantity", "2")
    assert refused(order, give_back("R1", ("1", 5))).rule == (
        "return-only-of-fulfilled-unreturned-quantity"
    )
    order.handle(give_back("R1", ("1", 3)))
    assert refused(order, give_back("R2", ("1", 2))).rule == (
        "return-only-of-fulfilled-unreturned-quantity"
    )
    order.handle(give_back("R2", ("1", 1)))
    assert order.line("1").returned == 4


def test_invoice_must_exist():
    assert refused(new_order(), accept("INV9")).rule == "invoice-must-exist"


def test_invoice_accepted_once():
    order = new_order()
    order.handle(invoice("INV1", 25))
    order.handle(accept("INV1"))
    assert refused(order, accept("INV1")).rule == "invoice-accepted-once"


def test_paid_order_cannot_be_marked_paid():
    order = new_order()
    order.handle(invoice("INV1", 25))
    order.handle(mark_paid())
    assert refused(order, mark_paid()).rule == "paid-order-cannot-be-marked-paid"
    assert refused(order, mark_paid(5)).rule == "paid-order-cannot-be-marked-paid"
    by_amount = new_order()
    by_amount.handle(invoice("INV1", 25))
    by_amount.handle(mark_paid(10))
    by_amount.handle(mark_paid(15))
    assert refused(by_amount, mark_paid()).rule == "paid-order-cannot-be-marked-paid"


def test_note_must_exist():
    order = new_order()
    edit = on_order(commands.EditNote, note_id="N1", author="ann", text="x")
    assert refused(order, edit).rule == "note-must-exist"
    assert refused(order, on_order(commands.DeleteNote, note_id="N1", author="ann")).rule == (
        "note-must-exist"
    )
    order.handle(on_order(commands.AddNote, note_id="N1", author="ann", text="first"))
    order.handle(on_order(commands.DeleteNote, note_id="N1", author="bob"))
    assert refused(order, edit).rule == "note-must-exist"  # a deleted note is gone


def test_note_needs_text():
    order = new_order()
    add = on_order(commands.AddNote, note_id="N1", author="ann", text="  ")
    assert refused(order, add).rule == "note-needs-text"
    order.handle(on_order(commands.AddNote, note_id="N1", author="ann", text="call"))
    edit = on_order(commands.EditNote, note_id="N1", author="ann", text="")
    assert refused(order, edit).rule == "note-needs-text"


# Rules kept by the absence of a command -------------------------------------------------------


def _command_names():
    return {
        name
        for name, kind in inspect.getmembers(commands, inspect.isclass)
        if issubclass(kind, commands.Command)
    }


def test_fulfilment_is_never_edited():
    about_fulfilments = {
        name for name in _command_names() if "Fulfil" in name or "Shipment" in name
    }
    assert about_fulfilments == {"CreateFulfilment", "UpdateShipmentStatus"}
    order = new_order(("1", 10), ("2", 10))
    order.handle(fulfil("F1", ("1", 2), ("2", 1), tracking_numbers=tracking_for("F1", 2)))
    created = copy.deepcopy(order.fulfilment("F1"))
    order.handle(shipment("F1", ShipmentStatus.DELIVERED))
    passed_on(order, "F1")
    order.handle(replace_order(("1", 5), ("2", 5)))
    order.handle(cancel_order("C1"))
    after = order.fulfilment("F1")
    assert (after.lines, after.carrier, after.tracking_numbers, after.packs) == (
        created.lines,
        created.carrier,
        created.tracking_numbers,
        created.packs,
    )
    assert (after.status, after.passed_on) == (ShipmentStatus.DELIVERED, True)


def test_cancellation_is_final():
    names = _command_names()
    assert not {name for name in names if re.search(r"Uncancel|Reinstate|Restore|Undo", name)}
    order = new_order(("1", 10))
    order.handle(cancel("C1", ("1", 4)))
    # a replacement may order more, but never takes back what was cancelled
    assert refused(order, replace_order(("1", 3))).rule == "replace-cannot-reduce-below-settled"
    order.handle(replace_order(("1", 12)))
    assert (order.line("1").cancelled, order.line("1").open) == (4, 8)
    # a line dropped by a replacement keeps its cancellation: it stays, cut to what is settled
    order.handle(replace_order(("2", 1)))
    assert order.line("1").cancelled == 4 and order.line("1").ordered == 4
    assert order.line("1").open == 0


# Rules that derive a status -------------------------------------------------------------------


def test_settled_when_every_unit_fulfilled_or_cancelled():
    order = new_order(("1", 10), ("2", 5))
    order.handle(fulfil("F1", ("1", 10)))
    assert Flag.SETTLED not in order.flags
    order.handle(cancel("C1", ("2", 5)))
    assert Flag.SETTLED in order.flags
    assert rules.is_settled(order)


def test_shipped_when_every_line_fulfilled():
    order = new_order(("1", 10), ("2", 5))
    order.handle(fulfil("F1", ("1", 10), ("2", 4)))
    assert Flag.SHIPPED not in order.flags  # a partial fulfilment leaves it unshipped
    assert [type(e).__name__ for e in order.events] == ["FulfilmentCreated"]
    order.handle(cancel("C1", ("2", 1)))  # ordered - cancelled is now all fulfilled
    assert Flag.SHIPPED in order.flags
    assert [type(e).__name__ for e in order.events][-2:] == ["LinesCancelled", "OrderShipped"]
    fully = new_order(("1", 3))
    fully.handle(fulfil("F1", ("1", 3)))
    assert Flag.SHIPPED in fully.flags
    assert [type(e).__name__ for e in fully.events] == ["FulfilmentCreated", "OrderShipped"]


def test_cancelled_when_every_unit_cancelled():
    order = new_order(("1", 10), ("2", 5))
    order.handle(cancel("C1", ("1", 10)))
    assert Flag.CANCELLED not in order.flags
    order.handle(cancel("C2", ("2", 5)))
    assert Flag.CANCELLED in order.flags and Flag.SHIPPED not in order.flags
    assert order.fulfilment_status is FulfilmentStatus.UNFULFILLED
    assert type(order.events[-1]).__name__ == "OrderCancelled"
    whole = new_order(("1", 10))
    whole.handle(cancel_order("C1"))
    assert [type(e).__name__ for e in whole.events] == ["LinesCancelled", "OrderCancelled"]
    assert whole.events[0].whole_order


def test_returned_when_return_or_refund_recorded():
    order = shipped_order()
    assert Flag.RETURNED not in order.flags
    order.handle(give_back("R1", ("1", 1)))
    assert Flag.RETURNED in order.flags
    refunded = _paid_order()
    refunded.handle(refund("RF1", 5))
    assert Flag.RETURNED in refunded.flags


def test_fulfilment_status_at_a_glance():
    order = new_order(("1", 10), ("2", 5))
    assert order.fulfilment_status is FulfilmentStatus.UNFULFILLED
    order.handle(cancel("C1", ("2", 1)))
    assert order.fulfilment_status is FulfilmentStatus.UNFULFILLED
    order.handle(fulfil("F1", ("1", 10)))
    assert order.fulfilment_status is FulfilmentStatus.PARTIALLY_FULFILLED
    order.handle(fulfil("F2", ("2", 4)))
    assert order.fulfilment_status is FulfilmentStatus.FULFILLED
    order.handle(give_back("R1", ("1", 2)))  # a return shows in the Returned flag
    assert order.fulfilment_status is FulfilmentStatus.FULFILLED
    assert [s.value for s in FulfilmentStatus] == [
        "unfulfilled",
        "partially fulfilled",
        "fulfilled",
    ]


def test_payment_status_from_amounts():
    order = new_order()
    assert order.payment_status is PaymentStatus.PENDING
    order.handle(invoice("INV1", 100))
    assert order.payment_status is PaymentStatus.PENDING
    order.handle(accept("INV1"))
    assert order.payment_status is PaymentStatus.AUTHORIZED
    order.handle(mark_paid(40))
    assert order.payment_status is PaymentStatus.PARTIALLY_PAID
    order.handle(mark_paid(60))
    assert order.payment_status is PaymentStatus.PAID
    order.handle(refund("RF1", 30))
    assert order.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    order.handle(refund("RF2", 70))
    assert order.payment_status is PaymentStatus.REFUNDED
    voided = new_order()
    voided.handle(cancel_order())
    assert voided.payment_status is PaymentStatus.VOIDED
    assert {s.value for s in PaymentStatus} == {
        "pending",
        "authorized",
        "paid",
        "partially paid",
        "partially refunded",
        "refunded",
        "voided",
    }


def test_a_refused_document_is_kept_on_any_order_and_changes_nothing_else():
    for order in (new_order(), shipped_order()):
        open_lines = [(line.line_number, line.open) for line in order.lines if line.open]
        if open_lines:
            order.handle(cancel("C0", *open_lines))  # a closed order: cancelled, or shipped
        before = copy.deepcopy(order)
        order.handle(
            on_order(
                commands.RecordRefusal,
                source="860 #0001",
                what="change order (860)",
                rule="fulfilled-quantity-cannot-be-cancelled",
                reason="line 1 is shipped",
            )
        )
        assert order.history[-1].event == "DocumentRefused"
        assert order.history[-1].fields["rule"] == "fulfilled-quantity-cannot-be-cancelled"
        assert (order.lines, order.flags) == (before.lines, before.flags)
        assert "860 #0001" in order.source_documents


def _weighed_order() -> Order:
    """Line 1: 10 EA (counted); line 2: 10 LB (weighed)."""
    return Order.receive(
        commands.ReceiveOrder(
            **{
                **receive_order().__dict__,
                "lines": (po_line("1", 10), po_line("2", 10, unit_of_measure="LB")),
            }
        )
    )


def test_counted_units_are_whole():
    order = _weighed_order()
    for command in (
        fulfil("F1", ("1", "0.5")),
        cancel("C1", ("1", "1.5")),
    ):
        violation = refused(order, command)
        assert (violation.rule, violation.line) == ("counted-units-are-whole", "1"), command
    # a weighed unit takes fractions; a whole number written with decimals is whole
    order.handle(fulfil("F1", ("2", "2.5"), ("1", "2.000")))
    assert order.line("2").open == Decimal("7.5") and order.line("1").open == 8
    assert refused(order, give_back("R1", ("1", "0.25"))).rule == "counted-units-are-whole"
    order.handle(give_back("R1", ("2", "0.25")))
    order.handle(invoice("INV1", "10.00", ("1", 2), ("2", "2.5")))
    order.handle(mark_paid())
    assert refused(order, refund("RF1", 1, ("1", "0.5"))).rule == "counted-units-are-whole"
    assert rules.RULES["counted-units-are-whole"].guards == rules.RECORD_LINES


def test_quantity_within_limit():
    order = _weighed_order()
    huge = str(rules.MAX_QUANTITY + 1)
    for command in (fulfil("F1", ("2", huge)), cancel("C1", ("1", "1e12"))):
        assert refused(order, command).rule == "quantity-within-limit", command


@pytest.mark.parametrize("bad", ["1e309", "1000000000000.01", "10.001"])
def test_amount_within_limit(bad):
    order = new_order()
    order.handle(invoice("INV0", 10))
    for command in (refund("RF1", bad), invoice("INV1", bad), mark_paid(bad)):
        assert refused(order, command).rule == "amount-within-limit", command


def test_no_change_after_shipped():
    order = shipped_order()
    assert Flag.SHIPPED in order.flags and Flag.COMPLETED not in order.flags
    for command in (
        replace_order(("1", 10), ("2", 4)),
        replace_order(("1", 10), ("2", 4), ("3", 1)),
        on_order(commands.ChangeLines, lines=(po_line("1", 10, unit_price=Decimal("9.99")),)),
        cancel("C1", ("1", 1)),
        cancel_order("C1"),
        on_order(commands.ChangeCustomer, ship_to=Party("ST", name="New Person")),
        on_order(commands.ChangeDates, requested_ship_date=ORDER_DATE),
        fulfil("F2", ("1", 1)),
        # an 855 saying 1 of a line that shipped 10 contradicts the shipment
        confirm(lines=(LineAnswer("1", LineAnswerStatus.QUANTITY_CHANGED, Decimal(1)),)),
        confirm(lines=(LineAnswer("2", LineAnswerStatus.REJECTED),)),
    ):
        violation = refused(order, command)
        assert violation.rule == "no-change-after-shipped", command
    # an acknowledgement that says what shipped is still recorded (shipped before answering)
    order.handle(
        confirm(
            lines=(
                LineAnswer("1", LineAnswerStatus.ACCEPTED),
                LineAnswer("2", LineAnswerStatus.ACCEPTED, Decimal(4)),
            )
        )
    )
    # what still goes on after Shipped: returns, refunds, money, tracking, documents, notes
    for command in (
        give_back("R1", ("1", 2)),
        invoice("INV1", 35, ("1", 10), ("2", 4)),
        accept("INV1"),
        mark_paid(),
        refund("RF1", 5, ("1", 2)),
        shipment("F1", ShipmentStatus.DELIVERED),
        track("document 9", DocumentKind.INVOICE),
        on_order(commands.AddNote, note_id="N1", author="ann", text="returned two"),
    ):
        order.handle(command)
    assert Flag.SHIPPED in order.flags


def test_a_late_fulfilment_is_kept_for_an_operator():
    order = shipped_order()
    late = fulfil("F2", ("1", 1), at=at(60))
    violation = refused(order, late)
    assert violation.rule == "no-change-after-shipped"
    # the service keeps the refused one for an operator; nothing else changes
    goods_before = (copy.deepcopy(order.fulfilments), order.flags)
    order.record_refused_fulfilment(late, violation)
    assert (order.fulfilments, order.flags) == goods_before
    [event] = order.events
    assert type(event).__name__ == "FulfilmentRefused"
    assert (event.fulfilment_id, event.rule, event.tracking_numbers) == (
        "F2",
        "no-change-after-shipped",
        late.tracking_numbers,
    )
    assert order.history[-1].event == "FulfilmentRefused"
    assert order.history[-1].fields["rule"] == "no-change-after-shipped"
    # the refused one is still refused for another order
    elsewhere = commands.CreateFulfilment(**{**late.__dict__, "po_number": "PO-9"})
    with pytest.raises(RuleViolation) as caught:
        order.record_refused_fulfilment(elsewhere, violation)
    assert caught.value.rule == "command-matches-order"


def test_carrier_must_be_known():
    order = new_order(("1", 10))
    for carrier in ("", "UPS", "Acme Freight", "ZZZZ"):
        violation = refused(order, fulfil("F1", ("1", 1), carrier=carrier))
        assert violation.rule == "carrier-must-be-known", carrier
    assert "UPSN" in str(violation) and "USPS" in str(violation)  # the known ones are listed
    order.handle(fulfil("F1", ("1", 1), carrier="UPSN"))


def test_tracking_number_required():
    order = new_order(("1", 10))
    assert refused(order, fulfil("F1", ("1", 1), tracking_numbers=())).rule == (
        "tracking-number-required"
    )


def test_tracking_number_must_be_valid():
    order = new_order(("1", 10))
    good = tracking_for("F1")[0]
    wrong_digit = good[:-1] + str((int(good[-1]) + 1) % 10)
    for bad in (wrong_digit, "1Z1", "TEST", "000000000000", "1Z999AA1~0123456784", " "):
        violation = refused(order, fulfil("F1", ("1", 1), tracking_numbers=(bad,)))
        assert violation.rule == "tracking-number-must-be-valid", bad
    order.handle(fulfil("F1", ("1", 1), tracking_numbers=(good,)))


def test_tracking_number_used_once():
    order = new_order(("1", 10), ("2", 10))
    order.handle(fulfil("F1", ("1", 1)))
    again = refused(order, fulfil("F2", ("1", 1), tracking_numbers=tracking_for("F1")))
    assert again.rule == "tracking-number-used-once"
    twice = tracking_for("F2") * 2
    assert refused(order, fulfil("F2", ("1", 1), ("2", 1), tracking_numbers=twice)).rule == (
        "tracking-number-used-once"
    )


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "ftp://example.com/t", "/track?n=1", "https://", "http://a b.com/"],
)
def test_tracking_url_http_only(url):
    order = new_order(("1", 10))
    violation = refused(order, fulfil("F1", ("1", 1), tracking_url=url))
    assert violation.rule == "tracking-url-http-only"
    order.handle(fulfil("F1", ("1", 1), tracking_url="https://www.ups.com/track?tracknum=1"))


def test_ship_date_plausible():
    order = new_order(("1", 10))  # ordered 2026-11-20; the command comes on 2026-11-21
    for day in (dt.date(2026, 11, 19), dt.date(2099, 1, 1), dt.date(2026, 11, 23)):
        violation = refused(order, fulfil("F1", ("1", 1), ship_date=day))
        assert violation.rule == "ship-date-plausible", day
    order.handle(fulfil("F1", ("1", 1), ship_date=ORDER_DATE))
    order.handle(fulfil("F2", ("1", 1), ship_date=dt.date(2026, 11, 22)))  # east of UTC


def test_document_must_be_tracked():
    order = new_order()
    violation = refused(order, document_state("document 7", DocumentState.DELIVERED))
    assert violation.rule == "document-must-be-tracked"


def test_document_state_moves_forward():
    order = new_order(("1", 10))
    order.handle(track("document 1", DocumentKind.ACKNOWLEDGEMENT))
    history = len(order.history)
    order.handle(document_state("document 1", DocumentState.QUEUED))  # the same: nothing
    assert len(order.history) == history
    for state in (DocumentState.DELIVERED, DocumentState.ACCEPTED, DocumentState.REJECTED):
        order.handle(document_state("document 1", state))
    order.handle(document_state("document 1", DocumentState.REJECTED))  # again: nothing
    assert order.history[-1].fields["state"] == "rejected"
    assert refused(order, document_state("document 1", DocumentState.FAILED)).rule == (
        "document-state-moves-forward"
    )
    order.handle(document_state("document 1", DocumentState.QUEUED))  # resent
    assert set(rules.DOCUMENT_TRANSITIONS) == set(DocumentState)
    assert all(state not in nexts for state, nexts in rules.DOCUMENT_TRANSITIONS.items())


def _paid_order() -> Order:
    """Lines 1 (10) and 2 (4), 6 of line 1 shipped, invoiced 60.00 and paid."""
    order = new_order(("1", 10), ("2", 4))
    order.handle(fulfil("F1", ("1", 6)))
    order.handle(invoice("INV1", "60.00", ("1", 6)))
    order.handle(mark_paid(reference="wire 42"))
    return order


def test_refund_only_of_shipped_quantity():
    order = _paid_order()
    violation = refused(order, refund("RF1", 5, ("2", 1)))
    assert (violation.rule, violation.line) == ("refund-only-of-shipped-quantity", "2")
    order.handle(refund("RF1", 20, ("1", 4)))
    assert order.refunds[0].lines == (LineQuantity("1", Decimal(4)),)  # the lines are kept
    violation = refused(order, refund("RF2", 5, ("1", 3)))
    assert (violation.rule, violation.line) == ("refund-only-of-shipped-quantity", "1")
    order.handle(refund("RF2", 5, ("1", 2)))


def test_refund_cannot_exceed_paid():
    unpaid = new_order()
    for amount in ("100000", "0.01"):
        assert refused(unpaid, refund("RF1", amount)).rule == "refund-cannot-exceed-paid"
    order = _paid_order()
    assert refused(order, refund("RF1", "60.01")).rule == "refund-cannot-exceed-paid"
    order.handle(refund("RF1", "40.00"))
    assert refused(order, refund("RF2", "20.01")).rule == "refund-cannot-exceed-paid"
    order.handle(refund("RF2", "20.00"))


def test_payment_needs_invoiced_balance():
    order = new_order()
    violation = refused(order, mark_paid())
    assert violation.rule == "payment-needs-invoiced-balance"
    assert "nothing is invoiced" in str(violation)
    assert refused(order, mark_paid(10)).rule == "payment-needs-invoiced-balance"
    # paid what was invoiced, but more shipped since: not Paid, and nothing to pay yet
    shipped = _paid_order()
    shipped.handle(fulfil("F2", ("1", 4)))
    assert Flag.PAID not in shipped.flags
    violation = refused(shipped, mark_paid())
    assert violation.rule == "payment-needs-invoiced-balance"
    assert "invoice what shipped" in str(violation)


def test_payment_cannot_exceed_balance():
    order = new_order()
    order.handle(invoice("INV1", 25))
    order.handle(mark_paid(10))
    violation = refused(order, mark_paid("15.01"))
    assert violation.rule == "payment-cannot-exceed-balance"
    order.handle(mark_paid(15))
    assert Flag.PAID in order.flags


def test_confirmed_once_vendor_has_the_order():
    order = new_order()  # we sell
    order.handle(confirm(source="855 #0007"))
    assert Flag.CONFIRMED not in order.flags  # decided, not yet delivered
    assert "855 #0007" in order.source_documents
    order.handle(track("document 1", DocumentKind.ACKNOWLEDGEMENT, needs_acceptance=True))
    assert Flag.CONFIRMED not in order.flags  # queued proves nothing
    order.handle(document_state("document 1", DocumentState.DELIVERED))
    assert Flag.CONFIRMED in order.flags  # our 855 delivered is enough
    assert type(order.events[-1]).__name__ == "ConfirmationProven"
    order.handle(document_state("document 1", DocumentState.REJECTED))
    assert Flag.CONFIRMED not in order.flags  # the buyer's system refused it
    answered = (
        LineAnswer("1", LineAnswerStatus.ACCEPTED, Decimal(3)),
        LineAnswer("1", LineAnswerStatus.BACKORDERED, Decimal(2), code="IB"),
    )
    order.handle(confirm(source="855 #0008", lines=answered))  # what it says of each line
    assert order.confirmations[-1].lines == answered
    assert order.history[-1].event == "OrderConfirmed"
    # we buy from an EDI seller: our 850 accepted by their 997, or their 855 received
    bought = new_order(our_role=Role.BUYER)
    bought.handle(track("document 2", DocumentKind.ORDER, needs_acceptance=True))
    bought.handle(document_state("document 2", DocumentState.DELIVERED))
    assert Flag.CONFIRMED not in bought.flags  # they owe a 997: delivered is not enough
    bought.handle(document_state("document 2", DocumentState.ACCEPTED))
    assert Flag.CONFIRMED in bought.flags
    answered_by_seller = new_order(our_role=Role.BUYER)
    answered_by_seller.handle(confirm(ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED))
    assert Flag.CONFIRMED in answered_by_seller.flags
    # a seller who fulfils directly: the order email taken by the mail server
    emailed = new_order(our_role=Role.BUYER)
    emailed.handle(track("email 3", DocumentKind.ORDER_EMAIL))
    assert Flag.CONFIRMED not in emailed.flags
    emailed.handle(document_state("email 3", DocumentState.FAILED))
    assert Flag.CONFIRMED not in emailed.flags  # refused by the mail server
    emailed.handle(document_state("email 3", DocumentState.QUEUED))
    emailed.handle(document_state("email 3", DocumentState.DELIVERED))
    assert Flag.CONFIRMED in emailed.flags


def test_completed_when_fulfilment_information_reached_the_other_side():
    order = new_order(("1", 10))
    order.handle(fulfil("F1", ("1", 4)))
    passed_on(order, "F1")
    assert Flag.COMPLETED not in order.flags  # not settled
    order.handle(fulfil("F2", ("1", 6)))
    assert Flag.SHIPPED in order.flags and Flag.COMPLETED not in order.flags  # F2 not passed on
    order.handle(track("document 3", DocumentKind.SHIP_NOTICE, "F2", needs_acceptance=True))
    assert Flag.COMPLETED not in order.flags  # its 856 is queued
    order.handle(document_state("document 3", DocumentState.DELIVERED))
    assert Flag.COMPLETED not in order.flags  # the buyer owes a 997 for it
    order.handle(document_state("document 3", DocumentState.ACCEPTED, source="997 #0004"))
    assert Flag.COMPLETED in order.flags
    assert [type(e).__name__ for e in order.events[-3:]] == [
        "DocumentStateChanged",
        "FulfilmentPassedOn",
        "OrderCompleted",
    ]
    # no 855 delivered: shipped and passed on, never Completed
    unanswered = new_order(("1", 2))
    unanswered.handle(fulfil("F1", ("1", 2)))
    deliver(unanswered, "document 1", DocumentKind.SHIP_NOTICE, "F1")
    assert Flag.COMPLETED not in unanswered.flags
    # an 855 still queued (or failed) about the order keeps it open
    deliver(unanswered, "document 2", DocumentKind.ACKNOWLEDGEMENT)
    assert Flag.COMPLETED in unanswered.flags
    unanswered.handle(track("document 4", DocumentKind.ACKNOWLEDGEMENT))
    assert Flag.COMPLETED not in unanswered.flags
    unanswered.handle(document_state("document 4", DocumentState.DELIVERED))
    assert Flag.COMPLETED in unanswered.flags
    # an invoice on its way does not: it is not fulfilment information
    unanswered.handle(track("document 5", DocumentKind.INVOICE))
    assert Flag.COMPLETED in unanswered.flags
    cancelled = new_order()
    cancelled.handle(cancel_order())
    assert Flag.COMPLETED not in cancelled.flags  # Cancelled, not Completed
    received = new_order(our_role=Role.BUYER)
    received.handle(fulfil("F1", ("1", 10), passed_on=True))  # an 856 we received
    assert Flag.COMPLETED not in received.flags  # the seller never acknowledged our order
    received.handle(confirm(ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED))
    assert Flag.COMPLETED in received.flags


def test_paid_when_payments_reach_invoiced_and_shipped_invoiced():
    order = new_order(("1", 10))
    order.handle(fulfil("F1", ("1", 4)))
    order.handle(invoice("INV1", 40, ("1", 4)))
    order.handle(accept("INV1"))
    assert Flag.PAID not in order.flags  # accepted is not paid
    order.handle(mark_paid(30))
    assert Flag.PAID not in order.flags
    order.handle(mark_paid(reference="wire 42"))  # the open balance
    assert Flag.PAID in order.flags
    assert order.payments[-1].in_full and order.payments[-1].amount == 10
    order.handle(fulfil("F2", ("1", 6)))  # shipped since, not invoiced
    assert Flag.PAID not in order.flags
    order.handle(invoice("INV2", 60, ("1", 6)))
    order.handle(mark_paid(60))
    assert Flag.PAID in order.flags
    whole = new_order()
    whole.handle(invoice("INV1", 25))  # an invoice without lines bills the order as a whole
    whole.handle(mark_paid(25))
    assert Flag.PAID in whole.flags
