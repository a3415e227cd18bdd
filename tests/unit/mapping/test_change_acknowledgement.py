"""The 865 received from a seller: their answer to a change order (860) we sent. BCA02 AT (or
any answer that rejects nothing) records the change taken; BCA02 RD/RJ..., or a line answered
IR/ID, records it refused; either way what it says of each line is kept, and nothing of the
order's goods changes (the cancellation we made cannot be undone)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.domain.commands import CancelLines, RecordChangeAnswer
from gateway.domain.values import LineAnswerStatus, LineQuantity, Role, Side
from gateway.errors import MappingError, RuleViolation
from gateway.mapping.inbound import ChangeAcknowledgement, change_acknowledgement
from tests.unit.mapping.x12text import MAPPINGS, NOW, PARTNER, PO, apply, context, order, tree


def answer(*body: str, kind: str = "AT", po: str = PO) -> ChangeAcknowledgement:
    head = f"BCA*06*{kind}*{po}**2*20261120****20261121"
    return change_acknowledgement(tree("865", [head, *body]), MAPPINGS.get("865-in"), context())


def placed():
    """An order we placed (we are the buyer) whose line 2 we cancelled by our 860 #2."""
    held = order(("1", 2, "000000000011"), ("2", 3, "000000000028"))
    held.handle(
        CancelLines(
            partner=PARTNER,
            po_number=PO,
            at=NOW,
            cancellation_id="C1",
            lines=(LineQuantity("2", Decimal(3)),),
            requested_by=Side.BUYER,
            reason="range change",
        )
    )
    held.events.clear()
    return held


def test_a_change_taken_is_recorded_with_each_lines_answer():
    mapped = answer("POC*2*DI*0*0*EA*10", "ACK*IA*3*EA")
    assert mapped.action == "change accepted" and not mapped.refused
    held = placed()
    (record,) = mapped.commands({PO: held})
    assert isinstance(record, RecordChangeAnswer) and record.accepted
    assert record.change_sequence == "2"
    assert [(a.line_number, a.status, a.code) for a in record.lines] == [
        ("2", LineAnswerStatus.ACCEPTED, "IA")
    ]
    before = [(line.ordered, line.cancelled) for line in held.lines]
    apply(held, [record])
    assert held.history[-1].event == "ChangeAnswered"
    assert [(line.ordered, line.cancelled) for line in held.lines] == before


def test_a_change_refused_whole_or_by_a_line_is_recorded_refused_with_the_sellers_note():
    whole = answer("N9*L1*CHANGE REFUSED", "MSG*already shipped", "MSG*call us", kind="RD")
    assert whole.refused and whole.action == "change refused"
    assert whole.note == "already shipped call us"
    (record,) = whole.commands({PO: placed()})
    assert isinstance(record, RecordChangeAnswer) and not record.accepted
    assert record.note == "already shipped call us" and record.lines == ()
    by_line = answer("POC*2*DI*0*0*EA*10", "ACK*IR*3*EA", kind="AC")
    assert by_line.refused
    assert "line 2 rejected 3 (IR)" in by_line.summary


def test_a_line_is_found_by_product_id_when_its_number_is_not_given():
    (record,) = answer("POC**DI*0*0*EA*10**UP*000000000028", "ACK*IA").commands({PO: placed()})
    assert isinstance(record, RecordChangeAnswer)
    assert [a.line_number for a in record.lines] == ["2"]


def test_an_answer_about_an_order_we_sell_is_refused_as_going_the_wrong_way():
    sold = order(("1", 2, "000000000011"), role=Role.SELLER)
    with pytest.raises(RuleViolation) as refused:
        answer().commands({PO: sold})
    assert refused.value.rule == "set-direction-follows-role"


def test_an_answer_naming_a_line_the_order_lacks_is_refused():
    with pytest.raises((RuleViolation, MappingError)):
        answer("POC*9*DI*0*0*EA*10**UP*000000000099", "ACK*IA").commands({PO: placed()})
