"""One test per rule of `gateway.domain.rules`, named after the rule; plus checks that the rule
table, its docstring and these tests list the same rules."""

from __future__ import annotations

import copy
import inspect
import re
import sys
from decimal import Decimal

import pytest

from gateway.domain import commands, rules
from gateway.domain.model import Order
from gateway.domain.rules import RULES, Flag, FulfillmentStatus, PaymentStatus
from gateway.domain.values import (
    ConfirmationMethod,
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
    fulfil,
    give_back,
    invoice,
    mark_paid,
    new_order,
    on_order,
    passed_on,
    receive_order,
    refund,
    refused,
    replace_order,
    shipment,
    shipped_order,
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
    other_partner = commands.CreateFulfillment(
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
    # fractional quantities are fine
    order.handle(fulfil("F2", ("2", "0.5")))
    assert order.line("2").open == Decimal("9.5")


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
    for command in (refund("RF1", bad), invoice("INV1", bad), mark_paid(bad)):
        assert refused(order, command).rule == "amount-must-be-positive"


def test_record_needs_lines():
    order = shipped_order()
    assert refused(new_order(), fulfil("F1")).rule == "record-needs-lines"
    assert refused(new_order(), cancel("C1")).rule == "record-needs-lines"
    assert refused(order, give_back("R1")).rule == "record-needs-lines"
    # refunds and invoices may be for the order as a whole
    order.handle(refund("RF1", 5))
    order.handle(invoice("INV1", 30))


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
    order.handle(refund("RF1", 1))
    order.handle(invoice("INV1", 1))
    order.handle(on_order(commands.AddNote, note_id="N1", author="ann", text="call them"))
    for command in (
        fulfil("F1", ("1", 1)),
        cancel("C1", ("1", 1)),
        cancel_order("C1"),
        give_back("R1", ("1", 0.5)),
        refund("RF1", 1),
        invoice("INV1", 1),
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
    so a cancelled or completed order records it; a first (or deciding) one is refused."""
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
    completed = shipped_order(passed=True)
    assert refused(completed, confirm(restates=True)).rule == "completed-order-is-closed"


def test_completed_order_is_closed():
    order = shipped_order(passed=True)
    assert Flag.COMPLETED in order.flags
    for command in (
        replace_order(("1", 10), ("2", 4)),
        confirm(),
        cancel("C1", ("1", 1)),
        cancel_order("C1"),
        on_order(commands.ChangeCustomer, ship_to=Party("ST", name="New Person")),
        on_order(commands.ChangeDates, requested_ship_date=ORDER_DATE),
    ):
        assert refused(order, command).rule == "completed-order-is-closed", command
    assert refused(order, fulfil("F2", ("1", 1))).rule == "no-fulfilment-after-shipped"
    # what still goes on after Completed: returns, refunds, money, tracking, notes
    for command in (
        give_back("R1", ("1", 2)),
        refund("RF1", 5, ("1", 2)),
        invoice("INV1", 35),
        accept("INV1"),
        shipment("F1", ShipmentStatus.DELIVERED),
        on_order(commands.AddNote, note_id="N1", author="ann", text="returned two"),
    ):
        order.handle(command)
    assert Flag.COMPLETED in order.flags


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
        assert Flag.CONFIRMED in order.flags


def test_no_fulfilment_after_shipped():
    order = shipped_order()
    late = fulfil("F2", ("1", 1), carrier="UPS", tracking_numbers=("1Z9",), at=at(60))
    violation = refused(order, late)
    assert violation.rule == "no-fulfilment-after-shipped"
    # the service keeps the refused one for an operator; nothing else changes
    goods_before = (copy.deepcopy(order.fulfillments), order.flags)
    order.record_refused_fulfillment(late, violation)
    assert (order.fulfillments, order.flags) == goods_before
    [event] = order.events
    assert type(event).__name__ == "FulfillmentRefused"
    assert (event.fulfillment_id, event.rule, event.tracking_numbers) == (
        "F2",
        "no-fulfilment-after-shipped",
        ("1Z9",),
    )
    assert order.history[-1].event == "FulfillmentRefused"
    assert order.history[-1].fields["rule"] == "no-fulfilment-after-shipped"
    # the refused one is still refused for another order
    elsewhere = commands.CreateFulfillment(**{**late.__dict__, "po_number": "PO-9"})
    with pytest.raises(RuleViolation) as caught:
        order.record_refused_fulfillment(elsewhere, violation)
    assert caught.value.rule == "command-matches-order"


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
    assert order.fulfillment("F2").lines == (LineQuantity("1", Decimal(4)),)


def test_several_tracking_numbers_need_several_products():
    order = new_order(("1", 10), ("2", 10))
    violation = refused(order, fulfil("F1", ("1", 2), ("1", 3), tracking_numbers=("1Z1", "1Z2")))
    assert (violation.rule, violation.line) == (
        "several-tracking-numbers-need-several-products",
        "1",
    )
    order.handle(fulfil("F1", ("1", 5), tracking_numbers=("1Z1",)))
    order.handle(fulfil("F2", ("1", 1), ("2", 1), tracking_numbers=("1Z2", "1Z3", "1Z4")))
    order.handle(fulfil("F3", ("2", 1)))  # none is fine too


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
    assert refused(order, passed_on("F9")).rule == "fulfilment-must-exist"


def test_fulfilment_passed_on_once():
    order = new_order(("1", 10))
    order.handle(fulfil("F1", ("1", 2)))
    order.handle(passed_on("F1", via="856"))
    assert refused(order, passed_on("F1", via="email")).rule == "fulfilment-passed-on-once"
    order.handle(fulfil("F2", ("1", 2), passed_on=True))  # an 856 received
    assert refused(order, passed_on("F2")).rule == "fulfilment-passed-on-once"


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
    order = new_order(("1", 10))
    order.handle(cancel("C1", ("1", 4)))
    violation = refused(order, cancel("C2", ("1", 7)))
    assert (violation.rule, violation.line) == ("cancellation-takes-only-open-quantity", "1")
    assert refused(order, cancel("C2", ("1", 3), ("1", 4))).rule == (
        "cancellation-takes-only-open-quantity"
    )
    order.handle(fulfil("F1", ("1", 2)))
    order.handle(cancel("C2", ("1", "3.5")))  # a partial cancellation of what is open
    assert (order.line("1").cancelled, order.line("1").open) == (Decimal("7.5"), Decimal("0.5"))


def test_nothing_open_to_cancel():
    order = shipped_order()  # Shipped, not Completed: nothing open
    assert refused(order, cancel_order("C1")).rule == "nothing-open-to-cancel"
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


def test_replace_cannot_reopen_shipped_order():
    order = shipped_order()
    violation = refused(order, replace_order(("1", 11), ("2", 4)))
    assert (violation.rule, violation.line) == ("replace-cannot-reopen-shipped-order", "1")
    violation = refused(order, replace_order(("1", 10), ("2", 4), ("3", 1)))
    assert (violation.rule, violation.line) == ("replace-cannot-reopen-shipped-order", "3")
    order.handle(replace_order(("1", 10), ("2", 4), currency="CAD"))  # header changes are fine
    assert order.currency == "CAD" and order.purpose_code is PurposeCode.REPLACE


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
    assert about_fulfilments == {
        "CreateFulfillment",
        "UpdateShipmentStatus",
        "MarkFulfillmentPassedOn",
    }
    order = new_order(("1", 10), ("2", 10))
    order.handle(fulfil("F1", ("1", 2), ("2", 1), carrier="UPS", tracking_numbers=("1Z1", "1Z2")))
    created = copy.deepcopy(order.fulfillment("F1"))
    order.handle(shipment("F1", ShipmentStatus.DELIVERED))
    order.handle(passed_on("F1"))
    order.handle(replace_order(("1", 5), ("2", 5)))
    order.handle(cancel_order("C1"))
    after = order.fulfillment("F1")
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


def test_confirmed_once_acknowledged():
    order = new_order()
    assert Flag.CONFIRMED not in order.flags
    order.handle(confirm(source="855 #0007"))
    assert Flag.CONFIRMED in order.flags
    assert "855 #0007" in order.source_documents
    order.handle(confirm(ConfirmationMethod.VENDOR_NOTIFIED))  # both are kept
    answered = (
        LineAnswer("1", LineAnswerStatus.ACCEPTED, Decimal(3)),
        LineAnswer("1", LineAnswerStatus.BACKORDERED, Decimal(2), code="IB"),
    )
    order.handle(confirm(source="855 #0008", lines=answered))  # and what it says of each line
    assert order.confirmations[-1].lines == answered
    assert order.history[-1].event == "OrderConfirmed"
    del order.confirmations[-1]
    assert [c.how for c in order.confirmations] == [
        ConfirmationMethod.ACKNOWLEDGEMENT_SENT,
        ConfirmationMethod.VENDOR_NOTIFIED,
    ]


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
    assert [type(e).__name__ for e in order.events] == ["FulfillmentCreated"]
    order.handle(cancel("C1", ("2", 1)))  # ordered - cancelled is now all fulfilled
    assert Flag.SHIPPED in order.flags
    assert [type(e).__name__ for e in order.events][-2:] == ["LinesCancelled", "OrderShipped"]
    fully = new_order(("1", 3))
    fully.handle(fulfil("F1", ("1", 3)))
    assert Flag.SHIPPED in fully.flags
    assert [type(e).__name__ for e in fully.events] == ["FulfillmentCreated", "OrderShipped"]


def test_cancelled_when_every_unit_cancelled():
    order = new_order(("1", 10), ("2", 5))
    order.handle(cancel("C1", ("1", 10)))
    assert Flag.CANCELLED not in order.flags
    order.handle(cancel("C2", ("2", 5)))
    assert Flag.CANCELLED in order.flags and Flag.SHIPPED not in order.flags
    assert order.fulfillment_status is FulfillmentStatus.CANCELLED
    assert type(order.events[-1]).__name__ == "OrderCancelled"
    whole = new_order(("1", 10))
    whole.handle(cancel_order("C1"))
    assert [type(e).__name__ for e in whole.events] == ["LinesCancelled", "OrderCancelled"]
    assert whole.events[0].whole_order


def test_completed_when_settled_and_passed_on():
    order = new_order(("1", 10))
    order.handle(fulfil("F1", ("1", 4)))
    order.handle(passed_on("F1"))
    assert Flag.COMPLETED not in order.flags  # not settled
    order.handle(fulfil("F2", ("1", 6)))
    assert Flag.SHIPPED in order.flags and Flag.COMPLETED not in order.flags  # F2 not passed on
    order.handle(passed_on("F2", via="856 #0003", source="856 #0003"))
    assert Flag.COMPLETED in order.flags
    assert type(order.events[-1]).__name__ == "OrderCompleted"
    cancelled = new_order()
    cancelled.handle(cancel_order())
    assert Flag.COMPLETED not in cancelled.flags  # Cancelled, not Completed
    received = new_order(our_role=Role.BUYER)
    received.handle(fulfil("F1", ("1", 10), passed_on=True))  # an 856 we received
    assert Flag.COMPLETED in received.flags


def test_returned_when_return_or_refund_recorded():
    order = shipped_order()
    assert Flag.RETURNED not in order.flags
    order.handle(give_back("R1", ("1", 1)))
    assert Flag.RETURNED in order.flags
    refunded = shipped_order()
    refunded.handle(refund("RF1", 5))
    assert Flag.RETURNED in refunded.flags


def test_paid_when_invoice_accepted_or_marked_paid():
    order = new_order()
    order.handle(invoice("INV1", 25))
    assert Flag.PAID not in order.flags
    order.handle(accept("INV1"))
    assert Flag.PAID in order.flags
    order.handle(invoice("INV2", 5))  # a new invoice is owed again
    assert Flag.PAID not in order.flags
    marked = new_order()
    marked.handle(mark_paid(reference="wire 42"))
    assert Flag.PAID in marked.flags
    assert marked.payments[0].in_full and marked.payments[0].amount == 0
    by_amount = new_order()
    by_amount.handle(invoice("INV1", 25))
    by_amount.handle(mark_paid(25))
    assert Flag.PAID in by_amount.flags


def test_fulfilment_status_at_a_glance():
    order = new_order(("1", 10), ("2", 5))
    assert order.fulfillment_status is FulfillmentStatus.UNFULFILLED
    order.handle(cancel("C1", ("2", 1)))
    assert order.fulfillment_status is FulfillmentStatus.UNFULFILLED
    order.handle(fulfil("F1", ("1", 10)))
    assert order.fulfillment_status is FulfillmentStatus.PARTIALLY_FULFILLED
    order.handle(fulfil("F2", ("2", 4)))
    assert order.fulfillment_status is FulfillmentStatus.FULFILLED
    order.handle(shipment("F1", ShipmentStatus.DELIVERED))
    assert order.fulfillment_status is FulfillmentStatus.FULFILLED  # F2 is not delivered yet
    order.handle(shipment("F2", ShipmentStatus.DELIVERED))
    assert order.fulfillment_status is FulfillmentStatus.DELIVERED
    order.handle(give_back("R1", ("1", 2)))
    assert order.fulfillment_status is FulfillmentStatus.PARTIALLY_RETURNED
    order.handle(give_back("R2", ("1", 8), ("2", 4)))
    assert order.fulfillment_status is FulfillmentStatus.RETURNED
    cancelled = new_order()
    cancelled.handle(cancel_order())
    assert cancelled.fulfillment_status is FulfillmentStatus.CANCELLED


def test_payment_status_from_amounts():
    order = new_order()
    assert order.payment_status is PaymentStatus.UNPAID
    order.handle(invoice("INV1", 100))
    assert order.payment_status is PaymentStatus.IN_PROGRESS
    order.handle(mark_paid(40))
    assert order.payment_status is PaymentStatus.PARTIALLY_PAID
    order.handle(mark_paid(60))
    assert order.payment_status is PaymentStatus.PAID
    order.handle(refund("RF1", 30))
    assert order.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    order.handle(refund("RF2", 70))
    assert order.payment_status is PaymentStatus.REFUNDED
    accepted = new_order()
    accepted.handle(invoice("INV1", 100))
    accepted.handle(accept("INV1"))
    assert accepted.payment_status is PaymentStatus.PAID
    accepted.handle(refund("RF1", 100))  # the accepted invoice is what was paid
    assert accepted.payment_status is PaymentStatus.REFUNDED
    marked = new_order()
    marked.handle(mark_paid())
    assert marked.payment_status is PaymentStatus.PAID
    prepaid = new_order()
    prepaid.handle(mark_paid(10))  # a payment before any invoice
    assert prepaid.payment_status is PaymentStatus.PARTIALLY_PAID


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
