"""The 860 received from a buyer: BCH01 01 cancels the order we received, 04 changes it. Lines
it deletes (POC02 DI) or cuts down (QD to POC03) become the buyer's cancellation; lines it adds
(AI), raises (QI) or reprices (PC, PQ, CA) become the buyer's ChangeLines; new dates in the
header (DTM) become ChangeDates; a change the order model has no command for (a line's dates,
rescheduling) refuses the whole set."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.domain.commands import (
    CancelLines,
    CancelOrder,
    ChangeDates,
    ChangeLines,
    CreateFulfilment,
)
from gateway.domain.values import LineQuantity, Role, Side
from gateway.errors import MappingError, NotSupported, RuleViolation
from gateway.mapping.inbound import OrderChange, order_change
from tests.unit.mapping.x12text import MAPPINGS, NOW, PARTNER, PO, apply, context, order, tree


def change(*body: str, purpose: str = "04", version: str = "004010") -> OrderChange:
    head = f"BCH*{purpose}*SA*{PO}**1*20261120"
    return order_change(
        tree("860", [head, *body], version=version), MAPPINGS.get("860-in"), context(Role.SELLER)
    )


def held():
    return order(
        ("1", 2, "000000000011"), ("2", 1, "000000000028"), ("3", 4, "000000000035"),
        role=Role.SELLER,
    )  # fmt: skip


def test_a_cancelling_change_order_cancels_the_whole_order_for_the_buyer():
    mapped = change(purpose="01")
    order_held = held()
    (cancel,) = mapped.commands({PO: order_held})
    assert isinstance(cancel, CancelOrder) and cancel.requested_by is Side.BUYER
    assert mapped.action == "cancelled"
    apply(order_held, [cancel])
    assert "cancelled" in {flag.value for flag in order_held.flags}


def test_deleted_and_decreased_lines_become_one_buyer_cancellation():
    mapped = change("POC*2*DI*0*0*EA*10", "POC*3*QD*3*3*EA*10")
    order_held = held()
    (cancel,) = mapped.commands({PO: order_held})
    assert isinstance(cancel, CancelLines) and cancel.requested_by is Side.BUYER
    assert cancel.lines == (LineQuantity("2", Decimal(1)), LineQuantity("3", Decimal(1)))
    assert "line 3 decreased to 3 (QD)" in cancel.reason and mapped.action == "changed"
    apply(order_held, [cancel])
    assert [line.open for line in order_held.lines] == [2, 0, 3]


def test_a_decrease_is_to_the_new_quantity_after_earlier_cancellations():
    order_held = held()
    apply(order_held, change("POC*3*QD*3*3*EA*10").commands({PO: order_held}))
    (cancel,) = change("POC*3*QD*1*1*EA*10", "POC*1*NC*2*2*EA*10").commands({PO: order_held})
    assert isinstance(cancel, CancelLines)
    assert cancel.lines == (LineQuantity("3", Decimal(2)),)


def test_a_change_the_order_already_reflects_makes_no_command():
    order_held = held()
    apply(order_held, change("POC*3*QD*3*3*EA*10").commands({PO: order_held}))
    assert change("POC*3*QD*3*3*EA*10", "POC*1*NC").commands({PO: order_held}) == []


def test_a_decrease_without_a_quantity_is_a_mapping_error():
    with pytest.raises(MappingError, match="gives no quantity"):
        change("POC*3*QD").commands({PO: held()})


def test_a_decrease_to_more_than_ordered_is_not_supported():
    with pytest.raises(NotSupported, match="raising an ordered quantity"):
        change("POC*3*QD*6*6*EA*10").commands({PO: held()})


def test_added_raised_and_repriced_lines_become_one_change_of_lines():
    mapped = change(
        "POC*2*DI*0*0*EA*10",
        "POC*4*AI*2*2*EA*21**UP*000000000042",
        "POC*1*QI*5*5*EA*10",
        "POC*3*PC*4*4*EA*12.5",
    )
    order_held = held()
    cancel, changed = mapped.commands({PO: order_held})
    assert isinstance(cancel, CancelLines) and isinstance(changed, ChangeLines)
    assert [(t.line_number, t.ordered) for t in changed.lines] == [
        ("4", Decimal(2)),
        ("1", Decimal(5)),
        ("3", Decimal(4)),
    ]
    assert changed.lines[0].product_ids == (("UP", "000000000042"),)
    assert changed.lines[2].unit_price == Decimal("12.5")
    assert "line 4 add item" in changed.reason
    apply(order_held, [cancel, changed])
    assert [(line.line_number, line.open) for line in order_held.lines] == [
        ("1", 5),
        ("2", 0),
        ("3", 4),
        ("4", 2),
    ]
    assert change("POC*1*QI*5*5*EA*10").commands({PO: order_held})[0].lines[0].ordered == 5


def test_an_added_item_needs_its_line_number_and_quantity():
    with pytest.raises(MappingError, match="needs its line number"):
        change("POC**AI*2*2*EA*21**UP*000000000042").commands({PO: held()})
    with pytest.raises(MappingError, match="gives no quantity"):
        change("POC*9*AI").commands({PO: held()})


@pytest.mark.parametrize(
    ("poc", "named"),
    [
        ("POC*1*RS*2*2*EA*10", "RS (reschedule) on line 1"),
        ("POC*1*CT*2*2*EA*10", "CT (change of dates) on line 1"),
    ],
)
def test_changes_without_a_command_refuse_the_whole_change_order(poc, named):
    mapped = change("POC*2*DI*0*0*EA*10", poc)
    with pytest.raises(NotSupported, match="not supported yet") as refused:
        mapped.commands({PO: held()})
    assert named in str(refused.value) and refused.value.rule == "not-supported-yet"


def test_a_replacing_change_order_is_not_supported_yet():
    with pytest.raises(NotSupported, match="purpose 05"):
        change("POC*2*DI*0*0*EA*10", purpose="05").commands({PO: held()})


def test_deleting_a_shipped_line_is_refused_by_the_rules():
    order_held = held()
    order_held.handle(
        CreateFulfilment(
            partner=PARTNER,
            po_number=PO,
            at=NOW,
            fulfilment_id="F1",
            lines=(LineQuantity("2", Decimal(1)),),
            carrier="UPSN",
            tracking_numbers=("1Z999AA10123456784",),
        )
    )
    with pytest.raises(RuleViolation) as refused:
        apply(order_held, change("POC*2*DI*0*0*EA*10").commands({PO: order_held}))
    assert refused.value.rule == "fulfilled-quantity-cannot-be-cancelled"


def test_changed_lines_are_found_by_product_id():
    (cancel,) = change("POC**DI*0*0*EA*10**UP*000000000035").commands({PO: held()})
    assert isinstance(cancel, CancelLines) and cancel.lines == (LineQuantity("3", Decimal(4)),)


def test_the_same_change_order_sent_again_is_refused_by_the_rules():
    order_held = held()
    apply(order_held, change("POC*3*QD*3*3*EA*10").commands({PO: order_held}))
    with pytest.raises(RuleViolation) as refused:
        change("POC*3*QD*3*3*EA*10", version="005010").commands({PO: order_held})
    assert refused.value.rule == "record-id-unique"


def test_a_change_order_for_an_order_we_placed_is_refused():
    bought = order(("1", 2, "000000000011"))
    with pytest.raises(RuleViolation, match="we are the buyer"):
        change("POC*1*DI*0*0*EA*10").commands({PO: bought})


def test_new_dates_in_the_header_move_the_orders_dates():
    """DTM*010 (requested ship) and DTM*001 (cancel after) in the 860's header: ChangeDates
    with them, alongside the line changes; the order takes them."""
    mapped = change("DTM*010*20261208", "DTM*001*20261231", "POC*2*DI*0*0*EA*10")
    order_held = held()
    dates, cancel = mapped.commands({PO: order_held})
    assert isinstance(cancel, CancelLines) and isinstance(dates, ChangeDates)
    assert (dates.requested_ship_date, dates.cancel_after_date) == (
        dt.date(2026, 12, 8),
        dt.date(2026, 12, 31),
    )
    assert dates.requested_delivery_date is None
    assert "requested ship date 2026-12-08" in dates.reason and "860 #1" in dates.reason
    assert "requested ship date 2026-12-08; cancel after 2026-12-31" in mapped.summary
    apply(order_held, [dates, cancel])
    assert order_held.requested_ship_date == dt.date(2026, 12, 8)
    assert [fact.event for fact in order_held.history[-2:]] == ["DatesChanged", "LinesCancelled"]
    # the same dates again (and no line change): nothing to do
    assert change("DTM*010*20261208").commands({PO: order_held}) == []


def test_a_date_change_alone_is_applied():
    (dates,) = change("DTM*002*20261215").commands({PO: held()})
    assert isinstance(dates, ChangeDates) and dates.requested_delivery_date == dt.date(2026, 12, 15)
    assert dates.requested_ship_date is None and dates.cancel_after_date is None


def test_dates_are_moved_before_a_cancellation_of_the_same_change_closes_the_order():
    order_held = held()
    body = ("DTM*010*20261208", "POC*1*DI*0*0*EA*10", "POC*2*DI*0*0*EA*10", "POC*3*DI*0*0*EA*10")
    made = change(*body).commands({PO: order_held})
    assert [type(command) for command in made] == [ChangeDates, CancelLines]
    apply(order_held, made)  # the cancellation closes the order: the dates went first
    assert "cancelled" in {flag.value for flag in order_held.flags}
    assert order_held.requested_ship_date == dt.date(2026, 12, 8)


def test_a_cancelling_change_order_ignores_its_dates():
    (cancel,) = change("DTM*010*20261208", purpose="01").commands({PO: held()})
    assert isinstance(cancel, CancelOrder)
