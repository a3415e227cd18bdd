"""Email out: `SmtpSender` hands messages to a mail server with smtplib; `CaptureSender` writes
them as .eml files to a folder instead (when no SMTP host is configured).

Strategy:

- One message, one set of bytes. `message_bytes` builds the `EmailMessage` both senders use:
  From, To, Subject, Date (the email's `created_at`), Message-ID, and a multipart/alternative
  body with the plain text and the HTML part in UTF-8, 7-bit clean (quoted-printable or base64
  where needed), so that any server takes it without 8BITMIME or SMTPUTF8. The Message-ID is
  the one fixed when the email was queued, never a new one, and the MIME boundary is derived
  from the content rather than drawn at random: a retry after a lost answer sends the very
  same bytes, which a reader's mail client (or a person) recognises as a copy, and a captured
  file written twice is the same file.
- One connection per email: connect, secure it, log in, send, quit. Every wait (the TCP
  connect, the greeting, each command) is bounded by `timeout_seconds`. security "starttls"
  connects in plain text and requires STARTTLS: a server that does not offer it gets nothing
  (never a fall-back to plain text); "tls" is TLS from the first byte (SMTP_SSL); "none" is
  plain text. Certificates are checked against the system's CAs plus `ca_file`, host name
  included.
- Errors are sorted by whether trying again can help, which is what the outbox acts on:
  `TransportError` (retried later) for a server that cannot be reached, is slow, drops the
  connection, fails TLS, answers 4xx anywhere, refuses our login or asks for one (530, 538:
  a configuration problem, not the message's; it goes once that is fixed); `MailRefused`
  (never retried) for a 5xx answer to the message itself (MAIL FROM, DATA) or for every
  recipient refused with at least one 5xx among them. When the server refuses some
  recipients and accepts others, the message went to the accepted ones: `send` returns the
  refused ones with their answers. Each error is one line naming the server (host:port) and
  the reason. Settings that cannot work (the password variable unset, an unreadable
  ca_file) are a ConfigurationError, raised before connecting.
- The connection is always closed: QUIT while the server is still talking to us, a plain close
  when the connection is broken (a QUIT then would only wait out another timeout).

A sender is safe to share between threads: it keeps nothing per connection.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.adapters.filestore import write_whole
from gateway.config import MAIL_SECURITY, MailSettings
from gateway.errors import ConfigurationError, MailRefused, TransportError
from gateway.service.ports import Email, MailSender


class _MessagePolicy(policy.EmailPolicy):
    """SMTP's line endings and folding, with two changes: only 7-bit data in the body (non-ASCII
    text is encoded, quoted-printable or base64, so no server needs 8BITMIME), and a Subject
    folded here. The standard folder puts a whole subject holding brackets or parentheses
    ("[gateway] ...", "(the buyer)") on a line of its own after "Subject:", which readers
    then show with a leading space, and can write an empty encoded word."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() == "subject":
            return _fold_unstructured(name, str(value), self)
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() == "subject":
            return _fold_unstructured(name, str(value), self).encode("ascii")
        return bytes(super().fold_binary(name, value))


def _fold_unstructured(name: str, value: str, style: policy.EmailPolicy) -> str:
    """`name: value` folded before spaces to `max_line_length` (a word longer than a line is
    left whole, on the line of the name when it is the first); non-ASCII text as RFC 2047
    encoded words of at most 75 characters, which `email.header.Header` folds."""
    if not value.isascii():
        header = Header(value, "utf-8", maxlinelen=style.max_line_length, header_name=name)
        return f"{name}: {header.encode(linesep=style.linesep)}{style.linesep}"
    lines = [f"{name}:"]
    for number, word in enumerate(value.split(" ")):
        if number > 0 and len(lines[-1]) + 1 + len(word) > (style.max_line_length or 998):
            lines.append("")
        lines[-1] += f" {word}"
    return style.linesep.join(lines) + style.linesep


MESSAGE_POLICY = _MessagePolicy(linesep="\r\n", cte_type="7bit")
BOUNDARY_PREFIX = "=_gateway_"  # "=_" never occurs in quoted-printable nor in base64 text
# Answers that are about our configuration, not the message (RFC 4954): authentication
# required, encryption required for the authentication mechanism.
LOGIN_NEEDED = frozenset({530, 538})
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
NAME_MISMATCH = frozenset({62, 64})
CAPTURE_SUFFIX = ".eml"
CAPTURE_STAMP = "%Y%m%dT%H%M%S"
MAX_ID_IN_NAME = 150  # characters of the sanitised Message-ID in a capture file name
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_LINE_BREAKS = re.compile(r"[\r\n]+\s*")


def build_message(email: Email) -> EmailMessage:
    """The message both senders carry: headers from `email` (its Message-ID unchanged, its
    `created_at` as the Date), the text and HTML parts as multipart/alternative in UTF-8, and a
    MIME boundary derived from the content, so the same email always gives the same bytes."""
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = email.sender
    message["To"] = ", ".join(email.recipients)
    # A header cannot hold a line break: one in a subject built from partner data is a space.
    message["Subject"] = _LINE_BREAKS.sub(" ", email.subject).strip()
    message["Date"] = format_datetime(email.created_at)
    message["Message-ID"] = email.message_id
    message.set_content(email.text, charset="utf-8")
    message.add_alternative(email.html, subtype="html", charset="utf-8")
    for part in message.iter_parts():
        del part["MIME-Version"]  # set_content adds it to the HTML part; it belongs on top
    message.set_boundary(_boundary(email))
    return message


def message_bytes(email: Email) -> bytes:
    """`build_message(email)` as the bytes sent in SMTP's DATA (and written to a capture
    file): CRLF line endings, 7-bit."""
    return build_message(email).as_bytes()


def envelope_address(address: str) -> str:
    """The bare address of a header-style one (`Name <a@b>` -> `a@b`), for MAIL FROM and RCPT
    TO; an address that does not parse is used as it is."""
    return parseaddr(address)[1] or address.strip()


def _boundary(email: Email) -> str:
    """A MIME boundary that depends only on the email, and occurs in neither part."""
    for attempt in range(100):
        digest = hashlib.sha256()
        for piece in (email.message_id, email.subject, email.text, email.html, str(attempt)):
            digest.update(piece.encode("utf-8", "surrogatepass") + b"\0")
        boundary = BOUNDARY_PREFIX + digest.hexdigest()[:32]
        if boundary not in email.text and boundary not in email.html:
            return boundary
    raise AssertionError("no MIME boundary found")  # pragma: no cover  (2**128 to 1 per try)


def _answer(code: int, text: bytes | str) -> str:
    """A server's answer as one line: `550 5.1.1 no such user`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join([str(code), *text.split()])


class SmtpSender:
    """Sends each email over a connection of its own to the server `settings` names (host,
    port, security, username with the password from `password_env`, ca_file, timeout)."""

    def __init__(self, settings: MailSettings):
        if not settings.host:
            raise ConfigurationError(
                "[mail] host is empty: name the SMTP server, or capture emails to a folder"
            )
        if settings.security not in MAIL_SECURITY:
            raise ConfigurationError(
                f"[mail] security = {settings.security!r} is not one of "
                + ", ".join(repr(choice) for choice in MAIL_SECURITY)
            )
        if settings.timeout_seconds <= 0:
            raise ConfigurationError("[mail] timeout_seconds must be above 0")
        self.settings = settings
        self._context: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        return f"<SmtpSender {self.settings.security} {self._where}>"

    @property
    def _where(self) -> str:
        host = self.settings.host
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{self.settings.port}"

    def send(self, email: Email) -> dict[str, str]:
        """Send `email` to all its recipients (see `MailSender.send`). Returns the recipients the
        server refused while it accepted others, {address: answer}. Raises TransportError
        (retry later), MailRefused (never), ConfigurationError (the password variable is not
        set, ca_file unusable: found before connecting)."""
        password = self._password()
        context = self._tls_context() if self.settings.security != "none" else None
        recipients = {envelope_address(address): address for address in email.recipients}
        if not recipients:
            raise MailRefused(f"email {email.message_id} has no recipients; nothing was sent")
        payload = message_bytes(email)
        connection: smtplib.SMTP | None = None
        polite = True
        step = "while connecting"
        try:
            connection = self._connect(context)
            if self.settings.security == "starttls":
                step = "during STARTTLS"
                assert context is not None
                self._start_tls(connection, context)
            if self.settings.username:
                step = "while logging in"
                self._login(connection, password or "")
            step = f"while sending {email.message_id}"
            refused = connection.sendmail(envelope_address(email.sender), list(recipients), payload)
        except TransportError:
            raise
        except Exception as exc:
            polite = _still_talking(exc)
            failure = self._failure(exc, email, step)
            if failure is None:
                raise
            raise failure from exc
        finally:
            if connection is not None:
                _close(connection, polite=polite)
        return {
            recipients.get(address, address): _answer(code, text)
            for address, (code, text) in refused.items()
        }

    # -- the conversation ------------------------------------------------------------------

    def _connect(self, context: ssl.SSLContext | None) -> smtplib.SMTP:
        """Connect (with implicit TLS, handshake too) and read the greeting: SMTPConnectError
        unless it is 220. Every socket operation of the client is bounded by timeout_seconds."""
        settings = self.settings
        local_hostname = settings.domain or None  # None: smtplib's default, the host's FQDN
        if settings.security == "tls":
            assert context is not None
            return _ImplicitTlsClient(
                settings.host,
                settings.port,
                local_hostname=local_hostname,
                timeout=settings.timeout_seconds,
                context=context,
            )
        return smtplib.SMTP(
            settings.host,
            settings.port,
            local_hostname=local_hostname,
            timeout=settings.timeout_seconds,
        )

    def _start_tls(self, connection: smtplib.SMTP, context: ssl.SSLContext) -> None:
        code, text = connection.ehlo()
        if code != 250:
            raise smtplib.SMTPHeloError(code, text)
        if not connection.has_extn("starttls"):
            raise TransportError(
                f"mail server {self._where} does not offer STARTTLS and security is"
                ' "starttls": nothing was sent (never in plain text); enable STARTTLS on the'
                ' server, or use security = "tls" on its implicit-TLS port (usually 465)'
            )
        connection.starttls(context=context)
        code, text = connection.ehlo()
        if code != 250:
            raise smtplib.SMTPHeloError(code, text)

    def _login(self, connection: smtplib.SMTP, password: str) -> None:
        settings = self.settings
        check = f"check [mail] username and the password in ${settings.password_env}"
        try:
            connection.login(settings.username, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(
                f"mail server {self._where} refused the login of {settings.username}"
                f" ({_answer(exc.smtp_code, exc.smtp_error)}): {check}"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            plain = (
                " on a plain-text connection (servers offer it over TLS only: set security)"
                if settings.security == "none"
                else ""
            )
            raise TransportError(
                f"mail server {self._where} does not offer AUTH{plain}; [mail] username"
                f" {settings.username} cannot log in"
            ) from exc
        except (smtplib.SMTPResponseException, smtplib.SMTPServerDisconnected):
            raise  # sorted by `_failure` like any other answer or dropped connection
        except smtplib.SMTPException as exc:
            raise TransportError(
                f"mail server {self._where} cannot log {settings.username} in: {_one_line(exc)}"
                " (it offers no AUTH method smtplib knows: PLAIN, LOGIN or CRAM-MD5)"
            ) from exc

    # -- configuration ---------------------------------------------------------------------

    def _password(self) -> str | None:
        """The password to log in with (None when no username is set); ConfigurationError when
        it cannot be had."""
        settings = self.settings
        if not settings.username:
            return None
        password = settings.password()
        if password is None:
            raise ConfigurationError(
                f"[mail] username {settings.username} is set but password_env is not: name the"
                " environment variable holding the SMTP password"
            )
        return password

    def _tls_context(self) -> ssl.SSLContext:
        """The system's CAs plus `ca_file`, host names checked; made once."""
        if self._context is None:
            context = ssl.create_default_context()
            ca_file = self.settings.ca_file
            if ca_file is not None:
                try:
                    context.load_verify_locations(cafile=str(ca_file))
                except FileNotFoundError:
                    raise ConfigurationError(f"[mail] ca_file {ca_file} does not exist") from None
                except (ssl.SSLError, OSError, ValueError) as exc:
                    raise ConfigurationError(
                        f"[mail] ca_file {ca_file} cannot be read as PEM certificates:"
                        f" {_one_line(exc)}"
                    ) from None
            self._context = context
        return self._context

    # -- errors ----------------------------------------------------------------------------

    def _failure(self, exc: Exception, email: Email, step: str) -> TransportError | None:
        """The TransportError or MailRefused `exc` stands for (None: not a transport failure,
        a bug to let through)."""
        where = f"mail server {self._where}"
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            return _all_refused(where, exc.recipients, email)
        if isinstance(exc, smtplib.SMTPResponseException):
            code = exc.smtp_code
            answer = _answer(code, exc.smtp_error)
            permanent = 500 <= code <= 599
            if code in LOGIN_NEEDED:
                return TransportError(
                    f"{where} wants a login {step} ({answer}): set [mail] username and password_env"
                )
            if isinstance(exc, smtplib.SMTPSenderRefused):
                text = f"{where} refused the sender {exc.sender} of {email.message_id}: {answer}"
                return MailRefused(text) if permanent else TransportError(text)
            if isinstance(exc, smtplib.SMTPDataError):
                text = f"{where} refused {email.message_id}: {answer}"
                return MailRefused(text) if permanent else TransportError(text)
            if isinstance(exc, smtplib.SMTPConnectError):
                return TransportError(f"{where} is not ready: it greeted us with {answer}")
            if isinstance(exc, smtplib.SMTPHeloError):
                return TransportError(f"{where} refused our EHLO {step}: {answer}")
            return TransportError(f"{where} answered {answer} {step}")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            if isinstance(exc.__context__, TimeoutError):
                return TransportError(self._silent(where, step))
            return TransportError(f"{where} closed the connection {step}")
        if isinstance(exc, smtplib.SMTPException):
            return TransportError(f"{where}: {_one_line(exc)} {step}")
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = exc.verify_message or _one_line(exc)
            if exc.verify_code in NAME_MISMATCH:
                return TransportError(
                    f"the TLS certificate of {where} is not made out to {self.settings.host}"
                    f" ({reason}): set [mail] host to a name the certificate carries"
                )
            ca_file = self.settings.ca_file
            trusted = f"the system's CAs nor {ca_file}" if ca_file else "the system's CAs"
            hint = "" if ca_file else "; set [mail] ca_file to the CA that signed it"
            return TransportError(
                f"the TLS certificate of {where} is not trusted by {trusted} ({reason}){hint}"
            )
        if isinstance(exc, ssl.SSLError):
            hint = ""
            if exc.reason == "WRONG_VERSION_NUMBER" and self.settings.security == "tls":
                hint = ' (security "tls" needs a port speaking TLS from the start, usually 465)'
            return TransportError(f"TLS with {where} failed {step}: {exc.reason or exc}{hint}")
        if isinstance(exc, ConnectionRefusedError):
            return TransportError(f"{where} refused the connection (is the mail server up?)")
        if isinstance(exc, socket.gaierror):
            return TransportError(
                f"cannot resolve the mail server {self.settings.host}: {exc.strerror}"
            )
        if isinstance(exc, TimeoutError):
            return TransportError(self._silent(where, step))
        if isinstance(exc, OSError):
            reason = exc.strerror or _one_line(exc)
            return TransportError(f"{where} failed {step}: {reason}")
        return None

    def _silent(self, where: str, step: str) -> str:
        return f"no answer from {where} within {self.settings.timeout_seconds:g} s {step}"


class _ImplicitTlsClient(smtplib.SMTP_SSL):
    """smtplib's SMTP_SSL, closing the TCP connection itself when the TLS handshake fails
    (SMTP_SSL leaves that socket to the garbage collector)."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        plain = socket.create_connection((host, port), timeout, self.source_address)
        try:
            return self.context.wrap_socket(plain, server_hostname=host)
        except BaseException:
            plain.close()
            raise


def _all_refused(
    where: str, refusals: Mapping[str, tuple[int, bytes]], email: Email
) -> TransportError:
    """Every recipient refused: MailRefused when one answer at least is permanent (5xx), else
    TransportError (all 4xx: try again later)."""
    answers = ", ".join(
        f"{address} ({_answer(code, text)})" for address, (code, text) in refusals.items()
    )
    if any(500 <= code <= 599 for code, _ in refusals.values()):
        return MailRefused(f"{where} refused every recipient of {email.message_id}: {answers}")
    return TransportError(
        f"{where} refused every recipient of {email.message_id} for now: {answers}"
    )


def _still_talking(exc: BaseException) -> bool:
    """Whether the server is still in the conversation after `exc` (it answered, even with a
    refusal), so that a QUIT is worth sending."""
    return isinstance(
        exc,
        smtplib.SMTPResponseException
        | smtplib.SMTPRecipientsRefused
        | smtplib.SMTPNotSupportedError,
    ) and not isinstance(exc, smtplib.SMTPConnectError)


def _close(connection: smtplib.SMTP, *, polite: bool) -> None:
    """QUIT when the server still listens, else (or when QUIT fails) just close."""
    if polite and connection.sock is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.quit()
    connection.close()


def _one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class CaptureSender:
    """Writes each email to `folder` as `<created_at UTC, YYYYmmddTHHMMSS>-<Message-ID>.eml`,
    the same bytes `SmtpSender` would send, instead of sending it. Writing the same email again
    replaces its file with identical content."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __repr__(self) -> str:
        return f"<CaptureSender {self.folder}>"

    def path_for(self, email: Email) -> Path:
        """Where `email` is captured: the Date (in UTC when the time is zoned, so names sort by
        time) and the Message-ID kept to letters, digits, '.', '_' and '-'."""
        moment = email.created_at
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC)
        return (
            self.folder / f"{moment.strftime(CAPTURE_STAMP)}-{_id_in_name(email)}{CAPTURE_SUFFIX}"
        )

    def send(self, email: Email) -> dict[str, str]:
        """Write `email` to its file (a dot-prefixed temporary name, fsync, rename, fsync of the
        folder). Returns {}: no recipient is refused. Raises TransportError when the file
        cannot be written."""
        target = self.path_for(email)
        try:
            write_whole(target, message_bytes(email))
        except OSError as exc:
            reason = exc.strerror or _one_line(exc)
            raise TransportError(
                f"cannot capture {email.message_id} as {target}: {reason}"
            ) from exc
        return {}


def _id_in_name(email: Email) -> str:
    """The Message-ID without its angle brackets, reduced to [A-Za-z0-9._-]; a long one is cut
    and ends in a digest of the whole, so two ids never share a name by being cut."""
    cleaned = _UNSAFE_IN_NAME.sub("_", email.message_id.strip().strip("<>")).strip("._-")
    if cleaned and len(cleaned) <= MAX_ID_IN_NAME:
        return cleaned
    digest = hashlib.sha256(email.message_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{cleaned[: MAX_ID_IN_NAME - 17]}-{digest}" if cleaned else digest


if TYPE_CHECKING:  # mypy checks that both fit the port
    _PORTS: tuple[type[MailSender], type[MailSender]] = (SmtpSender, CaptureSender)
