"""The soak's servers: OpenSSH sshd (tests/sshd.py) and aiosmtpd (tests/smtpd.py) on 127.0.0.1.

Each site gets its own sshd and SMTP server, so that the faults of the faulty site never touch
the reference. The two sshd share one local user (its home, its authorised client keys); each
has its own host key, port and configuration. Inside pytest the session's `sshd_server` is the
base and is left as it was found; run alone (`python -m tests.soak`), `own_sshd()` makes the
user and the base server the way the fixture does, and removes them at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.smtpd import SmtpServer
from tests.sshd import (
    SSH_KEYGEN,
    SSHD,
    SshdServer,
    _free_port,
    _keygen,
    _run,
    _write_config,
    fingerprint,
    started_sshd,
)


class ServersUnavailable(RuntimeError):
    """sshd or ssh-keygen is missing, or we are not root (sshd needs a local user)."""


@contextlib.contextmanager
def own_sshd() -> Iterator[SshdServer]:
    """A running sshd with a user of its own, as the `sshd_server` fixture makes it."""
    if not SSHD.exists() or shutil.which(SSH_KEYGEN) is None:
        raise ServersUnavailable(f"{SSHD} or {SSH_KEYGEN} is missing (Debian's openssh-server)")
    if os.geteuid() != 0:
        raise ServersUnavailable("the soak must run as root (sshd needs a local user)")
    with started_sshd("gateway-soak-sshd-") as server:
        yield server


@contextlib.contextmanager
def sibling_sshd(base: SshdServer) -> Iterator[SshdServer]:
    """Another sshd for `base`'s user (same home and client keys), with a host key, a port and
    a folder of its own: stopping it leaves `base` alone."""
    folder = Path(tempfile.mkdtemp(prefix="gateway-soak-sshd-"))
    folder.chmod(0o755)
    server: SshdServer | None = None
    try:
        host_key = _keygen(folder / "ssh_host_ed25519_key", "-t", "ed25519")
        shutil.copy(base.folder / "authorized_keys", folder / "authorized_keys")
        (folder / "authorized_keys").chmod(0o644)
        server = SshdServer(
            folder=folder,
            user=base.user,
            home=base.home,
            password=base.password,
            port=_free_port(),
            client_keys=base.client_keys,
            unauthorized_key=base.unauthorized_key,
            host_key=fingerprint(Path(f"{host_key}.pub")),
            other_host_key="",
        )
        _write_config(server, [host_key])
        _run(str(SSHD), "-t", "-f", str(server.config))
        server.start()
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server on 127.0.0.1 (no TLS, no login), stopped at the end."""
    server = SmtpServer(security="none")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def heal_smtp(server: SmtpServer) -> None:
    """Up, and forget the error answers asked for and not given yet (the messages stay)."""
    server.start()
    server.forgive()
