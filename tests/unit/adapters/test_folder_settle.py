"""When a file in a folder mailbox counts as complete: temporary names and the settle time, on a
fake clock (no files)."""

from __future__ import annotations

import pytest

from gateway.adapters.folder import SettleTracker, is_temporary_name


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_file_is_complete_once_unchanged_for_the_settle_time(clock: FakeClock):
    tracker = SettleTracker(2.0, clock)
    assert not tracker.observe("po.x12", 100, 5)
    clock.advance(1.5)
    assert not tracker.observe("po.x12", 100, 5)
    clock.advance(0.5)
    assert tracker.observe("po.x12", 100, 5)


def test_a_growing_file_restarts_the_settle_time(clock: FakeClock):
    tracker = SettleTracker(2.0, clock)
    assert not tracker.observe("po.x12", 100, 5)
    clock.advance(1.5)
    assert not tracker.observe("po.x12", 200, 5)  # grew: timed afresh from here
    clock.advance(1.5)
    assert not tracker.observe("po.x12", 200, 5)
    clock.advance(0.5)
    assert tracker.observe("po.x12", 200, 5)


def test_a_new_mtime_alone_restarts_the_settle_time(clock: FakeClock):
    tracker = SettleTracker(2.0, clock)
    tracker.observe("po.x12", 100, 5)
    clock.advance(2.0)
    assert not tracker.observe("po.x12", 100, 6)
    clock.advance(2.0)
    assert tracker.observe("po.x12", 100, 6)


def test_the_settle_time_starts_when_the_mailbox_first_sees_the_file_not_at_its_mtime(
    clock: FakeClock,
):
    tracker = SettleTracker(2.0, clock)
    assert not tracker.observe("old.x12", 100, 1)  # an mtime from long ago proves nothing
    clock.advance(2.0)
    assert tracker.observe("old.x12", 100, 1)


def test_zero_settle_seconds_means_complete_at_once(clock: FakeClock):
    assert SettleTracker(0.0, clock).observe("po.x12", 100, 5)


def test_files_settle_independently(clock: FakeClock):
    tracker = SettleTracker(2.0, clock)
    tracker.observe("a.x12", 1, 1)
    clock.advance(1.0)
    tracker.observe("b.x12", 1, 1)
    clock.advance(1.0)
    assert tracker.observe("a.x12", 1, 1)
    assert not tracker.observe("b.x12", 1, 1)


def test_a_file_gone_from_the_listing_is_forgotten_so_its_successor_settles_afresh(
    clock: FakeClock,
):
    tracker = SettleTracker(2.0, clock)
    tracker.observe("po.x12", 100, 5)
    tracker.observe("other.x12", 1, 1)
    clock.advance(5.0)
    tracker.keep_only(["other.x12"])
    assert "po.x12" not in tracker
    assert "other.x12" in tracker
    assert not tracker.observe("po.x12", 100, 5)  # same size and mtime, but a new file


def test_a_picked_up_file_is_forgotten(clock: FakeClock):
    tracker = SettleTracker(2.0, clock)
    tracker.observe("po.x12", 100, 5)
    tracker.forget("po.x12")
    tracker.forget("never-seen.x12")
    assert "po.x12" not in tracker


@pytest.mark.parametrize(
    "name",
    [".po.x12", ".x.part", "x.part", "x.tmp", "x.partial", "x.filepart", "x.crdownload", "X.PART"],
)
def test_temporary_names_are_files_still_being_written(name: str):
    assert is_temporary_name(name)


@pytest.mark.parametrize("name", ["po.x12", "po", "part", "po.tmp.x12", "x.parts", "tmp"])
def test_ordinary_names_are_not_temporary(name: str):
    assert not is_temporary_name(name)
