"""The operator's actions (`OrderDesk`) on orders we place, on SQLite and PostgreSQL: a
cancellation sends the 860 a seller on EDI is owed, and only the email to a seller who fulfils
directly; a fulfilment the seller reports is recorded as theirs and sends nothing; the rules
refuse what they refuse, with nothing recorded."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.bootstrap import Gateway, bootstrap
from gateway.config import FolderTransport, GatewayConfig, Identity, MailSettings, PartnerProfile
from gateway.domain import commands
from gateway.domain.values import LineQuantity, Party, PurchaseOrderLine, Role, Side
from gateway.errors import GatewayError, RuleViolation
from gateway.mapping.outbound import Decision
from gateway.service.actions import ActionResult, OrderDesk, parse_answer, parse_line_quantity
from gateway.service.export import export
from gateway.service.notify import KIND
from gateway.service.ports import OrderQuery
from gateway.x12.reader import parse_bytes

PO = "CR-2001"


def seller(folder: Path, key: str, fulfilment: str) -> PartnerProfile:
    return PartnerProfile(
        key=key,
        name=key.title(),
        role="seller",
        identity=Identity("ZZ", key.upper(), key.upper()),
        us=Identity("ZZ", "CEDARRIDGEOUT", "CEDARRIDGEOUT"),
        transport=FolderTransport(folder / key / "in", folder / key / "out", 0),
        contacts=(("default", (f"orders@{key}.example",)),),
        fulfilment=fulfilment,
    )


@pytest.fixture
def gateway(store_config: GatewayConfig, tmp_path: Path) -> Iterator[Gateway]:
    config = dataclasses.replace(
        store_config,
        partners=(
            seller(tmp_path, "bluewater", "edi"),
            seller(tmp_path, "pinecrest", "direct"),
            dataclasses.replace(seller(tmp_path, "harborview", "edi"), role="buyer"),
        ),
        mail=MailSettings(sender="Cedar Ridge <edi@cedarridge.example>"),
    )
    wired = bootstrap(config)
    yield wired
    wired.close()


def desk(gateway: Gateway) -> OrderDesk:
    return OrderDesk(
        gateway.uow_factory, gateway.mappings, {p.key: p for p in gateway.config.partners}
    )


def place(gateway: Gateway, partner: str) -> None:
    """An order we place (the 850 would go out with `gateway export`)."""
    gateway.bus.handle(
        commands.ReceiveOrder(
            partner=partner,
            po_number=PO,
            at=dt.datetime.now(dt.UTC),
            our_role=Role.BUYER,
            order_date=dt.date(2026, 11, 21),
            lines=(
                PurchaseOrderLine("1", Decimal(4), "EA", Decimal(5), (("VP", "A-1"),)),
                PurchaseOrderLine("2", Decimal(2), "EA", Decimal(7), (("VP", "B-2"),)),
            ),
            parties=(Party("ST", "Jane Doe"),),
        )
    )


def queued(gateway: Gateway, kind: str) -> list[str]:
    with gateway.uow_factory() as uow:
        return [str(e.payload.get("kind") or e.payload.get("template")) for e in
                uow.outbox.listing(kind)]  # fmt: skip


def test_a_cancellation_of_an_order_we_placed_with_an_edi_seller_sends_the_860(gateway: Gateway):
    place(gateway, "bluewater")
    export(gateway.uow_factory, PO, "850", mappings=gateway.mappings, sender_id="CEDARRIDGEOUT")
    result = desk(gateway).cancel(
        PO, [LineQuantity("2", Decimal(1))], by=Side.BUYER, reason="the customer cancelled"
    )
    assert [d["set"] for d in result.documents] == ["860"]
    assert queued(gateway, "x12") == ["860", "850"]
    assert queued(gateway, KIND) == ["cancellation"]  # to the seller's contacts too


def test_a_direct_seller_hears_of_a_cancellation_by_email_only(gateway: Gateway):
    place(gateway, "pinecrest")
    result = desk(gateway).cancel(PO, [], by=Side.BUYER, reason="the customer cancelled")
    assert result.documents == [] and result.unsent == ""
    assert "cancelled" in result.flags
    assert queued(gateway, "x12") == []
    assert queued(gateway, KIND) == ["cancellation", "order-received"]


def test_a_fulfilment_a_direct_seller_reports_is_theirs_and_sends_nothing(gateway: Gateway):
    place(gateway, "pinecrest")
    result = desk(gateway).fulfil(
        PO,
        [LineQuantity("1", Decimal(4)), LineQuantity("2", Decimal(2))],
        carrier="UPS",
        tracking_numbers=("1Z999AA10123456784", "1Z5R89390357567127"),
        fulfilment_id="PINE-1",
    )
    assert result.record == "PINE-1" and result.documents == [] and "shipped" in result.flags
    with gateway.uow_factory() as uow:
        order = uow.orders.get("pinecrest", PO)
        assert order is not None and order.fulfilments[0].passed_on
    with pytest.raises(RuleViolation, match="no-change-after-shipped"):
        desk(gateway).fulfil(
            PO,
            [LineQuantity("1", Decimal(1))],
            carrier="UPS",
            tracking_numbers=("1Z879E930346834440",),
        )
    with gateway.uow_factory() as uow:  # the late one is kept for an operator, not recorded
        order = uow.orders.get("pinecrest", PO)
        assert order is not None and len(order.fulfilments) == 1
        assert order.fulfilments[0].carrier == "UPSN"  # "UPS" recorded as its SCAC


def test_an_acknowledgement_is_for_an_order_we_sell(gateway: Gateway):
    place(gateway, "bluewater")
    with pytest.raises(RuleViolation):
        desk(gateway).acknowledge(PO, Decision.accept_all())
    assert queued(gateway, "x12") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2:3", ("2", Decimal(3))), (" 10 :0.5", ("10", Decimal("0.5")))],
)
def test_line_quantities_are_read(text: str, expected: tuple[str, Decimal]):
    parsed = parse_line_quantity(text)
    assert (parsed.line_number, parsed.quantity) == expected


@pytest.mark.parametrize("text", ["2", "2:", ":3", "2:0", "2:-1", "2:x", "2:nan", "2:inf"])
def test_a_bad_line_quantity_is_refused(text: str):
    with pytest.raises(ValueError, match="LINE:QUANTITY"):
        parse_line_quantity(text)


def test_the_cli_line_answers_become_855_decisions():
    assert parse_answer("2:reject") == "2=reject"
    assert parse_answer("3:qty=2") == "3=change:2"
    assert parse_answer("4:backorder@20261204") == "4=backorder@20261204"
    with pytest.raises(ValueError):
        parse_answer("accept")


def test_a_test_order_goes_to_an_edi_seller_as_a_test_850_in_its_profiles_envelope(
    gateway: Gateway,
):
    result = desk(gateway).test_order("bluewater")
    assert result.po_number.startswith("TEST-") and "test" in result.flags
    (document,) = result.documents
    with gateway.uow_factory() as uow:
        stored = uow.documents.get(document["document_id"])
        assert stored is not None and stored.raw is not None
        assert uow.orders.summaries(OrderQuery()).total == 0  # test orders are left out
        listed = uow.orders.summaries(OrderQuery(include_test=True)).summaries
        assert [s.po_number for s in listed] == [result.po_number]
    interchanges, report = parse_bytes(stored.raw)
    assert report.accepted, report.first_issue()
    (interchange,) = interchanges
    assert (interchange.sender_qualifier, interchange.sender_id) == ("ZZ", "CEDARRIDGEOUT")
    assert (interchange.receiver_qualifier, interchange.receiver_id) == ("ZZ", "BLUEWATER")
    assert interchange.usage == "T"


def test_a_test_order_to_a_direct_seller_is_a_test_email(gateway: Gateway):
    result = desk(gateway).test_order("pinecrest")
    assert result.documents == [] and "confirmed" not in result.flags  # queued proves nothing
    with gateway.uow_factory() as uow:
        (email,) = uow.outbox.listing(KIND)
    assert str(email.payload["subject"]).startswith("[TEST] New order TEST-")
    assert "This is a TEST order: do not ship it." in str(email.payload["text"])


def test_a_buyer_gets_no_test_order_from_us(gateway: Gateway, tmp_path: Path):
    buyer = dataclasses.replace(seller(tmp_path, "harborview", "edi"), role="buyer")
    with pytest.raises(RuleViolation, match="test-order-to-a-seller"):
        OrderDesk(gateway.uow_factory, gateway.mappings, {"harborview": buyer}).test_order(
            "harborview"
        )
    with pytest.raises(RuleViolation, match="test-order-partner-known"):
        desk(gateway).test_order("nobody")


# -- cancellations of an order we sell: the 855 the buyer is owed ------------------------------


SOLD = (
    PurchaseOrderLine("1", Decimal(4), "EA", Decimal(5), (("VP", "A-1"),)),
    PurchaseOrderLine("2", Decimal(2), "EA", Decimal(7), (("VP", "B-2"),)),
    PurchaseOrderLine("3", Decimal(1), "EA", Decimal(9), (("VP", "C-3"),)),
)


def sell(gateway: Gateway, partner: str, lines: tuple[PurchaseOrderLine, ...] = SOLD) -> None:
    """An order we sell to `partner` (as if its 850 came in)."""
    gateway.bus.handle(
        commands.ReceiveOrder(
            partner=partner,
            po_number=PO,
            at=dt.datetime.now(dt.UTC),
            our_role=Role.SELLER,
            order_date=dt.date(2026, 11, 21),
            lines=lines,
            parties=(Party("ST", "Jane Doe"),),
        )
    )


@pytest.fixture
def selling(gateway: Gateway) -> OrderDesk:
    """An order we sell to Harborview, a buyer on EDI (its 850 came in; the 855 is ours)."""
    sell(gateway, "harborview")
    return desk(gateway)


def acks(gateway: Gateway, result: ActionResult) -> tuple[str, list[str]]:
    """The BAK01/BAK02 and the ACK segments of the 855 an action queued."""
    (document,) = result.documents
    assert document["set"] == "855"
    with gateway.uow_factory() as uow:
        stored = uow.documents.get(document["document_id"])
    assert stored is not None and stored.raw is not None
    interchanges, report = parse_bytes(stored.raw)
    assert report.accepted, report.first_issue()
    (transaction,) = interchanges[0].groups[0].transactions
    segments = [s for s in transaction.segments if s.id in ("BAK", "ACK")]
    bak = segments[0].elements
    return f"{bak[0]} {bak[1]}", ["*".join(map(str, s.elements[:2])) for s in segments[1:]]


def test_our_cancellation_after_our_855_sends_an_855_replacing_it(
    gateway: Gateway, selling: OrderDesk
):
    first = selling.acknowledge(PO, Decision.accept_all())
    assert acks(gateway, first) == ("00 AD", ["IA*4", "IA*2", "IA*1"])
    partial = selling.cancel(PO, [LineQuantity("1", Decimal(1))], by=Side.SELLER, reason="short")
    # every line stated again: the cut line changed to what remains, the others as answered
    assert acks(gateway, partial) == ("05 AC", ["IQ*3", "IA*2", "IA*1"])
    line = selling.cancel(PO, [LineQuantity("3", Decimal(1))], by=Side.SELLER, reason="gone")
    assert acks(gateway, line) == ("05 AC", ["IQ*3", "IA*2", "IR*1"])
    whole = selling.cancel(PO, [], by=Side.SELLER, reason="closing the line")
    assert acks(gateway, whole) == ("05 RJ", ["IR*4", "IR*2", "IR*1"])
    assert "cancelled" in whole.flags
    assert queued(gateway, "x12") == ["855"] * 4
    assert queued(gateway, KIND) == ["cancellation"] * 3  # one email per cancellation, no more
    with gateway.uow_factory() as uow:
        order = uow.orders.get("harborview", PO)
        assert order is not None
        # every 855 is recorded on the order, the last one on the order cancelled whole too
        assert len(order.confirmations) == 4
        assert [a.status.value for a in order.confirmations[-1].lines] == ["rejected"] * 3


def test_our_cancellation_before_our_855_waits_for_it_and_the_855_carries_it(
    gateway: Gateway, selling: OrderDesk
):
    cancelled = selling.cancel(PO, [LineQuantity("2", Decimal(2))], by=Side.SELLER, reason="x")
    assert cancelled.documents == [] and cancelled.unsent == ""
    assert f"gateway ack {PO}" in cancelled.later
    assert queued(gateway, "x12") == []
    assert queued(gateway, KIND) == ["cancellation"]  # the buyer hears of it by email now
    acknowledged = selling.acknowledge(PO, Decision.accept_all())
    # accept all means everything still ordered: the cancelled line goes out rejected
    assert acks(gateway, acknowledged) == ("00 AC", ["IA*4", "IR*2", "IA*1"])


def test_a_cancellation_at_the_buyers_word_sends_nothing_back_to_the_buyer(
    gateway: Gateway, selling: OrderDesk
):
    selling.acknowledge(PO, Decision.accept_all())
    result = selling.cancel(PO, [], by=Side.BUYER, reason="the buyer phoned")
    assert result.documents == [] and result.later == "" and "cancelled" in result.flags
    assert queued(gateway, "x12") == ["855"]


def test_a_cancellation_at_the_sellers_word_sends_no_860_back_to_the_seller(gateway: Gateway):
    place(gateway, "bluewater")
    export(gateway.uow_factory, PO, "850", mappings=gateway.mappings, sender_id="CEDARRIDGEOUT")
    result = desk(gateway).cancel(PO, [], by=Side.SELLER, reason="the seller phoned")
    assert result.documents == [] and "cancelled" in result.flags
    assert queued(gateway, "x12") == ["850"]


# -- dates ------------------------------------------------------------------------------------


def test_new_dates_on_an_order_we_placed_go_to_an_edi_seller_in_an_860(gateway: Gateway):
    place(gateway, "bluewater")
    export(gateway.uow_factory, PO, "850", mappings=gateway.mappings, sender_id="CEDARRIDGEOUT")
    result = desk(gateway).change_dates(
        PO, requested_ship_date=dt.date(2026, 12, 9), reason="the store opens later"
    )
    assert result.action == "dates changed" and [d["set"] for d in result.documents] == ["860"]
    with gateway.uow_factory() as uow:
        stored = uow.documents.get(result.documents[0]["document_id"])
        order = uow.orders.get("bluewater", PO)
    assert stored is not None and stored.raw is not None and order is not None
    assert order.requested_ship_date == dt.date(2026, 12, 9)
    interchanges, report = parse_bytes(stored.raw)
    assert report.accepted, report.first_issue()
    (change,) = interchanges[0].groups[0].transactions
    segments = [s for s in change.segments if s.id in ("BCH", "DTM", "POC")]
    assert [(s.id, s.elements[:2]) for s in segments] == [("BCH", ["04", "SA"]),
                                                          ("DTM", ["010", "20261209"])]  # fmt: skip
    again = desk(gateway).change_dates(PO, requested_ship_date=dt.date(2026, 12, 9))
    assert again.action == "dates unchanged" and again.documents == []


def test_new_dates_on_an_order_we_sell_are_recorded_and_send_nothing(
    gateway: Gateway, selling: OrderDesk
):
    result = selling.change_dates(PO, cancel_after_date=dt.date(2026, 12, 24))
    assert result.action == "dates changed" and result.documents == []
    assert queued(gateway, "x12") == []
    with pytest.raises(RuleViolation, match="cancelled-order-is-closed"):
        selling.cancel(PO, [], by=Side.BUYER, reason="gone")
        selling.change_dates(PO, cancel_after_date=dt.date(2026, 12, 31))


def test_a_fulfilment_whose_856_cannot_be_built_is_not_recorded(gateway: Gateway):
    """An order we sell to a buyer the gateway has no profile and no document for: the 856 has
    no envelope to go in, so the fulfilment (never to be edited) is not recorded either."""
    sell(gateway, "stranger", SOLD[:1])
    with pytest.raises(GatewayError, match="which interchange id we use"):
        desk(gateway).fulfil(
            PO,
            [LineQuantity("1", Decimal(4))],
            carrier="UPS",
            tracking_numbers=("1Z999AA10123456784",),
        )
    with gateway.uow_factory() as uow:
        order = uow.orders.get("stranger", PO)
        assert order is not None and order.fulfilments == [] and order.dispatches == []
        assert uow.outbox.listing("x12") == []
