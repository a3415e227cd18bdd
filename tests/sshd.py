"""A real OpenSSH sshd for the SFTP tests, started once per test session.

Debian's openssh-server provides /usr/sbin/sshd (`make services` installs it); the tests run as
root. The fixture makes a local user of its own, `gwsftp-<pid of the test session>` (one per
session, so that two test sessions running at once never change each other's password), with
no login shell, a random password and three authorised client keys (Ed25519, ECDSA, RSA). It
writes an sshd_config of its own into a temporary folder: 127.0.0.1 and a free port, an Ed25519
and an ECDSA host key, the authorised keys in the temporary folder, password and public key
authentication, `internal-sftp` forced for every session. At teardown sshd and its session
processes are stopped and the user, its home and the temporary folder are removed. Users left
behind by a session that died are removed by the next one.

Tests take the session-scoped `sshd_server` and make fresh folders in the user's home with
`sshd_server.remote_folder()`; `sshd_server.stopped()` takes the server down for a while.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = "ssh-keygen"
USER_PREFIX = "gwsftp-"
START_SECONDS = 10.0
STOP_SECONDS = 5.0
CLIENT_KEY_TYPES = {"ed25519": ["-t", "ed25519"], "ecdsa": ["-t", "ecdsa"], "rsa": ["-t", "rsa"]}


def _run(*command: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")
    return result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _keygen(path: Path, *options: str) -> Path:
    _run(SSH_KEYGEN, "-q", *options, "-N", "", "-C", path.name, "-f", str(path))
    return path


def fingerprint(public_key: Path) -> str:
    """The SHA256 fingerprint of a public key file, as `ssh-keygen -lf` prints it."""
    return _run(SSH_KEYGEN, "-lf", str(public_key)).split()[1]


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
        except OSError:
            continue
        parent = int(status.rpartition(")")[2].split()[1])
        table[int(entry.name)] = (parent, command)
    return table


def _descendants(pid: int) -> list[int]:
    """The processes started by `pid` (children, grandchildren, ...) that are sshd's."""
    table = _process_table()
    found: list[int] = []
    parents = [pid]
    while parents:
        children = [child for child, (parent, _) in table.items() if parent in parents]
        found.extend(children)
        parents = children
    return [child for child in found if table[child][1].startswith("sshd")]


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting for its parent to reap it does not)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rpartition(")")[2].split()[0] not in {"Z", "X"}


def _remove_stale_users() -> None:
    """Remove the users of test sessions that are gone (their pid names no live process)."""
    for entry in pwd.getpwall():
        name = entry.pw_name
        if not name.startswith(USER_PREFIX) or not name[len(USER_PREFIX) :].isdigit():
            continue
        if Path(f"/proc/{name[len(USER_PREFIX) :]}").exists():
            continue
        subprocess.run(["userdel", "--remove", name], capture_output=True, timeout=60, check=False)


@dataclass
class SshdServer:
    """A running sshd on 127.0.0.1 with its user, keys and password."""

    folder: Path
    user: str
    home: Path
    password: str
    port: int
    client_keys: dict[str, Path]
    unauthorized_key: Path
    host_key: str  # the Ed25519 host key's fingerprint
    other_host_key: str  # the ECDSA host key's fingerprint
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    _folders: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def client_key(self) -> Path:
        """The authorised Ed25519 private key."""
        return self.client_keys["ed25519"]

    @property
    def config(self) -> Path:
        return self.folder / "sshd_config"

    @property
    def log_path(self) -> Path:
        return self.folder / "sshd.log"

    def log(self) -> str:
        """What sshd wrote so far (LogLevel VERBOSE)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start sshd (unless running) and wait until its port accepts connections."""
        if self.running:
            return
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 1):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sshd did not listen on port {self.port} within {START_SECONDS} s")

    def stop(self) -> None:
        """Stop sshd and the sessions it serves (each runs in a process of its own)."""
        process = self.process
        if process is None:
            return
        sessions = _descendants(process.pid)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_SECONDS)
        self._kill(sessions)
        self.process = None

    def drop_sessions(self) -> None:
        """Cut every open connection, the way a server restart or a network fault does."""
        if self.process is not None:
            self._kill(_descendants(self.process.pid))

    @staticmethod
    def _kill(pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.02)

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """The server is down (and its connections cut) inside the block, up again after."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def remote_folder(self, label: str = "mailbox") -> str:
        """A fresh, empty folder in the user's home, owned by the user; its absolute path."""
        path = self.home / f"{label}-{next(self._folders)}"
        path.mkdir(mode=0o755)
        self.give(path)
        return str(path)

    def put_file(
        self, folder: str, name: str, content: bytes, *, mtime: float | None = None
    ) -> Path:
        """Write a file into a remote folder as the partner would, owned by the user."""
        path = Path(folder) / name
        path.write_bytes(content)
        self.give(path)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    def give(self, path: Path) -> None:
        """Make the test user the owner of `path`."""
        entry = pwd.getpwnam(self.user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _write_config(server: SshdServer, host_keys: list[Path]) -> None:
    lines = [
        "ListenAddress 127.0.0.1",
        f"Port {server.port}",
        *(f"HostKey {key}" for key in host_keys),
        f"PidFile {server.folder / 'sshd.pid'}",
        f"AuthorizedKeysFile {server.folder / 'authorized_keys'}",
        # The authorised keys sit in a folder under /tmp, which is world-writable: StrictModes
        # would refuse them.
        "StrictModes no",
        f"AllowUsers {server.user}",
        "PermitRootLogin no",
        "PubkeyAuthentication yes",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        # Without PAM, sshd checks passwords against /etc/shadow itself.
        "UsePAM no",
        "UseDNS no",
        "DisableForwarding yes",
        "Subsystem sftp internal-sftp",
        "ForceCommand internal-sftp",
        "LogLevel VERBOSE",
    ]
    server.config.write_text("\n".join(lines) + "\n")


def _create_user(name: str, password: str) -> Path:
    _run("useradd", "--create-home", "--shell", "/usr/sbin/nologin", name)
    _run("chpasswd", stdin=f"{name}:{password}\n")
    return Path(pwd.getpwnam(name).pw_dir)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; the SFTP tests need it under CI (`make services` installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sshd_server() -> Iterator[SshdServer]:
    """A real OpenSSH sshd on 127.0.0.1, up for the whole session."""
    if not SSHD.exists():
        _unavailable(f"{SSHD} is missing (Debian's openssh-server)")
    if shutil.which(SSH_KEYGEN) is None:
        _unavailable("ssh-keygen is missing (Debian's openssh-client)")
    if os.geteuid() != 0:
        _unavailable("the sshd fixture must run as root (it adds a local user)")
    with started_sshd("gateway-sshd-") as server:
        yield server


@contextlib.contextmanager
def started_sshd(prefix: str) -> Iterator[SshdServer]:
    """An sshd with a local user of its own (named after this process), host keys, client keys
    and a configuration in a new folder named `prefix`...; all of it removed at the end. Needs
    root, sshd and ssh-keygen (the callers check)."""
    _remove_stale_users()
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)  # sshd reads the authorised keys as the user
    user = f"{USER_PREFIX}{os.getpid()}"
    password = secrets.token_urlsafe(18)
    server: SshdServer | None = None
    try:
        host_ed25519 = _keygen(folder / "ssh_host_ed25519_key", "-t", "ed25519")
        host_ecdsa = _keygen(folder / "ssh_host_ecdsa_key", "-t", "ecdsa")
        client_keys = {
            kind: _keygen(folder / f"client_{kind}", *options)
            for kind, options in CLIENT_KEY_TYPES.items()
        }
        unauthorized = _keygen(folder / "stranger_ed25519", "-t", "ed25519")
        authorized = folder / "authorized_keys"
        authorized.write_text(
            "".join(Path(f"{key}.pub").read_text() for key in client_keys.values())
        )
        authorized.chmod(0o644)
        home = _create_user(user, password)
        server = SshdServer(
            folder=folder,
            user=user,
            home=home,
            password=password,
            port=_free_port(),
            client_keys=client_keys,
            unauthorized_key=unauthorized,
            host_key=fingerprint(Path(f"{host_ed25519}.pub")),
            other_host_key=fingerprint(Path(f"{host_ecdsa}.pub")),
        )
        _write_config(server, [host_ed25519, host_ecdsa])
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
        _run(str(SSHD), "-t", "-f", str(server.config))
        server.start()
        yield server
    finally:
        if server is not None:
            server.stop()
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            subprocess.run(
                ["userdel", "--remove", user], capture_output=True, timeout=60, check=False
            )
        shutil.rmtree(folder, ignore_errors=True)
