"""The SFTP mailbox against a real OpenSSH sshd on 127.0.0.1 (the `sshd_server` fixture).

Every test works in folders of its own in the test user's home; the server's files are read
and written directly on disk, as the partner's side of the mailbox.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.adapters.sftp import SftpMailbox
from gateway.config import SftpTransport
from gateway.errors import HostKeyRejected, TransportError
from tests.sshd import SshdServer

TIMEOUT = 3.0
PARTNER = "acme"


def purchase_order(po_number: str) -> bytes:
    """A small X12 850 of our own."""
    segments = [
        "ISA*00*          *00*          *ZZ*ACME           *ZZ*GATEWAY        *261121*1200*U*"
        "00401*000000001*0*P*>",
        "GS*PO*ACME*GATEWAY*20261121*1200*1*X*004010",
        "ST*850*0001",
        f"BEG*00*SA*{po_number}**20261121",
        "PO1*1*10*EA*2.50**VP*WIDGET-1",
        "CTT*1",
        "SE*5*0001",
        "GE*1*1",
        "IEA*1*000000001",
    ]
    return "~\n".join(segments).encode() + b"~\n"


@dataclasses.dataclass
class Mailbox:
    """The partner's side: folders on the server, and the settings of a profile using them."""

    server: SshdServer
    inbox: str
    outbox: str
    archive: str

    def settings(self, **changes: object) -> SftpTransport:
        base = SftpTransport(
            host=self.server.host,
            user=self.server.user,
            host_key=self.server.host_key,
            remote_inbox=self.inbox,
            remote_outbox=self.outbox,
            port=self.server.port,
            key_file=self.server.client_key,
            timeout_seconds=TIMEOUT,
        )
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]

    def mailbox(self, *, password: str | None = None, **changes: object) -> SftpMailbox:
        return SftpMailbox(PARTNER, self.settings(**changes), password=password)

    def put(self, name: str, content: bytes, *, age: float = 0.0) -> Path:
        return self.server.put_file(self.inbox, name, content, mtime=time.time() - 1000 + age)


def names(folder: str | Path) -> list[str]:
    return sorted(os.listdir(folder)) if Path(folder).exists() else []


@pytest.fixture
def partner(sshd_server: SshdServer) -> Iterator[Mailbox]:
    sshd_server.start()  # in case a test before this one left it down
    root = sshd_server.remote_folder("partner")
    for name in ("inbox", "outbox"):
        os.mkdir(f"{root}/{name}")
        sshd_server.give(Path(root, name))
    yield Mailbox(sshd_server, f"{root}/inbox", f"{root}/outbox", f"{root}/archive")


# -- pickup --------------------------------------------------------------------------------


def test_collect_stages_each_file_then_removes_it_from_the_server(partner, tmp_path):
    second = partner.put("po-2.x12", purchase_order("PO-2"), age=20)
    first = partner.put("po-1.x12", purchase_order("PO-1"), age=10)
    staging = tmp_path / "staging"
    with partner.mailbox() as mailbox:
        staged = mailbox.collect(staging)
    assert [item.name for item in staged] == ["po-1.x12", "po-2.x12"]  # oldest first
    assert [item.path for item in staged] == [staging / "po-1.x12", staging / "po-2.x12"]
    assert staged[0].path.read_bytes() == purchase_order("PO-1")
    assert staged[1].path.read_bytes() == purchase_order("PO-2")
    server = partner.server
    assert staged[0].source == f"sftp://{server.user}@127.0.0.1:{server.port}{first}"
    assert staged[1].source.endswith(str(second))
    assert names(partner.inbox) == []
    assert names(staging) == ["po-1.x12", "po-2.x12"]  # no .part left behind


def test_collect_takes_at_most_limit_files_oldest_first(partner, tmp_path):
    for number, age in ((1, 30), (2, 10), (3, 20)):
        partner.put(f"po-{number}.x12", purchase_order(f"PO-{number}"), age=age)
    with partner.mailbox() as mailbox:
        assert [s.name for s in mailbox.collect(tmp_path, limit=2)] == ["po-2.x12", "po-3.x12"]
        assert names(partner.inbox) == ["po-1.x12"]
        assert [s.name for s in mailbox.collect(tmp_path, limit=2)] == ["po-1.x12"]
        assert mailbox.collect(tmp_path) == []


def test_an_empty_inbox_yields_nothing_and_creates_no_staging_folder(partner, tmp_path):
    with partner.mailbox() as mailbox:
        assert mailbox.collect(tmp_path / "staging") == []
    assert not (tmp_path / "staging").exists()


def test_after_pickup_move_puts_the_files_in_the_archive_folder(partner, tmp_path):
    partner.put("po.x12", purchase_order("PO-1"))
    settings = {"after_pickup": "move", "archive_folder": partner.archive}
    with partner.mailbox(**settings) as mailbox:
        first = mailbox.collect(tmp_path)
        partner.put("po.x12", purchase_order("PO-2"))  # the same name again
        second = mailbox.collect(tmp_path)
    assert names(partner.inbox) == []
    assert names(partner.archive) == ["po.1.x12", "po.x12"]  # the archive folder was created
    assert Path(partner.archive, "po.x12").read_bytes() == purchase_order("PO-1")
    assert Path(partner.archive, "po.1.x12").read_bytes() == purchase_order("PO-2")
    # staging never overwrites either
    assert [s.path.name for s in first + second] == ["po.x12", "po.1.x12"]
    assert second[0].path.read_bytes() == purchase_order("PO-2")


def test_only_files_matching_the_pattern_are_collected(partner, tmp_path):
    partner.put("po-1.x12", purchase_order("PO-1"))
    partner.put("po-1.X12", purchase_order("PO-2"))
    partner.put("readme.txt", b"not for us")
    with partner.mailbox(pattern="*.x12") as mailbox:
        assert [s.name for s in mailbox.collect(tmp_path)] == ["po-1.x12"]
    assert names(partner.inbox) == ["po-1.X12", "readme.txt"]


def test_uploads_under_way_and_folders_are_left_alone(partner, tmp_path):
    unfinished = ["po-1.x12.part", ".po-2.x12", ".po-3.x12.part", "po-4.tmp", "po-5.x12.filepart"]
    for name in unfinished:
        partner.put(name, purchase_order("PO"))
    os.mkdir(f"{partner.inbox}/sub.x12")
    with partner.mailbox() as mailbox:
        assert mailbox.collect(tmp_path) == []
    assert names(partner.inbox) == sorted([*unfinished, "sub.x12"])
    assert names(tmp_path) == []


def test_a_failed_pickup_leaves_the_remote_file_in_place(partner, tmp_path):
    partner.put("po.x12", purchase_order("PO-1"))
    staging = tmp_path / "staging"
    staging.write_bytes(b"in the way")  # a file where the staging folder should be
    with partner.mailbox() as mailbox, pytest.raises(TransportError, match="staging folder"):
        mailbox.collect(staging)
    assert names(partner.inbox) == ["po.x12"]


def test_an_unreadable_file_is_passed_over_and_reported_and_the_others_go_on(partner, tmp_path):
    unreadable = partner.put("po-1.x12", purchase_order("PO-1"), age=10)  # the oldest
    partner.put("po-2.x12", purchase_order("PO-2"), age=20)
    os.chmod(unreadable, 0)  # the partner's upload left it unreadable to our user
    with partner.mailbox() as mailbox:
        assert [s.name for s in mailbox.collect(tmp_path)] == ["po-2.x12"]
        (skipped,) = mailbox.unmovable()
        assert skipped.name == "po-1.x12" and "permission denied" in skipped.reason.lower()
        assert skipped.source.endswith("/inbox/po-1.x12")
        assert mailbox.collect(tmp_path) == []  # passed over, not tried at every pass
        assert [s.name for s in mailbox.unmovable()] == ["po-1.x12"]
        os.chmod(unreadable, 0o644)
        os.utime(unreadable)  # fixed: it changed, so it is tried again at once
        assert [s.name for s in mailbox.collect(tmp_path)] == ["po-1.x12"]
        assert mailbox.unmovable() == []
    assert names(partner.inbox) == []


def test_a_file_that_cannot_be_removed_is_taken_once_and_reported(partner, tmp_path):
    os.chown(partner.inbox, 0, 0)
    os.chmod(partner.inbox, 0o1777)  # root's, sticky: our user removes only the files it owns
    stuck = Path(partner.inbox, "po-1.x12")
    stuck.write_bytes(purchase_order("PO-1"))  # owned by root: readable, not removable
    with partner.mailbox() as mailbox:
        assert [s.name for s in mailbox.collect(tmp_path)] == ["po-1.x12"]
        (skipped,) = mailbox.unmovable()
        assert "not picked up again while unchanged" in skipped.reason
        assert mailbox.collect(tmp_path) == []  # not a second time: it would be a duplicate
    assert names(partner.inbox) == ["po-1.x12"]


def test_a_name_too_long_for_a_temporary_name_is_picked_up(partner, tmp_path):
    name = "p" * 246 + ".x12"  # 250 characters: `.NAME.part` would pass 255
    partner.put(name, purchase_order("PO-1"))
    with partner.mailbox() as mailbox:
        assert [s.name for s in mailbox.collect(tmp_path)] == [name]
        assert mailbox.unmovable() == []
    assert names(tmp_path) == [name]


# -- delivery ------------------------------------------------------------------------------


def test_deliver_writes_the_file_under_its_final_name_only(partner):
    with partner.mailbox() as mailbox:
        location = mailbox.deliver("855-0001.x12", purchase_order("PO-1"))
    server = partner.server
    assert location == f"sftp://{server.user}@127.0.0.1:{server.port}{partner.outbox}/855-0001.x12"
    assert names(partner.outbox) == ["855-0001.x12"]
    assert Path(partner.outbox, "855-0001.x12").read_bytes() == purchase_order("PO-1")


def test_delivering_the_same_file_again_is_a_no_op(partner):
    target = Path(partner.outbox, "855-0001.x12")
    with partner.mailbox() as mailbox:
        first = mailbox.deliver(target.name, purchase_order("PO-1"))
        os.utime(target, (1_000_000, 1_000_000))
        inode = target.stat().st_ino
        assert mailbox.deliver(target.name, purchase_order("PO-1")) == first
    assert target.stat().st_mtime == 1_000_000  # not written again
    assert target.stat().st_ino == inode
    assert names(partner.outbox) == [target.name]


def test_delivering_other_content_under_a_taken_name_replaces_the_file(partner):
    target = Path(partner.outbox, "855-0001.x12")
    with partner.mailbox() as mailbox:
        mailbox.deliver(target.name, b"short")
        mailbox.deliver(target.name, purchase_order("PO-1"))
    assert target.read_bytes() == purchase_order("PO-1")
    assert names(partner.outbox) == [target.name]


def test_a_failed_delivery_leaves_no_temporary_file(partner):
    os.chmod(partner.outbox, 0o555)  # the user may no longer write there
    with partner.mailbox() as mailbox, pytest.raises(TransportError, match="cannot write"):
        mailbox.deliver("855-0001.x12", purchase_order("PO-1"))
    assert names(partner.outbox) == []


# -- host key, authentication -----------------------------------------------------------


def test_a_host_key_other_than_the_pinned_one_is_rejected_before_any_transfer(partner, tmp_path):
    partner.put("po.x12", purchase_order("PO-1"))
    wrong = "SHA256:" + "A" * 43
    with partner.mailbox(host_key=wrong) as mailbox:
        with pytest.raises(HostKeyRejected) as rejected:
            mailbox.collect(tmp_path)
        with pytest.raises(HostKeyRejected):
            mailbox.deliver("855.x12", b"ISA")
    message = str(rejected.value)
    assert message.startswith(f"{PARTNER}: host key rejected: 127.0.0.1:{partner.server.port}")
    assert wrong in message
    assert partner.server.host_key in message  # both keys the server holds are named
    assert partner.server.other_host_key in message
    assert "update host_key" in message
    assert names(partner.inbox) == ["po.x12"]
    assert names(partner.outbox) == []
    assert names(tmp_path) == []


def test_any_of_the_servers_host_keys_may_be_the_pinned_one(partner, tmp_path):
    partner.put("po.x12", purchase_order("PO-1"))
    with partner.mailbox(host_key=partner.server.other_host_key) as mailbox:  # its ECDSA key
        assert [s.name for s in mailbox.collect(tmp_path)] == ["po.x12"]


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_each_kind_of_private_key_authenticates(partner, tmp_path, kind):
    partner.put("po.x12", purchase_order("PO-1"))
    with partner.mailbox(key_file=partner.server.client_keys[kind]) as mailbox:
        assert [s.name for s in mailbox.collect(tmp_path)] == ["po.x12"]


def test_a_key_the_server_does_not_know_fails_authentication(partner, tmp_path):
    partner.put("po.x12", purchase_order("PO-1"))
    mailbox = partner.mailbox(key_file=partner.server.unauthorized_key)
    with mailbox, pytest.raises(TransportError, match="authentication failed") as failed:
        mailbox.collect(tmp_path)
    assert not isinstance(failed.value, HostKeyRejected)
    assert partner.server.user in str(failed.value)
    assert names(partner.inbox) == ["po.x12"]


def test_password_authentication_works(partner, tmp_path):
    partner.put("po.x12", purchase_order("PO-1"))
    with partner.mailbox(key_file=None, password=partner.server.password) as mailbox:
        assert [s.name for s in mailbox.collect(tmp_path)] == ["po.x12"]
        mailbox.deliver("855.x12", purchase_order("PO-1"))
    assert names(partner.outbox) == ["855.x12"]


def test_a_wrong_password_fails_authentication(partner, tmp_path):
    partner.put("po.x12", purchase_order("PO-1"))
    mailbox = partner.mailbox(key_file=None, password="not-the-password")
    with mailbox, pytest.raises(TransportError, match=r"authentication failed .* the password"):
        mailbox.collect(tmp_path)
    assert names(partner.inbox) == ["po.x12"]


# -- connections ---------------------------------------------------------------------------


def test_a_server_that_is_down_fails_fast_and_the_mailbox_recovers_after_its_restart(
    partner, tmp_path
):
    partner.put("po-1.x12", purchase_order("PO-1"), age=1)
    with partner.mailbox() as mailbox:
        assert len(mailbox.collect(tmp_path)) == 1
        assert mailbox.connected
        partner.put("po-2.x12", purchase_order("PO-2"), age=2)
        with partner.server.stopped():
            started = time.monotonic()
            with pytest.raises(TransportError, match=r"refused|closed|no answer"):
                mailbox.collect(tmp_path)
            assert time.monotonic() - started < TIMEOUT + 1
            assert not mailbox.connected
        assert [s.name for s in mailbox.collect(tmp_path)] == ["po-2.x12"]
    assert names(partner.inbox) == []


def test_a_dropped_connection_is_reopened_on_the_next_call(partner, tmp_path):
    with partner.mailbox() as mailbox:
        assert mailbox.collect(tmp_path) == []
        partner.server.drop_sessions()
        deadline = time.monotonic() + TIMEOUT
        while mailbox.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not mailbox.connected
        partner.put("po.x12", purchase_order("PO-1"))
        assert [s.name for s in mailbox.collect(tmp_path)] == ["po.x12"]


def test_a_server_that_never_answers_times_out(partner, tmp_path):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # connections complete in the backlog, and nothing is ever said
    try:
        port = silent.getsockname()[1]
        started = time.monotonic()
        mailbox = partner.mailbox(port=port, timeout_seconds=1.0)
        with mailbox, pytest.raises(TransportError, match=r"SSH negotiation .* failed"):
            mailbox.collect(tmp_path)
        assert time.monotonic() - started < 3
    finally:
        silent.close()


def test_a_server_that_stalls_after_the_banner_times_out(partner, tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            stop.wait(10)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        settings = {"port": listener.getsockname()[1], "timeout_seconds": 1.0}
        mailbox = partner.mailbox(**settings)
        with mailbox, pytest.raises(TransportError, match="SSH negotiation"):
            mailbox.collect(tmp_path)
        assert time.monotonic() - started < 3
    finally:
        stop.set()
        thread.join(5)
        listener.close()


# -- check ---------------------------------------------------------------------------------


def test_check_finds_nothing_wrong_with_a_healthy_mailbox(partner):
    settings = {"after_pickup": "move", "archive_folder": partner.archive}
    with partner.mailbox(**settings) as mailbox:
        assert mailbox.check() == []
    assert names(partner.outbox) == []  # the probe is gone
    assert not Path(partner.archive).exists()  # could be created, so it was not left behind


def test_check_reports_a_missing_remote_folder(partner):
    missing = f"{partner.inbox}-missing"
    with partner.mailbox(remote_inbox=missing) as mailbox:
        problems = mailbox.check()
    assert problems == [f"remote_inbox {missing} cannot be listed: no such file or folder"]


def test_check_reports_an_unwritable_outbox_and_an_impossible_archive(partner):
    os.chmod(partner.outbox, 0o555)
    archive = f"{partner.archive}/no/such/parent"
    with partner.mailbox(after_pickup="move", archive_folder=archive) as mailbox:
        problems = mailbox.check()
    assert problems == [
        f"remote_outbox {partner.outbox} is not writable: permission denied",
        f"archive_folder {archive} is missing and cannot be created: no such file or folder",
    ]


def test_check_lets_a_rejected_host_key_propagate(partner):
    mailbox = partner.mailbox(host_key="SHA256:" + "B" * 43)
    with mailbox, pytest.raises(HostKeyRejected):
        mailbox.check()
