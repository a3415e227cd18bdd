"""The SMTP sender's rules on a fake smtplib connection (how each failure is sorted, what is
closed and how), and the message both senders build. The real conversation is in
tests/integration/test_smtp.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import smtplib
import ssl
from email import policy
from email.parser import BytesParser
from pathlib import Path
from unittest import mock

import pytest

from gateway.adapters.smtp import (
    CaptureSender,
    SmtpSender,
    build_message,
    envelope_address,
    message_bytes,
)
from gateway.config import MailSettings
from gateway.errors import ConfigurationError, MailRefused, TransportError
from gateway.service.ports import Email

SETTINGS = MailSettings(
    host="mail.example", port=587, security="starttls", timeout_seconds=5, domain="gw.example"
)


def an_email(**changes: object) -> Email:
    email = Email(
        message_id="<a1b2c3.4500012345@gw.example>",
        sender="Cedar Ridge EDI <edi@cedarridge.example>",
        recipients=("buyer@acme.example", "Order Desk <desk@cedarridge.example>"),
        subject="Order 4500012345 confirmed",
        text="Order 4500012345 is confirmed.\n",
        html="<p>Order <b>4500012345</b> is confirmed.</p>\n",
        created_at=dt.datetime(2026, 11, 21, 14, 5, 9, tzinfo=dt.UTC),
    )
    return dataclasses.replace(email, **changes)  # type: ignore[arg-type]


def parsed(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw.replace(b"\r\n", b"\n"))


# -- the message -------------------------------------------------------------------------------


def test_the_message_carries_the_emails_headers_and_keeps_its_message_id():
    email = an_email()

    message = parsed(message_bytes(email))

    assert message["Message-ID"] == "<a1b2c3.4500012345@gw.example>"
    assert message["From"] == email.sender
    assert message["To"] == "buyer@acme.example, Order Desk <desk@cedarridge.example>"
    assert message["Subject"] == email.subject
    assert message["Date"] == "Sat, 21 Nov 2026 14:05:09 +0000"
    assert message["MIME-Version"] == "1.0"


def test_the_body_is_the_text_then_the_html_as_alternatives_in_utf8():
    email = an_email(text="Déjà livré: 12 pièces\n", html="<p>Déjà livré: 12 pièces</p>\n")

    message = parsed(message_bytes(email))

    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), text.get_content_charset()) == ("text/plain", "utf-8")
    assert (html.get_content_type(), html.get_content_charset()) == ("text/html", "utf-8")
    # Text in base64 carries MIME's canonical CRLF line breaks.
    assert text.get_content().replace("\r\n", "\n") == email.text
    assert html.get_content().replace("\r\n", "\n") == email.html
    assert "MIME-Version" not in text
    assert "MIME-Version" not in html


def test_the_message_is_seven_bit_with_crlf_line_endings():
    raw = message_bytes(an_email(subject="Commande annulée — 2 lignes", text="Annulée ✓\n" * 3))

    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert parsed(raw)["Subject"] == "Commande annulée — 2 lignes"


def test_the_same_email_always_gives_the_same_bytes():
    email = an_email()

    assert message_bytes(email) == message_bytes(email)
    assert message_bytes(email) != message_bytes(an_email(text="Another text.\n"))


def test_the_boundary_never_occurs_in_the_parts():
    email = an_email()
    boundary = build_message(email).get_boundary()
    assert boundary is not None
    # A text that holds the boundary the email would otherwise get: another is chosen.
    tricky = an_email(text=f"--{boundary}\n")
    assert build_message(tricky).get_boundary() not in tricky.text


@pytest.mark.parametrize(
    "subject",
    [
        "[gateway] File 850_004010_bad_SE01_count.x12 from harborview was quarantined",
        "Order 4500012345 cancelled by Harborview Home Goods (the buyer) on 2026-11-21",
        "Commande 4500012345 annulée par Harborview (l'acheteur) — à vérifier avant expédition",
        "x" * 120,
    ],
)
def test_a_long_subject_is_folded_between_words_and_reads_back_unchanged(subject):
    raw = message_bytes(an_email(subject=subject))

    head = raw.split(b"\r\n\r\n")[0]
    assert b"Subject:\r\n" not in head
    assert b"?==?" not in head and b"=?utf-8?q??=" not in head
    assert all(len(line) <= 78 for line in head.split(b"\r\n") if b"x" * 100 not in line)
    assert parsed(raw)["Subject"] == subject


def test_a_line_break_in_the_subject_becomes_a_space():
    message = build_message(an_email(subject="Order 45\r\n  cancelled\nby Acme"))

    assert message["Subject"] == "Order 45 cancelled by Acme"


@pytest.mark.parametrize(
    ("written", "bare"),
    [
        ("edi@acme.example", "edi@acme.example"),
        ("Acme EDI <edi@acme.example>", "edi@acme.example"),
        ('"Doe, Jane" <jane@acme.example>', "jane@acme.example"),
    ],
)
def test_the_envelope_takes_the_bare_address(written, bare):
    assert envelope_address(written) == bare


# -- the conversation, on a fake connection ----------------------------------------------------


def fake_connection(**behaviour: object) -> mock.MagicMock:
    connection = mock.MagicMock(spec=smtplib.SMTP)
    connection.sock = object()
    connection.ehlo.return_value = (250, b"mail.example")
    connection.has_extn.return_value = True
    connection.sendmail.return_value = {}
    for name, effect in behaviour.items():
        getattr(connection, name).side_effect = effect
    return connection


@functools.cache
def system_context() -> ssl.SSLContext:
    """The sender's TLS context without ca_file, made once here (loading the system's CAs
    takes a while)."""
    return SmtpSender(SETTINGS)._tls_context()


def sender_on(monkeypatch: pytest.MonkeyPatch, connection: object, **changes: object) -> SmtpSender:
    sender = SmtpSender(dataclasses.replace(SETTINGS, **changes))  # type: ignore[arg-type]
    if sender.settings.ca_file is None:
        monkeypatch.setattr(sender, "_context", system_context())

    def connect(context: ssl.SSLContext | None) -> object:
        if isinstance(connection, BaseException):
            raise connection
        return connection

    monkeypatch.setattr(sender, "_connect", connect)
    return sender


def test_starttls_then_ehlo_again_then_the_message(monkeypatch):
    connection = fake_connection()

    assert sender_on(monkeypatch, connection).send(an_email()) == {}

    names = [call[0] for call in connection.method_calls]
    assert names == ["ehlo", "has_extn", "starttls", "ehlo", "sendmail", "quit", "close"]
    context = connection.starttls.call_args.kwargs["context"]
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    sender, recipients, payload = connection.sendmail.call_args.args
    assert sender == "edi@cedarridge.example"
    assert recipients == ["buyer@acme.example", "desk@cedarridge.example"]
    assert payload == message_bytes(an_email())


def test_without_starttls_on_offer_nothing_is_sent_in_plain_text(monkeypatch):
    connection = fake_connection()
    connection.has_extn.return_value = False

    with pytest.raises(TransportError, match="does not offer STARTTLS") as raised:
        sender_on(monkeypatch, connection).send(an_email())

    assert not isinstance(raised.value, MailRefused)
    connection.starttls.assert_not_called()
    connection.sendmail.assert_not_called()
    connection.close.assert_called()


def test_security_none_neither_asks_for_starttls_nor_needs_it(monkeypatch):
    connection = fake_connection()
    connection.has_extn.return_value = False

    sender_on(monkeypatch, connection, security="none").send(an_email())

    connection.starttls.assert_not_called()
    connection.sendmail.assert_called_once()


@pytest.mark.parametrize(
    ("failure", "kind", "words"),
    [
        (smtplib.SMTPDataError(451, b"4.3.0 try later"), TransportError, "451 4.3.0 try later"),
        (smtplib.SMTPDataError(554, b"5.6.0 rejected"), MailRefused, "554 5.6.0 rejected"),
        (
            smtplib.SMTPSenderRefused(553, b"5.7.1 not yours", "edi@cedarridge.example"),
            MailRefused,
            "refused the sender edi@cedarridge.example",
        ),
        (
            smtplib.SMTPSenderRefused(452, b"4.3.1 full", "edi@cedarridge.example"),
            TransportError,
            "452 4.3.1 full",
        ),
        (
            smtplib.SMTPSenderRefused(530, b"5.7.0 Authentication required", "edi@x.example"),
            TransportError,
            "wants a login",
        ),
        (
            smtplib.SMTPRecipientsRefused(
                {"buyer@acme.example": (450, b"4.2.1 grey"), "desk@x.example": (451, b"later")}
            ),
            TransportError,
            "for now: buyer@acme.example (450 4.2.1 grey), desk@x.example (451 later)",
        ),
        (
            smtplib.SMTPRecipientsRefused(
                {"buyer@acme.example": (550, b"5.1.1 unknown"), "desk@x.example": (451, b"later")}
            ),
            MailRefused,
            "refused every recipient of <a1b2c3.4500012345@gw.example>: buyer@acme.example "
            "(550 5.1.1 unknown)",
        ),
        (
            smtplib.SMTPResponseException(421, b"4.7.0 too busy\nbye"),
            TransportError,
            "answered 421 4.7.0 too busy bye while sending",
        ),
        (
            smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
            TransportError,
            "closed the connection while sending <a1b2c3",
        ),
        (ConnectionResetError(104, "Connection reset by peer"), TransportError, "reset by peer"),
    ],
)
def test_each_failure_is_sorted_by_whether_a_retry_can_help(monkeypatch, failure, kind, words):
    connection = fake_connection(sendmail=failure)

    with pytest.raises(TransportError) as raised:
        sender_on(monkeypatch, connection).send(an_email())

    assert type(raised.value) is kind
    assert words in str(raised.value)
    assert "mail.example:587" in str(raised.value)
    assert "\n" not in str(raised.value)
    assert raised.value.__cause__ is failure


def test_a_refused_login_is_a_transport_error_naming_the_settings(monkeypatch):
    monkeypatch.setenv("GW_SMTP_PASSWORD", "wrong")
    refusal = smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")
    connection = fake_connection(login=refusal)
    sender = sender_on(monkeypatch, connection, username="gateway", password_env="GW_SMTP_PASSWORD")

    with pytest.raises(TransportError) as raised:
        sender.send(an_email())

    assert not isinstance(raised.value, MailRefused)
    assert str(raised.value) == (
        "mail server mail.example:587 refused the login of gateway (535 5.7.8 Authentication"
        " credentials invalid): check [mail] username and the password in $GW_SMTP_PASSWORD"
    )
    connection.login.assert_called_once_with("gateway", "wrong")
    connection.sendmail.assert_not_called()
    connection.quit.assert_called_once()


def test_a_server_without_auth_is_a_transport_error(monkeypatch):
    monkeypatch.setenv("GW_SMTP_PASSWORD", "pw")
    missing = smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    connection = fake_connection(login=missing)
    sender = sender_on(monkeypatch, connection, username="gateway", password_env="GW_SMTP_PASSWORD")

    with pytest.raises(TransportError, match=r"does not offer AUTH; .*gateway cannot log in"):
        sender.send(an_email())


def test_an_unset_password_variable_stops_before_connecting(monkeypatch):
    monkeypatch.delenv("GW_SMTP_PASSWORD", raising=False)
    connect = mock.Mock()
    sender = SmtpSender(
        dataclasses.replace(SETTINGS, username="gateway", password_env="GW_SMTP_PASSWORD")
    )
    monkeypatch.setattr(sender, "_connect", connect)

    with pytest.raises(ConfigurationError, match="GW_SMTP_PASSWORD, which is not set"):
        sender.send(an_email())
    connect.assert_not_called()


def test_a_username_without_password_env_is_a_configuration_error(monkeypatch):
    sender = sender_on(monkeypatch, fake_connection(), username="gateway")

    with pytest.raises(ConfigurationError, match="password_env is not"):
        sender.send(an_email())


def test_a_timeout_reading_an_answer_says_so_and_does_not_wait_for_a_quit(monkeypatch):
    # smtplib raises this while handling the socket's timeout, as the exception's context.
    dropped = smtplib.SMTPServerDisconnected("Connection unexpectedly closed: timed out")
    dropped.__context__ = TimeoutError("timed out")
    connection = fake_connection(sendmail=dropped)

    with pytest.raises(TransportError) as raised:
        sender_on(monkeypatch, connection).send(an_email())

    assert str(raised.value) == (
        "no answer from mail server mail.example:587 within 5 s while sending"
        " <a1b2c3.4500012345@gw.example>"
    )
    connection.quit.assert_not_called()
    connection.close.assert_called_once()


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "refused the connection"),
        (TimeoutError("timed out"), "no answer from mail server mail.example:587 within 5 s"),
        (smtplib.SMTPConnectError(554, b"5.3.2 not now"), "greeted us with 554 5.3.2 not now"),
        (OSError(113, "No route to host"), "failed while connecting: No route to host"),
    ],
)
def test_a_failed_connection_is_a_transport_error(monkeypatch, failure, words):
    with pytest.raises(TransportError, match=words) as raised:
        sender_on(monkeypatch, failure).send(an_email())
    assert not isinstance(raised.value, MailRefused)


def test_an_untrusted_certificate_asks_for_ca_file(monkeypatch):
    failure = ssl.SSLCertVerificationError(1, "certificate verify failed")
    failure.verify_code = 20
    failure.verify_message = "unable to get local issuer certificate"
    connection = fake_connection(starttls=failure)

    with pytest.raises(TransportError) as raised:
        sender_on(monkeypatch, connection).send(an_email())

    assert str(raised.value) == (
        "the TLS certificate of mail server mail.example:587 is not trusted by the system's CAs"
        " (unable to get local issuer certificate); set [mail] ca_file to the CA that signed it"
    )
    connection.sendmail.assert_not_called()
    connection.quit.assert_not_called()
    connection.close.assert_called_once()


def test_a_failing_quit_falls_back_to_close(monkeypatch):
    connection = fake_connection(quit=smtplib.SMTPServerDisconnected("gone"))

    assert sender_on(monkeypatch, connection).send(an_email()) == {}
    connection.close.assert_called_once()


def test_a_partial_refusal_returns_the_refused_as_the_email_names_them(monkeypatch):
    connection = fake_connection()
    connection.sendmail.return_value = {"desk@cedarridge.example": (550, b"5.1.1 no such user")}

    refused = sender_on(monkeypatch, connection).send(an_email())

    assert refused == {"Order Desk <desk@cedarridge.example>": "550 5.1.1 no such user"}


def test_a_bug_is_not_disguised_as_a_transport_error(monkeypatch):
    connection = fake_connection(sendmail=KeyError("oops"))

    with pytest.raises(KeyError):
        sender_on(monkeypatch, connection).send(an_email())
    connection.close.assert_called()


def test_an_email_without_recipients_is_refused_without_connecting(monkeypatch):
    connect = mock.Mock()
    sender = SmtpSender(SETTINGS)
    monkeypatch.setattr(sender, "_connect", connect)

    with pytest.raises(MailRefused, match="no recipients"):
        sender.send(an_email(recipients=()))
    connect.assert_not_called()


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"host": ""}, "host is empty"),
        ({"security": "ssl"}, "'ssl' is not one of"),
        ({"timeout_seconds": 0}, "timeout_seconds must be above 0"),
    ],
)
def test_settings_that_cannot_work_are_refused_up_front(changes, words):
    with pytest.raises(ConfigurationError, match=words):
        SmtpSender(dataclasses.replace(SETTINGS, **changes))


def test_a_missing_ca_file_is_a_configuration_error(monkeypatch, tmp_path):
    sender = sender_on(monkeypatch, fake_connection(), ca_file=tmp_path / "missing.pem")

    with pytest.raises(ConfigurationError, match=r"ca_file .*missing\.pem does not exist"):
        sender.send(an_email())


def test_a_ca_file_that_is_not_pem_is_a_configuration_error(monkeypatch, tmp_path):
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    sender = sender_on(monkeypatch, fake_connection(), ca_file=garbage)

    with pytest.raises(ConfigurationError, match="cannot be read as PEM certificates"):
        sender.send(an_email())


# -- capture -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message_id", "name"),
    [
        ("<a1b2c3.4500012345@gw.example>", "20261121T140509-a1b2c3.4500012345_gw.example.eml"),
        ("<../../etc/passwd@x>", "20261121T140509-etc_passwd_x.eml"),
        ("<a b/c\\d@e>", "20261121T140509-a_b_c_d_e.eml"),
    ],
)
def test_the_capture_file_is_named_by_date_and_sanitised_message_id(message_id, name):
    folder = Path("/captured")

    assert CaptureSender(folder).path_for(an_email(message_id=message_id)) == folder / name


def test_a_long_message_id_is_cut_and_made_unique_by_a_digest():
    long_id = "<" + "x" * 300 + "@gw.example>"
    other = "<" + "x" * 300 + "@gw2.example>"

    first = CaptureSender(Path("/c")).path_for(an_email(message_id=long_id))
    second = CaptureSender(Path("/c")).path_for(an_email(message_id=other))

    assert first != second
    assert len(first.name) < 180


def test_a_capture_leaves_no_temporary_file(tmp_path):
    sender = CaptureSender(tmp_path)

    sender.send(an_email())
    sender.send(an_email())

    assert [path.name for path in tmp_path.iterdir()] == [
        "20261121T140509-a1b2c3.4500012345_gw.example.eml"
    ]
    assert (tmp_path / "20261121T140509-a1b2c3.4500012345_gw.example.eml").read_bytes() == (
        message_bytes(an_email())
    )
