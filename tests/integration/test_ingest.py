"""Taking in files on SQLite and PostgreSQL: an 850 becomes an order, its 997 is queued, a replay
is refused, a replacement and a cancellation go through the order rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from gateway.adapters.store import SqlUnitOfWork
from gateway.config import load_mappings
from gateway.mapping.engine import Mappings
from gateway.service.ingest import Ingestor
from gateway.service.ports import OrderQuery
from gateway.x12.reader import read_bytes
from tests.builders import isa

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "samples" / "850" / "850_004010_good.x12"
PARTNER = "079845213"
PO = "HV4500871234"
NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)


def ingestor(engine: Engine) -> Ingestor:
    return Ingestor(lambda: SqlUnitOfWork(engine), Mappings(load_mappings()), clock=lambda: NOW)


def variant(purpose: str, control: str, *, po1_quantity: str = "2") -> bytes:
    """The good sample with another BEG01 and ISA13/IEA02, so it is a new interchange."""
    text = GOOD.read_text(encoding="latin-1")
    text = text.replace("000051001", control).replace("BEG*00*SA*", f"BEG*{purpose}*SA*")
    text = text.replace("PO1*1*2*EA", f"PO1*1*{po1_quantity}*EA")
    if po1_quantity != "2":
        text = text.replace("CTT*4*8~", f"CTT*4*{6 + int(po1_quantity)}~")
    return text.encode("latin-1")


def test_an_850_becomes_an_order_with_its_997_queued(store_engine: Engine):
    result = ingestor(store_engine).ingest(GOOD.read_bytes(), "po.x12")
    assert result.accepted and not result.duplicate
    (outcome,) = result.sets
    assert (outcome.set_id, outcome.po_number, outcome.action) == ("850", PO, "created")
    (ack,) = result.acknowledgements
    assert ack.kind == "997" and ack.control_number == "000000001"
    assert read_bytes(ack.content).accepted
    assert b"AK1*PO*5101~" in ack.content and b"AK9*A*1*1*1~" in ack.content
    with SqlUnitOfWork(store_engine) as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        assert [line.ordered for line in order.lines] == [Decimal(2), 1, 4, 1]
        assert order.lines[0].product_ids["UP"] == "812345100211"
        assert order.lines[0].description.startswith("Two-person backpacking tent")
        assert {p.entity_code for p in order.parties} == {"ST", "BT", "BY", "VN"}
        assert order.requested_delivery_date == dt.date(2026, 11, 12)
        assert order.terms is not None and order.terms.net_days == 30
        documents = uow.documents.for_order(PARTNER, PO)
        assert [d.direction for d in documents] == ["in"] and documents[0].raw == GOOD.read_bytes()
        (queued,) = uow.outbox.pending("x12")
        assert queued["partner"] == PARTNER


def test_the_same_file_twice_is_a_duplicate_not_applied_again(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(GOOD.read_bytes(), "po.x12")
    again = taker.ingest(GOOD.read_bytes(), "po-copy.x12")
    assert "same bytes" in again.duplicate and not again.sets and not again.acknowledgements


def test_a_repeated_interchange_control_number_is_not_applied_again(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(GOOD.read_bytes(), "po.x12")
    resent = GOOD.read_bytes() + b"\n"  # other bytes, same sender and ISA13
    result = taker.ingest(resent, "po-resent.x12")
    assert "was taken in before with the same transaction sets" in result.duplicate
    assert result.sets == [] and not result.accepted
    (answer,) = result.acknowledgements  # a TA1 naming the repeated control number, no 997
    assert answer.kind == "TA1" and b"*R*025~" in answer.content


def test_a_replacement_850_updates_the_order(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(GOOD.read_bytes(), "po.x12")
    result = taker.ingest(variant("05", "000051002", po1_quantity="5"), "po-replace.x12")
    assert [o.action for o in result.sets] == ["replaced"]
    with SqlUnitOfWork(store_engine) as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None and order.lines[0].ordered == Decimal(5)


def test_a_cancelling_850_cancels_the_order(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(GOOD.read_bytes(), "po.x12")
    result = taker.ingest(variant("01", "000051003"), "po-cancel.x12")
    assert [o.action for o in result.sets] == ["cancelled"]
    with SqlUnitOfWork(store_engine) as uow:
        order = uow.orders.get(PARTNER, PO)
        assert order is not None
        assert "cancelled" in {flag.value for flag in order.flags}
        assert all(line.open == 0 for line in order.lines)


def test_an_original_for_an_order_held_is_reported_not_applied(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(GOOD.read_bytes(), "po.x12")
    result = taker.ingest(variant("00", "000051004"), "po-again.x12")
    assert [o.action for o in result.sets] == ["duplicate"]


def test_a_cancellation_for_an_unknown_order_is_refused(store_engine: Engine):
    result = ingestor(store_engine).ingest(variant("01", "000051005"), "po-cancel.x12")
    (outcome,) = result.sets
    assert outcome.action == "refused" and "no such order" in outcome.message


def test_totals_that_disagree_reject_the_set(store_engine: Engine):
    data = GOOD.read_bytes().replace(b"CTT*4*8~", b"CTT*4*9~")
    result = ingestor(store_engine).ingest(data, "po-bad-hash.x12")
    (outcome,) = result.sets
    assert outcome.action == "rejected" and "CTT02 hash total 9" in outcome.message
    with SqlUnitOfWork(store_engine) as uow:
        assert uow.orders.get(PARTNER, PO) is None


def test_a_rejected_file_is_stored_and_acknowledged_but_not_applied(store_engine: Engine):
    bad = ROOT / "samples" / "850" / "850_004010_bad_SE01_count.x12"
    result = ingestor(store_engine).ingest(bad.read_bytes(), bad.name)
    assert not result.accepted and result.sets == []
    (ack,) = result.acknowledgements
    assert b"AK5*R*4~" in ack.content
    with SqlUnitOfWork(store_engine) as uow:
        assert uow.orders.summaries(OrderQuery(scope="all")).total == 0
        assert uow.documents.with_sha256(result.sha256)[0].status == "partly accepted"


def test_sets_of_one_batch_on_one_order_and_a_refused_one_between_them(store_engine: Engine):
    """Sets are applied in batches, new orders written at the end of the batch: a set refused
    after earlier sets of the same batch changed an order not written yet must undo only
    itself, and the earlier changes reach the store."""
    body = "~\n".join(
        [
            isa(control="000000077").rstrip("~"),
            "GS*PO*SENDER*RECEIVER*20261121*1200*77*X*004010",
            *purchase_order_set("0001", "00", "PO-X"),
            *purchase_order_set("0002", "01", "PO-X"),  # cancels the order of set 1
            *purchase_order_set("0003", "01", "PO-X"),  # nothing open to cancel: refused
            *purchase_order_set("0004", "00", "PO-Y"),
            "GE*4*77",
            "IEA*1*000000077",
        ]
    )
    taker = Ingestor(lambda: SqlUnitOfWork(store_engine), Mappings(load_mappings()))
    result = taker.ingest((body + "~\n").encode(), "batch.x12")
    assert [(s.po_number, s.action) for s in result.sets] == [
        ("PO-X", "created"),
        ("PO-X", "cancelled"),
        ("PO-X", "refused"),
        ("PO-Y", "created"),
    ], [s.message for s in result.sets]
    with SqlUnitOfWork(store_engine) as uow:
        cancelled = uow.orders.get("SENDER", "PO-X")
        assert cancelled is not None and len(cancelled.cancellations) == 1
        assert "cancelled" in {flag.value for flag in cancelled.flags}
        assert cancelled.history == []  # the history is the store's, not the state's
        history = [entry["name"] for entry in uow.orders.history("SENDER", "PO-X")]
        assert history[0] == "OrderReceived" and history.count("OrderCancelled") == 1
        assert uow.orders.get("SENDER", "PO-Y") is not None
        (document_id,) = result.document_ids
        assert [r.action for r in uow.documents.sets(document_id)] == [
            "created",
            "cancelled",
            "refused",
            "created",
        ]


def purchase_order_set(control: str, purpose: str, po_number: str) -> list[str]:
    segments = [
        f"ST*850*{control}",
        f"BEG*{purpose}*SA*{po_number}**20261121",
        "PO1*1*2*EA*10.00**UP*000000000011",
        "CTT*1*2",
    ]
    return [*segments, f"SE*{len(segments) + 1}*{control}"]


def test_a_repeated_control_number_whose_first_bytes_cannot_be_read_is_left_to_a_person(
    store_engine: Engine, tmp_path: Path
):
    """The earlier interchange is kept in an archive this ingestor cannot read: its content is
    unknown, so the repeat is not taken for a harmless resend but held as a reused number."""
    taker = ingestor(store_engine)
    archived = tmp_path / "archived.x12"
    archived.write_bytes(GOOD.read_bytes())
    first = taker.ingest_chunks(
        lambda: iter([archived.read_bytes()]),
        "po.x12",
        sha256="0" * 64,
        size=archived.stat().st_size,
        raw_path=str(archived),
    )
    assert first.accepted
    again = taker.ingest(GOOD.read_bytes() + b"\n", "po-resent.x12")
    assert again.reused and not again.duplicate
