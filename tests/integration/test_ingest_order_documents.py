"""Taking in what the other side sends about an order held, on SQLite and PostgreSQL: the 855,
856 and 810 a seller sends about an order we placed, the 860 a buyer sends about one we
received. Each set's commands commit together or not at all; a refused set changes nothing
(a late fulfilment is kept on the order, as the message bus keeps it)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from gateway.adapters.store import SqlUnitOfWork
from gateway.config import FolderTransport, Identity, PartnerProfile, load_mappings
from gateway.domain import commands
from gateway.domain.model import Order
from gateway.domain.values import LineQuantity, PurchaseOrderLine, Role, Side
from gateway.mapping.engine import Mappings
from gateway.service.ingest import Ingestor
from gateway.service.messagebus import MessageBus
from gateway.x12.reader import read_bytes
from tests.unit.mapping.x12text import interchange

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SELLER = "CEDARRIDGEOUT"  # sends the 855, 856 and 810 samples to us, the buyer
BUYER = "079845213"  # sends the 850 and 860 samples to us, the seller
PO = "HV4500871234"
NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)
PLACED = (  # the order as we placed it, line 5 added by our own change order
    ("1", 2, "812345100211", "CR-TNT2P-GRN"),
    ("2", 1, "812345100440", "CR-SLB20-NVY"),
    ("3", 4, "812345101072", "CR-HLMP300-BLK"),
    ("4", 1, "812345101522", "CR-TRKP-CF"),
    ("5", 2, "812345102130", "CR-STV-CMP"),
)


def ingestor(engine: Engine) -> Ingestor:
    return Ingestor(lambda: SqlUnitOfWork(engine), Mappings(load_mappings()), clock=lambda: NOW)


def sample(name: str) -> bytes:
    return (SAMPLES / name[:3] / name).read_bytes()


def resent(data: bytes, old: str, new: str) -> bytes:
    """The same interchange under another control number (ISA13 and IEA02)."""
    return data.replace(old.encode(), new.encode())


def place(engine: Engine, lines=PLACED, *, partner: str = SELLER, po: str = PO) -> None:
    """An order we placed as buyer, held in the store."""
    MessageBus(lambda: SqlUnitOfWork(engine)).handle(
        commands.ReceiveOrder(
            partner=partner,
            po_number=po,
            at=NOW,
            our_role=Role.BUYER,
            order_date=dt.date(2026, 11, 3),
            lines=tuple(
                PurchaseOrderLine(
                    number,
                    Decimal(quantity),
                    unit_price=Decimal("10"),
                    product_ids=(("UP", upc), ("VP", vendor)),
                )
                for number, quantity, upc, vendor in lines
            ),
        )
    )


def held(engine: Engine, partner: str = SELLER, po: str = PO) -> Order:
    with SqlUnitOfWork(engine) as uow:
        order = uow.orders.get(partner, po)
        assert order is not None
        return order


def history(engine: Engine, partner: str = SELLER, po: str = PO) -> list[str]:
    with SqlUnitOfWork(engine) as uow:
        return [str(event["name"]) for event in uow.orders.history(partner, po)]


def last_event(
    engine: Engine, partner: str = SELLER, po: str = PO, back: int = 1
) -> tuple[str, dict[str, Any]]:
    """The name and data of the last event the store keeps of the order (or the one `back`
    events from the end)."""
    with SqlUnitOfWork(engine) as uow:
        entry = uow.orders.history(partner, po)[-back]
    assert isinstance(entry["payload"], dict)
    return str(entry["name"]), entry["payload"]


# 855 -----------------------------------------------------------------------------------------


def test_an_855_confirms_our_order_and_cancels_what_the_seller_rejected(store_engine: Engine):
    place(store_engine)
    result = ingestor(store_engine).ingest(sample("855_004010_good.x12"), "ack.x12")
    (outcome,) = result.sets
    assert (outcome.set_id, outcome.po_number, outcome.action) == ("855", PO, "confirmed")
    assert "line 3 quantity changed to 3 (IQ); line 4 backordered 1 (IB)" in outcome.message
    order = held(store_engine)
    assert "confirmed" in {flag.value for flag in order.flags}
    (cancellation,) = order.cancellations
    assert cancellation.requested_by is Side.SELLER
    assert [(q.line_number, q.quantity) for q in cancellation.lines] == [("2", 1), ("3", 1)]
    assert [line.open for line in order.lines] == [2, 0, 3, 1, 2]
    with SqlUnitOfWork(store_engine) as uow:
        assert [d.direction for d in uow.documents.for_order(SELLER, PO)] == ["in"]


def test_an_855_sent_again_in_another_interchange_is_refused_and_only_kept_in_the_history(
    store_engine: Engine,
):
    place(store_engine)
    taker = ingestor(store_engine)
    taker.ingest(sample("855_004010_good.x12"), "ack.x12")
    version = held(store_engine).version
    again = taker.ingest(
        resent(sample("855_004010_good.x12"), "000730201", "000730299"), "ack-again.x12"
    )
    (outcome,) = again.sets
    assert outcome.action == "refused" and "record-id-unique" in outcome.message
    order = held(store_engine)
    assert order.version == version + 1 and len(order.confirmations) == 1
    name, refused = last_event(store_engine)
    assert (name, refused["rule"]) == ("DocumentRefused", "record-id-unique")
    assert refused["what"] == "acknowledgement (855)"
    with SqlUnitOfWork(store_engine) as uow:  # no answer goes back for an 855
        assert [d.direction for d in uow.documents.for_order(SELLER, PO)] == ["in", "in"]


def test_an_855_rejecting_the_order_cancels_it_for_the_seller(store_engine: Engine):
    place(store_engine)
    data = sample("855_004010_good.x12").replace(b"BAK*00*AC*", b"BAK*00*RJ*")
    (outcome,) = ingestor(store_engine).ingest(data, "reject.x12").sets
    assert outcome.action == "cancelled"
    order = held(store_engine)
    assert {"cancelled"} <= {flag.value for flag in order.flags}
    assert not order.confirmations and order.cancellations[0].requested_by is Side.SELLER


def test_an_855_for_an_order_not_held_is_refused(store_engine: Engine):
    (outcome,) = ingestor(store_engine).ingest(sample("855_005010_good.x12"), "ack.x12").sets
    assert outcome.action == "refused" and "no such order" in outcome.message


def test_an_855_for_an_order_we_received_is_refused(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(sample("850_004010_good.x12"), "po.x12")  # we are its seller
    sender_and_receiver = b"*ZZ*CEDARRIDGEOUT  *01*079845213      *"
    swapped = b"*01*079845213      *ZZ*CEDARRIDGEOUT  *"
    data = sample("855_004010_good.x12").replace(sender_and_receiver, swapped)
    (outcome,) = taker.ingest(data, "ack.x12").sets
    assert outcome.action == "refused" and "set-direction-follows-role" in outcome.message
    assert not held(store_engine, BUYER).confirmations


# 856 -----------------------------------------------------------------------------------------


def test_an_856_fulfils_our_order_with_its_packs_carrier_and_tracking(store_engine: Engine):
    place(store_engine)
    (outcome,) = ingestor(store_engine).ingest(sample("856_004010_good.x12"), "asn.x12").sets
    assert (outcome.po_number, outcome.action) == (PO, "fulfilled")
    order = held(store_engine)
    (shipment,) = order.fulfilments
    assert shipment.id == "CRS-SH-0045127" and shipment.passed_on  # from the seller: at once
    assert shipment.carrier == "UPSN"  # TD503, its SCAC
    assert shipment.tracking_numbers == ("1Z8E47W10391284758",)
    assert shipment.tracking_url == "https://www.ups.com/track?tracknum=1Z8E47W10391284758"
    assert shipment.ship_date == dt.date(2026, 11, 6)
    assert [(q.line_number, q.quantity) for q in shipment.lines] == [("1", 2), ("3", 3), ("5", 2)]
    assert [pack.sscc for pack in shipment.packs] == ["008123450000451276", "008123450000451283"]
    assert order.fulfilment_status.value == "partially fulfilled"


def test_a_carrier_named_the_sellers_way_is_recorded_by_its_scac_through_their_aliases(
    store_engine: Engine, tmp_path: Path
):
    place(store_engine)
    named = sample("856_004010_good.x12").replace(
        b"TD5*B*2*UPSN*U*UPS GROUND", b"TD5*B***U*BIG BROWN GROUND"
    )  # no SCAC: only the routing, as this seller's system writes it
    (refused,) = ingestor(store_engine).ingest(named, "asn.x12").sets
    assert refused.action == "refused" and "carrier-must-be-known" in refused.message
    assert "known carriers are" in refused.message
    profile = PartnerProfile(
        key=SELLER,
        name="Cedar Ridge",
        role="seller",
        identity=Identity("ZZ", SELLER, SELLER),
        us=Identity("01", BUYER, BUYER),
        transport=FolderTransport(tmp_path / "in", tmp_path / "out", 0),
        carriers=(("Big Brown Ground", "UPSN"),),
    )
    taker = Ingestor(
        lambda: SqlUnitOfWork(store_engine),
        Mappings(load_mappings()),
        clock=lambda: NOW,
        partners=(profile,),
    )
    (outcome,) = taker.ingest(resent(named, "000730203", "000730299"), "asn-again.x12").sets
    assert outcome.action == "fulfilled", outcome.message
    (shipment,) = held(store_engine).fulfilments
    assert shipment.carrier == "UPSN"


def test_the_seller_documents_in_order_leave_the_order_shipped_and_invoiced(store_engine: Engine):
    place(store_engine)
    taker = ingestor(store_engine)
    names = ["855_004010_good.x12", "856_004010_good.x12", "810_004010_good.x12"]
    actions = [taker.ingest(sample(name), name).sets[0].action for name in names]
    assert actions == ["confirmed", "fulfilled", "invoiced"]
    order = held(store_engine)
    assert [line.open for line in order.lines] == [0, 0, 0, 1, 0]  # line 4 is backordered
    assert order.payment_status.value == "pending"  # invoiced, nothing paid nor accepted
    with SqlUnitOfWork(store_engine) as uow:
        assert len(uow.documents.for_order(SELLER, PO)) == 3


def test_a_late_856_is_refused_and_kept_on_the_shipped_order(store_engine: Engine):
    place(store_engine, [line for line in PLACED if line[0] in ("1", "3", "5")])
    taker = ingestor(store_engine)
    data = sample("856_004010_good.x12").replace(b"SN1**3*EA", b"SN1**4*EA")
    assert taker.ingest(data, "asn.x12").sets[0].action == "fulfilled"
    assert "shipped" in {flag.value for flag in held(store_engine).flags}
    late = resent(data, "000730203", "000730204").replace(b"CRS-SH-0045127", b"CRS-SH-0045128")
    (outcome,) = taker.ingest(late, "asn-late.x12").sets
    assert outcome.action == "refused" and "no-change-after-shipped" in outcome.message
    order = held(store_engine)
    assert [f.id for f in order.fulfilments] == ["CRS-SH-0045127"]
    assert history(store_engine)[-1] == "FulfilmentRefused"
    with SqlUnitOfWork(store_engine) as uow:
        assert len(uow.documents.for_order(SELLER, PO)) == 2


def test_an_856_for_two_orders_is_applied_to_both_or_to_neither(store_engine: Engine):
    place(store_engine, PLACED[:1], po="PO-A")
    place(store_engine, PLACED[:1], po="PO-B")
    taker = ingestor(store_engine)

    def notice(shipment: str, control: str, second_quantity: int) -> bytes:
        body = [
            f"BSN*00*{shipment}*20261121*1200*0001",
            "HL*1**S~TD5*B*2*UPSN~REF*CN*1Z5R89390357567127~DTM*011*20261121",
            "HL*2*1*O~PRF*PO-A~HL*3*2*I~LIN*1*UP*812345100211~SN1**2*EA",
            f"HL*4*1*O~PRF*PO-B~HL*5*4*I~LIN*1*UP*812345100211~SN1**{second_quantity}*EA",
        ]
        data = interchange("856", body, control=control)
        return data.replace(b"SENDER         ", SELLER.ljust(15).encode())

    (refused,) = taker.ingest(notice("SH-9", "7", 3), "too-much.x12").sets
    assert refused.action == "refused" and "fulfilment-takes-only-open-quantity" in refused.message
    assert refused.po_number == "PO-A,PO-B"
    assert not held(store_engine, po="PO-A").fulfilments
    (applied,) = taker.ingest(notice("SH-10", "8", 2), "right.x12").sets
    assert applied.action == "fulfilled"
    assert [len(held(store_engine, po=po).fulfilments) for po in ("PO-A", "PO-B")] == [1, 1]


# 860 -----------------------------------------------------------------------------------------


def test_an_860_cancelling_an_order_we_received_cancels_it_for_the_buyer(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(sample("850_004010_three_sets.x12"), "three.x12")
    (outcome,) = taker.ingest(sample("860_004010_good_cancel.x12"), "cancel.x12").sets
    assert (outcome.po_number, outcome.action) == ("HV4500871264", "cancelled")
    order = held(store_engine, BUYER, "HV4500871264")
    assert "cancelled" in {flag.value for flag in order.flags}
    assert order.cancellations[0].requested_by is Side.BUYER


def test_an_860_deleting_decreasing_and_adding_lines_applies_whole(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(sample("850_004010_good.x12"), "po.x12")
    (outcome,) = taker.ingest(sample("860_004010_good_change.x12"), "change.x12").sets
    assert outcome.action == "changed", outcome.message
    order = held(store_engine, BUYER)
    assert [(line.line_number, line.open) for line in order.lines] == [
        ("1", 2),
        ("2", 0),
        ("3", 3),
        ("4", 1),
        ("5", 2),
    ]
    assert order.line("5").product_ids["VP"] == "CR-STV-CMP"
    assert order.cancellations[0].requested_by is Side.BUYER
    assert history(store_engine, BUYER)[-2:] == ["LinesCancelled", "LinesChanged"]
    again = taker.ingest(sample("860_004010_good_change.x12") + b"\n", "change-again.x12")
    assert "taken in before with the same transaction sets" in again.duplicate and not again.sets


def test_an_860_moving_the_requested_ship_date_moves_the_orders(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(sample("850_004010_good.x12"), "po.x12")
    data = sample("860_004010_good_change.x12").replace(b"DTM*010*20261106", b"DTM*010*20261113")
    (outcome,) = taker.ingest(data, "change.x12").sets
    assert outcome.action == "changed", outcome.message
    assert "requested ship date 2026-11-13" in outcome.message
    order = held(store_engine, BUYER)
    assert order.requested_ship_date == dt.date(2026, 11, 13)
    assert order.requested_delivery_date == dt.date(2026, 11, 12)  # not in the 860: kept
    assert history(store_engine, BUYER)[-3:] == ["DatesChanged", "LinesCancelled", "LinesChanged"]


def test_an_860_rescheduling_a_line_is_refused_whole(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(sample("850_004010_good.x12"), "po.x12")
    data = sample("860_004010_good_change.x12").replace(b"POC*5*AI", b"POC*5*RS")
    (outcome,) = taker.ingest(data, "change.x12").sets
    assert outcome.action == "refused"
    assert "RS (reschedule) on line 5" in outcome.message and "not-supported-yet" in outcome.message
    assert not held(store_engine, BUYER).cancellations


def ship_line_2(engine: Engine) -> None:
    """Line 2 of the order we received shipped: a change deleting it comes too late."""
    MessageBus(lambda: SqlUnitOfWork(engine)).handle(
        commands.CreateFulfilment(
            partner=BUYER,
            po_number=PO,
            at=NOW,
            fulfilment_id="F1",
            lines=(LineQuantity("2", Decimal(1)),),
            carrier="UPSN",
            tracking_numbers=("1Z999AA10123456784",),
        )
    )


def outbound(engine: Engine, partner: str = BUYER, po: str = PO) -> list[bytes]:
    with SqlUnitOfWork(engine) as uow:
        return [d.raw or b"" for d in uow.documents.for_order(partner, po) if d.direction == "out"]


def test_an_860_the_rules_refuse_is_kept_on_the_order_and_refused_by_an_865(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(sample("850_004010_good.x12"), "po.x12")
    ship_line_2(store_engine)
    (outcome,) = taker.ingest(sample("860_004010_good_change.x12"), "change.x12").sets
    assert outcome.action == "refused"
    assert "fulfilled-quantity-cannot-be-cancelled" in outcome.message
    assert "865 refusing it queued" in outcome.message
    order = held(store_engine, BUYER)
    assert not order.cancellations and order.line("5") is None  # nothing of it applied
    name, refused = last_event(store_engine, BUYER, back=2)
    assert (name, refused["what"]) == ("DocumentRefused", "change order (860)")
    with SqlUnitOfWork(store_engine) as uow:
        (sent,) = [d for d in uow.documents.for_order(BUYER, PO) if d.direction == "out"]
    name, tracked = last_event(store_engine, BUYER)  # the order follows the 865 queued
    assert (name, tracked["kind"], tracked["document"]) == (
        "DocumentTracked",
        "865",
        f"document {sent.id}",
    )
    (answer,) = outbound(store_engine)
    report = read_bytes(answer)
    assert report.accepted, report.first_issue()
    segments = [segment.strip() for segment in answer.decode().split("~")]
    assert "BCA*06*RD*HV4500871234**1*20261103****20261121" in segments
    assert any(s.startswith("MSG*line 2 - cannot cancel") for s in segments)
    assert [s for s in segments if s.startswith("ACK")] == ["ACK*IR", "ACK*IR*3*EA", "ACK*IR*2*EA"]
    with SqlUnitOfWork(store_engine) as uow:  # queued beside the 997s of the two files
        kinds = [entry["payload"]["kind"] for entry in uow.outbox.pending()]  # type: ignore[index]
        assert sorted(kinds) == ["865", "997", "997"]


def test_an_860_taken_is_answered_only_when_the_partner_asks_for_every_answer(
    store_engine: Engine,
):
    taker = ingestor(store_engine)
    taker.ingest(sample("850_004010_good.x12"), "po.x12")
    (outcome,) = taker.ingest(sample("860_004010_good_change.x12"), "change.x12").sets
    assert outcome.action == "changed" and "865" not in outcome.message
    assert outbound(store_engine) == []
    always = Mappings(load_mappings(), {BUYER: {"865-out": {"settings": {"answer": "always"}}}})
    other = Ingestor(lambda: SqlUnitOfWork(store_engine), always, clock=lambda: NOW)
    other.ingest(sample("850_005010_good.x12"), "po-5010.x12")
    (outcome,) = other.ingest(sample("860_005010_good_change.x12"), "change-5010.x12").sets
    assert outcome.action == "changed" and "865 accepting it queued" in outcome.message
    (answer,) = outbound(store_engine, po="HV4500871288")
    assert b"BCA*06*AT*HV4500871288" in answer and read_bytes(answer).accepted


def test_a_partner_that_takes_no_865_hears_of_a_refusal_otherwise(store_engine: Engine):
    never = Mappings(load_mappings(), {BUYER: {"865-out": {"settings": {"answer": "never"}}}})
    taker = Ingestor(lambda: SqlUnitOfWork(store_engine), never, clock=lambda: NOW)
    taker.ingest(sample("850_004010_good.x12"), "po.x12")
    ship_line_2(store_engine)
    (outcome,) = taker.ingest(sample("860_004010_good_change.x12"), "change.x12").sets
    assert outcome.action == "refused" and "865" not in outcome.message
    assert history(store_engine, BUYER)[-1] == "DocumentRefused"
    assert outbound(store_engine) == []


def test_an_860_for_an_order_not_held_is_refused_without_an_answer(store_engine: Engine):
    (outcome,) = ingestor(store_engine).ingest(sample("860_004010_good_change.x12"), "c.x12").sets
    assert outcome.action == "refused" and "order-exists" in outcome.message
    with SqlUnitOfWork(store_engine) as uow:  # only the 997 of the file
        kinds = [entry["payload"]["kind"] for entry in uow.outbox.pending()]  # type: ignore[index]
        assert kinds == ["997"]


def test_an_860_deleting_and_decreasing_lines_cancels_them_for_the_buyer(store_engine: Engine):
    taker = ingestor(store_engine)
    taker.ingest(sample("850_005010_good.x12"), "po.x12")
    text = sample("860_005010_good_change.x12").decode("latin-1")
    start = text.index("POC*5*AI")
    end = text.index("CTT*", start)
    text = text[:start] + text[end:]
    data = text.replace("SE*15*0001", "SE*13*0001").replace("CTT*3*3", "CTT*2*2").encode()
    (outcome,) = taker.ingest(data, "change.x12").sets
    assert (outcome.po_number, outcome.action) == ("HV4500871288", "changed")
    order = held(store_engine, BUYER, "HV4500871288")
    (cancellation,) = order.cancellations
    assert cancellation.requested_by is Side.BUYER
    assert [(q.line_number, q.quantity) for q in cancellation.lines] == [("3", 1), ("4", 1)]
    assert [line.open for line in order.lines] == [1, 2, 0, 2]


# 810 -----------------------------------------------------------------------------------------


def test_an_810_records_the_sellers_invoice(store_engine: Engine):
    place(store_engine)
    (outcome,) = ingestor(store_engine).ingest(sample("810_004010_good.x12"), "inv.x12").sets
    assert (outcome.po_number, outcome.action) == (PO, "invoiced")
    (recorded,) = held(store_engine).invoices
    assert (recorded.number, recorded.amount) == ("CRI2026-04418", Decimal("259.25"))
    assert [(q.line_number, q.quantity) for q in recorded.lines] == [("1", 2), ("3", 3), ("5", 2)]


def test_an_810_whose_total_is_not_its_lines_total_is_rejected(store_engine: Engine):
    place(store_engine)
    data = sample("810_004010_good.x12").replace(b"TDS*25925", b"TDS*25927")
    (outcome,) = ingestor(store_engine).ingest(data, "inv.x12").sets
    assert outcome.action == "rejected" and "TDS01 total 259.27" in outcome.message
    assert not held(store_engine).invoices


def test_the_same_810_sent_again_is_refused(store_engine: Engine):
    place(store_engine)
    taker = ingestor(store_engine)
    taker.ingest(sample("810_004010_good.x12"), "inv.x12")
    again = resent(sample("810_004010_good.x12"), "000730205", "000730295")
    (outcome,) = taker.ingest(again, "inv-again.x12").sets
    assert outcome.action == "refused" and "record-id-unique" in outcome.message
    assert len(held(store_engine).invoices) == 1
