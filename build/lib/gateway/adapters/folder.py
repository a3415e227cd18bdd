"""Local-folder mailboxes: the partner's inbox picked up safely, our outbox written safely.

Strategy. A folder gives no signal that a file is finished, so `collect` decides it by two rules:
a file under a temporary name (dot-prefixed, or ending `.part`, `.tmp`, `.partial`, `.filepart`,
`.crdownload`) is still being written, and any other file is complete once its size and mtime
have stayed the same for `settle_seconds`, timed on the gateway's own monotonic clock from the
first scan that saw them (a share's clock and mtimes are not to be trusted). Those observations
live in memory, so after a restart each file waits one settle period again.

A complete file moves into staging so that it is always in exactly one durable place: its data
is fsynced, then `os.rename` moves it within the filesystem and both folders are fsynced. When
staging is on another filesystem (EXDEV) it is copied to `.<name>.part` in staging, fsynced,
renamed to its final name, the folder fsynced, and only then is the original unlinked; a crash
in between leaves a copy in both places, never in neither. A staged name already taken gets a
counter (`po.x12`, `po.1.x12`, ...). Outgoing files are written the same way: `.<name>.part`,
fsynced, renamed, the folder fsynced, so the partner never sees half a file.

`FolderWatcher` only shortens the wait between scans: watchdog (inotify on Linux) wakes the run
loop when a file lands. Events get lost (network shares send none), so the periodic `collect`
stays the safety net and nothing depends on an event arriving.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import logging
import os
import shutil
import threading
import time
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from gateway.adapters.filestore import fsync_folder, numbered_name, part_name
from gateway.adapters.pickup import Unmovables
from gateway.config import FolderTransport
from gateway.errors import TransportError
from gateway.service.ports import Staged, Unmovable

logger = logging.getLogger(__name__)

TEMPORARY_SUFFIXES = (".part", ".tmp", ".partial", ".filepart", ".crdownload")
COPY_CHUNK_BYTES = 1024 * 1024
DEFAULT_STOP_TIMEOUT_SECONDS = 5.0
# fsync of a folder is refused by some filesystems; there is nothing more to do on them


def is_temporary_name(name: str) -> bool:
    """Whether `name` is a file still being written by the usual conventions: dot-prefixed, or
    ending `.part`, `.tmp`, `.partial`, `.filepart` or `.crdownload` (any case)."""
    return name.startswith(".") or name.lower().endswith(TEMPORARY_SUFFIXES)


@dataclass(frozen=True, slots=True)
class _Sighting:
    size: int
    mtime_ns: int
    since: float  # clock reading when this size and mtime were first seen


class SettleTracker:
    """Remembers, by file name, when each (size, mtime) was first seen, and says whether a file
    has kept them for `settle_seconds` (0 or less: complete at once)."""

    def __init__(self, settle_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.settle_seconds = settle_seconds
        self.clock = clock
        self._sightings: dict[str, _Sighting] = {}

    def observe(self, name: str, size: int, mtime_ns: int) -> bool:
        """Record a sighting of `name`; True when it has been unchanged for the settle time."""
        now = self.clock()
        seen = self._sightings.get(name)
        if seen is None or (seen.size, seen.mtime_ns) != (size, mtime_ns):
            seen = _Sighting(size, mtime_ns, now)
            self._sightings[name] = seen
        return self.settle_seconds <= 0 or now - seen.since >= self.settle_seconds

    def remaining(self, name: str) -> float:
        """Seconds until `name`, as last observed, has been unchanged for the settle time."""
        seen = self._sightings.get(name)
        elapsed = 0.0 if seen is None else self.clock() - seen.since
        return max(self.settle_seconds - elapsed, 0.0)

    def forget(self, name: str) -> None:
        """Drop what is known of `name` (it was picked up or changed under our feet)."""
        self._sightings.pop(name, None)

    def keep_only(self, names: Iterable[str]) -> None:
        """Drop the files no longer present, so a new file of the same name starts afresh."""
        present = set(names)
        for name in [name for name in self._sightings if name not in present]:
            del self._sightings[name]

    def __contains__(self, name: object) -> bool:
        return name in self._sightings


@dataclass(frozen=True, slots=True)
class _Candidate:
    path: Path
    name: str
    size: int
    mtime_ns: int


class FolderMailbox:
    """A partner's local folder mailboxes: `collect` from `settings.inbox`, `deliver` to
    `settings.outbox`. Implements `InboundMailbox` and `OutboundMailbox`."""

    def __init__(
        self,
        partner: str,
        settings: FolderTransport,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self.partner = partner
        self.settings = settings
        self._settle = SettleTracker(settings.settle_seconds, clock)
        self._wall = wall
        self._settling = 0.0
        self._unmovable = Unmovables(clock)

    # -- inbound ------------------------------------------------------------------------------

    def collect(self, staging: Path, *, limit: int = 100) -> list[Staged]:
        """Move up to `limit` complete files (oldest mtime first) from the inbox into `staging`,
        each durable there before it leaves the inbox. A file still being written, or one that
        vanishes meanwhile, is left for the next call; one that cannot be moved (unreadable, a
        name staging cannot hold) is left and reported by `unmovable`, and the files after it
        go on. Raises TransportError when the inbox cannot be listed (a missing folder is an
        unmounted share, an outage) or the staging folder cannot be made."""
        candidates = self._scan()
        settled_before = self._wall() - self.settings.settle_seconds
        complete: list[_Candidate] = []
        settling = 0.0
        for found in candidates:
            # unchanged for the settle time since we first saw it, or, by its own mtime, since
            # long enough before (a file found at start-up or by a one-pass run)
            if (
                self._settle.observe(found.name, found.size, found.mtime_ns)
                or found.mtime_ns / 1e9 <= settled_before
            ):
                complete.append(found)
            else:
                settling = max(settling, self._settle.remaining(found.name))
        self._settling = settling
        staged: list[Staged] = []
        if limit <= 0 or not complete:
            return staged
        try:
            staging.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TransportError(
                f"cannot create the staging folder {staging}: {error}", partner=self.partner
            ) from error
        for found in complete:
            if len(staged) >= limit:
                break
            if not self._unmovable.due(found.name, found.size, found.mtime_ns):
                continue  # failed before and unchanged: reported, tried again later
            try:
                target = self._move(found, staging)
            except OSError as error:
                reason = f"cannot move it into {staging}: {error.strerror or error}"
                record = Unmovable(found.name, str(found.path), reason)
                self._unmovable.failed(record, found.size, found.mtime_ns)
                continue
            self._settle.forget(found.name)
            self._unmovable.moved(found.name)
            if target is not None:
                staged.append(Staged(path=target, name=found.name, source=str(found.path)))
        return staged

    def unmovable(self) -> list[Unmovable]:
        """The inbox's files that could not be moved into staging (see `collect`)."""
        return self._unmovable.listing()

    def settling(self) -> float:
        """Seconds until the files the last `collect` found still changing (or seen for less
        than `settle_seconds`) count as complete if they stay unchanged; 0.0 when none."""
        return self._settling

    def _scan(self) -> list[_Candidate]:
        inbox = self.settings.inbox
        listed: list[str] = []
        candidates: list[_Candidate] = []
        try:
            with os.scandir(inbox) as entries:
                for entry in entries:
                    listed.append(entry.name)
                    if is_temporary_name(entry.name) or not fnmatch.fnmatchcase(
                        entry.name, self.settings.pattern
                    ):
                        continue
                    try:
                        if not entry.is_file(follow_symlinks=False):
                            continue
                        status = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    candidates.append(
                        _Candidate(Path(entry.path), entry.name, status.st_size, status.st_mtime_ns)
                    )
        except FileNotFoundError as error:
            raise TransportError(
                f"inbox folder {inbox} does not exist: is the share mounted? (create the folder"
                " or fix the partner's transport settings)",
                partner=self.partner,
            ) from error
        except NotADirectoryError as error:
            raise TransportError(f"inbox {inbox} is not a folder", partner=self.partner) from error
        except OSError as error:
            raise TransportError(
                f"cannot list the inbox folder {inbox}: {error}", partner=self.partner
            ) from error
        self._settle.keep_only(listed)
        self._unmovable.keep_only(listed)
        candidates.sort(key=lambda found: (found.mtime_ns, found.name))
        return candidates

    def _move(self, found: _Candidate, staging: Path) -> Path | None:
        """Move one file into staging; None when it vanished or changed since it was seen."""
        try:
            with open(found.path, "rb") as source:
                status = os.fstat(source.fileno())
                if (status.st_size, status.st_mtime_ns) != (found.size, found.mtime_ns):
                    return None  # written to again: it settles afresh on the next scan
                os.fsync(source.fileno())
        except FileNotFoundError:
            return None
        target = _free_name(staging, found.name)
        try:
            os.rename(found.path, target)
        except FileNotFoundError:
            return None
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            return _copy_across(found, staging, target)
        fsync_folder(staging)
        fsync_folder(found.path.parent)
        return target

    # -- outbound -----------------------------------------------------------------------------

    def deliver(self, name: str, content: bytes) -> str:
        """Write `content` to the outbox as `name` (under `.<name>.part` first, fsynced, checked,
        renamed, the folder fsynced). The same name with the same bytes already there is a
        no-op; with other bytes it is a TransportError (the partner has not taken the earlier
        file yet, and overwriting it would lose it). Returns the file's path."""
        if not name or name in {".", ".."} or "/" in name or (os.altsep and os.altsep in name):
            raise ValueError(f"{name!r} is not a plain file name")
        outbox = self.settings.outbox
        target = outbox / name
        temporary = outbox / part_name(name)
        try:
            outbox.mkdir(parents=True, exist_ok=True)
            if _holds(target, content):
                return str(target)
            if target.exists():
                raise TransportError(
                    f"{target} already exists with other content; it is delivered once the"
                    " partner has taken the earlier file",
                    partner=self.partner,
                )
            try:
                with open(temporary, "wb") as written:
                    written.write(content)
                    written.flush()
                    os.fsync(written.fileno())
                    size = os.fstat(written.fileno()).st_size
                if size != len(content):
                    raise TransportError(
                        f"{temporary} holds {size} bytes after writing {len(content)}",
                        partner=self.partner,
                    )
                os.rename(temporary, target)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
            fsync_folder(outbox)
        except OSError as error:
            raise TransportError(
                f"cannot deliver {name} to {outbox}: {error}", partner=self.partner
            ) from error
        return str(target)


def _holds(path: Path, content: bytes) -> bool:
    """Whether `path` is a file holding exactly `content`."""
    try:
        if path.stat().st_size != len(content):
            return False
        return path.read_bytes() == content
    except (FileNotFoundError, IsADirectoryError):
        return False


def _free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/<stem>.<n><suffix>` with the first free n when it is taken."""
    counter = 0
    target = folder / name
    while target.exists() or (folder / part_name(target.name)).exists():
        counter += 1
        target = folder / numbered_name(name, counter)
    return target


def _copy_across(found: _Candidate, staging: Path, target: Path) -> Path | None:
    """The cross-filesystem move: copy to `.<name>.part`, fsync, rename, fsync the folder, then
    unlink the original. None (and no copy left) when the original vanished or changed."""
    temporary = staging / part_name(target.name)
    try:
        with open(found.path, "rb") as source, open(temporary, "wb") as copy:
            shutil.copyfileobj(source, copy, COPY_CHUNK_BYTES)
            copy.flush()
            os.fsync(copy.fileno())
            after = os.fstat(source.fileno())
        if (after.st_size, after.st_mtime_ns) != (found.size, found.mtime_ns):
            os.unlink(temporary)
            return None
        os.rename(temporary, target)
    except FileNotFoundError:
        temporary.unlink(missing_ok=True)
        return None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_folder(staging)
    try:
        os.unlink(found.path)
    except FileNotFoundError:
        pass  # someone else removed it meanwhile: the staged copy is the file
    except OSError:
        os.unlink(target)  # it stays where it was, to be picked up again; no duplicate
        fsync_folder(staging)
        raise
    fsync_folder(found.path.parent)
    return target


# -- waking the run loop ------------------------------------------------------------------------

_WAKING_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileMovedEvent,
    FileModifiedEvent,
    FileClosedEvent,
]


class _Waker(FileSystemEventHandler):
    """Sets the watcher's event on a file created, moved into, modified or closed after
    writing in a watched folder (a file moved out is no news)."""

    def __init__(self, arrived: threading.Event, folders: frozenset[str]):
        self.arrived = arrived
        self.folders = folders

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or not isinstance(event, tuple(_WAKING_EVENTS)):
            return
        if isinstance(event, FileMovedEvent):
            landed = os.path.dirname(os.fsdecode(event.dest_path))
            if landed not in self.folders:
                return
        self.arrived.set()


class FolderWatcher:
    """Wakes the run loop as soon as a file arrives in one of `folders` (watchdog's `Observer`,
    inotify on Linux). Only latency depends on it: the periodic scan finds everything anyway.

    A folder that does not exist is not created (that would hide an unmounted share behind an
    empty local folder): it is skipped with a warning, listed in `missing`, and watched from the
    first `wait` that finds it. A watched folder that disappears or is replaced (a share
    unmounted or mounted over it) is noticed by `wait` the same way."""

    def __init__(
        self, folders: Iterable[Path], *, stop_timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS
    ):
        self.folders = tuple(dict.fromkeys(Path(os.path.abspath(folder)) for folder in folders))
        self.stop_timeout = stop_timeout
        self._arrived = threading.Event()
        self._waker = _Waker(self._arrived, frozenset(str(folder) for folder in self.folders))
        self._lock = threading.Lock()
        self._observer: BaseObserver | None = None
        self._watches: dict[Path, tuple[ObservedWatch, tuple[int, int]]] = {}

    @property
    def running(self) -> bool:
        """Whether the observer thread is alive."""
        return self._observer is not None and self._observer.is_alive()

    @property
    def missing(self) -> tuple[Path, ...]:
        """The folders not watched at the moment (not there when last looked for)."""
        return tuple(folder for folder in self.folders if folder not in self._watches)

    def start(self) -> None:
        """Start watching (a no-op when already started)."""
        with self._lock:
            if self._observer is not None:
                return
            self._observer = Observer()
            self._observer.start()
            self._refresh(self._observer, warn=True)

    def stop(self) -> None:
        """Stop watching and join the observer thread, waiting at most `stop_timeout` seconds
        (the thread is a daemon: one stuck on a hung share cannot keep the process alive)."""
        with self._lock:
            observer, self._observer = self._observer, None
            self._watches.clear()
        if observer is None:
            return
        observer.stop()
        observer.join(self.stop_timeout)
        if observer.is_alive():
            logger.warning(
                "the folder watcher did not stop within %s s; left to die with the process",
                self.stop_timeout,
            )

    def wait(self, timeout: float) -> bool:
        """Block until a file event happened in a watched folder since the last call (True), or
        `timeout` seconds passed (False). A folder that appeared or was replaced since the last
        call counts as an event: files may already be in it."""
        with self._lock:
            if self._observer is not None and self._refresh(self._observer, warn=False):
                self._arrived.set()
        arrived = self._arrived.wait(timeout)
        self._arrived.clear()
        return arrived

    def __enter__(self) -> FolderWatcher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        self.stop()

    def _refresh(self, observer: BaseObserver, *, warn: bool) -> bool:
        """Watch the folders now present, drop the ones gone or replaced; True when one began
        to be watched. `warn` repeats the warning for folders still missing."""
        changed = False
        for folder in self.folders:
            watched = self._watches.get(folder)
            try:
                status = folder.stat()
                identity = (status.st_dev, status.st_ino) if S_ISDIR(status.st_mode) else None
            except OSError:
                identity = None
            if watched is not None and watched[1] == identity:
                continue
            if watched is not None:
                del self._watches[folder]
                # its emitter may have stopped already, when the folder went away
                with contextlib.suppress(KeyError, OSError):
                    observer.unschedule(watched[0])
            if identity is None:
                if warn or watched is not None:
                    logger.warning(
                        "folder %s does not exist: not watched (the periodic scan reports it)",
                        folder,
                    )
                continue
            try:
                watch = observer.schedule(self._waker, str(folder), event_filter=_WAKING_EVENTS)
            except OSError as error:
                logger.warning("cannot watch folder %s: %s", folder, error)
                continue
            self._watches[folder] = (watch, identity)
            changed = True
        return changed
