"""SFTP mailboxes: a partner's SFTP server as an `InboundMailbox` and an `OutboundMailbox`.

Strategy:

- One paramiko `Transport` per mailbox, opened on first use over a socket from
  `socket.create_connection`, kept between calls while it is alive, and dropped after any
  failure, so that the next call connects afresh (a server restarted in between is fine).
- Every wait is bounded by `timeout_seconds`: the TCP connect, the banner, the key exchange
  and the authentication have paramiko timeouts; the SFTP subsystem request, which paramiko
  waits for without one, runs under a watchdog that closes the transport; each SFTP request
  afterwards is bounded by the channel timeout.
- The server's host key is pinned: its SHA256 fingerprint, computed as OpenSSH prints it, must
  equal the profile's `host_key`. known_hosts is never read or written and no key is ever
  accepted on first sight. A server may hold several host keys (Ed25519, ECDSA, RSA) and the
  partner may have given us the fingerprint of any of them, so when the negotiated key is not
  the pinned one the negotiation is repeated without that key type until the server has no
  other; only then is the server rejected, naming every key it presented.
- Pickup is copy, then make durable, then remove: a remote file is downloaded under a
  dot-prefixed `.part` name in the staging folder, its size compared with the listed size,
  fsynced, renamed to its final name, the staging folder fsynced, and only then is the remote
  file deleted (or moved to the archive folder). A crash or a failure at any point leaves the
  remote file in place, so a file is picked up at least once; one picked up twice (the remote
  removal was lost with the connection) is a duplicate for the ingest to recognise by content.
- Delivery is write, check, rename: `.name.part` is written, its size checked with a stat and
  it is then renamed to `name` (atomically with OpenSSH's posix-rename extension, else remove
  and rename), so the partner never sees half a file. A file already there under `name` with
  the same size is taken as an earlier delivery of the same content (a retry) and left alone.

A mailbox is not thread-safe: one thread uses it at a time.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fnmatch
import hashlib
import os
import posixpath
import socket
import stat
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import paramiko
from paramiko.ssh_exception import IncompatiblePeer

from gateway.adapters.filestore import numbered_name, part_name
from gateway.adapters.pickup import Unmovables
from gateway.config import SftpTransport
from gateway.errors import ConfigurationError, HostKeyRejected, TransportError
from gateway.service.ports import InboundMailbox, OutboundMailbox, Staged, Unmovable

PROBE_NAME = ".gateway-probe"
# Names of uploads still under way: ours and common clients' (WinSCP writes `.filepart`).
TEMPORARY_SUFFIXES = (".part", ".tmp", ".partial", ".filepart")
# Ed25519, ECDSA over three curves and RSA: the most host key types a server can show us.
MAX_HOST_KEY_TYPES = 5
MAX_NAME_ATTEMPTS = 10_000
RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
CONNECTION_ERRORS = (OSError, EOFError, paramiko.SSHException)


def host_key_fingerprint(key: paramiko.PKey) -> str:
    """The key's SHA256 fingerprint exactly as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


class SftpMailbox:
    """A partner's folders on their SFTP server: `collect` picks up from `remote_inbox`,
    `deliver` puts into `remote_outbox`, `check` tries both. Connects on first use; use it as
    a context manager, or call `close()`."""

    def __init__(self, partner: str, settings: SftpTransport, *, password: str | None = None):
        self.partner = partner
        self.settings = settings
        self._password = password
        self._key: paramiko.PKey | None = None
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._unmovable = Unmovables()

    def __enter__(self) -> SftpMailbox:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "connected" if self.connected else "not connected"
        return f"<SftpMailbox {self.partner} {self._where}, {state}>"

    @property
    def connected(self) -> bool:
        """Whether a live connection is open (a dropped one is noticed on the next call)."""
        return self._live_client() is not None

    def close(self) -> None:
        """Close the connection, if one is open. The mailbox reconnects on its next use."""
        sftp, transport = self._sftp, self._transport
        self._sftp = None
        self._transport = None
        if sftp is not None:
            with contextlib.suppress(Exception):
                sftp.close()
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()

    # -- the ports -------------------------------------------------------------------------

    def collect(self, staging: Path, *, limit: int = 100) -> list[Staged]:
        """Move up to `limit` files of `remote_inbox` (regular files matching `pattern`, oldest
        first; never dot-files nor `.part`, `.tmp`, ... ones, uploads still under way) into
        `staging`, each durable there before it leaves the server. A file the server will not
        let us read, or that staging cannot hold, stays on the server, is reported by
        `unmovable` and tried again later, while the files after it go on; one picked up that
        the server will not let us remove (or move to archive_folder) is staged, reported, and
        not picked up again while it is unchanged. Raises TransportError when the server cannot
        be reached or the connection drops: the file it failed on stays on the server, the ones
        before it stay staged."""
        if limit <= 0:
            return []
        settings = self.settings
        sftp = self._client()
        with self._failure(f"cannot list remote_inbox {settings.remote_inbox}"):
            entries = sftp.listdir_attr(settings.remote_inbox)
        self._unmovable.keep_only(entry.filename for entry in entries)
        ready = sorted(
            (
                entry
                for entry in entries
                if self._is_ready(entry)
                and self._unmovable.due(entry.filename, entry.st_size or 0, entry.st_mtime or 0)
            ),
            key=lambda entry: (entry.st_mtime or 0, entry.filename),
        )[:limit]
        if not ready:
            return []
        with self._failure(f"cannot create the staging folder {staging}"):
            staging.mkdir(parents=True, exist_ok=True)
        archive = ""
        if settings.after_pickup == "move":
            archive = settings.archive_folder
            with self._failure(f"cannot prepare archive_folder {archive}"):
                self._ensure_folder(sftp, archive)
        staged: list[Staged] = []
        for entry in ready:
            earlier = (
                f" (the {len(staged)} file(s) picked up before it are staged in {staging})"
                if staged
                else ""
            )
            picked = self._pick_up(sftp, entry, staging, archive, earlier)
            if picked is not None:
                staged.append(picked)
        return staged

    def unmovable(self) -> list[Unmovable]:
        """The remote inbox's files that could not be picked up whole (see `collect`)."""
        return self._unmovable.listing()

    def settling(self) -> float:
        """Always 0.0: uploads under way are told by their names (dot-files, `.part`, ...)."""
        return 0.0

    def deliver(self, name: str, content: bytes) -> str:
        """Put `content` in `remote_outbox` as `name`: written as `.name.part`, its size
        checked, then renamed. When `name` is already there with the same size, nothing is
        written (a retry of a delivery that went through). Returns the `sftp://` location."""
        _check_file_name(name)
        folder = self.settings.remote_outbox
        target = posixpath.join(folder, name)
        part = posixpath.join(folder, part_name(name))
        location = self._location(target)
        sftp = self._client()
        with self._failure(f"cannot look for {target}"):
            existing = _stat_or_none(sftp, target)
        if existing is not None and existing.st_size == len(content):
            return location
        step = f"cannot write {part}"
        try:
            with sftp.open(part, "wb") as remote_file:
                remote_file.set_pipelined(True)
                remote_file.write(content)
            step = f"cannot check the size of {part}"
            written = sftp.stat(part).st_size
            if written != len(content):
                raise _SizeMismatch(
                    f"{part} holds {written} bytes on the server, not the {len(content)} sent"
                )
            step = f"cannot rename {part} to {name}"
            _replace(sftp, part, target)
        except _SizeMismatch as exc:
            self._discard(sftp, part)
            raise self._error(str(exc)) from None
        except CONNECTION_ERRORS as exc:
            message = f"{step}: {self._reason(exc)}"
            self._discard(sftp, part)
            self.close()
            raise self._error(message) from exc
        return location

    def check(self) -> list[str]:
        """Connect (host key, authentication) and try the folders: remote_inbox listable,
        remote_outbox writable (a `.gateway-probe` file written and removed), archive_folder
        there or creatable with after_pickup "move". Returns the problems found, [] when all
        is well; HostKeyRejected and TransportError (cannot connect) propagate."""
        settings = self.settings
        sftp = self._client()
        problems: list[str] = []
        try:
            sftp.listdir_attr(settings.remote_inbox)
        except CONNECTION_ERRORS as exc:
            self._raise_if_connection_lost(exc)
            problems.append(
                f"remote_inbox {settings.remote_inbox} cannot be listed: {self._reason(exc)}"
            )
        probe = posixpath.join(settings.remote_outbox, PROBE_NAME)
        try:
            with sftp.open(probe, "wb") as remote_file:
                remote_file.write(b"gateway write probe\n")
            sftp.remove(probe)
        except CONNECTION_ERRORS as exc:
            self._raise_if_connection_lost(exc)
            problems.append(
                f"remote_outbox {settings.remote_outbox} is not writable: {self._reason(exc)}"
            )
            self._discard(sftp, probe)
        if settings.after_pickup == "move":
            problem = self._check_archive(sftp, settings.archive_folder)
            if problem:
                problems.append(problem)
        return problems

    # -- pickup ----------------------------------------------------------------------------

    def _is_ready(self, entry: paramiko.SFTPAttributes) -> bool:
        name = entry.filename
        if name.startswith(".") or name.endswith(TEMPORARY_SUFFIXES):
            return False
        if "/" in name or "\\" in name or "\0" in name:  # never sent by a sane server
            return False
        if entry.st_mode is None or not stat.S_ISREG(entry.st_mode):
            return False
        return fnmatch.fnmatchcase(name, self.settings.pattern)

    def _pick_up(
        self,
        sftp: paramiko.SFTPClient,
        entry: paramiko.SFTPAttributes,
        staging: Path,
        archive: str,
        earlier: str,
    ) -> Staged | None:
        """Download one file into staging, then remove it from the server (or move it to the
        archive folder). None when the file cannot be read or staged (recorded as unmovable);
        TransportError when the connection fails."""
        name = entry.filename
        remote = posixpath.join(self.settings.remote_inbox, name)
        part = staging / part_name(name)
        stamp = (entry.st_size or 0, entry.st_mtime or 0)
        try:
            with part.open("wb") as local:
                sftp.getfo(remote, local)
                local.flush()
                size = os.fstat(local.fileno()).st_size
                if size != entry.st_size:
                    raise self._error(
                        f"{remote}: downloaded {size} bytes but the server listed {entry.st_size}"
                        f" (still being written?); left on the server for the next pickup"
                        f"{earlier}"
                    )
                os.fsync(local.fileno())
            final = _claim_name(part, staging, name)
            _fsync_folder(staging)
        except CONNECTION_ERRORS as exc:
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
            if not self._file_fault(exc):
                message = f"cannot download {remote}: {self._reason(exc)}{earlier}"
                self.close()
                raise self._error(message) from exc
            reason = f"cannot pick it up: {self._reason(exc)}"
            self._unmovable.failed(Unmovable(name, self._location(remote), reason), *stamp)
            return None
        except BaseException:
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
            raise
        staged = Staged(path=final, name=name, source=self._location(remote))
        kept = f" (it is staged as {final}, so it may come a second time){earlier}"
        what = f"cannot move {remote} into {archive}" if archive else f"cannot remove {remote}"
        try:
            if archive:
                _move_aside(sftp, remote, archive, name)
            else:
                sftp.remove(remote)
        except CONNECTION_ERRORS as exc:
            if not self._file_fault(exc):
                message = f"{what}: {self._reason(exc)}{kept}"
                self.close()
                raise self._error(message) from exc
            reason = (
                f"picked up, but {what.removeprefix('cannot ').replace(remote, 'it')} is"
                f" refused: {self._reason(exc)}; it is not picked up again while unchanged"
            )
            record = Unmovable(name, self._location(remote), reason)
            self._unmovable.failed(record, *stamp, again=False)
            return staged
        self._unmovable.moved(name)
        return staged

    @staticmethod
    def _ensure_folder(sftp: paramiko.SFTPClient, folder: str) -> None:
        """Create `folder` unless it is there (its parent must be: a mistyped path does not
        grow a tree of folders)."""
        found = _stat_or_none(sftp, folder)
        if found is None:
            sftp.mkdir(folder)
        elif found.st_mode is not None and not stat.S_ISDIR(found.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, f"{folder} is not a folder")

    def _check_archive(self, sftp: paramiko.SFTPClient, folder: str) -> str:
        try:
            found = _stat_or_none(sftp, folder)
            if found is not None:
                if found.st_mode is not None and not stat.S_ISDIR(found.st_mode):
                    return f"archive_folder {folder} is not a folder"
                return ""
            sftp.mkdir(folder)
            sftp.rmdir(folder)
        except CONNECTION_ERRORS as exc:
            self._raise_if_connection_lost(exc)
            return f"archive_folder {folder} is missing and cannot be created: {self._reason(exc)}"
        return ""

    # -- the connection --------------------------------------------------------------------

    @property
    def _where(self) -> str:
        host = self.settings.host
        return f"[{host}]:{self.settings.port}" if ":" in host else f"{host}:{self.settings.port}"

    def _location(self, path: str) -> str:
        return f"sftp://{self.settings.user}@{self._where}/{path.lstrip('/')}"

    def _live_client(self) -> paramiko.SFTPClient | None:
        transport, sftp = self._transport, self._sftp
        if transport is None or sftp is None or not transport.is_active():
            return None
        channel = sftp.get_channel()
        if channel is None or channel.closed:
            return None
        return sftp

    def _client(self) -> paramiko.SFTPClient:
        """The open SFTP session, connecting (again) when there is none or it was dropped."""
        live = self._live_client()
        if live is not None:
            return live
        self.close()
        key = self._credentials()  # a misconfiguration is found before connecting
        transport = self._pinned_transport()
        try:
            self._authenticate(transport, key)
            sftp = self._open_sftp(transport)
        except BaseException:
            transport.close()
            raise
        self._transport, self._sftp = transport, sftp
        return sftp

    def _pinned_transport(self) -> paramiko.Transport:
        """A negotiated transport whose server key is the pinned one, else HostKeyRejected."""
        expected = self.settings.host_key.strip().rstrip("=")
        presented: list[str] = []
        disabled: list[str] = []
        for _ in range(MAX_HOST_KEY_TYPES):
            try:
                transport = self._negotiate(disabled)
            except IncompatiblePeer as exc:
                if presented:
                    break  # the server has no other host key type
                raise self._error(
                    f"no common SSH algorithms with {self._where}: {self._reason(exc)}"
                ) from None
            key = transport.get_remote_server_key()
            fingerprint = host_key_fingerprint(key)
            if fingerprint == expected:
                return transport
            transport.close()
            presented.append(f"{key.get_name()} {fingerprint}")
            disabled.extend(_algorithms_of(key.get_name()))
        raise HostKeyRejected(self._rejection(expected, presented), partner=self.partner)

    def _rejection(self, expected: str, presented: Sequence[str]) -> str:
        settings = self.settings
        shown = ", ".join(presented)
        pinned = (
            f"not the pinned {expected}"
            if expected.startswith("SHA256:")
            else "and no SHA256 host key is pinned"
        )
        return (
            f"host key rejected: {self._where} presented {shown}, {pinned}; nothing was"
            f" transferred. Verify the server's key with the partner out of band (compare with"
            f" `ssh-keyscan -p {settings.port} {settings.host} | ssh-keygen -lf -`) and, only if"
            " they confirm it, update host_key in the partner profile"
        )

    def _negotiate(self, disabled: Sequence[str]) -> paramiko.Transport:
        """Connect and run the SSH key exchange, bounded by `timeout_seconds`."""
        settings = self.settings
        timeout = settings.timeout_seconds
        try:
            sock = socket.create_connection((settings.host, settings.port), timeout=timeout)
        except socket.gaierror as exc:
            raise self._error(f"cannot resolve {settings.host}: {exc.strerror}") from None
        except ConnectionRefusedError:
            raise self._error(
                f"{self._where} refused the connection (is the SFTP server up?)"
            ) from None
        except TimeoutError:
            raise self._error(f"no answer from {self._where} within {timeout:g} s") from None
        except OSError as exc:
            raise self._error(f"cannot connect to {self._where}: {self._reason(exc)}") from None
        try:
            transport = paramiko.Transport(
                sock, disabled_algorithms={"keys": list(disabled)} if disabled else None
            )
        except BaseException:
            sock.close()
            raise
        transport.banner_timeout = timeout
        transport.handshake_timeout = timeout
        transport.auth_timeout = timeout
        transport.channel_timeout = timeout
        try:
            transport.start_client(timeout=timeout)
            if not (transport.is_active() and transport.initial_kex_done):
                raise TimeoutError(errno.ETIMEDOUT, "key exchange not finished")
        except IncompatiblePeer:
            transport.close()
            raise
        except (*CONNECTION_ERRORS, ValueError) as exc:
            transport.close()
            raise self._error(
                f"SSH negotiation with {self._where} failed: {self._reason(exc)}"
            ) from None
        return transport

    def _credentials(self) -> paramiko.PKey | None:
        """The private key to authenticate with, or None for the password; ConfigurationError
        when there is neither, or the key file cannot be used."""
        key = self._client_key()
        if key is None and self._password is None:
            raise ConfigurationError(
                f"{self.partner}: SFTP to {self.settings.user}@{self._where} needs key_file or"
                " a password; neither is set"
            )
        return key

    def _authenticate(self, transport: paramiko.Transport, key: paramiko.PKey | None) -> None:
        settings = self.settings
        who = f"{settings.user}@{self._where}"
        method = "the password" if key is None else f"the key in {settings.key_file}"
        try:
            if key is not None:
                transport.auth_publickey(settings.user, key)
            else:
                transport.auth_password(settings.user, self._password or "")
        except paramiko.BadAuthenticationType as exc:
            allowed = ", ".join(exc.allowed_types) or "no method"
            raise self._error(
                f"authentication failed for {who}: the server does not accept {method}"
                f" (it allows {allowed})"
            ) from None
        except paramiko.AuthenticationException as exc:
            if "timeout" in str(exc).lower():
                raise self._error(
                    f"authentication of {who} did not complete: no answer within"
                    f" {settings.timeout_seconds:g} s"
                ) from None
            hint = (
                "the password is current"
                if key is None
                else "the partner has installed our public key"
            )
            raise self._error(
                f"authentication failed for {who}: the server refused {method}; check the user"
                f" name and that {hint}"
            ) from None
        except CONNECTION_ERRORS as exc:
            raise self._error(
                f"authentication of {who} did not complete: {self._reason(exc)}"
            ) from None
        if not transport.is_authenticated():
            raise self._error(
                f"authentication failed for {who}: the server asks for more than {method}"
            )

    def _client_key(self) -> paramiko.PKey | None:
        path = self.settings.key_file
        if path is None:
            return None
        if self._key is None:
            try:
                self._key = paramiko.PKey.from_path(path)
            except FileNotFoundError:
                raise ConfigurationError(
                    f"{self.partner}: key_file {path} does not exist"
                ) from None
            except (OSError, ValueError, TypeError, paramiko.SSHException) as exc:
                raise ConfigurationError(
                    f"{self.partner}: key_file {path} cannot be used as an SSH private key"
                    f" (an unencrypted Ed25519, ECDSA or RSA key is needed): {_one_line(exc)}"
                ) from None
        return self._key

    def _open_sftp(self, transport: paramiko.Transport) -> paramiko.SFTPClient:
        timeout = self.settings.timeout_seconds
        watchdog = _Watchdog(transport, timeout)
        try:
            with watchdog:
                channel = transport.open_session(timeout=timeout)
                channel.settimeout(timeout)
                channel.invoke_subsystem("sftp")
                return paramiko.SFTPClient(channel)
        except CONNECTION_ERRORS as exc:
            reason = f"no answer within {timeout:g} s" if watchdog.fired else self._reason(exc)
            raise self._error(f"cannot start SFTP on {self._where}: {reason}") from None

    # -- errors ----------------------------------------------------------------------------

    def _error(self, message: str) -> TransportError:
        return TransportError(message, partner=self.partner)

    def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return f"no answer within {self.settings.timeout_seconds:g} s"
        if isinstance(exc, EOFError) or self._lost(exc):
            return "the server closed the connection"
        if isinstance(exc, OSError) and exc.errno == errno.ENOENT:
            return "no such file or folder"
        if isinstance(exc, OSError) and exc.errno == errno.EACCES:
            return "permission denied"
        if isinstance(exc, OSError) and exc.strerror:
            return _one_line(exc.strerror)
        return _one_line(exc)

    def _lost(self, exc: BaseException) -> bool:
        """Whether an SSH error means the connection is gone (paramiko wraps the EOF of an
        SFTP session as "Server connection dropped")."""
        if not isinstance(exc, paramiko.SSHException):
            return False
        if str(exc).startswith("Server connection dropped"):
            return True
        return self._transport is not None and not self._transport.is_active()

    @contextlib.contextmanager
    def _failure(self, what: str, note: str = "") -> Iterator[None]:
        """Turn an I/O failure into a TransportError saying `what`, and drop the connection
        (it may be half-way through a request)."""
        try:
            yield
        except CONNECTION_ERRORS as exc:
            message = f"{what}: {self._reason(exc)}{note}"
            self.close()
            raise self._error(message) from exc

    def _file_fault(self, exc: BaseException) -> bool:
        """Whether `exc` is about one file (a status error from a server still connected, such
        as permission denied or no such file, or a local error writing staging), not the
        connection."""
        status = isinstance(exc, OSError) and not isinstance(exc, TimeoutError)
        return status and self._transport is not None and self._transport.is_active()

    def _raise_if_connection_lost(self, exc: BaseException) -> None:
        """A status error (no such folder, permission denied) is a finding; a lost connection
        ends the check with a TransportError."""
        if self._file_fault(exc):
            return
        message = f"the connection to {self._where} failed: {self._reason(exc)}"
        self.close()
        raise self._error(message)

    def _discard(self, sftp: paramiko.SFTPClient, path: str) -> None:
        """Remove a temporary remote file, best effort, if the connection still works."""
        if self._transport is not None and not self._transport.is_active():
            return
        with contextlib.suppress(*CONNECTION_ERRORS):
            sftp.remove(path)


if TYPE_CHECKING:  # mypy checks that the mailbox fits both ports
    _PORTS: tuple[type[InboundMailbox], type[OutboundMailbox]] = (SftpMailbox, SftpMailbox)


class _SizeMismatch(Exception):
    """A remote temporary file does not hold what was written to it."""


class _Watchdog:
    """Closes the transport if the block is still running after `seconds`: paramiko waits for
    the answer to a subsystem request without a timeout of its own."""

    def __init__(self, transport: paramiko.Transport, seconds: float):
        self.fired = False
        self._transport = transport
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        self._transport.close()

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _algorithms_of(key_type: str) -> tuple[str, ...]:
    """The host key algorithms that would present a key of this type again."""
    if key_type in RSA_ALGORITHMS:
        names: tuple[str, ...] = RSA_ALGORITHMS
    else:
        names = (key_type,)
    return names + tuple(f"{name}-cert-v01@openssh.com" for name in names)


def _stat_or_none(sftp: paramiko.SFTPClient, path: str) -> paramiko.SFTPAttributes | None:
    try:
        return sftp.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def _claim_name(part: Path, staging: Path, name: str) -> Path:
    """Rename `part` to `name` in `staging`, or to a numbered variant when `name` is taken.
    A hard link claims the name atomically, so nothing staged earlier is ever overwritten."""
    for number in range(MAX_NAME_ATTEMPTS):
        final = staging / numbered_name(name, number)
        try:
            os.link(part, final)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK}:
                raise
            if final.exists():  # a file system without hard links: check, then rename
                continue
            part.rename(final)
            return final
        part.unlink()
        return final
    raise FileExistsError(errno.EEXIST, f"no free name for {name} in {staging}")


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as exc:
        if exc.errno not in {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}:
            raise  # else a file system that cannot fsync a folder: nothing more to do
    finally:
        os.close(descriptor)


def _move_aside(sftp: paramiko.SFTPClient, remote: str, archive: str, name: str) -> str:
    """Rename `remote` into `archive` under `name`, numbered when taken; returns the path.
    A plain SFTP rename never overwrites."""
    for number in range(MAX_NAME_ATTEMPTS):
        target = posixpath.join(archive, numbered_name(name, number))
        if _stat_or_none(sftp, target) is not None:
            continue
        try:
            sftp.rename(remote, target)
        except OSError:
            if _stat_or_none(sftp, target) is not None:
                continue  # taken in the meantime
            raise
        return target
    raise FileExistsError(errno.EEXIST, f"no free name for {name} in {archive}")


def _replace(sftp: paramiko.SFTPClient, source: str, target: str) -> None:
    """Rename `source` to `target`, replacing it: atomically with OpenSSH's posix-rename
    extension, else (a server without it) remove the target, then rename."""
    try:
        sftp.posix_rename(source, target)
        return
    except OSError:
        pass  # unsupported by this server, or a real failure the fallback will meet again
    with contextlib.suppress(FileNotFoundError):
        sftp.remove(target)
    sftp.rename(source, target)


def _check_file_name(name: str) -> None:
    if not name or name in {".", ".."} or any(c in name for c in "/\\\0"):
        raise ConfigurationError(f"{name!r} cannot be the name of a delivered file")


def _one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
