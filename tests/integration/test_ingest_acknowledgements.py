"""Acknowledgements received, on SQLite and PostgreSQL: a 997 or 999 marks the outbound
documents holding the group it answers acknowledged or rejected, a TA1 the interchange it
answers; an acknowledgement of something never sent is refused."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import Engine

from gateway.adapters.store import SqlUnitOfWork
from gateway.config import load_mappings
from gateway.mapping.engine import Mappings
from gateway.service.documents import acknowledgements
from gateway.service.ingest import Ingestor
from gateway.service.ports import StoredDocument
from tests.builders import isa

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)


def ingestor(engine: Engine) -> Ingestor:
    return Ingestor(lambda: SqlUnitOfWork(engine), Mappings(load_mappings()), clock=lambda: NOW)


def sent(
    engine: Engine,
    partner: str,
    sets: tuple[str, ...],
    group: str,
    *,
    interchange: str = "000000001",
    sender: str = "US",
) -> int:
    """An outbound document as the outbox keeps it, queued for `partner`."""
    raw = f"{partner} {sets} {group} {interchange}".encode()
    with SqlUnitOfWork(engine) as uow:
        document_id = uow.documents.add(
            StoredDocument(
                sha256=hashlib.sha256(raw).hexdigest(),
                partner=partner,
                direction="out",
                size=len(raw),
                status="queued",
                raw=raw,
                transaction_sets=sets,
                interchange_control=interchange,
                group_controls=(group,),
                sender_id=sender,
                receiver_id=partner,
            )
        )
        uow.commit()
    return document_id


def status(engine: Engine, document_id: int) -> str:
    with SqlUnitOfWork(engine) as uow:
        document = uow.documents.get(document_id)
        assert document is not None
        return document.status


def ta1(control: str, code: str, note: str = "000", *, sender: str = "PARTNER") -> bytes:
    """A TA1 alone in an interchange from `sender` to us."""
    header = isa(sender=sender, receiver="US", control="000000777")
    return f"{header}\nTA1*{control}*261120*1200*{code}*{note}~\nIEA*0*000000777~\n".encode()


def test_a_997_accepting_our_purchase_order_marks_it_acknowledged(store_engine: Engine):
    ours = sent(store_engine, "CEDARRIDGEOUT", ("850",), "5101")
    other = sent(store_engine, "CEDARRIDGEOUT", ("850",), "5102")
    data = (SAMPLES / "997" / "997_004010_good_accept.x12").read_bytes()
    result = ingestor(store_engine).ingest(data, "997.x12")
    (outcome,) = result.sets
    assert (outcome.set_id, outcome.action) == ("997", "acknowledged")
    assert "group 5101 (PO) acknowledged" in outcome.message
    assert (status(store_engine, ours), status(store_engine, other)) == ("acknowledged", "queued")
    assert result.acknowledgements == [], "a 997 is never acknowledged"


def test_a_997_rejecting_our_acknowledgement_marks_it_rejected(store_engine: Engine):
    ours = sent(store_engine, "079845213", ("855",), "7302")
    data = (SAMPLES / "997" / "997_004010_good_reject.x12").read_bytes()
    (outcome,) = ingestor(store_engine).ingest(data, "997.x12").sets
    assert outcome.action == "acknowledged"
    assert "855 #0001 rejected (5)" in outcome.message
    assert status(store_engine, ours) == "rejected"


def test_a_999_rejecting_our_purchase_order_marks_it_rejected(store_engine: Engine):
    ours = sent(store_engine, "BLUEWATERKW", ("850",), "5108")
    data = (SAMPLES / "999" / "999_005010_good_reject.x12").read_bytes()
    (outcome,) = ingestor(store_engine).ingest(data, "999.x12").sets
    assert (outcome.set_id, outcome.action) == ("999", "acknowledged")
    assert status(store_engine, ours) == "rejected"


def test_a_005010_997_accepting_our_invoice_marks_it_acknowledged(store_engine: Engine):
    ours = sent(store_engine, "079845213", ("810",), "4105")
    data = (SAMPLES / "997" / "997_005010_good.x12").read_bytes()
    ingestor(store_engine).ingest(data, "997.x12")
    assert status(store_engine, ours) == "acknowledged"


def test_a_997_padding_the_group_control_number_with_zeros_still_finds_it(store_engine: Engine):
    ours = sent(store_engine, "CEDARRIDGEOUT", ("850",), "5101")
    data = (SAMPLES / "997" / "997_004010_good_accept.x12").read_bytes()
    ingestor(store_engine).ingest(data.replace(b"AK1*PO*5101~", b"AK1*PO*000005101~"), "997.x12")
    assert status(store_engine, ours) == "acknowledged"


def test_an_acknowledgement_of_a_group_never_sent_is_refused(store_engine: Engine):
    sent(store_engine, "CEDARRIDGEOUT", ("850",), "5100")
    sent(store_engine, "SOMEONEELSE", ("850",), "5101")
    data = (SAMPLES / "997" / "997_004010_good_accept.x12").read_bytes()
    (outcome,) = ingestor(store_engine).ingest(data, "997.x12").sets
    assert outcome.action == "refused" and "never sent to CEDARRIDGEOUT" in outcome.message


def test_a_ta1_rejecting_our_interchange_marks_it_rejected(store_engine: Engine):
    ours = sent(store_engine, "PARTNER", ("850",), "12", interchange="000000123")
    (outcome,) = ingestor(store_engine).ingest(ta1("000000123", "R", "022"), "ta1.x12").sets
    assert (outcome.set_id, outcome.control_number, outcome.action) == (
        "TA1",
        "000000123",
        "acknowledged",
    )
    assert "TA105 022" in outcome.message
    assert status(store_engine, ours) == "rejected"


class Recorded:
    """Alerts as `Alerts.record` receives them, with whether each came inside an open unit of
    work (recorded with what it is about, or not at all)."""

    def __init__(self) -> None:
        self.alerts: list[tuple[str, str, str, bool]] = []

    def record(self, uow, key, kind, title, details, *, partner=""):  # type: ignore[no-untyped-def]
        self.alerts.append((key, kind, title, uow.orders is not None))
        return len(self.alerts)


def test_a_rejection_of_ours_alerts_the_operators_an_acceptance_does_not(store_engine: Engine):
    sink = Recorded()
    taker = Ingestor(
        lambda: SqlUnitOfWork(store_engine),
        Mappings(load_mappings()),
        clock=lambda: NOW,
        alerts=sink,
    )
    accepted = sent(store_engine, "CEDARRIDGEOUT", ("850",), "5101")
    taker.ingest((SAMPLES / "997" / "997_004010_good_accept.x12").read_bytes(), "ok.x12")
    assert sink.alerts == [] and status(store_engine, accepted) == "acknowledged"
    refused = sent(store_engine, "PARTNER", ("850",), "12", interchange="000000123")
    taker.ingest(ta1("000000123", "R", "022"), "ta1.x12")
    assert sink.alerts == [
        (f"rejected:PARTNER:{refused}", "acknowledgement-rejected",
         f"PARTNER rejected our 850 (document {refused})", True),
    ]  # fmt: skip
    taker.ingest(ta1("000000123", "A").replace(b"000000777", b"000000779"), "ta1-again.x12")
    assert len(sink.alerts) == 1  # an acceptance afterwards says nothing


def test_a_ta1_accepting_does_not_undo_what_a_997_said(store_engine: Engine):
    answered = sent(store_engine, "PARTNER", ("850",), "12", interchange="000000123")
    waiting = sent(store_engine, "PARTNER", ("850",), "13", interchange="000000124")
    with SqlUnitOfWork(store_engine) as uow:
        uow.documents.set_status(answered, "rejected")
        uow.commit()
    taker = ingestor(store_engine)
    taker.ingest(ta1("000000123", "A"), "ta1-a.x12")
    taker.ingest(ta1("000000124", "A").replace(b"000000777", b"000000778"), "ta1-b.x12")
    assert (status(store_engine, answered), status(store_engine, waiting)) == (
        "rejected",
        "acknowledged",
    )


def test_a_ta1_answering_the_997_we_sent_marks_it(store_engine: Engine):
    taker = ingestor(store_engine)
    purchase_order = (SAMPLES / "850" / "850_004010_good.x12").read_bytes()
    (our_997,) = taker.ingest(purchase_order, "po.x12").acknowledgements
    answer = ta1(our_997.control_number, "A", sender="079845213").replace(
        b"ZZ*US             ", b"ZZ*CEDARRIDGEOUT  "
    )
    (outcome,) = taker.ingest(answer, "ta1.x12").sets
    assert outcome.action == "acknowledged"
    with SqlUnitOfWork(store_engine) as uow:
        (queued,) = uow.outbox.pending("x12")
        document_id = queued["document_id"]
    assert isinstance(document_id, int) and status(store_engine, document_id) == "acknowledged"


def test_a_ta1_for_an_interchange_never_sent_is_refused(store_engine: Engine):
    (outcome,) = ingestor(store_engine).ingest(ta1("000000999", "A"), "ta1.x12").sets
    assert outcome.action == "refused" and "never sent to PARTNER" in outcome.message


def test_a_document_page_finds_the_acknowledgements_answering_the_document(
    store_engine: Engine,
):
    ours = sent(store_engine, "CEDARRIDGEOUT", ("850",), "5101")
    other = sent(store_engine, "CEDARRIDGEOUT", ("850",), "5102")
    ingestor(store_engine).ingest(
        (SAMPLES / "997" / "997_004010_good_accept.x12").read_bytes(), "997.x12"
    )
    received = ingestor(store_engine).ingest(
        (SAMPLES / "850" / "850_004010_good.x12").read_bytes(), "850.x12"
    )
    with SqlUnitOfWork(store_engine) as uow:

        def answers(document_id: int) -> list[tuple[str, str, str, str]]:
            document = uow.documents.get(document_id)
            assert document is not None
            found = acknowledgements(uow, document)
            return [(a["direction"], a["kind"], a["code"], a["verdict"]) for a in found]

        # the partner's 997 accepting the group we sent, and none for a group it does not name
        assert answers(ours) == [("in", "997", "A", "accepted")]
        assert answers(other) == []
        # the 997 we sent for the purchase order received; the 997 itself is not answered
        (purchase_order,) = received.document_ids
        assert answers(purchase_order) == [("out", "997", "A", "accepted")]
        (their_997,) = [
            d.id for d in uow.documents.listing(direction="in", set_id="997") if d.id is not None
        ]
        assert answers(their_997) == []
