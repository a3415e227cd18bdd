"""The folder mailbox and watcher on real files and real watchdog (inotify) events.

Every wait is bounded: conditions are polled against a deadline, never slept out.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.adapters.folder import FolderMailbox, FolderWatcher
from gateway.config import FolderTransport
from gateway.errors import TransportError
from gateway.service.ports import InboundMailbox, OutboundMailbox, Staged

DEADLINE_SECONDS = 10.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Folders:
    inbox: Path
    outbox: Path
    staging: Path


@pytest.fixture
def folders(tmp_path: Path) -> Folders:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return Folders(inbox, tmp_path / "outbox", tmp_path / "staging")


def mailbox_for(
    folders: Folders,
    *,
    settle: float = 0.0,
    pattern: str = "*",
    clock: Callable[[], float] = time.monotonic,
) -> FolderMailbox:
    settings = FolderTransport(
        folders.inbox, folders.outbox, settle_seconds=settle, pattern=pattern
    )
    return FolderMailbox("ACME", settings, clock=clock)


def poll(condition: Callable[[], bool], seconds: float = DEADLINE_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# -- collect ------------------------------------------------------------------------------------


def test_the_folder_mailbox_is_both_mailbox_ports(folders: Folders):
    mailbox = mailbox_for(folders)
    inbound: InboundMailbox = mailbox
    outbound: OutboundMailbox = mailbox
    assert inbound.partner == outbound.partner == "ACME"


def test_a_complete_file_moves_to_staging_with_its_bytes_intact_and_leaves_the_inbox(
    folders: Folders,
):
    content = os.urandom(64 * 1024)
    (folders.inbox / "po.x12").write_bytes(content)

    staged = mailbox_for(folders).collect(folders.staging)

    assert staged == [
        Staged(path=folders.staging / "po.x12", name="po.x12", source=str(folders.inbox / "po.x12"))
    ]
    assert staged[0].path.read_bytes() == content
    assert names(folders.inbox) == []
    assert names(folders.staging) == ["po.x12"]  # no temporary file left behind


def test_the_staging_folder_is_created_when_missing(folders: Folders):
    (folders.inbox / "po.x12").write_bytes(b"ISA")
    staging = folders.staging / "deep" / "er"

    staged = mailbox_for(folders).collect(staging)

    assert [s.path for s in staged] == [staging / "po.x12"]


def test_an_empty_inbox_gives_nothing(folders: Folders):
    assert mailbox_for(folders).collect(folders.staging) == []


def test_files_under_temporary_names_are_left_alone_until_renamed(folders: Folders):
    mailbox = mailbox_for(folders)
    for name in (".x.part", "x.tmp", "y.PART", ".hidden.x12", "z.filepart"):
        (folders.inbox / name).write_bytes(b"half a file")

    assert mailbox.collect(folders.staging) == []
    assert len(names(folders.inbox)) == 5

    (folders.inbox / ".x.part").rename(folders.inbox / "x.x12")
    (folders.inbox / "x.tmp").rename(folders.inbox / "x2.x12")

    staged = mailbox.collect(folders.staging)
    assert sorted(s.name for s in staged) == ["x.x12", "x2.x12"]
    assert names(folders.inbox) == [".hidden.x12", "y.PART", "z.filepart"]


def test_a_growing_file_waits_for_the_settle_time_after_its_last_change(folders: Folders):
    clock = FakeClock()
    mailbox = mailbox_for(folders, settle=2.0, clock=clock)
    growing = folders.inbox / "po.x12"
    growing.write_bytes(b"ISA*00*")

    assert mailbox.collect(folders.staging) == []  # first seen now
    clock.advance(1.5)
    with growing.open("ab") as more:
        more.write(b"GS*PO*")
    assert mailbox.collect(folders.staging) == []  # grew: timed afresh
    clock.advance(1.5)
    assert mailbox.collect(folders.staging) == []
    clock.advance(0.5)

    staged = mailbox.collect(folders.staging)

    assert [s.name for s in staged] == ["po.x12"]
    assert staged[0].path.read_bytes() == b"ISA*00*GS*PO*"


def test_a_file_unchanged_since_long_before_is_complete_at_first_sight(folders: Folders):
    """A one-pass run (`gateway run --once`) or a restart sees the inbox once: a file whose
    mtime is older than the settle time is complete; a fresh one still waits."""
    mailbox = mailbox_for(folders, settle=60.0, clock=FakeClock())
    old = folders.inbox / "old.x12"
    old.write_bytes(b"ISA*old")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    (folders.inbox / "fresh.x12").write_bytes(b"ISA*fresh")

    assert [s.name for s in mailbox.collect(folders.staging)] == ["old.x12"]
    assert names(folders.inbox) == ["fresh.x12"]


def test_settling_says_how_long_until_the_files_left_behind_would_be_complete(folders: Folders):
    clock = FakeClock()
    mailbox = mailbox_for(folders, settle=2.0, clock=clock)
    assert mailbox.collect(folders.staging) == []
    assert mailbox.settling() == 0.0  # nothing left behind

    (folders.inbox / "a.x12").write_bytes(b"ISA*a")
    assert mailbox.collect(folders.staging) == []
    assert mailbox.settling() == 2.0
    clock.advance(0.5)
    (folders.inbox / "b.x12").write_bytes(b"ISA*b")
    assert mailbox.collect(folders.staging) == []
    assert mailbox.settling() == 2.0  # b was just seen: the longer of the two waits
    clock.advance(1.5)
    assert [s.name for s in mailbox.collect(folders.staging)] == ["a.x12"]
    assert mailbox.settling() == 0.5  # b still has half a second to go
    clock.advance(0.5)
    assert [s.name for s in mailbox.collect(folders.staging)] == ["b.x12"]
    assert mailbox.settling() == 0.0


def test_a_growing_file_is_picked_up_only_after_a_real_settle_time(folders: Folders):
    settle = 0.2
    mailbox = mailbox_for(folders, settle=settle)
    growing = folders.inbox / "po.x12"
    growing.write_bytes(b"chunk-0;")
    assert mailbox.collect(folders.staging) == []
    for number in range(1, 4):
        time.sleep(0.05)
        with growing.open("ab") as more:
            more.write(f"chunk-{number};".encode())
        last_change = time.monotonic()
        assert mailbox.collect(folders.staging) == []  # just changed: never complete

    picked: list[Staged] = []

    def picked_up() -> bool:
        picked.extend(mailbox.collect(folders.staging))
        return bool(picked)

    assert poll(picked_up)
    picked_at = time.monotonic()

    # the file's mtime comes from the kernel's coarse clock, a tick behind `last_change` at
    # worst: the settle time is measured from it
    assert picked_at - last_change >= settle - 0.02
    assert picked[0].path.read_bytes() == b"chunk-0;chunk-1;chunk-2;chunk-3;"


def test_only_regular_files_matching_the_pattern_are_collected(folders: Folders):
    (folders.inbox / "po.x12").write_bytes(b"ISA")
    (folders.inbox / "readme.txt").write_bytes(b"not X12")
    (folders.inbox / "PO2.X12").write_bytes(b"ISA")  # the pattern is case-sensitive
    (folders.inbox / "sub.x12").mkdir()
    (folders.inbox / "link.x12").symlink_to(folders.inbox / "readme.txt")

    staged = mailbox_for(folders, pattern="*.x12").collect(folders.staging)

    assert [s.name for s in staged] == ["po.x12"]
    assert names(folders.inbox) == ["PO2.X12", "link.x12", "readme.txt", "sub.x12"]


def test_two_files_of_the_same_name_arriving_in_turn_get_distinct_staged_names(folders: Folders):
    mailbox = mailbox_for(folders)
    (folders.inbox / "po.x12").write_bytes(b"first")
    first = mailbox.collect(folders.staging)
    (folders.inbox / "po.x12").write_bytes(b"second")
    second = mailbox.collect(folders.staging)
    (folders.inbox / "po.x12").write_bytes(b"third")
    third = mailbox.collect(folders.staging)

    staged = first + second + third
    assert [s.name for s in staged] == ["po.x12"] * 3
    assert [s.path.name for s in staged] == ["po.x12", "po.1.x12", "po.2.x12"]
    assert [s.path.read_bytes() for s in staged] == [b"first", b"second", b"third"]


def test_a_name_without_suffix_gets_its_counter_at_the_end(folders: Folders):
    mailbox = mailbox_for(folders)
    folders.staging.mkdir()
    (folders.staging / "PO123").write_bytes(b"earlier")
    (folders.inbox / "PO123").write_bytes(b"later")

    staged = mailbox.collect(folders.staging)

    assert staged[0].path == folders.staging / "PO123.1"
    assert (folders.staging / "PO123").read_bytes() == b"earlier"


def test_limit_is_respected_and_the_oldest_files_go_first(folders: Folders):
    mailbox = mailbox_for(folders)
    base = time.time() - 1000
    for number, name in enumerate(["e", "d", "c", "b", "a"]):
        path = folders.inbox / f"{name}.x12"
        path.write_bytes(name.encode())
        os.utime(path, (base + number, base + number))  # e oldest ... a newest

    first = mailbox.collect(folders.staging, limit=2)
    second = mailbox.collect(folders.staging, limit=2)
    third = mailbox.collect(folders.staging, limit=2)

    assert [s.name for s in first] == ["e.x12", "d.x12"]
    assert [s.name for s in second] == ["c.x12", "b.x12"]
    assert [s.name for s in third] == ["a.x12"]
    assert mailbox.collect(folders.staging, limit=0) == []


def test_a_missing_inbox_is_a_transport_error_naming_the_folder(tmp_path: Path):
    missing = tmp_path / "unmounted" / "inbox"
    mailbox = FolderMailbox("ACME", FolderTransport(missing, tmp_path / "outbox"))

    with pytest.raises(TransportError, match="does not exist") as raised:
        mailbox.collect(tmp_path / "staging")

    assert str(missing) in str(raised.value)
    assert raised.value.partner == "ACME"
    assert not missing.exists()  # not created: that would hide the outage


def test_an_inbox_that_is_a_file_is_a_transport_error(tmp_path: Path):
    not_a_folder = tmp_path / "inbox"
    not_a_folder.write_bytes(b"")
    mailbox = FolderMailbox("ACME", FolderTransport(not_a_folder, tmp_path / "outbox"))

    with pytest.raises(TransportError, match="not a folder"):
        mailbox.collect(tmp_path / "staging")


def test_a_file_vanishing_between_listing_and_moving_is_skipped(
    folders: Folders, monkeypatch: pytest.MonkeyPatch
):
    for name in ("a.x12", "b.x12"):
        (folders.inbox / name).write_bytes(name.encode())
    real_rename = os.rename

    def taken_by_someone_else_first(source: os.PathLike[str], target: os.PathLike[str]) -> None:
        if Path(source).name == "a.x12":
            os.unlink(source)
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", taken_by_someone_else_first)

    staged = mailbox_for(folders).collect(folders.staging)

    assert [s.name for s in staged] == ["b.x12"]
    assert names(folders.staging) == ["b.x12"]


def test_a_file_that_cannot_be_moved_is_passed_over_reported_and_tried_again_later(
    folders: Folders, monkeypatch: pytest.MonkeyPatch
):
    (folders.inbox / "a.x12").write_bytes(b"ISA a")
    (folders.inbox / "b.x12").write_bytes(b"ISA b")
    os.utime(folders.inbox / "a.x12", (1, 1))  # the oldest: it comes first
    real_rename = os.rename

    def refused_for_a(source: os.PathLike[str], target: os.PathLike[str]) -> None:
        if Path(source).name == "a.x12":
            raise PermissionError(errno.EACCES, "Permission denied")
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", refused_for_a)
    clock = FakeClock()
    mailbox = mailbox_for(folders, clock=clock)

    assert [s.name for s in mailbox.collect(folders.staging)] == ["b.x12"]  # not blocked
    (skipped,) = mailbox.unmovable()
    assert (skipped.name, skipped.source) == ("a.x12", str(folders.inbox / "a.x12"))
    assert "Permission denied" in skipped.reason
    assert names(folders.inbox) == ["a.x12"]
    clock.advance(60)
    assert mailbox.collect(folders.staging) == []  # passed over meanwhile, still reported
    assert [s.name for s in mailbox.unmovable()] == ["a.x12"]
    monkeypatch.setattr(os, "rename", real_rename)  # fixed
    clock.advance(300)
    assert [s.name for s in mailbox.collect(folders.staging)] == ["a.x12"]
    assert mailbox.unmovable() == []


def test_a_name_too_long_for_its_temporary_name_is_picked_up_and_delivered(folders: Folders):
    name = "p" * 246 + ".x12"  # 250 characters: `.NAME.part` would pass 255
    (folders.inbox / name).write_bytes(b"ISA long")
    (folders.staging).mkdir()
    (folders.staging / name).write_bytes(b"taken")  # so a numbered name is needed as well
    (staged,) = mailbox_for(folders).collect(folders.staging)
    assert staged.name == name and staged.path.read_bytes() == b"ISA long"
    assert len(staged.path.name.encode()) <= 255 and staged.path.name.endswith(".1.x12")
    mailbox_for(folders).deliver(name, b"ISA out")
    assert (folders.outbox / name).read_bytes() == b"ISA out"


def _fd_path(descriptor: int) -> str:
    return os.readlink(f"/proc/self/fd/{descriptor}")


def test_across_filesystems_the_file_is_copied_fsynced_renamed_then_unlinked(
    folders: Folders, monkeypatch: pytest.MonkeyPatch
):
    content = os.urandom(3 * 1024 * 1024 + 17)
    original = folders.inbox / "po.x12"
    original.write_bytes(content)
    steps: list[tuple[str, ...]] = []
    real_rename, real_fsync, real_unlink = os.rename, os.fsync, os.unlink

    def rename(source: os.PathLike[str], target: os.PathLike[str]) -> None:
        steps.append(("rename", str(source), str(target)))
        if len(steps_of("rename")) == 1:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(source, target)

    def fsync(descriptor: int) -> None:
        kind = "folder" if stat.S_ISDIR(os.fstat(descriptor).st_mode) else "file"
        steps.append((f"fsync {kind}", _fd_path(descriptor)))
        real_fsync(descriptor)

    def unlink(path: os.PathLike[str]) -> None:
        steps.append(("unlink", str(path)))
        real_unlink(path)

    def steps_of(kind: str) -> list[tuple[str, ...]]:
        return [step for step in steps if step[0] == kind]

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "unlink", unlink)

    staged = mailbox_for(folders).collect(folders.staging)

    part = str(folders.staging / ".po.x12.part")
    final = str(folders.staging / "po.x12")
    copy_steps = steps[steps.index(("rename", str(original), final)) + 1 :]
    assert copy_steps == [
        ("fsync file", part),
        ("rename", part, final),
        ("fsync folder", str(folders.staging)),
        ("unlink", str(original)),
        ("fsync folder", str(folders.inbox)),
    ]
    assert staged == [Staged(path=Path(final), name="po.x12", source=str(original))]
    assert Path(final).read_bytes() == content
    assert names(folders.staging) == ["po.x12"]
    assert names(folders.inbox) == []


def test_across_filesystems_a_failed_unlink_leaves_the_file_only_in_the_inbox(
    folders: Folders, monkeypatch: pytest.MonkeyPatch
):
    (folders.inbox / "po.x12").write_bytes(b"ISA")
    real_rename, real_unlink = os.rename, os.unlink

    def rename(source: os.PathLike[str], target: os.PathLike[str]) -> None:
        if Path(source).parent == folders.inbox:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(source, target)

    def unlink(path: os.PathLike[str]) -> None:
        if Path(path).parent == folders.inbox:
            raise PermissionError(errno.EACCES, "Permission denied")
        real_unlink(path)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "unlink", unlink)

    mailbox = mailbox_for(folders)
    assert mailbox.collect(folders.staging) == []
    (skipped,) = mailbox.unmovable()
    assert skipped.name == "po.x12" and "Permission denied" in skipped.reason
    assert names(folders.inbox) == ["po.x12"]
    assert names(folders.staging) == []  # no copy: it is picked up again, once


def _other_filesystem(than: Path) -> Path | None:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != than.stat().st_dev:
        return shm
    return None


def test_a_staging_folder_on_another_filesystem_really_receives_the_file(folders: Folders):
    other = _other_filesystem(folders.inbox)
    if other is None:
        pytest.skip("no second writable filesystem (/dev/shm) on this machine")
    content = os.urandom(100_000)
    (folders.inbox / "po.x12").write_bytes(content)
    with tempfile.TemporaryDirectory(dir=other) as elsewhere:
        staging = Path(elsewhere) / "staging"

        staged = mailbox_for(folders).collect(staging)

        assert staged[0].path == staging / "po.x12"
        assert staged[0].path.read_bytes() == content
        assert names(staging) == ["po.x12"]
        assert names(folders.inbox) == []


# -- deliver ------------------------------------------------------------------------------------


def test_deliver_writes_only_the_final_name_and_creates_the_outbox(folders: Folders):
    where = mailbox_for(folders).deliver("855_0001.x12", b"ISA*00*~")

    assert where == str(folders.outbox / "855_0001.x12")
    assert names(folders.outbox) == ["855_0001.x12"]
    assert (folders.outbox / "855_0001.x12").read_bytes() == b"ISA*00*~"


def test_delivering_the_same_name_and_bytes_again_is_a_no_op(folders: Folders):
    mailbox = mailbox_for(folders)
    first = mailbox.deliver("po.x12", b"ISA*00*~")
    mtime = (folders.outbox / "po.x12").stat().st_mtime_ns

    again = mailbox.deliver("po.x12", b"ISA*00*~")

    assert again == first
    assert (folders.outbox / "po.x12").stat().st_mtime_ns == mtime
    assert names(folders.outbox) == ["po.x12"]


def test_delivering_other_bytes_under_a_name_not_yet_taken_is_a_transport_error(
    folders: Folders,
):
    mailbox = mailbox_for(folders)
    mailbox.deliver("po.x12", b"first")

    with pytest.raises(TransportError, match="other content"):
        mailbox.deliver("po.x12", b"second!")
    assert (folders.outbox / "po.x12").read_bytes() == b"first"
    assert names(folders.outbox) == ["po.x12"]


def test_an_unwritable_outbox_is_a_transport_error(folders: Folders):
    folders.outbox.write_bytes(b"a file where the folder should be")

    with pytest.raises(TransportError, match=r"cannot deliver po\.x12") as raised:
        mailbox_for(folders).deliver("po.x12", b"ISA")
    assert raised.value.partner == "ACME"


def test_a_failed_write_leaves_no_temporary_file(folders: Folders, monkeypatch: pytest.MonkeyPatch):
    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)

    with pytest.raises(TransportError, match="No space left"):
        mailbox_for(folders).deliver("po.x12", b"ISA")
    assert names(folders.outbox) == []


@pytest.mark.parametrize("name", ["", ".", "..", "../escape.x12", "sub/po.x12"])
def test_deliver_takes_plain_file_names_only(folders: Folders, name: str):
    with pytest.raises(ValueError, match="plain file name"):
        mailbox_for(folders).deliver(name, b"ISA")


def test_a_reader_polling_the_outbox_never_sees_a_partial_file(folders: Folders):
    size = 5 * 1024 * 1024
    expected = {f"doc{number}.x12": bytes([65 + number]) * size for number in range(4)}
    mailbox = mailbox_for(folders)
    folders.outbox.mkdir()
    done = threading.Event()
    problems: list[str] = []
    seen_complete: set[str] = set()
    writer_errors: list[BaseException] = []

    def write_all() -> None:
        try:
            for name, content in expected.items():
                mailbox.deliver(name, content)
        except BaseException as error:
            writer_errors.append(error)
        finally:
            done.set()

    def look() -> None:
        for entry in os.scandir(folders.outbox):
            if entry.name.startswith("."):
                continue
            try:
                content = Path(entry.path).read_bytes()
            except FileNotFoundError:
                continue
            if content != expected.get(entry.name):
                problems.append(f"{entry.name}: {len(content)} bytes")
            else:
                seen_complete.add(entry.name)

    writer = threading.Thread(target=write_all)
    writer.start()
    deadline = time.monotonic() + 60
    while not done.is_set() and time.monotonic() < deadline:
        look()
    writer.join(timeout=60)
    look()

    assert not writer.is_alive()
    assert writer_errors == []
    assert problems == []
    assert seen_complete == set(expected)
    assert names(folders.outbox) == sorted(expected)


# -- the watcher --------------------------------------------------------------------------------


def drain(watcher: FolderWatcher) -> None:
    """Swallow the events still trickling in (a write gives created, modified, closed)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while watcher.wait(0.2) and time.monotonic() < deadline:
        pass


@pytest.fixture
def watcher(folders: Folders) -> Iterator[FolderWatcher]:
    with FolderWatcher([folders.inbox]) as started:
        yield started
    assert not started.running


def test_wait_returns_true_soon_after_a_file_is_written_into_a_watched_folder(
    folders: Folders, watcher: FolderWatcher
):
    drop = threading.Timer(0.05, (folders.inbox / "po.x12").write_bytes, args=(b"ISA",))
    started = time.monotonic()
    drop.start()
    try:
        woke = watcher.wait(DEADLINE_SECONDS)
    finally:
        drop.join()

    assert woke
    assert time.monotonic() - started < 2.0


def test_wait_returns_false_after_the_timeout_when_nothing_happens(watcher: FolderWatcher):
    started = time.monotonic()

    assert watcher.wait(0.2) is False
    assert 0.2 <= time.monotonic() - started < 2.0


def test_a_rename_from_a_temporary_name_wakes_the_waiter(folders: Folders, watcher: FolderWatcher):
    (folders.inbox / ".po.x12.part").write_bytes(b"ISA")
    drain(watcher)

    (folders.inbox / ".po.x12.part").rename(folders.inbox / "po.x12")

    assert watcher.wait(DEADLINE_SECONDS)


def test_a_file_moved_in_from_elsewhere_wakes_the_waiter(
    folders: Folders, watcher: FolderWatcher, tmp_path: Path
):
    outside = tmp_path / "po.x12"
    outside.write_bytes(b"ISA")
    drain(watcher)

    outside.rename(folders.inbox / "po.x12")

    assert watcher.wait(DEADLINE_SECONDS)


def test_collecting_files_out_of_the_inbox_does_not_wake_the_waiter(
    folders: Folders, watcher: FolderWatcher
):
    (folders.inbox / "po.x12").write_bytes(b"ISA")
    drain(watcher)

    assert len(mailbox_for(folders).collect(folders.staging)) == 1

    assert watcher.wait(0.3) is False


def test_events_in_any_of_several_folders_wake_the_waiter(tmp_path: Path):
    first, second = tmp_path / "acme", tmp_path / "globex"
    first.mkdir()
    second.mkdir()
    with FolderWatcher([first, second]) as watcher:
        (second / "po.x12").write_bytes(b"ISA")
        assert watcher.wait(DEADLINE_SECONDS)


def test_a_missing_folder_is_skipped_and_watched_once_it_appears(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    later = tmp_path / "later"
    with FolderWatcher([later]) as watcher:
        assert watcher.missing == (later,)
        assert not later.exists()  # not created: an unmounted share must stay visible
        assert "does not exist" in caplog.text
        assert watcher.wait(0.1) is False

        later.mkdir()
        assert watcher.wait(DEADLINE_SECONDS)  # it appeared: files may be in it already
        assert not watcher.missing

        (later / "po.x12").write_bytes(b"ISA")
        assert watcher.wait(DEADLINE_SECONDS)


def test_a_folder_removed_and_made_again_is_watched_again(folders: Folders):
    with FolderWatcher([folders.inbox]) as watcher:
        folders.inbox.rmdir()

        def noticed_gone() -> bool:
            watcher.wait(0.05)
            return watcher.missing == (folders.inbox,)

        assert poll(noticed_gone)

        folders.inbox.mkdir()
        assert watcher.wait(DEADLINE_SECONDS)
        drain(watcher)

        (folders.inbox / "po.x12").write_bytes(b"ISA")
        assert watcher.wait(DEADLINE_SECONDS)


def test_stop_joins_the_observer_thread_and_can_be_repeated(folders: Folders):
    before = set(threading.enumerate())
    watcher = FolderWatcher([folders.inbox], stop_timeout=5.0)
    watcher.stop()  # never started: nothing to do
    watcher.start()
    watcher.start()  # already started: nothing to do
    assert watcher.running

    started = time.monotonic()
    watcher.stop()
    watcher.stop()

    assert time.monotonic() - started < 5.0
    assert not watcher.running
    assert poll(lambda: set(threading.enumerate()) <= before, 5.0)
