"""Both sides of one trade run by the gateway: the buyer's store exports the 850 and 860, the
seller's store exports the 855, 856 and 810, and each side ingests what the other sent. At every
step the two records of the order agree, line by line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from gateway.config import load_mappings
from gateway.domain import commands
from gateway.domain.model import Order
from gateway.domain.values import LineQuantity, Pack, Side
from gateway.mapping.engine import Mappings
from gateway.mapping.outbound import Decision, LineDecision, LineStatus
from gateway.service.export import ExportResult
from gateway.service.ingest import Ingestor
from tests.integration.outbound_scenarios import (
    BUYER_PO,
    NOW,
    OUR_ID,
    VENDOR,
    Store,
    fresh_store,
    placed,
    queued_865,
)


def taken_in(store: Store, sent: ExportResult, name: str) -> list[str]:
    """Ingest what the other side sent; the action taken on each transaction set."""
    result = Ingestor(store.uow, store.mappings, clock=lambda: NOW).ingest(sent.content, name)
    assert result.accepted, result.first_issue
    return [outcome.action for outcome in result.sets]


def sent_over(sender: Store, sent: ExportResult, receiver: Store, name: str) -> list[str]:
    """`sent` delivered by `sender`'s outbox and taken in by `receiver`, whose 997 `sender`
    takes in; the action `receiver` took on each transaction set."""
    assert (sent.document_id, "sent") in {(d.document_id, d.status) for d in sender.deliver()}
    result = Ingestor(receiver.uow, receiver.mappings, clock=lambda: NOW).ingest(sent.content, name)
    assert result.accepted, result.first_issue
    (acknowledgement,) = result.acknowledgements
    answer = Ingestor(sender.uow, sender.mappings, clock=lambda: NOW).ingest(
        acknowledgement.content, f"997-{name}"
    )
    assert [outcome.action for outcome in answer.sets] == ["acknowledged"]
    return [outcome.action for outcome in result.sets]


def order_in(store: Store, partner: str) -> Order:
    with store.uow() as uow:
        order = uow.orders.get(partner, BUYER_PO)
        assert order is not None
        return order


def quantities_of(order: Order) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    return [
        (line.line_number, line.ordered, line.fulfilled, line.cancelled) for line in order.lines
    ]


def test_what_each_side_sends_the_other_keeps_their_records_of_the_order_equal(tmp_path: Path):
    buyer, seller = Store(fresh_store(tmp_path / "buyer")), Store(fresh_store(tmp_path / "seller"))
    placed(buyer)
    placing = buyer.export(BUYER_PO, "850", sender_id=OUR_ID)
    assert "confirmed" not in {flag.value for flag in order_in(buyer, VENDOR).flags}
    assert sent_over(buyer, placing, seller, "850") == ["created"]
    bought, sold = order_in(buyer, VENDOR), order_in(seller, OUR_ID)
    assert "confirmed" in {f.value for f in bought.flags}  # our 850 accepted by their 997
    assert quantities_of(bought) == quantities_of(sold)
    assert [line.product_ids for line in sold.lines] == [line.product_ids for line in bought.lines]

    answer = Decision.with_changes(
        LineDecision("2", LineStatus.REJECTED),
        LineDecision("3", LineStatus.QUANTITY_CHANGED, Decimal(8)),
    )
    acknowledgement = seller.export(BUYER_PO, "855", decision=answer)
    assert "confirmed" not in {flag.value for flag in order_in(seller, OUR_ID).flags}
    assert sent_over(seller, acknowledgement, buyer, "855") == ["confirmed"]
    bought, sold = order_in(buyer, VENDOR), order_in(seller, OUR_ID)
    assert bought.confirmations and sold.confirmations
    assert all("confirmed" in {flag.value for flag in o.flags} for o in (bought, sold))
    assert quantities_of(bought) == quantities_of(sold)
    assert [line.open for line in sold.lines] == [6, 0, 8]

    seller.bus.handle(
        commands.CreateFulfilment(
            partner=OUR_ID,
            po_number=BUYER_PO,
            at=NOW,
            fulfilment_id="CRS-SH-0045200",
            lines=(LineQuantity("1", Decimal(6)), LineQuantity("3", Decimal(5))),
            carrier="UPSN",
            tracking_numbers=("1Z8E47W10391284758", "1Z8E47W10391284767"),
            ship_date=dt.date(2026, 11, 20),
            packs=(
                Pack((LineQuantity("1", Decimal(6)),), "008123450000451276"),
                Pack((LineQuantity("3", Decimal(5)),), "008123450000451283"),
            ),
        )
    )
    notice = seller.export(BUYER_PO, "856")
    assert not order_in(seller, OUR_ID).fulfilments[0].passed_on  # only queued
    assert sent_over(seller, notice, buyer, "856") == ["fulfilled"]
    bought, sold = order_in(buyer, VENDOR), order_in(seller, OUR_ID)
    assert quantities_of(bought) == quantities_of(sold)
    (received,) = bought.fulfilments
    (shipped,) = sold.fulfilments
    assert received.id == shipped.id and received.passed_on and shipped.passed_on
    assert [p.sscc for p in received.packs] == [p.sscc for p in shipped.packs]
    assert set(received.tracking_numbers) == set(shipped.tracking_numbers)

    invoice = seller.export(BUYER_PO, "810", invoice_number="CRI2026-05001")
    assert taken_in(buyer, invoice, "810") == ["invoiced"]
    bought, sold = order_in(buyer, VENDOR), order_in(seller, OUR_ID)
    assert [(i.number, i.amount) for i in bought.invoices] == [
        (i.number, i.amount) for i in sold.invoices
    ]
    assert sold.invoices[0].amount == Decimal("600.75")  # 6 x 89.50 + 5 x 12.75

    buyer.bus.handle(
        commands.CancelLines(
            partner=VENDOR,
            po_number=BUYER_PO,
            at=NOW,
            cancellation_id="C-rest",
            lines=(LineQuantity("3", Decimal(3)),),
            requested_by=Side.BUYER,
            reason="the rest is no longer needed",
        )
    )
    assert taken_in(seller, buyer.export(BUYER_PO, "860"), "860") == ["changed"]
    bought, sold = order_in(buyer, VENDOR), order_in(seller, OUR_ID)
    assert quantities_of(bought) == quantities_of(sold)
    assert all(line.open == 0 for line in sold.lines)
    assert {"shipped", "completed"} <= {flag.value for flag in sold.flags}


def test_the_sellers_855_replacing_theirs_after_a_cancellation_keeps_both_records_equal(
    tmp_path: Path,
):
    buyer, seller = Store(fresh_store(tmp_path / "buyer")), Store(fresh_store(tmp_path / "seller"))
    placed(buyer)
    taken_in(seller, buyer.export(BUYER_PO, "850", sender_id=OUR_ID), "850")
    answer = Decision.with_changes(LineDecision("2", LineStatus.REJECTED))
    assert taken_in(buyer, seller.export(BUYER_PO, "855", decision=answer), "855") == ["confirmed"]

    def cancel_at_the_seller(cancellation_id: str, *lines: LineQuantity) -> None:
        about = {"partner": OUR_ID, "po_number": BUYER_PO, "at": NOW, "requested_by": Side.SELLER}
        seller.bus.handle(
            commands.CancelLines(**about, cancellation_id=cancellation_id, lines=lines, reason="x")
            if lines
            else commands.CancelOrder(**about, cancellation_id=cancellation_id, reason="x")
        )

    cancel_at_the_seller("C-cut", LineQuantity("1", Decimal(2)))
    replacement = seller.export(BUYER_PO, "855", decision=Decision.as_it_stands())
    assert b"BAK*05*AC*" in replacement.content
    assert taken_in(buyer, replacement, "855-2") == ["confirmed"]
    bought, sold = order_in(buyer, VENDOR), order_in(seller, OUR_ID)
    assert quantities_of(bought) == quantities_of(sold)
    assert [line.cancelled for line in bought.lines] == [2, 4, 0]

    cancel_at_the_seller("C-all")
    whole = seller.export(BUYER_PO, "855", decision=Decision.as_it_stands())
    assert b"BAK*05*RJ*" in whole.content
    assert taken_in(buyer, whole, "855-3") == ["cancelled"]
    bought, sold = order_in(buyer, VENDOR), order_in(seller, OUR_ID)
    assert quantities_of(bought) == quantities_of(sold)
    assert "cancelled" in {flag.value for flag in bought.flags}


def test_the_sellers_865_tells_the_buyer_whether_its_change_was_taken(tmp_path: Path):
    buyer, seller = Store(fresh_store(tmp_path / "buyer")), Store(fresh_store(tmp_path / "seller"))
    seller.mappings = Mappings(
        load_mappings(), overrides={OUR_ID: {"865-out": {"settings": {"answer": "always"}}}}
    )
    placed(buyer)
    taken_in(seller, buyer.export(BUYER_PO, "850", sender_id=OUR_ID), "850")

    def cut(cancellation_id: str, line: str) -> ExportResult:
        buyer.bus.handle(
            commands.CancelLines(
                partner=VENDOR,
                po_number=BUYER_PO,
                at=NOW,
                cancellation_id=cancellation_id,
                lines=(LineQuantity(line, Decimal(1)),),
                requested_by=Side.BUYER,
                reason="fewer needed",
            )
        )
        return buyer.export(BUYER_PO, "860")

    assert taken_in(seller, cut("C-1", "1"), "860-1") == ["changed"]
    assert taken_in(buyer, queued_865(seller, OUR_ID, BUYER_PO), "865-1") == ["change accepted"]
    (answered,) = answers(buyer)
    assert answered["accepted"] is True

    # the seller ships line 3 whole before our next change reaches them: they refuse it
    line_3 = order_in(seller, OUR_ID).line("3")
    assert line_3 is not None
    seller.bus.handle(
        commands.CreateFulfilment(
            partner=OUR_ID,
            po_number=BUYER_PO,
            at=NOW,
            fulfilment_id="SH-1",
            lines=(LineQuantity("3", line_3.ordered),),
            carrier="UPSN",
            tracking_numbers=("1Z5R89390357567127",),
        )
    )
    assert taken_in(seller, cut("C-2", "3"), "860-2") == ["refused"]
    assert taken_in(buyer, queued_865(seller, OUR_ID, BUYER_PO), "865-2") == ["change refused"]
    refused = answers(buyer)[-1]
    assert refused["accepted"] is False and "12 fulfilled" in str(refused["note"])
    # our books keep our cancellation (none can be undone); the seller's show line 3 shipped
    assert order_in(buyer, VENDOR).line("3").cancelled == 1  # type: ignore[union-attr]


def answers(buyer: Store) -> list[dict[str, object]]:
    """The facts of the ChangeAnswered events in the buyer's history of the order."""
    with buyer.uow() as uow:
        history = uow.orders.history(VENDOR, BUYER_PO)
    return [dict(e["payload"]) for e in history if e["name"] == "ChangeAnswered"]  # type: ignore[call-overload]


def test_new_dates_sent_in_an_860_move_the_sellers_dates_too(tmp_path: Path):
    buyer, seller = Store(fresh_store(tmp_path / "buyer")), Store(fresh_store(tmp_path / "seller"))
    placed(buyer)
    taken_in(seller, buyer.export(BUYER_PO, "850", sender_id=OUR_ID), "850")
    buyer.bus.handle(
        commands.ChangeDates(
            partner=VENDOR,
            po_number=BUYER_PO,
            at=NOW,
            requested_ship_date=dt.date(2026, 12, 9),
            cancel_after_date=dt.date(2026, 12, 31),
        )
    )
    assert taken_in(seller, buyer.export(BUYER_PO, "860"), "860") == ["changed"]
    bought, sold = order_in(buyer, VENDOR), order_in(seller, OUR_ID)
    dates = ("requested_ship_date", "requested_delivery_date", "cancel_after_date")
    assert [getattr(sold, name) for name in dates] == [getattr(bought, name) for name in dates]
    assert sold.requested_ship_date == dt.date(2026, 12, 9)
    assert quantities_of(bought) == quantities_of(sold)  # no line touched
