"""The 855s, 856s, 860s and 810s of the shared corpus map without loss and apply: the test reads
BAK03/BSN02/BCH03/BIG02, counts PO1, ACK, HL items, SN102 quantities, POC and IT1 straight from
the segments and compares them with what the assemblers made of them; then it builds the order
each document is about, from the document itself, and applies the commands to it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.config import load_mappings
from gateway.domain import commands
from gateway.domain.model import Order
from gateway.domain.values import PurchaseOrderLine, Role
from gateway.errors import RuleViolation
from gateway.mapping.engine import Mappings
from gateway.mapping.inbound import (
    Context,
    MappingError,
    OrderAcknowledgement,
    OrderChange,
    ReceivedInvoice,
    ShipNotice,
    invoice,
    order_acknowledgement,
    order_change,
    ship_notice,
)
from gateway.service.shipping import with_carrier_resolved
from gateway.x12.document import Segment, TransactionSet
from gateway.x12.reader import parse_bytes
from gateway.x12.schema import load_catalog
from gateway.x12.tree import build_tree
from tests.integration.test_corpus_conformance import CORPUS, LABEL_CORRECTIONS, ROWS

pytestmark = pytest.mark.skipif(
    not ROWS, reason=f"the shared corpus is not beside this checkout ({CORPUS})"
)
ASSEMBLERS = {
    "855": ("855-in", Role.BUYER, order_acknowledgement),
    "856": ("856-in", Role.BUYER, ship_notice),
    "860": ("860-in", Role.SELLER, order_change),
    "810": ("810-in", Role.BUYER, invoice),
}
WELL_FORMED = [
    row["saved_name"]
    for row in ROWS
    if row["is_wellformed_guess"] == "yes"
    and row["saved_name"] not in LABEL_CORRECTIONS
    and any(set_id in row["transaction_sets"] for set_id in ASSEMBLERS)
]
# What the corpus files themselves get wrong, found by the assemblers or the order rules.
FAULTS = {
    ("xlate__staedi__src__test__resources__x12__simple810.edi", "A99999-04"): (
        MappingError,
        "TDS01 total 2554.38 is not the invoice lines' total 1851.00",
    ),
    ("Silvenga__vscode-edi-x12-support__docs__old.edi", "6218"): (
        RuleViolation,
        "'0354023220190916' is not an SSCC-18",
    ),
    # TD503 and TD505 name no carrier: the placeholder XXXX
    ("aaronhuggins__node-x12__test__test-data__856.edi", "99999817"): (
        RuleViolation,
        "unknown carrier 'XXXX'",
    ),
    ("apimeister__x12-types__test-data__004060_856.edi", "99999817"): (
        RuleViolation,
        "unknown carrier 'XXXX'",
    ),
}
CARRIER_ALIASES = {"UPS NxtDay Air Svr": "UPSN"}
"""The carriers the corpus names by a service in TD503, as a partner's `[carriers]` maps them."""
ORDERED = dt.date(2001, 1, 1)
"""The date of the orders held: before every corpus document, whose ship dates are then
plausible (not before the order)."""
MAPPINGS = Mappings(load_mappings())
CATALOG = load_catalog()
NOW = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)


def test_there_are_documents_of_every_kind_to_map():
    sets = " ".join(row["transaction_sets"] for row in ROWS if row["saved_name"] in WELL_FORMED)
    assert all(set_id in sets for set_id in ASSEMBLERS) and len(WELL_FORMED) >= 8


def segments(transaction: TransactionSet, segment_id: str) -> list[Segment]:
    return [s for s in transaction.segments if s.id == segment_id]


def held(po_number: str, role: Role, lines: list[PurchaseOrderLine]) -> Order:
    order = Order.receive(
        commands.ReceiveOrder(
            partner="CORPUS",
            po_number=po_number,
            at=NOW,
            our_role=role,
            order_date=ORDERED,
            lines=tuple(lines) or (PurchaseOrderLine("1", Decimal(1)),),
        )
    )
    order.events.clear()
    return order


def checked(mapped, transaction: TransactionSet) -> list[PurchaseOrderLine]:
    """Compare the mapped set with its segments; the order lines it is about."""
    if isinstance(mapped, OrderAcknowledgement):
        po1 = segments(transaction, "PO1")
        assert mapped.po_number == segments(transaction, "BAK")[0].get(3)
        assert len(mapped.lines) == len(po1)
        acks = sum(len(line.statuses) for line in mapped.lines)
        assert acks == len(segments(transaction, "ACK"))
        return [
            PurchaseOrderLine(
                line.line_number, Decimal(s.get(2) or 1), product_ids=line.product_ids
            )
            for line, s in zip(mapped.lines, po1, strict=True)
        ]
    if isinstance(mapped, ShipNotice):
        items = [s for s in transaction.segments if s.id == "HL" and s.get(3) == "I"]
        shipped = segments(transaction, "SN1")
        assert mapped.shipment_id == segments(transaction, "BSN")[0].get(2)
        assert mapped.po_numbers == tuple(
            dict.fromkeys(s.get(1) for s in segments(transaction, "PRF"))
        )
        found = [item for order in mapped.orders for item in order.items]
        assert len(found) == len(items)
        assert sum(i.quantity for i in found) == sum(Decimal(s.get(2)) for s in shipped)
        return [
            PurchaseOrderLine(
                item.line_number or str(n), item.quantity, product_ids=item.product_ids
            )
            for n, item in enumerate(found, start=1)
        ]
    if isinstance(mapped, OrderChange):
        assert mapped.po_number == segments(transaction, "BCH")[0].get(3)
        assert len(mapped.changes) == len(segments(transaction, "POC"))
        return []
    assert isinstance(mapped, ReceivedInvoice)
    assert mapped.invoice_number == segments(transaction, "BIG")[0].get(2)
    assert mapped.total == Decimal(segments(transaction, "TDS")[0].get(1)).scaleb(-2)
    assert len(mapped.lines) == len(segments(transaction, "IT1"))
    return [
        PurchaseOrderLine(line.line_number or str(n), line.quantity, product_ids=line.product_ids)
        for n, line in enumerate(mapped.lines, start=1)
    ]


@pytest.mark.parametrize("name", WELL_FORMED)
def test_order_documents_map_without_loss_and_apply(name):
    documents, report = parse_bytes((CORPUS / name).read_bytes())
    assert report.accepted
    handled = 0
    for interchange in documents:
        for group in interchange.groups:
            for transaction in group.transactions:
                if transaction.set_id not in ASSEMBLERS:
                    continue
                mapping_name, role, assemble = ASSEMBLERS[transaction.set_id]
                tree = build_tree(
                    transaction, CATALOG.schema_for(transaction.set_id, group.version)
                )
                context = Context("CORPUS", role, NOW, name)
                fault = FAULTS.get((name, _po(transaction)))
                try:
                    mapped = assemble(tree, MAPPINGS.get(mapping_name), context)
                    lines = checked(mapped, transaction)
                    orders = {po: held(po, role, lines) for po in mapped.po_numbers}
                    for command in mapped.commands(orders):  # as ingest applies them
                        resolved = with_carrier_resolved(command, CARRIER_ALIASES)
                        orders[command.po_number].handle(resolved)
                except (MappingError, RuleViolation) as exc:
                    assert fault is not None, f"{transaction.set_id} {_po(transaction)}: {exc}"
                    assert isinstance(exc, fault[0]) and fault[1] in str(exc)
                else:
                    assert fault is None, f"expected {fault[1]}"
                handled += 1
    assert handled


def _po(transaction: TransactionSet) -> str:
    for segment_id, position in (("BAK", 3), ("BCH", 3), ("BIG", 4), ("PRF", 1)):
        found = segments(transaction, segment_id)
        if found:
            return found[0].get(position)
    return ""
