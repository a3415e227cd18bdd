"""Every well-formed purchase order of the shared corpus maps without loss: the test counts PO1
segments, adds up PO102 and reads BEG03 straight from the segments, and compares with what the
mapping made of them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.config import load_mappings
from gateway.domain.values import Role
from gateway.mapping.engine import Mappings
from gateway.mapping.inbound import Context, purchase_order
from gateway.x12.reader import parse_bytes
from gateway.x12.schema import load_catalog
from gateway.x12.tree import build_tree
from tests.integration.test_corpus_conformance import CORPUS, LABEL_CORRECTIONS, ROWS

pytestmark = pytest.mark.skipif(
    not ROWS, reason=f"the shared corpus is not beside this checkout ({CORPUS})"
)
WELL_FORMED_850 = [
    row["saved_name"]
    for row in ROWS
    if row["is_wellformed_guess"] == "yes"
    and row["saved_name"] not in LABEL_CORRECTIONS
    and "850" in row["transaction_sets"]
]
MAPPINGS = Mappings(load_mappings())
CONTEXT = Context("CORPUS", Role.SELLER, dt.datetime(2026, 11, 21, tzinfo=dt.UTC), "corpus")


def test_there_are_purchase_orders_to_map():
    assert len(WELL_FORMED_850) >= 5


@pytest.mark.parametrize("name", WELL_FORMED_850)
def test_purchase_order_maps_without_loss(name):
    documents, report = parse_bytes((CORPUS / name).read_bytes())
    assert report.accepted
    catalog = load_catalog()
    mapped_sets = 0
    for interchange in documents:
        for group in interchange.groups:
            for transaction in group.transactions:
                if transaction.set_id != "850":
                    continue
                po1 = [s for s in transaction.segments if s.id == "PO1"]
                beg = next(s for s in transaction.segments if s.id == "BEG")
                tree = build_tree(transaction, catalog.schema_for("850", group.version))
                order = purchase_order(tree, MAPPINGS.get("850-in"), CONTEXT)
                assert order.po_number == beg.get(3)
                assert len(order.lines) == len(po1)
                assert [line.ordered for line in order.lines] == [Decimal(s.get(2)) for s in po1]
                assert [line.line_number for line in order.lines] == [
                    s.get(1) or str(i) for i, s in enumerate(po1, start=1)
                ]
                mapped_sets += 1
    assert mapped_sets
