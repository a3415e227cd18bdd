"""The SFTP mailbox's rules on a fake SFTP session: what a real server rarely does on cue (a
download shorter than the listing, a removal refused after staging, a server without the
posix-rename extension, a temporary file the server truncated)."""

from __future__ import annotations

import base64
import errno
import io
import posixpath
import stat
from pathlib import Path

import paramiko
import pytest

from gateway.adapters.filestore import numbered_name
from gateway.adapters.sftp import SftpMailbox, host_key_fingerprint
from gateway.config import SftpTransport
from gateway.errors import ConfigurationError, TransportError

INBOX = "/in"
OUTBOX = "/out"


def _attributes(name: str, mode: int, size: int, mtime: int) -> paramiko.SFTPAttributes:
    attributes = paramiko.SFTPAttributes()
    attributes.filename = name
    attributes.st_mode = mode
    attributes.st_size = size
    attributes.st_mtime = mtime
    return attributes


class FakeFile(io.BytesIO):
    def __init__(self, server: FakeSftp, path: str):
        super().__init__()
        self.server = server
        self.path = path

    def set_pipelined(self, pipelined: bool = True) -> None:
        pass

    def close(self) -> None:
        if not self.closed:
            content = self.getvalue()
            self.server.files[self.path] = content[: self.server.keep_bytes]
        super().close()


class FakeSftp:
    """Files in memory, with switches for the failures under test."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.mtimes: dict[str, int] = {}
        self.folders = {INBOX, OUTBOX}
        self.short_downloads: set[str] = set()
        self.refuse_removal = False
        self.posix_rename_supported = True
        self.keep_bytes: int | None = None  # truncate what is written to this many bytes
        self.calls: list[str] = []

    def put(self, path: str, content: bytes, mtime: int) -> None:
        self.files[path] = content
        self.mtimes[path] = mtime

    def listdir_attr(self, path: str) -> list[paramiko.SFTPAttributes]:
        if path not in self.folders:
            raise FileNotFoundError(errno.ENOENT, "No such file")
        found = [
            _attributes(posixpath.basename(p), stat.S_IFREG | 0o644, len(c), self.mtimes.get(p, 0))
            for p, c in self.files.items()
            if posixpath.dirname(p) == path
        ]
        found += [
            _attributes(posixpath.basename(p), stat.S_IFDIR | 0o755, 0, 0)
            for p in self.folders
            if posixpath.dirname(p) == path
        ]
        return found

    def stat(self, path: str) -> paramiko.SFTPAttributes:
        if path in self.files:
            return _attributes(posixpath.basename(path), stat.S_IFREG, len(self.files[path]), 0)
        if path in self.folders:
            return _attributes(posixpath.basename(path), stat.S_IFDIR, 0, 0)
        raise FileNotFoundError(errno.ENOENT, "No such file")

    def getfo(self, path: str, local: io.BufferedWriter) -> int:
        content = self.files[path]
        if path in self.short_downloads:
            content = content[:-1]
        local.write(content)
        return len(content)

    def open(self, path: str, mode: str = "r") -> FakeFile:
        assert mode == "wb"
        return FakeFile(self, path)

    def remove(self, path: str) -> None:
        self.calls.append(f"remove {path}")
        if self.refuse_removal:
            raise PermissionError(errno.EACCES, "Permission denied")
        if path not in self.files:
            raise FileNotFoundError(errno.ENOENT, "No such file")
        del self.files[path]

    def rename(self, old: str, new: str) -> None:
        self.calls.append(f"rename {old} {new}")
        if new in self.files:
            raise OSError("Failure")
        self.files[new] = self.files.pop(old)

    def posix_rename(self, old: str, new: str) -> None:
        self.calls.append(f"posix_rename {old} {new}")
        if not self.posix_rename_supported:
            raise OSError("Operation unsupported")
        self.files[new] = self.files.pop(old)

    def mkdir(self, path: str) -> None:
        self.folders.add(path)


def mailbox_on(fake: FakeSftp, monkeypatch: pytest.MonkeyPatch, **changes: object) -> SftpMailbox:
    settings = SftpTransport(
        host="sftp.example.com",
        user="gateway",
        host_key="SHA256:unused",
        remote_inbox=INBOX,
        remote_outbox=OUTBOX,
        password_env="UNUSED",
        **changes,  # type: ignore[arg-type]
    )
    mailbox = SftpMailbox("acme", settings, password="secret")
    monkeypatch.setattr(mailbox, "_client", lambda: fake)
    return mailbox


def test_a_download_shorter_than_the_listing_is_not_staged_and_stays_on_the_server(
    monkeypatch, tmp_path
):
    fake = FakeSftp()
    fake.put("/in/po.x12", b"ISA*00~", mtime=1)
    fake.short_downloads.add("/in/po.x12")
    mailbox = mailbox_on(fake, monkeypatch)
    with pytest.raises(TransportError, match="downloaded 6 bytes but the server listed 7"):
        mailbox.collect(tmp_path)
    assert list(tmp_path.iterdir()) == []  # no part file left
    assert "/in/po.x12" in fake.files
    assert fake.calls == []


def test_a_failure_midway_keeps_what_was_staged_and_leaves_the_rest_on_the_server(
    monkeypatch, tmp_path
):
    fake = FakeSftp()
    fake.put("/in/a.x12", b"first", mtime=1)
    fake.put("/in/b.x12", b"second", mtime=2)
    fake.short_downloads.add("/in/b.x12")
    mailbox = mailbox_on(fake, monkeypatch)
    with pytest.raises(TransportError, match=r"the 1 file\(s\) picked up before it are staged"):
        mailbox.collect(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["a.x12"]
    assert sorted(fake.files) == ["/in/b.x12"]


def test_a_file_the_server_will_not_remove_stays_staged(monkeypatch, tmp_path):
    fake = FakeSftp()
    fake.put("/in/po.x12", b"ISA", mtime=1)
    fake.refuse_removal = True
    mailbox = mailbox_on(fake, monkeypatch)
    with pytest.raises(TransportError, match=r"cannot remove /in/po\.x12: permission denied"):
        mailbox.collect(tmp_path)
    assert (tmp_path / "po.x12").read_bytes() == b"ISA"
    assert "/in/po.x12" in fake.files


def test_a_staged_name_already_taken_gets_a_number(monkeypatch, tmp_path):
    (tmp_path / "po.x12").write_bytes(b"earlier")
    (tmp_path / "po.1.x12").write_bytes(b"earlier too")
    fake = FakeSftp()
    fake.put("/in/po.x12", b"ISA", mtime=1)
    [staged] = mailbox_on(fake, monkeypatch).collect(tmp_path)
    assert staged.path == tmp_path / "po.2.x12"
    assert staged.name == "po.x12"
    assert staged.source == "sftp://gateway@sftp.example.com:22/in/po.x12"
    assert (tmp_path / "po.x12").read_bytes() == b"earlier"


def test_a_truncated_temporary_file_is_not_renamed_and_is_removed(monkeypatch):
    fake = FakeSftp()
    fake.keep_bytes = 3
    mailbox = mailbox_on(fake, monkeypatch)
    with pytest.raises(TransportError, match="holds 3 bytes on the server, not the 7 sent"):
        mailbox.deliver("855.x12", b"ISA*00~")
    assert fake.files == {}


def test_without_posix_rename_the_target_is_removed_then_renamed(monkeypatch):
    fake = FakeSftp()
    fake.posix_rename_supported = False
    fake.put("/out/855.x12", b"older", mtime=1)
    location = mailbox_on(fake, monkeypatch).deliver("855.x12", b"ISA*00~")
    assert location == "sftp://gateway@sftp.example.com:22/out/855.x12"
    assert fake.files == {"/out/855.x12": b"ISA*00~"}
    assert fake.calls == [
        "posix_rename /out/.855.x12.part /out/855.x12",
        "remove /out/855.x12",
        "rename /out/.855.x12.part /out/855.x12",
    ]


@pytest.mark.parametrize("name", ["", ".", "..", "a/b.x12", "a\\b.x12"])
def test_a_delivered_file_name_is_a_plain_name(monkeypatch, name):
    with pytest.raises(ConfigurationError):
        mailbox_on(FakeSftp(), monkeypatch).deliver(name, b"ISA")


def test_a_mailbox_needs_a_key_or_a_password_before_it_connects():
    settings = SftpTransport(
        host="sftp.example.com",
        user="gateway",
        host_key="SHA256:x",
        remote_inbox=INBOX,
        remote_outbox=OUTBOX,
        port=1,  # nothing is ever connected to
    )
    with pytest.raises(ConfigurationError, match="needs key_file or a password"):
        SftpMailbox("acme", settings).collect(Path("unused"))


def test_an_unreadable_key_file_is_a_configuration_error(tmp_path):
    key_file = tmp_path / "id_ed25519"
    key_file.write_text("not a key\n")
    settings = SftpTransport(
        host="sftp.example.com",
        user="gateway",
        host_key="SHA256:x",
        remote_inbox=INBOX,
        remote_outbox=OUTBOX,
        port=1,
        key_file=key_file,
    )
    with pytest.raises(ConfigurationError, match="cannot be used as an SSH private key"):
        SftpMailbox("acme", settings).deliver("855.x12", b"ISA")


def test_the_fingerprint_is_the_one_ssh_keygen_prints():
    # `ssh-keygen -lf` of this public key printed SHA256:tKRF6AwMSWKgtEZWi82czagZNoF1+5u8sJppU63k8dw
    blob = base64.b64decode("AAAAC3NzaC1lZDI1NTE5AAAAIL/LsI0CZKUnOGHUZgsIYzbaqwVpJpOQmWQJKFBMmHnQ")
    key = paramiko.Ed25519Key(data=blob)
    assert host_key_fingerprint(key) == "SHA256:tKRF6AwMSWKgtEZWi82czagZNoF1+5u8sJppU63k8dw"


@pytest.mark.parametrize(
    ("name", "number", "expected"),
    [
        ("po.x12", 0, "po.x12"),
        ("po.x12", 2, "po.2.x12"),
        ("po", 1, "po.1"),
        ("a.b.c", 1, "a.b.1.c"),
    ],
)
def test_numbered_names_keep_the_suffix(name, number, expected):
    assert numbered_name(name, number) == expected
