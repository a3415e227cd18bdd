"""A seller's 856 whose HL hierarchy is nested a thousand levels deep, taken in for real on
SQLite and PostgreSQL: the set is rejected as the partner's fault with the limit it passed,
the file is finished (nothing raised, nothing left half taken in) and the seller's next file
goes through."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.integration.test_ingest_order_documents import (
    PO,
    SELLER,
    held,
    ingestor,
    place,
    sample,
)
from tests.unit.mapping.x12text import interchange


def nested_notice(depth: int, control: str) -> bytes:
    """An 856 from the seller for our order: a shipment, the order, packs each inside the one
    before and one item at the bottom, `depth` HL levels in one chain."""
    body = [
        "BSN*00*SH-DEEP*20261121*1200*0001",
        "HL*1**S~TD5*B*2*UPSN",
        f"HL*2*1*O~PRF*{PO}",
        *(f"HL*{n}*{n - 1}*P" for n in range(3, depth)),
        f"HL*{depth}*{depth - 1}*I~LIN*1*UP*812345100211~SN1**2*EA",
    ]
    data = interchange("856", body, control=control)
    return data.replace(b"SENDER         ", SELLER.ljust(15).encode())


def test_an_856_a_thousand_levels_deep_is_rejected_and_the_next_file_goes_through(
    store_engine: Engine,
):
    place(store_engine)
    taker = ingestor(store_engine)
    taken = taker.ingest(nested_notice(1000, "41"), "deep.x12")
    (rejected,) = taken.sets
    assert rejected.action == "rejected"
    assert "HL 51" in rejected.message and "deeper than 50 levels" in rejected.message
    assert not held(store_engine).fulfilments
    (applied,) = taker.ingest(sample("856_004010_good.x12"), "asn.x12").sets
    assert (applied.po_number, applied.action) == (PO, "fulfilled")
    assert len(held(store_engine).fulfilments) == 1
