"""The SMTP sender against a real aiosmtpd on 127.0.0.1 (the `smtp_server` fixtures of
tests/smtpd.py), and the capture sender against a real folder.

Every server is started by the test on a free port; TLS uses a throwaway CA made for the test
session, trusted through `ca_file`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path

import pytest

from gateway.adapters.smtp import CaptureSender, SmtpSender, message_bytes
from gateway.config import MailSettings
from gateway.errors import ConfigurationError, MailRefused, TransportError
from gateway.service.ports import Email
from tests.smtpd import SmtpServer, make_tls_files

TIMEOUT = 3.0
PASSWORD_VARIABLE = "GATEWAY_TEST_SMTP_PASSWORD"


def an_email(**changes: object) -> Email:
    email = Email(
        message_id="<7d1f0c2a9b.order-4500012345@gateway.example>",
        sender="Cedar Ridge EDI <edi@cedarridge.example>",
        recipients=("buyer@acme.example", "Order Desk <desk@cedarridge.example>"),
        subject="Order 4500012345 cancelled by Acme — 2 lines",
        text="Acme cancelled order 4500012345.\nLines 1 and 3, 12 units in all: déjà vu.\n",
        html="<p>Acme cancelled order <b>4500012345</b>: lines 1 and 3 (déjà vu).</p>\n",
        created_at=dt.datetime(2026, 11, 21, 14, 5, 9, tzinfo=dt.UTC),
    )
    return dataclasses.replace(email, **changes)  # type: ignore[arg-type]


def settings_for(server: SmtpServer, **changes: object) -> MailSettings:
    base = MailSettings(
        sender="Cedar Ridge EDI <edi@cedarridge.example>",
        host=server.host,
        port=server.port,
        security="none",
        timeout_seconds=TIMEOUT,
        domain="gateway.example",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def parts(message):
    """Each part's text, with "\n" line breaks (base64 text carries CRLF, MIME's canonical
    form)."""
    return {
        part.get_content_type(): part.get_content().replace("\r\n", "\n")
        for part in message.iter_parts()
    }


# -- plain -----------------------------------------------------------------------------------


def test_a_plain_send_carries_the_headers_both_parts_and_every_recipient(smtp_server):
    email = an_email()

    assert SmtpSender(settings_for(smtp_server)).send(email) == {}

    (received,) = smtp_server.wait_for(1)
    assert received.mail_from == "edi@cedarridge.example"
    assert received.rcpt_tos == ("buyer@acme.example", "desk@cedarridge.example")
    message = received.message
    assert message["Message-ID"] == email.message_id
    assert message["From"] == email.sender
    assert message["To"] == "buyer@acme.example, Order Desk <desk@cedarridge.example>"
    assert message["Subject"] == email.subject
    assert message["Date"].datetime == email.created_at
    assert message.get_content_type() == "multipart/alternative"
    assert parts(message) == {"text/plain": email.text, "text/html": email.html}
    assert not received.tls
    assert received.login is None


def test_the_message_sent_is_exactly_the_one_built_so_a_retry_sends_the_same_bytes(smtp_server):
    email = an_email()
    sender = SmtpSender(settings_for(smtp_server))

    sender.send(email)
    sender.send(email)

    first, second = smtp_server.wait_for(2)
    assert first.raw == second.raw == message_bytes(email)


# -- TLS -------------------------------------------------------------------------------------


def test_starttls_with_the_test_ca_trusted_through_ca_file(smtp_server_factory, smtp_tls):
    server = smtp_server_factory("starttls")
    settings = settings_for(server, security="starttls", ca_file=smtp_tls.ca_file)

    assert SmtpSender(settings).send(an_email()) == {}

    (received,) = server.wait_for(1)
    assert received.tls
    assert received.message["Message-ID"] == an_email().message_id


def test_starttls_to_a_server_whose_ca_is_not_trusted_sends_nothing(smtp_server_factory):
    server = smtp_server_factory("starttls")
    sender = SmtpSender(settings_for(server, security="starttls"))

    with pytest.raises(TransportError, match=r"certificate of mail server 127\.0\.0\.1:\d+ is not"):
        sender.send(an_email())
    assert server.messages == []


def test_the_certificate_must_name_the_host_connected_to(smtp_server_factory, tmp_path):
    elsewhere = make_tls_files(tmp_path / "tls", names=("mail.elsewhere.example",))
    server = smtp_server_factory("starttls", tls=elsewhere)
    sender = SmtpSender(settings_for(server, security="starttls", ca_file=elsewhere.ca_file))

    with pytest.raises(
        TransportError, match=r"is not made out to 127\.0\.0\.1 \(IP address mismatch"
    ):
        sender.send(an_email())
    assert server.messages == []


def test_starttls_required_but_not_offered_fails_and_nothing_is_sent(smtp_server, smtp_tls):
    sender = SmtpSender(settings_for(smtp_server, security="starttls", ca_file=smtp_tls.ca_file))

    with pytest.raises(TransportError, match="does not offer STARTTLS") as raised:
        sender.send(an_email())
    assert not isinstance(raised.value, MailRefused)
    assert smtp_server.messages == []


def test_implicit_tls(smtp_server_factory, smtp_tls):
    server = smtp_server_factory("tls")
    settings = settings_for(server, security="tls", ca_file=smtp_tls.ca_file)

    assert SmtpSender(settings).send(an_email()) == {}

    (received,) = server.wait_for(1)
    assert received.tls


def test_implicit_tls_to_a_plain_server_fails(smtp_server, smtp_tls):
    sender = SmtpSender(settings_for(smtp_server, security="tls", ca_file=smtp_tls.ca_file))

    with pytest.raises(TransportError, match=r"TLS with mail server .* failed|closed|no answer"):
        sender.send(an_email())
    assert smtp_server.messages == []


# -- login -----------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_login_with_the_password_from_the_environment(
    smtp_server_factory, smtp_tls, monkeypatch, security
):
    server = smtp_server_factory(security, username="gateway", password="s3cret pass")
    monkeypatch.setenv(PASSWORD_VARIABLE, "s3cret pass")
    settings = settings_for(
        server,
        security=security,
        ca_file=smtp_tls.ca_file,
        username="gateway",
        password_env=PASSWORD_VARIABLE,
    )

    assert SmtpSender(settings).send(an_email()) == {}

    (received,) = server.wait_for(1)
    assert received.login == "gateway"
    assert received.tls


def test_a_wrong_password_is_a_transport_error_naming_the_settings(
    smtp_server_factory, smtp_tls, monkeypatch
):
    server = smtp_server_factory("starttls", username="gateway", password="s3cret pass")
    monkeypatch.setenv(PASSWORD_VARIABLE, "not it")
    settings = settings_for(
        server,
        security="starttls",
        ca_file=smtp_tls.ca_file,
        username="gateway",
        password_env=PASSWORD_VARIABLE,
    )

    with pytest.raises(TransportError) as raised:
        SmtpSender(settings).send(an_email())
    assert not isinstance(raised.value, MailRefused)
    assert "refused the login of gateway (535" in str(raised.value)
    assert f"${PASSWORD_VARIABLE}" in str(raised.value)
    assert server.messages == []


def test_an_unset_password_variable_stops_before_connecting(smtp_server, monkeypatch):
    monkeypatch.delenv(PASSWORD_VARIABLE, raising=False)
    settings = settings_for(smtp_server, username="gateway", password_env=PASSWORD_VARIABLE)

    with smtp_server.stopped(), pytest.raises(ConfigurationError, match=PASSWORD_VARIABLE):
        SmtpSender(settings).send(an_email())


def test_a_login_on_a_plain_connection_is_not_offered(smtp_server_factory, monkeypatch):
    server = smtp_server_factory("starttls", username="gateway", password="s3cret pass")
    monkeypatch.setenv(PASSWORD_VARIABLE, "s3cret pass")
    settings = settings_for(server, username="gateway", password_env=PASSWORD_VARIABLE)

    with pytest.raises(TransportError, match="does not offer AUTH on a plain-text connection"):
        SmtpSender(settings).send(an_email())
    assert server.messages == []


def test_a_server_asking_for_a_login_we_do_not_give_is_a_configuration_matter(
    smtp_server_factory, smtp_tls
):
    server = smtp_server_factory("starttls", username="gateway", password="s3cret pass")
    settings = settings_for(server, security="starttls", ca_file=smtp_tls.ca_file)

    with pytest.raises(TransportError, match=r"wants a login .*\(530 5\.7\.0") as raised:
        SmtpSender(settings).send(an_email())
    assert not isinstance(raised.value, MailRefused)


# -- refusals --------------------------------------------------------------------------------


def test_a_4xx_answer_to_the_message_is_retried_later(smtp_server):
    smtp_server.fail("451 4.3.0 try again later", at="DATA")
    sender = SmtpSender(settings_for(smtp_server))

    with pytest.raises(TransportError, match=r"451 4\.3\.0 try again later") as raised:
        sender.send(an_email())
    assert not isinstance(raised.value, MailRefused)
    assert smtp_server.messages == []

    assert sender.send(an_email()) == {}  # the retry
    assert len(smtp_server.wait_for(1)) == 1


def test_a_5xx_answer_to_the_message_refuses_it_for_good(smtp_server):
    smtp_server.fail("554 5.6.0 message content rejected", at="DATA")

    with pytest.raises(MailRefused, match=r"refused <7d1f.*>: 554 5\.6\.0 message content"):
        SmtpSender(settings_for(smtp_server)).send(an_email())


def test_a_5xx_answer_to_the_sender_refuses_the_message(smtp_server):
    smtp_server.fail("553 5.7.1 sender not allowed", at="MAIL")

    with pytest.raises(MailRefused, match=r"refused the sender edi@cedarridge\.example"):
        SmtpSender(settings_for(smtp_server)).send(an_email())


def test_a_4xx_answer_to_the_sender_is_retried_later(smtp_server):
    smtp_server.fail("421 4.3.2 shutting down", at="MAIL")

    with pytest.raises(TransportError, match="421") as raised:
        SmtpSender(settings_for(smtp_server)).send(an_email())
    assert not isinstance(raised.value, MailRefused)


def test_the_only_recipient_refused_with_550_refuses_the_message(smtp_server):
    smtp_server.refuse_recipient("nobody@acme.example", "550 5.1.1 no such user")
    email = an_email(recipients=("nobody@acme.example",))

    with pytest.raises(MailRefused) as raised:
        SmtpSender(settings_for(smtp_server)).send(email)
    assert "nobody@acme.example (550 5.1.1 no such user)" in str(raised.value)
    assert smtp_server.messages == []


def test_every_recipient_refused_for_now_is_retried_later(smtp_server):
    smtp_server.fail("450 4.2.1 greylisted, come back later", times=2, at="RCPT")

    with pytest.raises(TransportError, match="greylisted") as raised:
        SmtpSender(settings_for(smtp_server)).send(an_email())
    assert not isinstance(raised.value, MailRefused)
    assert smtp_server.messages == []


def test_one_refused_recipient_of_two_is_returned_and_the_other_gets_the_message(smtp_server):
    smtp_server.refuse_recipient("buyer@acme.example", "550 5.1.1 no such user")

    refused = SmtpSender(settings_for(smtp_server)).send(an_email())

    assert refused == {"buyer@acme.example": "550 5.1.1 no such user"}
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == ("desk@cedarridge.example",)


def test_a_refused_recipient_is_named_as_the_email_gives_it(smtp_server):
    smtp_server.refuse_recipient("desk@cedarridge.example", "550 5.1.1 mailbox disabled")

    refused = SmtpSender(settings_for(smtp_server)).send(an_email())

    assert refused == {"Order Desk <desk@cedarridge.example>": "550 5.1.1 mailbox disabled"}


# -- a server down or silent -----------------------------------------------------------------


def test_a_server_that_is_down_fails_fast_and_the_next_send_goes_through(smtp_server):
    sender = SmtpSender(settings_for(smtp_server))
    with smtp_server.stopped():
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"127\.0\.0\.1:\d+ refused the connection"):
            sender.send(an_email())
        assert time.monotonic() - started < 1

    assert sender.send(an_email()) == {}
    assert len(smtp_server.wait_for(1)) == 1


def test_a_server_that_never_greets_times_out(smtp_server):
    sender = SmtpSender(settings_for(smtp_server, timeout_seconds=1.0))

    with smtp_server.silent("CONNECT"):
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"no answer from .* within 1 s while connecting"):
            sender.send(an_email())
        assert time.monotonic() - started < 2.5


def test_a_server_that_stalls_after_the_message_times_out(smtp_server):
    sender = SmtpSender(settings_for(smtp_server, timeout_seconds=0.5))

    with smtp_server.silent("DATA"):
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"no answer .* within 0.5 s while sending <7d1f"):
            sender.send(an_email())
        assert time.monotonic() - started < 2


def test_a_tls_server_that_never_greets_times_out(smtp_server_factory, smtp_tls):
    server = smtp_server_factory("tls")
    settings = settings_for(server, security="tls", ca_file=smtp_tls.ca_file, timeout_seconds=0.5)

    with server.silent("CONNECT"):
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"no answer .* within 0\.5 s while connecting"):
            SmtpSender(settings).send(an_email())
        assert time.monotonic() - started < 2


# -- capture ---------------------------------------------------------------------------------


def test_capture_writes_one_eml_per_message_id_with_the_bytes_smtp_carries(smtp_server, tmp_path):
    folder = tmp_path / "mail" / "captured"
    first, second = an_email(), an_email(message_id="<second/one@gateway.example>")

    assert CaptureSender(folder).send(first) == {}
    assert CaptureSender(folder).send(second) == {}
    SmtpSender(settings_for(smtp_server)).send(first)

    assert sorted(path.name for path in folder.iterdir()) == [
        "20261121T140509-7d1f0c2a9b.order-4500012345_gateway.example.eml",
        "20261121T140509-second_one_gateway.example.eml",
    ]
    captured = folder / "20261121T140509-7d1f0c2a9b.order-4500012345_gateway.example.eml"
    (received,) = smtp_server.wait_for(1)
    assert captured.read_bytes() == received.raw


def test_capturing_the_same_email_again_rewrites_the_same_file(tmp_path):
    sender = CaptureSender(tmp_path)
    email = an_email()

    sender.send(email)
    (path,) = tmp_path.iterdir()
    content = path.read_bytes()
    sender.send(email)

    assert list(tmp_path.iterdir()) == [path]
    assert path.read_bytes() == content


def test_a_capture_folder_that_cannot_be_written_is_a_transport_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")

    with pytest.raises(TransportError, match="cannot capture <7d1f"):
        CaptureSender(blocker / "captured").send(an_email())
    assert blocker.read_text() == "a file where the folder should be"


def test_capture_names_sort_by_time_in_utc(tmp_path):
    zone = dt.timezone(dt.timedelta(hours=-5))
    email = an_email(created_at=dt.datetime(2026, 11, 21, 9, 5, 9, tzinfo=zone))

    path = CaptureSender(tmp_path).path_for(email)

    assert path == tmp_path / "20261121T140509-7d1f0c2a9b.order-4500012345_gateway.example.eml"
    assert isinstance(path, Path)
