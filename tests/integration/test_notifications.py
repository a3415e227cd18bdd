"""Emails, end to end against a real SMTP server (aiosmtpd on 127.0.0.1), on SQLite and
PostgreSQL: a cancellation from any source reaches the side that did not make it, once; an order
placed with a seller who fulfils directly is emailed and confirmed; operators hear of what needs
a person, grouped; the server down, answering 4xx or 5xx, or a crash between the handover and
the record of it, never loses an email and never sends one twice beyond the copy its Message-ID
lets a reader recognise."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.bootstrap import Gateway, bootstrap
from gateway.config import (
    FolderTransport,
    GatewayConfig,
    Identity,
    LatePolicy,
    MailSettings,
    PartnerProfile,
)
from gateway.domain import commands
from gateway.domain.values import (
    LineAnswer,
    LineAnswerStatus,
    LineQuantity,
    Party,
    PurchaseOrderLine,
    Role,
    Side,
)
from gateway.mapping.outbound import Decision
from gateway.service import notify
from gateway.service import runner as runner_module
from gateway.service.delivery import LEASE
from gateway.service.export import export
from gateway.service.notify import KIND, list_mail, retry_mail, show_mail
from gateway.service.ports import OutboxEntry
from gateway.service.report import build_report
from tests.integration.test_ingest_acknowledgements import sent
from tests.integration.test_ingest_order_documents import place as place_as_buyer
from tests.smtpd import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
PO = "HV4500871234"
ORDER_DESK = ("orders@cedarridge.example", "desk@cedarridge.example")
OPERATORS = ("ops@cedarridge.example",)
HARBORVIEW_CANCELLATIONS = ("orders@harborview.example",)


QUIET = LatePolicy(ack_due_hours=0, ship_date=False, cancel_after=False)
"""The samples' ship dates have passed: the emails of these tests are their own, not the late
documents' alerts (tested apart, with the policy that counts them)."""


def harborview(folder: Path, late: LatePolicy = QUIET) -> PartnerProfile:
    return PartnerProfile(
        key="harborview",
        name="Harborview Home Goods",
        role="buyer",
        identity=Identity("01", "079845213", "079845213"),
        us=Identity("ZZ", "CEDARRIDGEOUT", "CEDARRIDGEOUT"),
        transport=FolderTransport(folder / "harborview" / "in", folder / "harborview" / "out", 0),
        contacts=(
            ("default", ("edi@harborview.example",)),
            ("cancellations", HARBORVIEW_CANCELLATIONS),
        ),
        late=late,
    )


def pinecrest(
    folder: Path, contacts: tuple[str, ...] = ("ship@pinecrest.example",)
) -> PartnerProfile:
    """A seller who takes orders by email and ships by hand."""
    return PartnerProfile(
        key="pinecrest",
        name="Pinecrest Supply",
        role="seller",
        identity=Identity("ZZ", "PINECREST", "PINECREST"),
        us=Identity("ZZ", "CEDARRIDGEOUT", "CEDARRIDGEOUT"),
        transport=FolderTransport(folder / "pinecrest" / "in", folder / "pinecrest" / "out", 0),
        contacts=(("orders", contacts),) if contacts else (),
        fulfilment="direct",
    )


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def wire(
    store_config: GatewayConfig, tmp_path: Path, smtp_server: SmtpServer
) -> Iterator[Callable[..., Gateway]]:
    """`wire(**mail settings)`: a gateway whose mail goes to the test's SMTP server."""
    made: list[Gateway] = []
    mailboxes = tmp_path / "mailboxes"

    def make(*partners: PartnerProfile, **settings: object) -> Gateway:
        mail = MailSettings(
            sender="Cedar Ridge Outfitters <edi@cedarridge.example>",
            operators=OPERATORS,
            order_desk=ORDER_DESK,
            host=smtp_server.host,
            port=smtp_server.port,
            security="none",
            timeout_seconds=5,
            domain="gateway.test",
        )
        config = dataclasses.replace(
            store_config,
            partners=partners or (harborview(mailboxes), pinecrest(mailboxes)),
            mail=dataclasses.replace(mail, **settings),  # type: ignore[arg-type]
        )
        for profile in config.partners:
            assert isinstance(profile.transport, FolderTransport)
            profile.transport.inbox.mkdir(parents=True, exist_ok=True)
        gateway = bootstrap(config)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


def drop(gateway: Gateway, *samples: str) -> None:
    transport = gateway.config.partners[0].transport
    assert isinstance(transport, FolderTransport)
    for sample in samples:
        (transport.inbox / sample).write_bytes((SAMPLES / sample[:3] / sample).read_bytes())


def orders_history(gateway: Gateway, partner: str, po_number: str) -> list[dict[str, object]]:
    with gateway.uow_factory() as uow:
        return uow.orders.history(partner, po_number)


def emails(gateway: Gateway) -> list[OutboxEntry]:
    with gateway.uow_factory() as uow:
        return list(reversed(uow.outbox.listing(KIND, limit=1000)))


def body(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


# -- cancellations -------------------------------------------------------------------------------


def test_a_partial_cancellation_in_an_860_sends_one_email_to_our_order_desk(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    gateway = wire()
    drop(gateway, "850_004010_good.x12")
    gateway.runner().run_once()
    assert smtp_server.messages == []  # an order received by EDI needs no email
    drop(gateway, "860_004010_good_change.x12")
    summary = gateway.runner().run_once()
    assert [m.status for m in summary.mails] == ["sent"]
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == ORDER_DESK  # the buyer cancelled: the seller (we) hears of it
    message = received.message
    assert message["To"] == ", ".join(ORDER_DESK)
    assert message["Subject"] == (f"Order {PO}: 2 lines cancelled by Harborview Home Goods")
    text = body(message)
    # line 2 deleted (1 of 1), line 3 decreased from 4 to 3 (1 of 4); the rest stays open
    assert "Line 2 (UP 812345100440" in text and "Line 3 (UP 812345101072" in text
    assert "ordered 1 EA, cancelled now 1, cancelled in all 1, shipped 0, still open 0" in text
    assert "ordered 4 EA, cancelled now 1, cancelled in all 1, shipped 0, still open 3" in text
    assert "Line 1: 2 EA" in text and "Line 3: 3 EA" in text and "Line 5: 2 EA" in text
    assert "Line 1 (" not in text  # not cancelled: only in what remains open
    assert "Reason:     the buyer's change order (860 #1)" in text
    html = body(message, "html")
    assert "<td>2</td>" in html and "Harborview Home Goods" in html
    # sent once: another pass sends nothing more
    gateway.runner().run_once()
    assert len(smtp_server.messages) == 1
    (entry,) = emails(gateway)
    assert entry.status == "sent" and entry.payload["message_id"] == message["Message-ID"]


def test_a_cancellation_we_make_goes_to_the_partners_cancellation_contacts(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    gateway = wire()
    drop(gateway, "850_004010_good.x12")
    gateway.runner().run_once()
    gateway.bus.handle(
        commands.CancelOrder(
            partner="harborview",
            po_number=PO,
            at=dt.datetime.now(dt.UTC),
            cancellation_id="OPS-1",
            requested_by=Side.SELLER,
            reason="out of stock <everywhere>",
        )
    )
    assert [m.status for m in gateway.mailer.drain()] == ["sent"]
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == HARBORVIEW_CANCELLATIONS
    assert received.message["Subject"] == f"Order {PO} cancelled by Cedar Ridge Outfitters"
    assert "Nothing remains open on this order." in body(received.message)
    assert "out of stock &lt;everywhere&gt;" in body(received.message, "html")


def test_an_850_cancelling_its_order_emails_our_order_desk(
    wire: Callable[..., Gateway], smtp_server: SmtpServer, tmp_path: Path
):
    gateway = wire()
    drop(gateway, "850_004010_good.x12")
    gateway.runner().run_once()
    original = (SAMPLES / "850" / "850_004010_good.x12").read_text()
    cancelling = original.replace("BEG*00*", "BEG*01*").replace("000051001", "000051002")
    transport = gateway.config.partners[0].transport
    assert isinstance(transport, FolderTransport)
    (transport.inbox / "cancel.x12").write_text(cancelling)
    gateway.runner().run_once()
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == ORDER_DESK
    assert received.message["Subject"] == f"Order {PO} cancelled by Harborview Home Goods"
    assert "BEG01 01" in body(received.message)


def test_an_855_rejecting_lines_of_our_order_emails_our_order_desk(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    gateway = wire()
    place_as_buyer(gateway.engine)  # with the seller's ISA id as partner (no profile)
    result = gateway.ingestor.ingest((SAMPLES / "855" / "855_004010_good.x12").read_bytes(), "a")
    assert [s.action for s in result.sets] == ["confirmed"]
    gateway.mailer.drain()
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == ORDER_DESK  # the seller cancelled: we, the buyer, hear of it
    assert received.message["Subject"] == f"Order {PO}: 2 lines cancelled by CEDARRIDGEOUT"
    assert "(the seller)" in body(received.message)


def test_a_seller_refusing_our_change_order_alerts_the_operators(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    """Their 865 refuses the 860 we sent: our cancellation stands in our books, not theirs."""
    gateway = wire()
    place_as_buyer(gateway.engine)  # with the seller's ISA id as partner (no profile)
    answered = {"partner": "CEDARRIDGEOUT", "po_number": PO, "at": dt.datetime.now(dt.UTC)}
    gateway.bus.handle(commands.RecordChangeAnswer(**answered, accepted=True, change_sequence="1"))
    assert gateway.mailer.drain() == []  # a change taken: nothing to say
    gateway.bus.handle(
        commands.RecordChangeAnswer(
            **answered,
            accepted=False,
            change_sequence="2",
            lines=(LineAnswer("2", LineAnswerStatus.REJECTED, Decimal(1), code="IR"),),
            note="already <b>shipped</b>",
        )
    )
    gateway.mailer.drain()
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == OPERATORS
    assert received.message["Subject"] == (
        f"[gateway] CEDARRIDGEOUT refused our change order #2 on PO {PO}"
    )
    text = body(received.message)
    assert "line 2: rejected 1 (IR)" in text and "already <b>shipped</b>" in text
    assert "<b>shipped</b>" not in body(received.message, "html")  # their note is not HTML


def test_a_partner_rejecting_a_document_of_ours_alerts_the_operators(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    """Their 997 rejects our 855 (AK5 R): a person must fix and resend it; a 997 accepting
    another of ours says nothing."""
    gateway = wire()
    accepted = sent(gateway.engine, "CEDARRIDGEOUT", ("850",), "5101")
    ours = sent(gateway.engine, "harborview", ("855",), "7302", interchange="000000042")
    for name in ("997_004010_good_accept.x12", "997_004010_good_reject.x12"):
        result = gateway.ingestor.ingest((SAMPLES / "997" / name).read_bytes(), name)
        assert [s.action for s in result.sets] == ["acknowledged"]
    assert [m.status for m in gateway.mailer.drain()] == ["sent"]
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == OPERATORS
    assert received.message["Subject"] == (
        f"[gateway] Harborview Home Goods rejected our 855 (document {ours})"
    )
    text = body(received.message)
    assert "855 interchange 000000042" in text and "group 7302 rejected" in text
    assert f"gateway documents resend {ours}" in text
    assert accepted != ours


def test_without_a_contact_the_operators_hear_of_the_cancellation(
    wire: Callable[..., Gateway], smtp_server: SmtpServer, tmp_path: Path
):
    gateway = wire(dataclasses.replace(harborview(tmp_path), contacts=()), order_desk=())
    drop(gateway, "850_004010_good.x12", "860_004010_good_change.x12")
    gateway.runner().run_once()
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == OPERATORS  # no order desk: the operators are ours
    assert "Sent to the operators" not in body(received.message)
    gateway.bus.handle(
        commands.CancelOrder(
            partner="harborview",
            po_number=PO,
            at=dt.datetime.now(dt.UTC),
            cancellation_id="OPS-2",
            requested_by=Side.SELLER,
        )
    )
    gateway.mailer.drain()
    _, ours = smtp_server.wait_for(2)
    assert ours.rcpt_tos == OPERATORS  # the partner has no contact: the operators are told
    assert "(Sent to the operators: no contact is configured for Harborview Home Goods" in body(
        ours.message
    )


def cancel_line(line: str, cancellation_id: str) -> commands.CancelLines:
    return commands.CancelLines(
        partner="harborview",
        po_number=PO,
        at=dt.datetime.now(dt.UTC),
        cancellation_id=cancellation_id,
        lines=(LineQuantity(line, Decimal(1)),),
        requested_by=Side.SELLER,
        reason="short",
    )


def test_an_email_is_queued_with_its_change_or_not_at_all(wire: Callable[..., Gateway]):
    gateway = wire()
    drop(gateway, "850_004010_good.x12")
    gateway.runner().run_once()
    with gateway.uow_factory() as uow:  # changed, never committed
        order = uow.orders.get("harborview", PO)
        assert order is not None
        order.handle(cancel_line("1", "C-1"))
    assert emails(gateway) == []
    with gateway.uow_factory() as uow:  # a savepoint rolled back, the rest committed
        with pytest.raises(RuntimeError), uow.savepoint():
            order = uow.orders.get("harborview", PO)
            assert order is not None
            order.handle(cancel_line("1", "C-2"))
            raise RuntimeError("the set failed")
        order = uow.orders.get("harborview", PO)
        assert order is not None
        order.handle(cancel_line("3", "C-3"))
        uow.commit()
    (entry,) = emails(gateway)
    data = entry.payload["data"]
    assert isinstance(data, dict)
    assert [line["line_number"] for line in data["lines"]] == ["3"]
    assert data["cancellation"]["id"] == "C-3"


# -- an order for a seller who fulfils directly -------------------------------------------------


def place(gateway: Gateway, po: str = "CR-1001") -> None:
    gateway.bus.handle(
        commands.ReceiveOrder(
            partner="pinecrest",
            po_number=po,
            at=dt.datetime.now(dt.UTC),
            our_role=Role.BUYER,
            order_date=dt.date(2026, 11, 21),
            lines=(
                PurchaseOrderLine(
                    "1",
                    Decimal(3),
                    "EA",
                    Decimal("12.50"),
                    (("VP", "PS-9"),),
                    "Camp <lantern> & hook",
                ),
                PurchaseOrderLine("2", Decimal(1), "CA", None, (), "Stakes"),
            ),
            parties=(Party("ST", "Jane Doe"),),
        )
    )


def test_an_order_for_a_direct_seller_is_emailed_to_them_and_confirmed(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    gateway = wire()
    clock = Clock()
    gateway.mailer.clock = clock
    place(gateway)

    def flags() -> set[str]:
        with gateway.uow_factory() as uow:
            order = uow.orders.get("pinecrest", "CR-1001")
            assert order is not None
            return {flag.value for flag in order.flags}

    assert "confirmed" not in flags()  # the email is queued: the seller does not know yet
    with smtp_server.stopped():  # the mail server refuses connections
        assert [m.status for m in gateway.mailer.drain()] == ["retry"]
    assert "confirmed" not in flags()
    clock.now += dt.timedelta(minutes=2)
    assert [m.status for m in gateway.mailer.drain()] == ["sent"]
    assert "confirmed" in flags()  # the mail server took it: the order is Confirmed
    with gateway.uow_factory() as uow:
        order = uow.orders.get("pinecrest", "CR-1001")
        assert order is not None
        (followed,) = order.dispatches
        assert (followed.kind.value, followed.state.value) == ("order email", "delivered")
    history = [entry["name"] for entry in orders_history(gateway, "pinecrest", "CR-1001")]
    assert history[-2:] == ["DocumentStateChanged", "ConfirmationProven"]
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == ("ship@pinecrest.example",)
    assert (
        received.message["Subject"]
        == "New order CR-1001 from Cedar Ridge Outfitters: 2 lines to ship"
    )
    text = body(received.message)
    assert "Line 1: 3 EA (VP PS-9) Camp <lantern> & hook at 12.50" in text
    assert "Line 2: 1 CA Stakes" in text and "Jane Doe" in text
    assert "Camp &lt;lantern&gt; &amp; hook" in body(received.message, "html")


def test_an_order_for_a_direct_seller_without_contact_is_not_confirmed_and_alerts(
    wire: Callable[..., Gateway], smtp_server: SmtpServer, tmp_path: Path
):
    gateway = wire(harborview(tmp_path), pinecrest(tmp_path, contacts=()))
    place(gateway)
    with gateway.uow_factory() as uow:
        order = uow.orders.get("pinecrest", "CR-1001")
        assert order is not None and not order.dispatches and not order.flags
    gateway.mailer.drain()
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == OPERATORS
    assert "could not be sent: no contact" in received.message["Subject"]


# -- the server misbehaving -----------------------------------------------------------------------


def test_the_server_down_during_the_cancellation_then_up_delivers_it_once(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    gateway = wire()
    clock = Clock()
    gateway.mailer.clock = clock
    drop(gateway, "850_004010_good.x12", "860_004010_good_change.x12")
    with smtp_server.stopped():
        summary = gateway.runner().run_once()
    (failed,) = summary.mails
    assert failed.status == "retry" and "127.0.0.1" in failed.error
    (entry,) = emails(gateway)
    assert entry.status == "queued" and entry.next_attempt_at is not None
    assert gateway.mailer.drain() == []  # not due yet: backoff
    clock.now += dt.timedelta(minutes=2)
    assert [m.status for m in gateway.mailer.drain()] == ["sent"]
    clock.now += dt.timedelta(hours=2)
    assert gateway.mailer.drain() == []
    (received,) = smtp_server.wait_for(1)
    assert received.message["Message-ID"] == entry.payload["message_id"]


def test_a_temporary_refusal_is_retried_with_backoff(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    gateway = wire()
    clock = Clock()
    gateway.mailer.clock = clock
    drop(gateway, "850_004010_good.x12", "860_004010_good_change.x12")
    smtp_server.fail("451 4.3.0 mailbox busy, try later", times=2)
    gateway.runner().run_once()
    for attempt in (2, 3):
        (entry,) = emails(gateway)
        assert entry.status == "queued" and "451" in (entry.last_error or "")
        assert entry.next_attempt_at is not None
        clock.now = entry.next_attempt_at.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=1)
        (delivery,) = gateway.mailer.drain()
        assert delivery.attempts == attempt
    assert delivery.status == "sent"
    assert len(smtp_server.wait_for(1)) == 1


def test_a_recipient_refused_for_now_gets_the_email_later_and_only_it(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    """Found by the soak run: a 4xx to one recipient of two (RCPT TO) left that recipient
    without the email for good, the email marked sent."""
    gateway = wire()
    clock = Clock()
    gateway.mailer.clock = clock
    smtp_server.fail("451 4.2.1 mailbox busy, try again later", times=1, at="RCPT")
    drop(gateway, "850_004010_good.x12", "860_004010_good_change.x12")
    gateway.runner().run_once()
    (entry,) = emails(gateway)
    assert entry.status == "queued" and "451 4.2.1" in (entry.last_error or "")
    (first,) = smtp_server.wait_for(1)
    assert first.rcpt_tos == ORDER_DESK[1:]  # the first recipient was told to come back later
    assert entry.next_attempt_at is not None
    clock.now = entry.next_attempt_at.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=1)
    (delivery,) = gateway.mailer.drain()
    assert delivery.status == "sent"
    second = smtp_server.wait_for(2)[1]
    assert second.rcpt_tos == ORDER_DESK[:1]  # only the one still owed the email
    assert second.message["Message-ID"] == first.message["Message-ID"]
    (entry,) = emails(gateway)
    assert entry.status == "sent" and sorted(entry.payload["delivered_to"]) == sorted(ORDER_DESK)


def test_a_bad_address_fails_the_email_and_tells_the_operators(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    gateway = wire(order_desk=("nobody@cedarridge.example",))
    smtp_server.refuse_recipient("nobody@cedarridge.example", "550 5.1.1 no such user")
    drop(gateway, "850_004010_good.x12", "860_004010_good_change.x12")
    summary = gateway.runner().run_once()
    assert [m.status for m in summary.mails] == ["failed", "sent"]
    cancellation, alert = emails(gateway)
    assert cancellation.status == "failed" and "550 5.1.1" in (cancellation.last_error or "")
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == OPERATORS
    assert received.message["Subject"].startswith("[gateway] An email was refused: Order")
    assert f"gateway mail retry {cancellation.id}" in body(received.message)
    assert alert.status == "sent"
    gateway.runner().run_once()  # a failed email is not retried by itself
    assert len(smtp_server.messages) == 1 and emails(gateway)[0].status == "failed"


def test_a_crash_between_sending_and_recording_sends_the_same_message_id_again(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    """The crash is made in the process (an exception no handler catches, where a kill would
    stop it); the real kill -9 is in tests/e2e/test_mail_cli.py."""

    class Crash(BaseException):
        pass

    def crash_after_sending(point: str) -> None:
        if point == "mail-sent":
            raise Crash

    gateway = wire()
    drop(gateway, "850_004010_good.x12", "860_004010_good_change.x12")
    gateway.mailer.checkpoint = crash_after_sending
    with pytest.raises(Crash):
        gateway.runner().run_once()
    (entry,) = emails(gateway)
    assert entry.status == "queued"  # handed over, not recorded: the lease holds it
    # the restarted worker: another process, once the dead one's lease has ended
    clock = Clock()
    clock.now += LEASE + dt.timedelta(seconds=1)
    restarted = notify.Mailer(
        gateway.uow_factory, gateway.mailer.sender, gateway.alerts, clock=clock, worker="other:1"
    )
    assert [m.status for m in restarted.drain()] == ["sent"]
    first, second = smtp_server.wait_for(2)
    assert (
        first.message["Message-ID"] == second.message["Message-ID"] == entry.payload["message_id"]
    )
    assert first.raw == second.raw  # the same message, byte for byte
    assert restarted.drain() == []


# -- alerts ---------------------------------------------------------------------------------------


def test_repeated_alerts_are_grouped_while_waiting_and_counted_after_sending(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    gateway = wire(alert_repeat_minutes=60)
    clock = Clock()
    gateway.alerts.mail.clock = clock
    gateway.mailer.clock = clock
    details = [("Partner", "harborview")]
    first = gateway.alerts.raise_alert("mailbox:harborview", "mailbox-unreachable", "Down", details)
    clock.now += dt.timedelta(minutes=1)
    again = gateway.alerts.raise_alert("mailbox:harborview", "mailbox-unreachable", "Down", details)
    assert first == again  # joined the waiting email
    gateway.mailer.drain()
    (received,) = smtp_server.wait_for(1)
    assert received.message["Subject"] == "[gateway] Down (2 times)"
    for _ in range(3):  # within the hour: counted, not sent
        clock.now += dt.timedelta(minutes=5)
        assert gateway.alerts.raise_alert("mailbox:harborview", "x", "Down", details) is None
    assert gateway.mailer.drain() == []
    clock.now += dt.timedelta(hours=1)
    later = gateway.alerts.raise_alert("mailbox:harborview", "x", "Down", details)
    assert later is not None and later != first
    gateway.mailer.drain()
    _, second = smtp_server.wait_for(2)
    assert "It also happened 3 more times after the last email about it." in body(second.message)
    other = gateway.alerts.raise_alert("mailbox:pinecrest", "x", "Pinecrest down", details)
    assert other not in (first, later)  # another subject, another email


def test_a_quarantined_file_and_a_mailbox_down_too_long_alert_the_operators(
    wire: Callable[..., Gateway], smtp_server: SmtpServer, tmp_path: Path
):
    gateway = wire(mailbox_alert_minutes=0.001)
    drop(gateway, "850_004010_bad_SE01_count.x12")
    gateway.runner().run_once()
    (received,) = smtp_server.wait_for(1)
    assert received.message["Subject"] == (
        "[gateway] File 850_004010_bad_SE01_count.x12 from harborview was quarantined"
    )
    assert "SE01 says '26' segments" in body(received.message)
    runner = gateway.runner()
    transport = gateway.config.partners[0].transport
    assert isinstance(transport, FolderTransport)
    transport.inbox.rmdir()  # the folder mailbox gone: unreachable
    runner.run_once()
    runner.monotonic = lambda: 10**9  # long after
    runner.run_once()
    messages = smtp_server.wait_for(2)
    assert "has been unreachable for" in messages[-1].message["Subject"]
    assert messages[-1].rcpt_tos == OPERATORS


def test_a_mailbox_down_across_one_pass_runs_alerts_once_down_long_enough_and_is_reported(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    """A cron of `gateway run --once`: every run is a new process that knows nothing of the one
    before; the outage is kept in the store, so the alert comes when it has lasted the time."""
    gateway = wire(mailbox_alert_minutes=30)
    transport = gateway.config.partners[0].transport
    assert isinstance(transport, FolderTransport)
    transport.inbox.rmdir()  # the folder mailbox gone: unreachable
    start = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)

    def cron(minutes: int) -> tuple[runner_module.PassSummary, list[str]]:
        logged: list[str] = []
        runner = gateway.runner(log=lambda event, **fields: logged.append(event))
        runner.clock = lambda: start + dt.timedelta(minutes=minutes)
        return runner.run_once(), logged

    for minutes in (0, 10, 20):
        summary, _ = cron(minutes)
        assert list(summary.unreachable) == ["harborview"] and summary.mails == []
    summary, _ = cron(31)
    assert [m.status for m in summary.mails] == ["sent"]
    (received,) = smtp_server.wait_for(1)
    assert received.message["Subject"] == (
        "[gateway] The mailbox of Harborview Home Goods has been unreachable for 31 minutes"
    )
    assert "Failures in a row: 4" in body(received.message)
    day = build_report(gateway.uow_factory(), gateway.files)
    (outage,) = day["unreachable_mailboxes"]
    assert (outage["partner"], outage["failures"]) == ("harborview", 4)
    assert outage["down_since"].startswith("2026-11-22T06:00:00")
    assert "does not exist" in outage["last_error"]
    transport.inbox.mkdir()
    summary, logged = cron(40)
    assert summary.unreachable == {} and "mailbox reachable again" in logged
    assert build_report(gateway.uow_factory(), gateway.files)["unreachable_mailboxes"] == []
    summary, _ = cron(41)  # back to normal: nothing more said
    assert summary.mails == []


def test_overdue_acknowledgements_and_a_failing_delivery_alert_the_operators(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    gateway = wire(delivery_alert_attempts=1)
    transport = gateway.config.partners[0].transport
    assert isinstance(transport, FolderTransport)
    transport.outbox.parent.mkdir(parents=True, exist_ok=True)
    transport.outbox.write_text("a file where the outbox folder should be")
    drop(gateway, "850_004010_good.x12")
    summary = gateway.runner().run_once()
    assert [d.status for d in summary.deliveries] == ["retry"]
    (received,) = smtp_server.wait_for(1)
    assert received.message["Subject"] == "[gateway] Deliveries to harborview keep failing"
    transport.outbox.unlink()
    with gateway.uow_factory() as uow:  # the 997 due again now
        (entry,) = uow.outbox.due("x12", dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        uow.outbox.requeue(entry.id, dt.datetime.now(dt.UTC))
        uow.commit()
    exported = gateway.runner().run_once()  # the 997 goes out; it is owed no answer
    assert [d.status for d in exported.deliveries] == ["sent"]
    export(
        gateway.uow_factory, PO, "855", decision=Decision.accept_all(), mappings=gateway.mappings
    )
    runner = gateway.runner()
    runner.run_once()  # the 855 delivered: harborview owes a 997 for it within 24 hours
    runner.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    late = runner.run_once()
    assert len(late.overdue) == 1
    messages = smtp_server.wait_for(2)
    assert messages[-1].message["Subject"] == (
        "[gateway] 1 acknowledgement(s) overdue from harborview"
    )
    assert "855 interchange" in body(messages[-1].message)


# -- what an operator sees and does --------------------------------------------------------------


def test_the_queue_is_listed_shown_and_a_failed_email_retried(
    wire: Callable[..., Gateway], smtp_server: SmtpServer
):
    gateway = wire()
    smtp_server.refuse_recipient(ORDER_DESK[0], "550 5.1.1 no such user")
    smtp_server.refuse_recipient(ORDER_DESK[1], "550 5.1.1 no such user")
    drop(gateway, "850_004010_good.x12", "860_004010_good_change.x12")
    gateway.runner().run_once()
    rows = list_mail(gateway.uow_factory(), status="failed")
    assert [(r["kind"], r["to"]) for r in rows] == [("cancellation", list(ORDER_DESK))]
    shown = show_mail(gateway.uow_factory(), rows[0]["id"])
    assert "still open 3" in shown["text"] and shown["message_id"].endswith("@gateway.test>")
    smtp_server.reset()
    retry_mail(gateway.uow_factory, rows[0]["id"], dt.datetime.now(dt.UTC))
    assert [m.status for m in gateway.mailer.drain()] == ["sent"]
    messages = smtp_server.wait_for(1)
    assert messages[-1].message["Message-ID"] == shown["message_id"]


# -- late documents --------------------------------------------------------------------------


def test_a_late_document_alerts_the_operators_once_and_the_report_lists_it(
    wire: Callable[..., Gateway], smtp_server: SmtpServer, tmp_path: Path
):
    mailboxes = tmp_path / "mailboxes"
    gateway = wire(harborview(mailboxes, LatePolicy()), pinecrest(mailboxes))
    drop(gateway, "850_004010_good.x12")  # its requested ship date, 2026-11-06, has passed
    gateway.runner().run_once()
    (alert,) = smtp_server.wait_for(1)
    assert alert.rcpt_tos == OPERATORS
    subject = str(alert.message["Subject"])
    assert subject.startswith("[gateway] Late: ship date passed, PO HV4500871234")
    assert "gateway fulfil HV4500871234" in body(alert.message)  # what to do
    again = gateway.runner().run_once()  # a new process, as a cron of `run --once` is
    assert again.late == [] and len(smtp_server.messages) == 1  # alerted once
    report = build_report(
        gateway.uow_factory(),
        gateway.files,
        profiles={p.key: p for p in gateway.config.partners},
    )
    assert [(d["kind"], d["po_number"]) for d in report["late_documents"]] == [
        ("ship date passed", "HV4500871234")
    ]
