"""The 855 received from a seller: BAK confirms the order we placed (or rejects it whole), and
each line's ACKs say what the seller keeps of it; what it rejects or cuts down becomes the
seller's cancellation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.domain.commands import CancelLines, CancelOrder, ConfirmOrder
from gateway.domain.values import (
    ConfirmationMethod,
    LineAnswer,
    LineAnswerStatus,
    LineQuantity,
    Role,
    Side,
)
from gateway.errors import RuleViolation
from gateway.mapping.inbound import (
    MappingError,
    NotSupported,
    OrderAcknowledgement,
    order_acknowledgement,
)
from tests.unit.mapping.x12text import MAPPINGS, NOW, PO, apply, context, order, tree

BAK = f"BAK*00*AC*{PO}*20261120****SO-1*20261121"


def acknowledgement(*body: str, version: str = "004010") -> OrderAcknowledgement:
    return order_acknowledgement(
        tree("855", [BAK, *body], version=version), MAPPINGS.get("855-in"), context()
    )


def three_lines():
    return order(("1", 2, "000000000011"), ("2", 1, "000000000028"), ("3", 4, "000000000035"))


def test_an_acknowledgement_with_every_line_accepted_confirms_and_cancels_nothing():
    mapped = acknowledgement(
        "PO1*1*2*EA*10**UP*000000000011", "ACK*IA*2*EA", "PO1*2*1*EA*10", "ACK*IA*1*EA"
    )
    (confirm,) = mapped.commands({PO: three_lines()})
    assert isinstance(confirm, ConfirmOrder)
    assert confirm.how is ConfirmationMethod.ACKNOWLEDGEMENT_RECEIVED
    assert mapped.action == "confirmed" and mapped.seller_order_number == "SO-1"


def test_rejected_deleted_and_cut_down_lines_become_one_seller_cancellation():
    mapped = acknowledgement(
        "PO1*1*2*EA*10",
        "ACK*IR*2*EA",
        "PO1*2*1*EA*10",
        "ACK*ID",
        "PO1*3*4*EA*10",
        "ACK*IQ*3*EA*068*20261201",
    )
    held = three_lines()
    confirm, cancel = mapped.commands({PO: held})
    assert isinstance(confirm, ConfirmOrder) and isinstance(cancel, CancelLines)
    assert cancel.requested_by is Side.SELLER
    assert cancel.lines == (
        LineQuantity("1", Decimal(2)),
        LineQuantity("2", Decimal(1)),
        LineQuantity("3", Decimal(1)),
    )
    assert "line 3 quantity changed to 3 (IQ)" in cancel.reason
    apply(held, [confirm, cancel])
    assert [line.open for line in held.lines] == [0, 0, 3]


def test_backordered_and_price_changed_lines_stay_open():
    mapped = acknowledgement(
        "PO1*1*2*EA*10", "ACK*IB*2*EA*068*20261215", "PO1*2*1*EA*10", "ACK*IP*1*EA"
    )
    assert [type(c) for c in mapped.commands({PO: three_lines()})] == [ConfirmOrder]
    assert mapped.lines[0].statuses[0].date is not None


def test_every_line_status_is_recorded_on_the_confirmation_with_its_code():
    mapped = acknowledgement(
        "PO1*1*2*EA*10",
        "ACK*IA*1*EA",
        "ACK*IB*1*EA*068*20261215",
        "PO1*2*1*EA*10",
        "ACK*IP*1*EA",
        "PO1*3*4*EA*10",
        "ACK*IW*4*EA",
    )
    confirm = mapped.commands({PO: three_lines()})[0]
    assert isinstance(confirm, ConfirmOrder)
    assert confirm.lines == (
        LineAnswer("1", LineAnswerStatus.ACCEPTED, Decimal(1), None, "IA"),
        LineAnswer("1", LineAnswerStatus.BACKORDERED, Decimal(1), date(2026, 12, 15), "IB"),
        LineAnswer("2", LineAnswerStatus.PRICE_CHANGED, Decimal(1), None, "IP"),
        # a code the gateway has no name for is kept, as accepted with changes
        LineAnswer("3", LineAnswerStatus.ACCEPTED_WITH_CHANGES, Decimal(4), None, "IW"),
    )


def test_a_line_accepted_in_part_cancels_the_rejected_part():
    mapped = acknowledgement("PO1*3*4*EA*10", "ACK*IA*3*EA", "ACK*IR*1*EA")
    _, cancel = mapped.commands({PO: three_lines()})
    assert isinstance(cancel, CancelLines)
    assert cancel.lines == (LineQuantity("3", Decimal(1)),)


def test_a_line_accepted_and_rejected_without_quantities_is_a_mapping_error():
    with pytest.raises(MappingError, match="both accepted and rejected"):
        acknowledgement("PO1*3*4*EA*10", "ACK*IA", "ACK*IR")


def test_a_quantity_already_cut_down_is_not_cancelled_again():
    held = three_lines()
    first = acknowledgement("PO1*3*4*EA*10", "ACK*IQ*3*EA")
    apply(held, first.commands({PO: held}))
    resent = acknowledgement("PO1*3*4*EA*10", "ACK*IQ*3*EA", "PO1*1*2*EA*10", "ACK*IA*2*EA")
    assert [type(c) for c in resent.commands({PO: held})] == [ConfirmOrder]


def test_lines_are_found_by_product_id_when_the_line_number_is_not_the_orders():
    mapped = acknowledgement("PO1*A7*1*EA*10**VP*V-2*UP*000000000028", "ACK*IR*1*EA")
    _, cancel = mapped.commands({PO: three_lines()})
    assert isinstance(cancel, CancelLines)
    assert cancel.lines == (LineQuantity("2", Decimal(1)),)


def test_line_numbers_match_with_or_without_leading_zeros():
    mapped = acknowledgement("PO1*002*1*EA*10", "ACK*IR*1*EA")
    _, cancel = mapped.commands({PO: three_lines()})
    assert isinstance(cancel, CancelLines) and cancel.lines[0].line_number == "2"


def test_a_line_the_order_does_not_have_is_refused():
    mapped = acknowledgement("PO1*9*1*EA*10**UP*999999999999", "ACK*IR*1*EA")
    with pytest.raises(RuleViolation, match="matches no line") as refused:
        mapped.commands({PO: three_lines()})
    assert refused.value.rule == "line-must-exist"


@pytest.mark.parametrize("code", ["RJ", "RD", "RF"])
def test_an_acknowledgement_rejecting_the_order_cancels_it_whole(code):
    mapped = order_acknowledgement(
        tree("855", [f"BAK*00*{code}*{PO}*20261120"]), MAPPINGS.get("855-in"), context()
    )
    held = three_lines()
    (cancel,) = mapped.commands({PO: held})
    assert isinstance(cancel, CancelOrder) and cancel.requested_by is Side.SELLER
    assert mapped.action == "cancelled"
    apply(held, [cancel])
    assert all(line.open == 0 for line in held.lines)


def test_the_same_acknowledgement_sent_again_is_refused_by_the_rules():
    held = three_lines()
    body = ["PO1*2*1*EA*10", "ACK*IR*1*EA"]
    apply(held, acknowledgement(*body).commands({PO: held}))
    with pytest.raises(RuleViolation) as refused:
        acknowledgement(*body).commands({PO: held})
    assert refused.value.rule == "record-id-unique"


def test_the_cancellation_id_comes_from_the_content_not_the_envelope():
    one = acknowledgement("PO1*2*1*EA*10", "ACK*IR*1*EA")
    other = acknowledgement("PO1*2*1*EA*10", "ACK*IR*1*EA", version="005010")
    changed = acknowledgement("PO1*2*1*EA*10", "ACK*IR*1*EA*068*20261201")
    assert one.cancellation_id == other.cancellation_id != changed.cancellation_id


def test_a_quantity_above_the_order_is_not_supported_yet():
    mapped = acknowledgement("PO1*1*2*EA*10", "ACK*IQ*5*EA")
    with pytest.raises(NotSupported, match="raising an ordered quantity"):
        mapped.commands({PO: three_lines()})


def test_an_acknowledgement_of_an_order_we_sold_is_refused():
    mapped = acknowledgement("PO1*1*2*EA*10", "ACK*IA*2*EA")
    held = order(("1", 2, "000000000011"), role=Role.SELLER)
    with pytest.raises(RuleViolation, match="we are the seller") as refused:
        mapped.commands({PO: held})
    assert refused.value.rule == "set-direction-follows-role"


def test_an_acknowledgement_withdrawing_an_earlier_one_is_not_supported_yet():
    mapped = order_acknowledgement(
        tree("855", [f"BAK*01*AC*{PO}*20261120", "PO1*1*2*EA*10", "ACK*IA*2*EA"]),
        MAPPINGS.get("855-in"),
        context(),
    )
    with pytest.raises(NotSupported, match="BAK01 01"):
        mapped.commands({PO: three_lines()})


def test_a_replacing_acknowledgement_is_taken_on_an_order_our_cancellation_closed():
    """The seller's first 855 accepted everything; we then cancelled all (the order is closed);
    their 855 replacing the first (BAK01 05) states the lines rejected: it is recorded, and
    cancels nothing more. A first 855 on the closed order is still refused."""
    held = three_lines()
    first = acknowledgement("PO1*1*2*EA*10", "ACK*IA*2*EA")
    apply(held, first.commands({PO: held}))
    held.handle(
        CancelOrder(
            partner=held.partner,
            po_number=PO,
            at=NOW,
            cancellation_id="C1",
            requested_by=Side.BUYER,
            reason="not needed",
        )
    )
    replacing = order_acknowledgement(
        tree("855", [BAK.replace("BAK*00*AC", "BAK*05*AC"), "PO1*1*2*EA*10", "ACK*IR*2*EA"]),
        MAPPINGS.get("855-in"),
        context(),
    )
    (confirm,) = replacing.commands({PO: held})
    assert isinstance(confirm, ConfirmOrder) and confirm.restates
    apply(held, [confirm])
    assert len(held.confirmations) == 2
    with pytest.raises(RuleViolation, match="cancelled-order-is-closed"):
        apply(held, acknowledgement("PO1*1*2*EA*10", "ACK*IA*2*EA").commands({PO: held}))
