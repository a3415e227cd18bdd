"""ChangeLines (an 860 raising a quantity, changing a price, adding an item): the rules that
guard it, and what it records."""

from __future__ import annotations

from decimal import Decimal

from gateway.domain import commands
from tests.unit.domain.builders import (
    cancel,
    cancel_order,
    fulfil,
    new_order,
    on_order,
    po_line,
    refused,
    shipped_order,
)


def change(*lines: tuple[str, str | int], **terms) -> commands.ChangeLines:
    return on_order(
        commands.ChangeLines,
        lines=tuple(po_line(number, ordered, **terms) for number, ordered in lines),
        reason="860 #1",
    )


def test_a_change_raises_a_quantity_changes_a_price_and_adds_a_line():
    order = new_order(("1", 10), ("2", 5))
    order.handle(change(("1", 12), ("3", 2), unit_price=Decimal("3.10")))
    assert order.line("1").ordered == 12 and order.line("1").unit_price == Decimal("3.10")
    assert order.line("3").ordered == 2 and order.line("3").open == 2
    assert order.line("2").ordered == 5  # not named, not changed
    (event,) = order.events
    assert type(event).__name__ == "LinesChanged" and event.added_lines == ("3",)
    assert order.history[-1].event == "LinesChanged"


def test_the_same_change_twice_changes_nothing_more():
    order = new_order(("1", 10))
    order.handle(change(("1", 12)))
    order.handle(change(("1", 12)))
    assert order.line("1").ordered == 12


def test_a_change_cannot_reduce_below_settled():
    order = new_order(("1", 10))
    order.handle(fulfil("F1", ("1", 4)))
    order.handle(cancel("C1", ("1", 3)))
    violation = refused(order, change(("1", 6)))
    assert (violation.rule, violation.line) == ("replace-cannot-reduce-below-settled", "1")


def test_a_shipped_order_takes_no_change():
    order = shipped_order()
    for lines in ((("1", 11),), (("9", 1),), (("1", 10),)):  # more, a new line, a price
        assert refused(order, change(*lines)).rule == "no-change-after-shipped", lines


def test_a_change_needs_lines_unique_positive_and_priced_sanely():
    order = new_order(("1", 10))
    assert refused(order, change()).rule == "order-needs-lines"
    assert refused(order, change(("1", 2), ("1", 3))).rule == "line-numbers-unique"
    assert refused(order, change(("1", 0))).rule == "quantity-must-be-positive"
    assert (
        refused(order, change(("1", 2), unit_price=Decimal("-1"))).rule
        == "price-cannot-be-negative"
    )


def test_a_cancelled_order_takes_no_change():
    order = new_order(("1", 10))
    order.handle(cancel_order())
    assert refused(order, change(("1", 12))).rule == "cancelled-order-is-closed"
