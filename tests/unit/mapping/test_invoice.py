"""The 810 received from a seller: an invoice for an order we placed (BIG04), for its TDS01
total in cents, which must be the lines' total (IT102 x IT104, with SAC charges and allowances)
within a cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.domain.commands import RecordInvoice
from gateway.domain.values import LineQuantity, Role
from gateway.errors import MappingError, NotSupported, RuleViolation
from gateway.mapping.inbound import ReceivedInvoice, invoice
from tests.unit.mapping.x12text import MAPPINGS, PO, apply, context, order, tree

BIG = f"BIG*20261121*INV-1*20261120*{PO}"
LINES = ["IT1*1*2*EA*89.50**UP*000000000011", "IT1*3*3*EA*12.75**UP*000000000035"]


def invoiced(*body: str, version: str = "004010") -> ReceivedInvoice:
    return invoice(tree("810", [BIG, *body], version=version), MAPPINGS.get("810-in"), context())


def held():
    return order(("1", 2, "000000000011"), ("2", 1, "000000000028"), ("3", 4, "000000000035"))


def test_an_invoice_is_recorded_for_its_total_and_lines():
    mapped = invoiced(*LINES, "TDS*21725", "CTT*2")
    (record,) = mapped.commands({PO: held()})
    assert isinstance(record, RecordInvoice)
    assert record.invoice_number == "INV-1" and record.amount == Decimal("217.25")
    assert record.lines == (LineQuantity("1", Decimal(2)), LineQuantity("3", Decimal(3)))
    assert mapped.action == "invoiced"
    order_held = apply(held(), [record])
    assert order_held.payment_status.value == "pending"


def test_a_total_that_is_not_the_lines_total_is_a_mapping_error():
    with pytest.raises(MappingError, match=r"TDS01 total 217.27 is not the invoice lines' total"):
        invoiced(*LINES, "TDS*21727")


def test_a_total_within_a_cent_of_the_lines_total_is_taken():
    mapped = invoiced("IT1*1*3*EA*3.333**UP*000000000011", "TDS*1000", version="005010")
    assert mapped.total == Decimal("10.00")


def test_charges_and_allowances_count_in_the_total():
    mapped = invoiced(*LINES, "TDS*22225", "SAC*C*D240***1500", "SAC*A*C310***1000")
    assert mapped.total == Decimal("222.25")


def test_a_line_count_that_disagrees_is_a_mapping_error():
    with pytest.raises(MappingError, match="CTT01 says 3 line items"):
        invoiced(*LINES, "TDS*21725", "CTT*3")


def test_a_line_without_quantity_and_price_is_a_mapping_error():
    with pytest.raises(MappingError, match="no quantity"):
        invoiced("IT1*1", "TDS*0")


def test_an_invoice_without_a_purchase_order_number_is_a_mapping_error():
    with pytest.raises(MappingError, match="BIG04"):
        invoice(
            tree("810", ["BIG*20261121*INV-1", *LINES, "TDS*21725"]),
            MAPPINGS.get("810-in"),
            context(),
        )


def test_invoice_lines_are_matched_by_product_id():
    mapped = invoiced("IT1**1*EA*10**UP*000000000028", "TDS*1000")
    (record,) = mapped.commands({PO: held()})
    assert isinstance(record, RecordInvoice) and record.lines == (LineQuantity("2", Decimal(1)),)


def test_the_same_invoice_twice_is_refused_by_the_rules():
    mapped = invoiced(*LINES, "TDS*21725")
    order_held = apply(held(), mapped.commands({PO: held()}))
    with pytest.raises(RuleViolation) as refused:
        apply(order_held, mapped.commands({PO: order_held}))
    assert refused.value.rule == "record-id-unique"


def test_an_invoice_for_an_order_we_sold_is_refused():
    sold = order(("1", 2, "000000000011"), role=Role.SELLER)
    with pytest.raises(RuleViolation, match="we are the seller"):
        invoiced(*LINES, "TDS*21725").commands({PO: sold})


def test_a_credit_memo_is_not_supported_yet():
    mapped = invoice(
        tree("810", [f"BIG*20261121*CM-1*20261120*{PO}***CR", *LINES, "TDS*21725"]),
        MAPPINGS.get("810-in"),
        context(),
    )
    with pytest.raises(NotSupported, match="credit memo"):
        mapped.commands({PO: held()})


def test_an_invoice_cancelling_another_is_not_supported_yet():
    mapped = invoice(
        tree("810", [f"BIG*20261121*INV-1*20261120*{PO}****01", *LINES, "TDS*21725"]),
        MAPPINGS.get("810-in"),
        context(),
    )
    with pytest.raises(NotSupported, match="BIG08 01"):
        mapped.commands({PO: held()})
