"""The gateway's own folders under the data folder, where files wait, are kept and are put aside.

    DATA/staging/PARTNER/NAME           picked up from a mailbox, durable, not taken in yet
    DATA/staging/PARTNER/work/SHA--NAME being taken in (claimed): found here after a crash, it
                                        is taken in again, and the store resumes where it stopped
    DATA/archive/SH/SHA256              every file received, raw, named by its content
    DATA/quarantine/PARTNER/...         files an operator must look at, each with NAME.report.txt

Strategy: every write is a write to a dot-prefixed temporary name, fsync, rename, fsync of the
folder, so a file under its final name is always whole, and a crash leaves at worst a temporary
file (removed by the next pick-up for its partner). Moves inside the data folder are renames.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import itertools
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from gateway.service.ports import Quarantined, Staged

WORK = "work"
CHUNK = 1 << 20
SEPARATOR = "--"
NAME_MAX = 255  # bytes in one path component on the usual file systems


def _fits(name: str) -> bool:
    return len(os.fsencode(name)) <= NAME_MAX


def part_name(name: str) -> str:
    """The temporary name a file is written under before it is renamed to `name`: `.name.part`,
    or `.<hash of name>.part` when that would pass NAME_MAX (a partner's 250-character name)."""
    candidate = f".{name}.part"
    if _fits(candidate):
        return candidate
    return f".{hashlib.sha256(os.fsencode(name)).hexdigest()[:32]}.part"


def split_name(name: str) -> tuple[str, str]:
    """`name` as (stem, suffix): `po.x12` -> (`po`, `.x12`); no dot, or only a leading one,
    has no suffix."""
    stem, dot, suffix = name.rpartition(".")
    if not stem:
        return name, ""
    return stem, dot + suffix


def numbered_name(name: str, number: int) -> str:
    """`name` itself for 0, else `<stem>.<number><suffix>` (`po.x12` -> `po.1.x12`), its stem
    shortened when needed so that the name and its `part_name` fit NAME_MAX."""
    if number == 0:
        return name
    stem, suffix = split_name(name)
    tail = f".{number}{suffix}"
    while stem and not _fits(f"{stem}{tail}"):
        stem = stem[:-1]
    return f"{stem}{tail}"


def safe_name(name: str) -> str:
    """A name usable as one path component: letters, digits, '-', '_' and '.' kept."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".")
    return cleaned[:200] or "file"


_FSYNC_UNSUPPORTED = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}


def fsync_folder(folder: Path) -> None:
    """Make the renames and unlinks in `folder` durable (where the file system can)."""
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(descriptor)
    except OSError as error:
        if error.errno not in _FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(descriptor)


def write_whole(path: Path, content: bytes | Iterable[bytes]) -> None:
    """Write `content` (bytes, or chunks of them) to `path` so that `path` is never seen
    half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(part_name(path.name))
    try:
        with open(partial, "wb") as handle:
            for chunk in [content] if isinstance(content, bytes) else content:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def _oldest_first(folder: Path) -> list[Path]:
    """The files in `folder`, oldest first (by modification time, then name); a file another
    worker moves away while they are listed is left out."""
    found = []
    for path in folder.iterdir():
        try:
            status = path.stat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(status.st_mode):
            found.append((status.st_mtime_ns, path.name, path))
    return [path for _, _, path in sorted(found)]


def _why(report_lines: list[str]) -> str:
    """The report's first reason (under "why it is here:"), for listings."""
    for heading, reason in itertools.pairwise(report_lines):
        if heading.strip() == "why it is here:":
            return reason.strip().removeprefix("- ")
    return ""


class LocalFiles:
    """Staging, archive and quarantine folders under one data folder."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    def staging(self, partner: str) -> Path:
        folder = self.data_dir / "staging" / safe_name(partner)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def waiting(self, partner: str) -> list[Staged]:
        """Files picked up for `partner` and not taken in yet, oldest first (not the temporary
        files of a pick-up: one may be under way in another worker)."""
        return [
            Staged(path, path.name, str(path))
            for path in _oldest_first(self.staging(partner))
            if not path.name.startswith(".")
        ]

    def discard_partial(self, partner: str) -> int:
        """Remove the temporary files an interrupted pick-up left in staging; how many."""
        removed = 0
        for path in self.staging(partner).iterdir():
            if path.name.startswith(".") and path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def claim(self, staged: Staged, sha256: str) -> Staged:
        """Move a staged file to the work folder, under a name that carries its content hash."""
        work = staged.path.parent / WORK
        work.mkdir(exist_ok=True)
        target = work / f"{sha256[:16]}{SEPARATOR}{safe_name(staged.name)}"
        os.replace(staged.path, target)
        fsync_folder(work)
        fsync_folder(staged.path.parent)
        return Staged(target, staged.name, staged.source)

    def claimed(self, partner: str) -> list[Staged]:
        """Files being taken in, by this worker or another, or whose taking in was cut short (a
        crash), oldest first."""
        work = self.staging(partner) / WORK
        if not work.is_dir():
            return []
        return [
            Staged(path, path.name.partition(SEPARATOR)[2] or path.name, str(path))
            for path in _oldest_first(work)
            if not path.name.startswith(".")
        ]

    def release(self, staged: Staged) -> None:
        """Forget a file taken in whole (its bytes are in the archive and the store)."""
        staged.path.unlink(missing_ok=True)
        fsync_folder(staged.path.parent)

    def chunks(self, path: Path) -> Iterator[bytes]:
        """A file's bytes, a chunk at a time."""
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def read(self, path: Path) -> bytes:
        return path.read_bytes()

    def archive_file(self, sha256: str, path: Path) -> Path:
        """Keep a file's bytes under their hash, copied a chunk at a time."""
        target = self.data_dir / "archive" / sha256[:2] / sha256
        if target.exists() and target.stat().st_size == path.stat().st_size:
            return target
        write_whole(target, self.chunks(path))
        return target

    def archive_bytes(self, sha256: str, data: bytes) -> Path:
        """Keep bytes received otherwise than as a file (a cXML document POSTed to
        `gateway serve`) under their hash."""
        target = self.data_dir / "archive" / sha256[:2] / sha256
        if target.exists() and target.stat().st_size == len(data):
            return target
        write_whole(target, [data])
        return target

    def quarantined(self) -> list[Quarantined]:
        """Every file in quarantine, oldest first (by the day in its name, then its name)."""
        found = []
        root = self.data_dir / "quarantine"
        for report in sorted(root.glob("*/*.report.txt")) if root.is_dir() else []:
            path = report.with_name(report.name.removesuffix(".report.txt"))
            day, _, rest = path.name.partition("-")
            _, _, name = rest.partition("-")
            try:
                when = dt.datetime.strptime(day, "%Y%m%d").date()
            except ValueError:
                continue  # not one of ours
            lines = report.read_text(encoding="utf-8", errors="replace").splitlines()
            found.append(Quarantined(report.parent.name, name, when, path, report, _why(lines)))
        return sorted(found, key=lambda q: (q.day, q.path.name))

    def unquarantine(self, quarantined: Quarantined) -> None:
        """Remove a file from quarantine, with its report (the archive keeps its bytes)."""
        quarantined.path.unlink(missing_ok=True)
        quarantined.report.unlink(missing_ok=True)
        fsync_folder(quarantined.path.parent)

    def quarantine(
        self, partner: str, name: str, sha256: str, archived: Path, report: str, at: dt.datetime
    ) -> Path:
        """Put a copy of a file (from the archive) aside for an operator, with its report beside
        it; the same file quarantined again (after a crash) lands on the same names."""
        folder = self.data_dir / "quarantine" / safe_name(partner)
        stem = f"{at.strftime('%Y%m%d')}-{sha256[:12]}-{safe_name(name)}"
        path = folder / stem
        write_whole(path, self.chunks(archived))
        write_whole(folder / f"{stem}.report.txt", report.encode("utf-8"))
        return path
