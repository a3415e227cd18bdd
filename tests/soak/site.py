"""One site of the soak: a gateway configuration in a folder of its own, its partners'
mailboxes (two local folders, one SFTP server), its SMTP server, and the partners' side of
things: files dropped into their mailboxes as a partner's translator does (under a temporary
name, then renamed), and our documents read from their side and answered with a 997.

The gateway is run as the real program (`gateway run`, `gateway run --once`, in processes of
their own); what the soak reads from it, and, unless asked otherwise, the operator's actions,
go through the same command line in this process (click's test runner: the same commands, the
same output, without a second of start-up each).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from gateway.cli import main
from tests.smtpd import SmtpServer
from tests.soak.traffic import PARTNERS, US, Partner
from tests.sshd import SshdServer

ROOT = Path(__file__).resolve().parents[2]
ANSWERED_FIRST_CONTROL = 700_000_001  # the partners' 997s: ISA13 apart from their other files
NOT_ANSWERED = {"997", "999", "TA1"}

GATEWAY_TOML = """\
[gateway]
data_dir = "../data"
partners_dir = "partners"

[mail]
from = "Cedar Ridge Outfitters <edi@cedarridge.example>"
operators = ["ops@cedarridge.example"]
order_desk = ["orders@cedarridge.example"]
host = "127.0.0.1"
port = {port}
security = "none"
timeout_seconds = 5
domain = "cedarridge.example"
mailbox_alert_minutes = {mailbox_alert_minutes}
delivery_alert_attempts = 3
"""

PARTNER_TOML = """\
name = "{name}"
role = "buyer"
poll_minutes = {poll_minutes}

[identity]
isa_qualifier = "{qualifier}"
isa_id = "{isa_id}"

[us]
isa_qualifier = "ZZ"
isa_id = "{us}"

[x12]
version = "004010"

[acknowledgements]
send = "997"
expect = "997"
deadline_hours = 24

[contacts]
cancellations = {cancellations}

[late]
ship_notice_before_ack = false

{transport}
"""

FOLDER_TRANSPORT = """\
[transport]
type = "folder"
inbox = "../../mailboxes/{key}/in"
outbox = "../../mailboxes/{key}/out"
settle_seconds = 0.2
"""

SFTP_TRANSPORT = """\
[transport]
type = "sftp"
host = "{host}"
port = {port}
user = "{user}"
host_key = "{host_key}"
key_file = "{key_file}"
remote_inbox = "{remote_inbox}"
remote_outbox = "{remote_outbox}"
timeout_seconds = 5
"""

_CLI_LOCK = threading.Lock()  # click's runner swaps sys.stdout: one command at a time


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def gateway_command(config: Path, *args: str) -> list[str]:
    """The command line of the real program."""
    return [sys.executable, "-c", "from gateway.cli import main; main()", "--config",
            str(config), *args]  # fmt: skip


def gateway_env(crash_at: str = "") -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GATEWAY_CRASH_AT", None)
    env.pop("GATEWAY_CONFIG", None)
    if crash_at:
        env["GATEWAY_CRASH_AT"] = crash_at
    return env


@dataclass
class Received:
    """A file of ours as the partner found it."""

    name: str
    content: bytes


@dataclass
class Site:
    """A site's folders, servers and partners."""

    name: str
    folder: Path
    sshd: SshdServer
    smtp: SmtpServer
    poll_minutes: float = 0.05
    mailbox_alert_minutes: float = 0.25
    remote: dict[str, tuple[str, str]] = field(default_factory=dict)  # key: (their out, their in)
    received: dict[str, list[Received]] = field(default_factory=dict)
    answered: int = 0
    arrivals: list[float] = field(default_factory=list)  # when each SMTP message was seen
    _seen: set[tuple[str, str]] = field(default_factory=set)
    _answer_control: dict[str, int] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.folder / "config" / "gateway.toml"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def build(self) -> None:
        """Write the configuration and make the mailboxes."""
        partners = self.folder / "config" / "partners"
        partners.mkdir(parents=True)
        self.data.mkdir()
        self.config.write_text(
            GATEWAY_TOML.format(
                port=self.smtp.port, mailbox_alert_minutes=self.mailbox_alert_minutes
            )
        )
        for partner in PARTNERS:
            if partner.transport == "sftp":
                theirs_out = self.sshd.remote_folder(f"{self.name}-{partner.key}-out")
                theirs_in = self.sshd.remote_folder(f"{self.name}-{partner.key}-in")
                self.remote[partner.key] = (theirs_out, theirs_in)
                transport = SFTP_TRANSPORT.format(
                    host=self.sshd.host,
                    port=self.sshd.port,
                    user=self.sshd.user,
                    host_key=self.sshd.host_key,
                    key_file=self.sshd.client_key,
                    remote_inbox=theirs_out,
                    remote_outbox=theirs_in,
                )
            else:
                for side in ("in", "out"):
                    (self.folder / "mailboxes" / partner.key / side).mkdir(parents=True)
                transport = FOLDER_TRANSPORT.format(key=partner.key)
            (partners / f"{partner.key}.toml").write_text(
                PARTNER_TOML.format(
                    name=partner.name,
                    poll_minutes=self.poll_minutes,
                    qualifier=partner.qualifier,
                    isa_id=partner.isa_id,
                    us=US,
                    cancellations=json.dumps(list(partner.cancellations)),
                    transport=transport,
                )
            )
            self.received[partner.key] = []
        upgraded = self.cli("db", "upgrade")
        if upgraded.code != 0:
            raise RuntimeError(f"{self.name}: db upgrade failed: {upgraded.stderr}")

    # -- the partners' mailboxes, from their side --------------------------------------------

    def inbox(self, partner: Partner) -> Path:
        """Where the partner leaves files for us."""
        if partner.transport == "sftp":
            return Path(self.remote[partner.key][0])
        return self.folder / "mailboxes" / partner.key / "in"

    def outbox(self, partner: Partner) -> Path:
        """Where we leave files for the partner."""
        if partner.transport == "sftp":
            return Path(self.remote[partner.key][1])
        return self.folder / "mailboxes" / partner.key / "out"

    def drop(self, partner: Partner, name: str, content: bytes) -> None:
        """Leave a file as a partner's translator does: written under a temporary name (which
        the gateway does not take), then renamed."""
        folder = self.inbox(partner)
        temporary = folder / f".{name}.part"
        temporary.write_bytes(content)
        if partner.transport == "sftp":
            self.sshd.give(temporary)
        temporary.rename(folder / name)

    def answer_partners(self) -> int:
        """Read what we left in each partner's mailbox since the last look, and answer each of
        our documents (not our 997s) with the 997 their translator would send; how many."""
        answered = 0
        for partner in PARTNERS:
            outbox = self.outbox(partner)
            for path in sorted(outbox.iterdir()):
                name = path.name
                if name.startswith(".") or (partner.key, name) in self._seen:
                    continue
                content = path.read_bytes()
                self._seen.add((partner.key, name))
                self.received[partner.key].append(Received(name, content))
                if set_ids(content) & NOT_ANSWERED:
                    continue
                control = self._answer_control.get(partner.key, ANSWERED_FIRST_CONTROL)
                self._answer_control[partner.key] = control + 1
                made = self.cli("ack-file", "--control", str(control), str(path))
                if made.code != 0:
                    raise RuntimeError(f"ack-file {path}: {made.stdout}{made.stderr}")
                self.drop(partner, f"997-{control}.x12", made.stdout.encode())
                answered += 1
        self.answered += answered
        return answered

    def note_arrivals(self, now: float) -> None:
        """Stamp the SMTP messages that arrived since the last call with `now`."""
        count = len(self.smtp.messages)
        self.arrivals += [now] * (count - len(self.arrivals))

    # -- the command line ----------------------------------------------------------------------

    def cli(self, *args: str) -> CliResult:
        """`gateway --config CONFIG ARGS` in this process, through the program's own entry
        point (`gateway.cli.main`: its exit codes, its one-line errors); its exit code and
        output. An exception that escapes the entry point is exit code 99, with its traceback."""
        argv = ["gateway", "--config", str(self.config), *args]
        with _CLI_LOCK, CliRunner().isolation() as (stdout, stderr, _):
            saved, sys.argv = sys.argv, argv
            try:
                main()
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
            except Exception:
                code = 99
                sys.stderr.write(traceback.format_exc())
            finally:
                sys.argv = saved
            return CliResult(code, stdout.getvalue().decode(), stderr.getvalue().decode())

    def process(
        self,
        *args: str,
        crash_at: str = "",
        stdout: object = subprocess.PIPE,
        stderr: object = subprocess.PIPE,
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[str]:
        """The real program, in a process of its own."""
        env = gateway_env(crash_at)
        env.update(extra_env or {})
        return subprocess.Popen(
            gateway_command(self.config, *args),
            stdin=subprocess.DEVNULL,
            stdout=stdout,  # type: ignore[arg-type]
            stderr=stderr,  # type: ignore[arg-type]
            text=True,
            env=env,
        )


def set_ids(content: bytes) -> set[str]:
    """The transaction set ids (ST01) in an interchange, and TA1 when it holds one."""
    if len(content) < 106:
        return set()
    element, terminator = content[3:4], content[105:106]
    found = set()
    for segment in content.split(terminator):
        parts = segment.strip().split(element)
        if parts[0] == b"ST" and len(parts) > 1:
            found.add(parts[1].decode())
        elif parts[0] == b"TA1":
            found.add("TA1")
    return found
