"""The 856 received from a seller: one passed-on fulfilment per order it names (PRF01), its items
matched to the order's lines by number or product id, its packs with their SSCC-18 whatever the
hierarchy (S-O-P-I, S-O-T-P-I, S-O-I-P), carrier, tracking numbers and ship date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.domain.commands import CreateFulfilment
from gateway.domain.values import LineQuantity, Pack, Role, ShipmentStatus
from gateway.errors import MappingError, NotSupported, RuleViolation
from gateway.mapping.inbound import ShipNotice, ship_notice
from tests.unit.mapping.x12text import MAPPINGS, PO, apply, context, order, tree

SSCC_1 = "008123450000451276"
SSCC_2 = "008123450000451283"
SHIPMENT = [
    "BSN*00*SH-1*20261121*1200*0001",
    "HL*1**S*1",
    "TD5*B*2*UPSN*U*UPS GROUND",
    "REF*BM*BOL-1",
    "REF*CN*1Z999AA10123456784",
    "DTM*011*20261120",
]


def notice(*levels: str, head: list[str] | None = None) -> ShipNotice:
    return ship_notice(
        tree("856", [*(head or SHIPMENT), *levels]), MAPPINGS.get("856-in"), context()
    )


def held():
    return order(("1", 2, "000000000011"), ("2", 3, "000000000028"), ("3", 1, "000000000035"))


def test_a_carton_pack_notice_becomes_one_passed_on_fulfilment_with_its_packs():
    mapped = notice(
        f"HL*2*1*O*1~PRF*{PO}",
        f"HL*3*2*P*1~MAN*GM*{SSCC_1}",
        "HL*4*3*I*0~LIN*1*UP*000000000011~SN1**2*EA",
        f"HL*5*2*P*1~MAN*GM*{SSCC_2}",
        "HL*6*5*I*0~LIN*2*UP*000000000028~SN1**3*EA",
        "HL*7*5*I*0~LIN*3*UP*000000000035~SN1**1*EA",
    )
    (fulfil,) = mapped.commands({PO: held()})
    assert isinstance(fulfil, CreateFulfilment)
    assert fulfil.fulfilment_id == "SH-1" and fulfil.passed_on
    assert fulfil.status is ShipmentStatus.SHIPPED
    assert fulfil.carrier == "UPSN"
    assert fulfil.tracking_numbers == ("1Z999AA10123456784",)
    assert fulfil.ship_date == dt.date(2026, 11, 20)
    assert fulfil.lines == (
        LineQuantity("1", Decimal(2)),
        LineQuantity("2", Decimal(3)),
        LineQuantity("3", Decimal(1)),
    )
    assert fulfil.packs == (
        Pack((LineQuantity("1", Decimal(2)),), SSCC_1),
        Pack((LineQuantity("2", Decimal(3)), LineQuantity("3", Decimal(1))), SSCC_2),
    )
    shipped = apply(held(), [fulfil])
    assert "shipped" in {flag.value for flag in shipped.flags}


def test_a_pallet_notice_puts_items_in_their_cartons_not_the_pallet():
    mapped = notice(
        f"HL*2*1*O*1~PRF*{PO}",
        "HL*3*2*T*1~MAN*GM*108560172000004170",
        f"HL*4*3*P*1~MAN*GM*{SSCC_1}",
        "HL*5*4*I*0~LIN*1*UP*000000000011~SN1**2*EA",
    )
    (fulfil,) = mapped.commands({PO: held()})
    assert isinstance(fulfil, CreateFulfilment)
    assert fulfil.packs == (Pack((LineQuantity("1", Decimal(2)),), SSCC_1),)


def test_a_pick_and_pack_notice_reads_the_packs_below_each_item():
    mapped = notice(
        f"HL*2*1*O*1~PRF*{PO}",
        "HL*3*2*I*1~LIN*2*UP*000000000028~SN1**3*EA",
        f"HL*4*3*P*0~SN1**2*EA~MAN*GM*{SSCC_1}~MAN*CP*1Z5R89390357567127",
        f"HL*5*3*P*0~SN1**1*EA~MAN*GM*{SSCC_2}~MAN*CP*1Z879E930346834440",
        "HL*6*2*I*1~LIN*3*UP*000000000035~SN1**1*EA",
        "HL*7*6*P*0~MAN*GM*00108560172000004187",
        head=[*SHIPMENT[:4], "DTM*011*20261120"],
    )
    (fulfil,) = mapped.commands({PO: held()})
    assert isinstance(fulfil, CreateFulfilment)
    assert fulfil.packs == (
        Pack((LineQuantity("2", Decimal(2)),), SSCC_1),
        Pack((LineQuantity("2", Decimal(1)),), SSCC_2),
        Pack((LineQuantity("3", Decimal(1)),), "108560172000004187"),
    )
    assert fulfil.tracking_numbers == ("1Z5R89390357567127", "1Z879E930346834440")
    apply(held(), [fulfil])


def test_items_outside_packs_ship_without_packs():
    mapped = notice(
        f"HL*2*1*O~PRF*{PO}",
        "HL*3*2*I~LIN*1*VP*V-1*UP*000000000011~SN1*1*2*EA",
        "HL*4*2*I~LIN*2*VP*V-2*UP*000000000028~SN1*2*1*EA",
    )
    (fulfil,) = mapped.commands({PO: held()})
    assert isinstance(fulfil, CreateFulfilment)
    assert fulfil.packs == () and len(fulfil.lines) == 2


def test_the_bill_of_lading_is_the_tracking_number_when_there_is_no_other():
    head = [line for line in SHIPMENT if not line.startswith("REF*CN")]
    mapped = notice(f"HL*2*1*O~PRF*{PO}", "HL*3*2*I~LIN**UP*000000000011~SN1**2*EA", head=head)
    assert mapped.orders[0].tracking_numbers == ("BOL-1",)


def test_items_without_a_line_number_are_matched_by_product_id():
    mapped = notice(
        f"HL*2*1*O~PRF*{PO}",
        "HL*3*2*I~LIN**VP*V-3~SN1**1*EA",
        "HL*4*2*I~LIN**UP*000000000028~SN1**3*EA",
    )
    (fulfil,) = mapped.commands({PO: held()})
    assert isinstance(fulfil, CreateFulfilment)
    assert fulfil.lines == (LineQuantity("3", Decimal(1)), LineQuantity("2", Decimal(3)))


def test_the_line_number_of_sn1_wins_over_lin():
    mapped = notice(f"HL*2*1*O~PRF*{PO}", "HL*3*2*I~LIN*9*BP*X~SN1*2*3*EA")
    (fulfil,) = mapped.commands({PO: held()})
    assert isinstance(fulfil, CreateFulfilment) and fulfil.lines[0].line_number == "2"


def test_an_item_the_order_does_not_have_is_refused():
    mapped = notice(f"HL*2*1*O~PRF*{PO}", "HL*3*2*I~LIN**UP*999999999999~SN1**1*EA")
    with pytest.raises(RuleViolation, match="matches no line") as refused:
        mapped.commands({PO: held()})
    assert refused.value.rule == "line-must-exist"


def test_one_notice_for_two_orders_makes_two_fulfilments():
    mapped = notice(
        f"HL*2*1*O~PRF*{PO}",
        "HL*3*2*I~LIN*1*UP*000000000011~SN1**2*EA",
        "HL*4*1*O~PRF*PO-7002",
        "HL*5*4*I~LIN*1*UP*000000000011~SN1**1*EA",
    )
    assert mapped.po_numbers == (PO, "PO-7002")
    other = order(("1", 1, "000000000011"))
    other.po_number = "PO-7002"
    made = mapped.commands({PO: held(), "PO-7002": other})
    assert [(c.po_number, c.fulfilment_id) for c in made] == [(PO, "SH-1"), ("PO-7002", "SH-1")]


def test_an_item_under_no_order_is_a_mapping_error():
    with pytest.raises(MappingError, match="belongs to no order"):
        notice("HL*2*1*I~LIN*1*UP*000000000011~SN1**2*EA")


def test_an_order_level_without_items_is_a_mapping_error():
    with pytest.raises(MappingError, match="no items for order PO-7002"):
        notice(
            f"HL*2*1*O~PRF*{PO}",
            "HL*3*2*I~LIN*1*UP*000000000011~SN1**2*EA",
            "HL*4*1*O~PRF*PO-7002",
        )


def test_an_item_without_a_quantity_shipped_is_a_mapping_error():
    with pytest.raises(MappingError, match="no quantity shipped"):
        notice(f"HL*2*1*O~PRF*{PO}", "HL*3*2*I~LIN*1*UP*000000000011")


def test_a_cancelling_notice_is_not_supported_yet():
    head = ["BSN*01*SH-1*20261121*1200*0001", *SHIPMENT[1:]]
    mapped = notice(f"HL*2*1*O~PRF*{PO}", "HL*3*2*I~LIN*1*UP*000000000011~SN1**2*EA", head=head)
    with pytest.raises(NotSupported, match="purpose 01"):
        mapped.commands({PO: held()})


def test_a_notice_for_an_order_we_sold_is_refused():
    mapped = notice(f"HL*2*1*O~PRF*{PO}", "HL*3*2*I~LIN*1*UP*000000000011~SN1**2*EA")
    sold = order(("1", 2, "000000000011"), role=Role.SELLER)
    with pytest.raises(RuleViolation, match="we are the seller"):
        mapped.commands({PO: sold})


def test_the_same_shipment_twice_is_refused_by_the_rules():
    mapped = notice(f"HL*2*1*O~PRF*{PO}", "HL*3*2*I~LIN*1*UP*000000000011~SN1**1*EA")
    order_held = apply(held(), mapped.commands({PO: held()}))
    with pytest.raises(RuleViolation) as refused:
        apply(order_held, mapped.commands({PO: order_held}))
    assert refused.value.rule == "record-id-unique"


def test_a_notice_naming_its_order_at_the_shipment_level_needs_no_order_level():
    head = [*SHIPMENT[:2], f"PRF*{PO}", *SHIPMENT[2:]]
    mapped = notice("HL*2*1*I~LIN*1*UP*000000000011~SN1**2*EA", head=head)
    (fulfil,) = mapped.commands({PO: held()})
    assert isinstance(fulfil, CreateFulfilment) and fulfil.lines == (LineQuantity("1", 2),)
