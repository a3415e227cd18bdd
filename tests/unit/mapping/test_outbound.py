"""The outbound builders on orders made in memory: what each set says, in the standard's terms,
with the choices of the shipped mappings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from gateway.config import load_mappings
from gateway.domain.model import Order
from gateway.domain.rules import valid_sscc
from gateway.domain.values import (
    Address,
    EntityCode,
    LineQuantity,
    Pack,
    Party,
    PurposeCode,
    Role,
)
from gateway.mapping.engine import Mappings
from gateway.mapping.outbound import (
    ControlNumbers,
    Decision,
    Envelope,
    ExportRefused,
    LineDecision,
    LineStatus,
    acknowledgement,
    change_order,
    interchange,
    invoice,
    invoiceable,
    make_sscc,
    purchase_order,
    ship_notice,
    sscc_check_digit,
)
from gateway.mapping.outbound_settings import (
    AcknowledgementSettings,
    ChangeOrderSettings,
    HierarchyStructure,
    InvoiceSettings,
    PartyChoice,
    PurchaseOrderSettings,
    ShipNoticeSettings,
    settings_for,
)
from gateway.x12.model import Delimiters, InterchangeReport
from gateway.x12.reader import read_bytes
from gateway.x12.serializer import serialize
from tests.unit.domain.builders import (
    cancel,
    cancel_order,
    fulfil,
    give_back,
    new_order,
    replace_order,
)
from tests.unit.domain.builders import (
    invoice as record_invoice,
)

MAPPINGS = Mappings(load_mappings())
ACK = settings_for(MAPPINGS, "855", "", AcknowledgementSettings)
ASN = settings_for(MAPPINGS, "856", "", ShipNoticeSettings)
INVOICE = settings_for(MAPPINGS, "810", "", InvoiceSettings)
ORDER = settings_for(MAPPINGS, "850", "", PurchaseOrderSettings)
CHANGE = settings_for(MAPPINGS, "860", "", ChangeOrderSettings)
TODAY = dt.date(2026, 11, 21)
NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)
SSCC_1, SSCC_2 = "008123450000451276", "008123450000451283"


def text(segments) -> list[str]:
    """Segments as `ID*E1*E2` lines, trailing empty elements dropped as the serializer does."""
    lines = []
    for segment in segments:
        values = [v if isinstance(v, str) else ">".join(v) for v in segment.elements]
        while values and not values[-1]:
            values.pop()
        lines.append("*".join([segment.id, *values]))
    return lines


def starting(lines: list[str], segment_id: str) -> list[str]:
    return [line for line in lines if line.split("*")[0] == segment_id]


def three_lines(**header) -> Order:
    """Lines 1 (10), 2 (4), 3 (6) at 2.50 with product id VP SKU-n, seller side."""
    return new_order(("1", 10), ("2", 4), ("3", 6), **header)


def test_every_set_built_here_passes_the_gateways_validation():
    order = three_lines()
    order.handle(fulfil("F1", ("1", 10), packs=(Pack((LineQuantity("1", Decimal(10)),), SSCC_1),)))
    bodies = {
        "855": acknowledgement(order, Decision.accept_all(), ACK, TODAY),
        "856": ship_notice(order, order.fulfilments[0], ASN, NOW),
        "810": invoice(order, "INV-1", INVOICE, TODAY).segments,
    }
    for set_id, body in bodies.items():
        built = interchange(
            Envelope.default("US", "THEM"), set_id, [body], ControlNumbers(7, 8, (9,)), NOW
        )
        report = read_bytes(serialize(built))
        assert report.accepted, (set_id, report.first_issue())


# -- 855 ------------------------------------------------------------------------------------


def test_accepting_everything_echoes_each_line_with_an_IA_of_its_ordered_quantity():
    lines = text(acknowledgement(three_lines(), Decision.accept_all(), ACK, TODAY))
    assert lines[0] == "BAK*00*AD*PO-1001*20261120*****20261121"
    assert starting(lines, "PO1")[0] == "PO1*1*10*EA*2.50**VP*SKU-1"
    assert starting(lines, "ACK") == ["ACK*IA*10*EA", "ACK*IA*4*EA", "ACK*IA*6*EA"]
    assert lines[-1] == "CTT*3*20"


def test_rejecting_everything_says_RJ_and_IR_on_every_line():
    lines = text(acknowledgement(three_lines(), Decision.reject_all(), ACK, TODAY))
    assert lines[0].startswith("BAK*00*RJ*PO-1001")
    assert starting(lines, "ACK") == ["ACK*IR*10*EA", "ACK*IR*4*EA", "ACK*IR*6*EA"]


def test_any_line_answered_otherwise_makes_the_acknowledgement_AC():
    decision = Decision.with_changes(
        LineDecision("2", LineStatus.REJECTED),
        LineDecision("3", LineStatus.QUANTITY_CHANGED, Decimal(5)),
        ship_date=dt.date(2026, 11, 24),
        sales_order="SO-9",
    )
    lines = text(acknowledgement(three_lines(), decision, ACK, TODAY))
    assert lines[0] == "BAK*00*AC*PO-1001*20261120****SO-9*20261121"
    assert lines[1] == "DTM*068*20261124"
    assert starting(lines, "ACK") == [
        "ACK*IA*10*EA*068*20261124",
        "ACK*IR*4*EA",
        "ACK*IQ*5*EA*068*20261124",
    ]


def test_answering_every_line_as_ordered_is_no_change():
    decision = Decision.with_changes(LineDecision("1", LineStatus.ACCEPTED))
    lines = text(acknowledgement(three_lines(), decision, ACK, TODAY))
    assert lines[0].startswith("BAK*00*AD*")


def test_a_line_can_be_accepted_in_part_and_backordered_for_the_rest():
    decision = Decision.with_changes(
        LineDecision("1", LineStatus.ACCEPTED, Decimal(6)),
        LineDecision("1", LineStatus.BACKORDERED, Decimal(4), dt.date(2026, 12, 4)),
    )
    order = three_lines()
    lines = text(acknowledgement(order, decision, ACK, TODAY))
    assert starting(lines, "ACK")[:2] == ["ACK*IA*6*EA", "ACK*IB*4*EA*068*20261204"]
    assert lines[0].startswith("BAK*00*AC*")
    assert decision.withdrawn(order) == ()


def test_what_an_answer_withdraws_is_the_rejected_and_the_cut_quantity():
    order = three_lines()
    order.handle(cancel("C1", ("3", 1)))
    decision = Decision.with_changes(
        LineDecision("1", LineStatus.QUANTITY_CHANGED, Decimal(7)),
        LineDecision("2", LineStatus.REJECTED),
        LineDecision("3", LineStatus.QUANTITY_CHANGED, Decimal(9)),  # raised: nothing withdrawn
    )
    assert decision.withdrawn(order) == (
        LineQuantity("1", Decimal(3)),
        LineQuantity("2", Decimal(4)),
    )
    assert Decision.reject_all().withdrawn(order) == (
        LineQuantity("1", Decimal(10)),
        LineQuantity("2", Decimal(4)),
        LineQuantity("3", Decimal(5)),
    )


def test_an_answer_for_a_line_the_order_lacks_is_refused():
    decision = Decision.with_changes(LineDecision("9", LineStatus.REJECTED))
    with pytest.raises(ExportRefused) as caught:
        acknowledgement(three_lines(), decision, ACK, TODAY)
    assert caught.value.rule == "decision-names-order-lines" and caught.value.line == "9"


@pytest.mark.parametrize("quantity", [None, Decimal(0), Decimal(-1)])
def test_a_changed_quantity_must_be_given_and_positive(quantity):
    decision = Decision.with_changes(LineDecision("1", LineStatus.QUANTITY_CHANGED, quantity))
    with pytest.raises(ExportRefused) as caught:
        acknowledgement(three_lines(), decision, ACK, TODAY)
    assert caught.value.rule == "decision-quantity-is-positive"


def test_a_decision_to_accept_or_reject_everything_names_no_lines():
    with pytest.raises(ValueError, match="names no lines"):
        Decision(Decision.reject_all().kind, (LineDecision("1", LineStatus.ACCEPTED),))


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("3=change:2", LineDecision("3", LineStatus.QUANTITY_CHANGED, Decimal(2))),
        (
            "4=backorder@20261204",
            LineDecision("4", LineStatus.BACKORDERED, None, dt.date(2026, 12, 4)),
        ),
        ("A1=Reject", LineDecision("A1", LineStatus.REJECTED)),
        ("1=accept:6", LineDecision("1", LineStatus.ACCEPTED, Decimal(6))),
    ],
)
def test_line_answers_are_written_line_equals_status(written, expected):
    assert LineDecision.parse(written) == expected


@pytest.mark.parametrize("written", ["3", "=reject", "3=maybe", "3=change:two", "3=reject@2026"])
def test_a_line_answer_that_cannot_be_read_says_how_to_write_it(written):
    with pytest.raises(ValueError, match=repr(written)):
        LineDecision.parse(written)


def test_only_the_seller_acknowledges_ships_and_invoices():
    bought = three_lines(our_role=Role.BUYER)
    with pytest.raises(ExportRefused) as caught:
        acknowledgement(bought, Decision.accept_all(), ACK, TODAY)
    assert caught.value.rule == "export-follows-role"
    with pytest.raises(ExportRefused):
        purchase_order(three_lines(), ORDER)


# -- 856 ------------------------------------------------------------------------------------


def packed_order() -> Order:
    order = three_lines()
    order.handle(
        fulfil(
            "SHIP-1",
            ("1", 10),
            ("2", 4),
            carrier="UPSN",
            tracking_numbers=("1Z999AA10123456784", "1Z5R89390357567127"),
            ship_date=dt.date(2026, 11, 20),
            packs=(
                Pack((LineQuantity("1", Decimal(6)),), SSCC_1),
                Pack((LineQuantity("1", Decimal(4)), LineQuantity("2", Decimal(4))), SSCC_2),
            ),
        )
    )
    return order


def test_a_packed_shipment_goes_shipment_order_pack_item():
    order = packed_order()
    lines = text(ship_notice(order, order.fulfilments[0], ASN, NOW))
    assert lines[0] == "BSN*00*SHIP-1*20261121*1230*0001"
    assert starting(lines, "HL") == [
        "HL*1**S*1",
        "HL*2*1*O*1",
        "HL*3*2*P*1",
        "HL*4*3*I*0",
        "HL*5*2*P*1",
        "HL*6*5*I*0",
        "HL*7*5*I*0",
    ]
    assert "TD1*CTN25*2" in lines and "TD5*B*2*UPSN" in lines and "DTM*011*20261120" in lines
    assert starting(lines, "REF") == ["REF*CN*1Z999AA10123456784", "REF*CN*1Z5R89390357567127"]
    assert starting(lines, "MAN") == [
        f"MAN*GM*{SSCC_1}",
        "MAN*CP*1Z999AA10123456784",
        f"MAN*GM*{SSCC_2}",
        "MAN*CP*1Z5R89390357567127",
    ]
    assert starting(lines, "SN1") == ["SN1*1*6*EA", "SN1*1*4*EA", "SN1*2*4*EA"]
    assert starting(lines, "LIN")[0] == "LIN*1*VP*SKU-1"
    assert lines[-1] == "CTT*7"


def test_a_tare_level_holds_the_packs_of_the_order():
    order = packed_order()
    settings = dataclasses.replace(ASN, structure=HierarchyStructure.SOTPI)
    lines = text(ship_notice(order, order.fulfilments[0], settings, NOW))
    assert lines[0].endswith("*0001")
    assert starting(lines, "HL")[2:5] == ["HL*3*2*T*1", "HL*4*3*P*1", "HL*5*4*I*0"]


def test_item_then_pack_puts_each_pack_under_the_items_it_holds_under_0002():
    order = packed_order()
    settings = dataclasses.replace(ASN, structure=HierarchyStructure.SOIP)
    lines = text(ship_notice(order, order.fulfilments[0], settings, NOW))
    assert lines[0].endswith("*0002")
    assert starting(lines, "HL") == [
        "HL*1**S*1",
        "HL*2*1*O*1",
        "HL*3*2*I*1",
        "HL*4*3*P*0",
        "HL*5*3*P*0",
        "HL*6*2*I*1",
        "HL*7*6*P*0",
    ]
    assert starting(lines, "SN1") == ["SN1*1*10*EA", "SN1*2*4*EA"]


def test_a_shipment_without_packs_goes_shipment_order_item_under_0004():
    order = three_lines()
    order.handle(
        fulfil(
            "SHIP-1", ("1", 10), ("3", 6), carrier="UPSN", tracking_numbers=("1Z999AA10123456784",)
        )
    )
    lines = text(ship_notice(order, order.fulfilments[0], ASN, NOW))
    assert lines[0].endswith("*0004")
    assert starting(lines, "HL") == ["HL*1**S*1", "HL*2*1*O*1", "HL*3*2*I*0", "HL*4*2*I*0"]
    assert not starting(lines, "TD1") and not starting(lines, "MAN")


def test_tracking_numbers_go_on_the_packs_only_one_for_one():
    order = three_lines()
    order.handle(
        fulfil(
            "SHIP-1",
            ("1", 10),
            ("2", 4),
            tracking_numbers=("1Z999AA10123456784",),
            packs=(
                Pack((LineQuantity("1", Decimal(10)),)),
                Pack((LineQuantity("2", Decimal(4)),), SSCC_2),
            ),
        )
    )
    lines = text(ship_notice(order, order.fulfilments[0], ASN, NOW))
    assert starting(lines, "MAN") == [f"MAN*GM*{SSCC_2}"]  # an unlabelled pack has no MAN*GM
    assert starting(lines, "REF") == ["REF*CN*1Z999AA10123456784"]
    assert starting(lines, "TD5") == ["TD5*B*2*UPSN"]  # the carrier, by its SCAC


def test_ship_from_is_the_vendor_named_on_the_order():
    vendor = Party(EntityCode.VENDOR, "Cedar Ridge", "92", "58213")
    ship_to = Party(
        EntityCode.SHIP_TO, "M. Ortega", address=Address(("1 Lane",), "Bend", "OR", "97701", "US")
    )
    order = three_lines(parties=(ship_to, vendor))
    order.handle(fulfil("SHIP-1", ("1", 10)))
    lines = text(ship_notice(order, order.fulfilments[0], ASN, NOW))
    assert starting(lines, "N1") == ["N1*SF*Cedar Ridge*92*58213", "N1*ST*M. Ortega"]
    assert "N3*1 Lane" in lines and "N4*Bend*OR*97701*US" in lines


def test_an_sscc_is_made_with_its_check_digit():
    assert sscc_check_digit(SSCC_1[:17]) == SSCC_1[17]
    made = make_sscc(0, "0812345", 45127)
    assert made == SSCC_1 and valid_sscc(made)
    with pytest.raises(ValueError):
        make_sscc(0, "0812345", 10**9)
    with pytest.raises(ValueError):
        sscc_check_digit("123")


# -- 810 ------------------------------------------------------------------------------------


def test_an_invoice_takes_what_shipped_less_returns_and_earlier_invoices():
    order = three_lines()
    order.handle(fulfil("F1", ("1", 10), ("2", 4)))
    order.handle(give_back("R1", ("1", 2)))
    order.handle(record_invoice("INV-0", Decimal(10), ("2", 4)))
    assert invoiceable(order) == (LineQuantity("1", Decimal(8)),)
    draft = invoice(order, "INV-1", INVOICE, TODAY)
    lines = text(draft.segments)
    assert lines[0] == "BIG*20261121*INV-1*20261120*PO-1001"
    assert starting(lines, "IT1") == ["IT1*1*8*EA*2.50**VP*SKU-1"]
    assert "TDS*2000" in lines and lines[-1] == "CTT*1"
    assert draft.amount == Decimal("20.00") and draft.lines == (LineQuantity("1", Decimal(8)),)


def test_the_invoice_total_is_rounded_to_the_cent():
    order = new_order(("1", 3))
    order.lines[0].unit_price = Decimal("2.345")
    order.handle(fulfil("F1", ("1", 3)))
    draft = invoice(order, "INV-1", INVOICE, TODAY)
    assert draft.amount == Decimal("7.04") and "TDS*704" in text(draft.segments)


def test_cancelled_quantity_is_never_invoiced():
    order = three_lines()
    order.handle(cancel("C1", ("1", 4)))
    order.handle(fulfil("F1", ("1", 6)))
    assert invoiceable(order) == (LineQuantity("1", Decimal(6)),)


@pytest.mark.parametrize(
    ("prepare", "number", "rule"),
    [
        (lambda order: None, "INV-1", "invoice-needs-shipped-quantity"),
        (lambda order: order.handle(fulfil("F1", ("1", 1))), "X" * 23, "invoice-number-fits-big02"),
    ],
)
def test_an_invoice_is_refused_without_shipped_quantity_or_with_a_long_number(
    prepare, number, rule
):
    order = three_lines()
    prepare(order)
    with pytest.raises(ExportRefused) as caught:
        invoice(order, number, INVOICE, TODAY)
    assert caught.value.rule == rule


def test_a_line_without_price_cannot_be_invoiced():
    order = new_order(("1", 3))
    order.lines[0].unit_price = None
    order.handle(fulfil("F1", ("1", 3)))
    with pytest.raises(ExportRefused) as caught:
        invoice(order, "INV-1", INVOICE, TODAY)
    assert caught.value.rule == "invoice-needs-prices" and caught.value.line == "1"


# -- 850 and 860 ----------------------------------------------------------------------------


def test_the_purchase_order_carries_the_orders_purpose_and_lines():
    order = three_lines(our_role=Role.BUYER)
    lines = text(purchase_order(order, ORDER))
    assert lines[0] == "BEG*00*SA*PO-1001**20261120"
    assert "CUR*BY*USD" in lines
    assert starting(lines, "PO1") == [
        "PO1*1*10*EA*2.50**VP*SKU-1",
        "PO1*2*4*EA*2.50**VP*SKU-2",
        "PO1*3*6*EA*2.50**VP*SKU-3",
    ]
    assert lines[-1] == "CTT*3*20"
    order.handle(replace_order(("1", 12)))
    assert order.purpose_code is PurposeCode.REPLACE
    assert text(purchase_order(order, ORDER))[0].startswith("BEG*05*SA*")


def test_a_change_order_restates_each_cut_line():
    order = three_lines(our_role=Role.BUYER)
    order.handle(cancel("C1", ("2", 4), ("3", 2)))
    order.handle(fulfil("F1", ("3", 1)))
    lines = text(change_order(order, CHANGE, 2))
    assert lines[0] == "BCH*04*SA*PO-1001**2*20261120"
    assert starting(lines, "POC") == [
        "POC*2*DI*0*0*EA*2.50**VP*SKU-2",
        "POC*3*QD*4*3*EA*2.50**VP*SKU-3",  # 4 now ordered, 3 left to receive
    ]
    assert lines[-1] == "CTT*2*4"


def test_a_change_order_for_an_order_cancelled_whole_is_BCH01_01_without_lines():
    order = three_lines(our_role=Role.BUYER)
    order.handle(cancel_order())
    lines = text(change_order(order, CHANGE, 1))
    assert lines[0] == "BCH*01*SA*PO-1001**1*20261120"
    assert not starting(lines, "POC") and not starting(lines, "CTT")


def test_a_change_order_needs_a_cancellation():
    with pytest.raises(ExportRefused) as caught:
        change_order(three_lines(our_role=Role.BUYER), CHANGE, 1)
    assert caught.value.rule == "change-needs-cancellations"


# -- choices and envelope -------------------------------------------------------------------


def test_the_mapping_chooses_which_product_ids_go_and_in_which_order():
    order = new_order(("1", 1))
    order.lines[0].product_ids = {"VP": "SKU-1", "UP": "012345678905", "BP": "B-1"}
    choices = dataclasses.replace(ACK.lines, product_ids=("UP", "VN", "VP"))
    settings = dataclasses.replace(ACK, lines=choices)
    lines = text(acknowledgement(order, Decision.accept_all(), settings, TODAY))
    assert starting(lines, "PO1") == ["PO1*1*1*EA*2.50**UP*012345678905*VP*SKU-1"]


def test_a_party_goes_under_the_mappings_code_from_the_first_source_the_order_holds():
    seller = Party(EntityCode.SELLER, "Us", "92", "S1", contacts=())
    order = three_lines(parties=(seller,))
    order.handle(fulfil("F1", ("1", 10)))
    settings = dataclasses.replace(
        INVOICE, parties=(PartyChoice("RI", ("RI", "VN", "SE")), PartyChoice("BT", ("BT",)))
    )
    lines = text(invoice(order, "INV-1", settings, TODAY).segments)
    assert starting(lines, "N1") == ["N1*RI*Us*92*S1"]


def test_an_answer_goes_back_with_the_partners_ids_swapped_and_their_delimiters():
    delimiters = Delimiters("|", "^", "~", "{")
    report = InterchangeReport(
        "000000007",
        sender_qualifier="01",
        sender_id="079845213",
        receiver_qualifier="ZZ",
        receiver_id="US",
        control_version="00501",
        delimiters=delimiters,
    )
    envelope = Envelope.answering(report, usage="T")
    assert (envelope.sender_qualifier, envelope.sender_id) == ("ZZ", "US")
    assert (envelope.receiver_qualifier, envelope.receiver_id) == ("01", "079845213")
    assert envelope.delimiters == delimiters and envelope.control_version == "00501"
    assert envelope.version == "004010" and envelope.usage == "T"  # no group: the default family


def test_an_interchange_holds_one_group_of_sets_with_the_control_numbers_given():
    order = packed_order()
    body = ship_notice(order, order.fulfilments[0], ASN, NOW)
    built = interchange(
        Envelope.default("US", "THEM"), "856", [body, body], ControlNumbers(12, 34, (5, 6)), NOW
    )
    raw = serialize(built).decode("latin-1")
    isa = raw.split("~")[0].split("*")
    assert [isa[5], isa[6].strip(), isa[7], isa[8].strip()] == ["ZZ", "US", "ZZ", "THEM"]
    assert isa[9:14] == ["261121", "1230", "U", "00401", "000000012"]
    assert "GS*SH*US*THEM*20261121*1230*34*X*004010~" in raw
    assert "ST*856*0005~" in raw and "ST*856*0006~" in raw and "GE*2*34~" in raw
    with pytest.raises(ValueError):
        interchange(Envelope.default("US", "THEM"), "856", [body], ControlNumbers(1, 1, ()), NOW)
