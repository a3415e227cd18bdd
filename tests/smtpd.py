"""A real SMTP server (aiosmtpd) for the mail tests, started by the test itself.

Each `SmtpServer` runs aiosmtpd's `SMTP` protocol on an asyncio event loop of its own in a
daemon thread, listening on 127.0.0.1 and a port the system picks on the first start (and
keeps across restarts, so `stopped()` can take it down and bring it back on the same port).
It keeps every message it accepts (`messages`, `wait_for`) and can be told to misbehave:
answer the next messages or recipients with an error (`fail`), refuse an address for good
(`refuse_recipient`), or accept connections and then say nothing (`silent`).

Options: `security` "none" (plain), "starttls" (offers STARTTLS) or "tls" (TLS from the first
byte), with a certificate for 127.0.0.1 and localhost signed by a throwaway CA made here with
`cryptography` (`TlsFiles.ca_file` is what the client trusts); `username` and `password`
require a login, offered over TLS only (after STARTTLS, or on the implicit-TLS port).

Fixtures: `smtp_server` (plain, function-scoped: a start takes a few milliseconds),
`smtp_server_factory` (call it with the options; every server it started is stopped at the
end of the test), `smtp_tls` (the session's CA and certificate files). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"
SERVER_NAME = "localhost"
START_SECONDS = 5.0
STOP_SECONDS = 5.0
WAIT_SECONDS = 10.0
SECURITY = ("none", "starttls", "tls")
STAGES = ("MAIL", "RCPT", "DATA")
SILENT_STAGES = ("CONNECT", *STAGES)


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage  # parsed with email.policy.default, line endings made "\n"
    raw: bytes  # the DATA as received, dot-unstuffed
    tls: bool  # the session was encrypted (after STARTTLS, or implicit TLS)
    login: str | None  # the user that logged in, if any


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA and a server certificate it signed, for 127.0.0.1 and localhost."""

    ca_file: Path  # the CA's certificate (PEM): what a client trusts
    cert_file: Path  # the server's certificate (PEM)
    key_file: Path  # the server's private key (PEM)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_tls_files(folder: Path, names: tuple[str, ...] = (SERVER_NAME, HOST)) -> TlsFiles:
    """Write a CA certificate, and a server certificate for `names` (host names and IP
    addresses) and its key, signed by the CA, into `folder`. Both carry the extensions strict
    verifiers want (key usages, key identifiers)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gateway test CA")])
    ca_identifier = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ca_identifier, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alternative_names = [_general_name(name) for name in names]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_identifier),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(
        ca_file=folder / "ca.pem", cert_file=folder / "server.pem", key_file=folder / "server.key"
    )
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _key_usage(**granted: bool) -> x509.KeyUsage:
    usages = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    return x509.KeyUsage(**{**usages, **granted})


class _Mute(asyncio.Protocol):
    """A connection that is accepted and never spoken to."""

    def __init__(self) -> None:
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


class SmtpServer:
    """A running aiosmtpd on 127.0.0.1 (see the module's docstring)."""

    host = HOST

    def __init__(
        self,
        *,
        security: str = "none",
        tls: TlsFiles | None = None,
        username: str | None = None,
        password: str | None = None,
    ):
        if security not in SECURITY:
            raise ValueError(f"security {security!r} is not one of {SECURITY}")
        if security != "none" and tls is None:
            raise ValueError(f'security "{security}" needs the TLS files')
        if username is not None and (security == "none" or password is None):
            raise ValueError("a login needs a password and TLS (auth only over TLS)")
        self.security = security
        self.tls = tls
        self.username = username
        self.password = password
        self.port = 0  # chosen by the system on the first start
        self._context = tls.server_context() if tls is not None else None
        self._lock = threading.Condition()
        self._messages: list[ReceivedMessage] = []
        self._failures: dict[str, deque[str]] = {stage: deque() for stage in STAGES}
        self._refused: dict[str, str] = {}
        self._silent: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._resume: asyncio.Event | None = None
        self._connections: weakref.WeakSet[SMTP | _Mute] = weakref.WeakSet()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SmtpServer {self.security} {self.host}:{self.port}, {state}>"

    # -- what it received ------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        """The messages accepted so far, oldest first."""
        with self._lock:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = WAIT_SECONDS) -> list[ReceivedMessage]:
        """The messages once there are at least `count`; AssertionError after `timeout` s."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._messages) >= count, timeout):
                raise AssertionError(
                    f"{self}: {len(self._messages)} message(s) within {timeout:g} s, not {count}"
                )
            return list(self._messages)

    # -- misbehaving -----------------------------------------------------------------------

    def fail(self, code_and_text: str, times: int = 1, at: str = "DATA") -> None:
        """Answer the next `times` MAIL FROM commands, recipients (RCPT TO) or messages
        (DATA) with `code_and_text`, e.g. "451 4.3.0 try later" or "550 5.1.1 no such user"."""
        if at not in STAGES:
            raise ValueError(f"at must be one of {STAGES}, not {at!r}")
        _check_answer(code_and_text)
        with self._lock:
            self._failures[at].extend([code_and_text] * times)

    def refuse_recipient(self, address: str, answer: str = "550 5.1.1 no such user") -> None:
        """Refuse RCPT TO `address` with `answer` from now on."""
        _check_answer(answer)
        with self._lock:
            self._refused[address.lower()] = answer

    @contextlib.contextmanager
    def silent(self, at: str = "CONNECT") -> Iterator[None]:
        """Inside the block the server accepts connections but says nothing: no greeting
        ("CONNECT": the TCP connection, and the TLS handshake with implicit TLS, complete), or
        no answer to MAIL FROM, RCPT TO or the end of DATA."""
        if at not in SILENT_STAGES:
            raise ValueError(f"at must be one of {SILENT_STAGES}, not {at!r}")
        self._running_loop()
        resume = asyncio.Event()
        with self._lock:
            self._silent, self._resume = at, resume
        try:
            yield
        finally:
            with self._lock:
                self._silent, self._resume = None, None
            loop = self._loop  # the one running now, after any restart in the block
            if loop is not None:
                loop.call_soon_threadsafe(resume.set)

    def accept_recipient(self, address: str) -> None:
        """Take back `refuse_recipient(address)`: RCPT TO `address` is accepted again."""
        with self._lock:
            self._refused.pop(address.lower(), None)

    def forgive(self) -> None:
        """Forget every failure asked for and not given yet (the messages received stay)."""
        with self._lock:
            for queued in self._failures.values():
                queued.clear()
            self._refused.clear()

    def reset(self) -> None:
        """Forget the messages received and every failure asked for."""
        self.forgive()
        with self._lock:
            self._messages.clear()

    # -- up and down -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Listen (on the same port as before, after a stop). Returns once it accepts."""
        if self.running:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=_run_forever, args=(loop,), name=f"smtpd-{self.port}", daemon=True
        )
        thread.start()
        try:
            server = asyncio.run_coroutine_threadsafe(self._listen(), loop).result(START_SECONDS)
        except BaseException:
            _end_loop(loop, thread)
            raise
        self._loop, self._thread, self._server = loop, thread, server
        self.port = int(server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        """Stop listening and cut every open connection, the way a crash does."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(STOP_SECONDS)
        finally:
            _end_loop(loop, thread)
            self._loop = self._thread = self._server = None

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """The server is down inside the block (connections are refused), up after."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError(f"{self} is not running")
        return self._loop

    async def _listen(self) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        if self.security == "tls":
            return await loop.create_server(
                self._protocol,
                host=self.host,
                port=self.port,
                ssl=self._context,
                ssl_handshake_timeout=STOP_SECONDS,
                reuse_address=True,
            )
        return await loop.create_server(
            self._protocol, host=self.host, port=self.port, reuse_address=True
        )

    def _protocol(self) -> asyncio.Protocol:
        with self._lock:
            silent = self._silent == "CONNECT"
        if silent:
            mute = _Mute()
            self._connections.add(mute)
            return mute
        smtp = SMTP(
            _Handler(self),
            hostname=SERVER_NAME,
            tls_context=self._context if self.security == "starttls" else None,
            # With implicit TLS the whole connection is encrypted, but aiosmtpd only counts
            # STARTTLS as TLS: it offers AUTH there only when not told to require TLS.
            auth_require_tls=self.security != "tls",
            authenticator=self._authenticate if self.username is not None else None,
            timeout=WAIT_SECONDS * 6,
            loop=asyncio.get_running_loop(),
        )
        self._connections.add(smtp)
        return smtp

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        granted = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        if granted:
            return AuthResult(success=True, auth_data=self.username)
        return AuthResult(success=False, handled=False)

    async def _shutdown(self) -> None:
        server = self._server
        if server is not None:
            server.close()
        for connection in list(self._connections):
            transport = connection.transport
            if isinstance(transport, asyncio.Transport):
                transport.abort()
        if self._resume is not None:
            self._resume.set()
        current = asyncio.current_task()
        others = [task for task in asyncio.all_tasks() if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await asyncio.sleep(0)  # let the aborted transports report their connection lost

    # -- what the handler asks -------------------------------------------------------------

    async def _pause(self, stage: str) -> None:
        with self._lock:
            resume = self._resume if self._silent == stage else None
        if resume is not None:
            await resume.wait()

    def _next_failure(self, stage: str) -> str | None:
        with self._lock:
            queued = self._failures[stage]
            return queued.popleft() if queued else None

    def _refusal(self, address: str) -> str | None:
        with self._lock:
            return self._refused.get(address.lower())

    def _receive(self, received: ReceivedMessage) -> None:
        with self._lock:
            self._messages.append(received)
            self._lock.notify_all()


class _Handler:
    """aiosmtpd's hooks, answering as the `SmtpServer` is told to."""

    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_MAIL(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        await self.server._pause("MAIL")
        if self.server.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        failure = self.server._next_failure("MAIL")
        if failure is not None:
            return failure
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        await self.server._pause("RCPT")
        refusal = self.server._refusal(address) or self.server._next_failure("RCPT")
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        await self.server._pause("DATA")
        failure = self.server._next_failure("DATA")
        if failure is not None:
            return failure
        raw = envelope.original_content or b""
        # Parsed as a mail store keeps it, with "\n" line endings: get_content() gives text.
        parsed = BytesParser(policy=policy.default).parsebytes(raw.replace(b"\r\n", b"\n"))
        assert isinstance(parsed, EmailMessage)
        transport = smtp.transport
        self.server._receive(
            ReceivedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=parsed,
                raw=raw,
                tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
                login=session.auth_data if session.authenticated else None,
            )
        )
        return "250 2.0.0 OK: queued"


def _check_answer(answer: str) -> None:
    code = answer[:3]
    if not (code.isdigit() and code[0] in "45" and answer[3:4] in {" ", ""}):
        raise ValueError(f"{answer!r} is not a 4xx or 5xx answer like '451 4.3.0 try later'")


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def _end_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join(STOP_SECONDS)
    if thread.is_alive():
        raise RuntimeError(f"the SMTP server's thread did not end within {STOP_SECONDS} s")
    loop.close()


@pytest.fixture(scope="session")
def smtp_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """The session's throwaway CA, and a certificate for 127.0.0.1 and localhost."""
    return make_tls_files(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def smtp_server_factory(smtp_tls: TlsFiles) -> Iterator[Callable[..., SmtpServer]]:
    """`start(security="none"|"starttls"|"tls", *, username=None, password=None, tls=None)`:
    a running server with those options (`tls`: other TLS files than the session's); every
    one is stopped at the end of the test."""
    started: list[SmtpServer] = []

    def start(
        security: str = "none",
        *,
        username: str | None = None,
        password: str | None = None,
        tls: TlsFiles | None = None,
    ) -> SmtpServer:
        if security != "none":
            tls = tls or smtp_tls
        server = SmtpServer(security=security, tls=tls, username=username, password=password)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Callable[..., SmtpServer]) -> SmtpServer:
    """A running plain SMTP server (no TLS, no login) on 127.0.0.1."""
    return smtp_server_factory()
