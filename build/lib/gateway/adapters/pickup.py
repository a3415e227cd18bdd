"""The files of a mailbox that cannot be picked up, shared by the folder and SFTP mailboxes.

One file the transport cannot move (unreadable, a name the staging folder cannot hold, one the
server will not let us remove) must not stop the files after it: it is left where it is,
reported, passed over, and tried again after RETRY_SECONDS or as soon as it changes (its size or
mtime). A file that was picked up but could not be removed from the mailbox is never picked up
again while it is unchanged: taking it in again would only make a duplicate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gateway.service.ports import Unmovable

RETRY_SECONDS = 300.0


@dataclass(slots=True)
class _Failure:
    record: Unmovable
    stamp: tuple[int, float]  # the file's size and mtime when it failed
    at: float  # monotonic clock reading of the failure
    again: bool  # tried again after RETRY_SECONDS (False: picked up, but still in the mailbox)


class Unmovables:
    """What one mailbox knows of its files that could not be picked up."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, retry_seconds: float = RETRY_SECONDS
    ):
        self._clock = clock
        self._retry = retry_seconds
        self._failures: dict[str, _Failure] = {}

    def due(self, name: str, size: int, mtime: float) -> bool:
        """Whether to try `name` now: never failed, changed since, or failed long enough ago."""
        failure = self._failures.get(name)
        if failure is None or failure.stamp != (size, mtime):
            return True
        return failure.again and self._clock() - failure.at >= self._retry

    def failed(self, record: Unmovable, size: int, mtime: float, *, again: bool = True) -> None:
        """`record.name` could not be picked up (`again` False: it was, but stays behind)."""
        self._failures[record.name] = _Failure(record, (size, mtime), self._clock(), again)

    def moved(self, name: str) -> None:
        """`name` was picked up whole."""
        self._failures.pop(name, None)

    def keep_only(self, names: Iterable[str]) -> None:
        """Forget the files no longer in the mailbox."""
        present = set(names)
        for name in [name for name in self._failures if name not in present]:
            del self._failures[name]

    def listing(self) -> list[Unmovable]:
        """The files still in the mailbox that could not be picked up, by name."""
        return [self._failures[name].record for name in sorted(self._failures)]
