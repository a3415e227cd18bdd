"""Several workers on one partner's mailbox (issue 19), on SQLite and PostgreSQL, with real
files: each staged file is taken in under a lease of its own, so a worker leaves alone the files
another is taking in, takes back those a dead worker left, and a set naming an order another
worker is still bringing in waits for it instead of being refused. Whole processes sharing a
PostgreSQL database are in tests/e2e/test_run.py."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

from gateway.bootstrap import Gateway
from gateway.config import FolderTransport
from gateway.service import runner as runner_module
from gateway.service.runner import Runner, file_lease

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
PO = "HV4500871234"
OTHER = "elsewhere:4026531836:999999"  # a worker on another host: alive as far as we know


def inbox(gateway: Gateway) -> Path:
    transport = gateway.config.partners[0].transport
    assert isinstance(transport, FolderTransport)
    return transport.inbox


def drop(gateway: Gateway, sample: str, name: str, *, age: float = 0.0) -> Path:
    """The sample in the partner's inbox as `name`, written `age` seconds ago."""
    path = inbox(gateway) / name
    path.write_bytes((SAMPLES / sample[:3] / sample).read_bytes())
    moment = time.time() - age
    os.utime(path, (moment, moment))
    return path


def runner(gateway: Gateway, worker: str, log: list[str] | None = None) -> Runner:
    taken = gateway.runner(log=None if log is None else (lambda event, **_: log.append(event)))
    taken.worker = worker
    return taken


def hold(gateway: Gateway, lease: str, holder: str) -> None:
    now = dt.datetime.now(dt.UTC)
    with gateway.uow_factory() as uow:
        assert uow.leases.acquire(lease, holder, now, now + dt.timedelta(minutes=10))
        uow.commit()


def release(gateway: Gateway, lease: str, holder: str) -> None:
    with gateway.uow_factory() as uow:
        uow.leases.release(lease, holder)
        uow.commit()


def test_a_file_another_worker_is_taking_in_is_left_to_it(gateway: Gateway):
    drop(gateway, "850_004010_good.x12", "first.x12", age=20)
    drop(gateway, "850_004010_three_sets.x12", "second.x12", age=10)
    hold(gateway, file_lease("harborview", "first.x12"), OTHER)
    taken = runner(gateway, "w1").run_once().files
    assert [f.name for f in taken] == ["second.x12"]
    assert [s.name for s in gateway.files.waiting("harborview")] == ["first.x12"]
    release(gateway, file_lease("harborview", "first.x12"), OTHER)
    assert [f.name for f in runner(gateway, "w1").run_once().files] == ["first.x12"]


def test_a_file_a_worker_left_claimed_is_taken_by_another_once_its_lease_is_free(
    gateway: Gateway,
):
    drop(gateway, "850_004010_good.x12", "po.x12")
    first = runner(gateway, "w1")
    staged = []
    real = first.pipeline.take

    def claim_only(item, partner, profile):  # a worker dies right after its claim
        staged.append(first.pipeline.files.claim(item, "0" * 64))
        raise SystemExit

    first.pipeline.take = claim_only  # type: ignore[method-assign]
    try:
        first.run_once()
    except SystemExit:
        pass
    finally:
        first.pipeline.take = real  # type: ignore[method-assign]
    assert [s.name for s in gateway.files.claimed("harborview")] == ["po.x12"]
    # still held by a live worker (another host's): left alone
    hold(gateway, file_lease("harborview", "po.x12"), OTHER)
    assert runner(gateway, "w2").run_once().files == []
    release(gateway, file_lease("harborview", "po.x12"), OTHER)
    (taken,) = runner(gateway, "w2").run_once().files
    assert (taken.name, taken.status) == ("po.x12", "applied")
    assert gateway.files.claimed("harborview") == []


def test_a_change_waits_for_the_order_another_worker_is_taking_in(gateway: Gateway):
    """The 850 came first and another worker holds it; the 860 behind it, taken by this
    worker, names an order not stored yet: it waits for that worker, then is applied."""
    drop(gateway, "850_004010_good.x12", "order.x12", age=20)
    drop(gateway, "860_004010_good_change.x12", "change.x12", age=10)
    lease = file_lease("harborview", "order.x12")
    hold(gateway, lease, OTHER)

    def other_worker() -> None:  # takes the order in a moment later, then lets it go
        time.sleep(0.5)
        staged = next(s for s in gateway.files.waiting("harborview") if s.name == "order.x12")
        outcome = gateway.pipeline.take(staged, "harborview", gateway.config.partners[0])
        assert outcome.status == "applied"
        release(gateway, lease, OTHER)

    events: list[str] = []
    this = runner(gateway, "w1", events)
    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        taken = this.run_once().files
    finally:
        thread.join(timeout=60)
    assert [f.name for f in taken] == ["change.x12"]
    (change,) = taken
    assert change.status == "applied", change.reasons
    assert change.result is not None
    assert [s.action for s in change.result.sets] == ["changed"]
    assert "waiting for the files before this one" in events
    with gateway.uow_factory() as uow:
        order = uow.orders.get("harborview", PO)
        assert order is not None
        assert [str(line.open) for line in order.lines] == ["2", "0", "3", "1", "2"]


def test_a_file_before_it_that_nobody_takes_in_any_more_is_taken_in_first(gateway: Gateway):
    """The worker holding the 850 dies (its lease ends) while the 860 behind it waits: the
    waiting worker takes the 850 in itself, then applies the 860."""
    drop(gateway, "850_004010_good.x12", "order.x12", age=20)
    drop(gateway, "860_004010_good_change.x12", "change.x12", age=10)
    lease = file_lease("harborview", "order.x12")
    hold(gateway, lease, OTHER)
    dies = threading.Timer(0.5, release, (gateway, lease, OTHER))
    dies.start()
    try:
        taken = runner(gateway, "w1").run_once().files
    finally:
        dies.cancel()
    assert [(f.name, f.status) for f in taken] == [
        ("order.x12", "applied"),
        ("change.x12", "applied"),
    ]
    assert taken[1].result is not None
    assert [s.action for s in taken[1].result.sets] == ["changed"]
    assert gateway.files.waiting("harborview") == gateway.files.claimed("harborview") == []


def test_a_set_naming_an_unknown_order_does_not_wait_when_no_file_is_before_it(
    gateway: Gateway,
):
    drop(gateway, "860_004010_good_change.x12", "change.x12")
    events: list[str] = []
    (taken,) = runner(gateway, "w1", events).run_once().files
    assert taken.status == "quarantined"
    assert taken.result is not None and [s.action for s in taken.result.sets] == ["refused"]
    assert "waiting for the files before this one" not in events


def test_the_wait_for_earlier_files_is_bounded(gateway: Gateway, monkeypatch):
    """A worker holding an earlier file for ever does not hold the change up for ever: after
    ORDER_WAIT the change is judged as it stands (refused: no such order)."""
    monkeypatch.setattr(runner_module, "ORDER_WAIT", 0.3)
    drop(gateway, "850_004010_good.x12", "order.x12", age=20)
    drop(gateway, "860_004010_good_change.x12", "change.x12", age=10)
    hold(gateway, file_lease("harborview", "order.x12"), OTHER)
    started = time.monotonic()
    taken = runner(gateway, "w1").run_once().files
    assert time.monotonic() - started < 30
    assert [(f.name, f.status) for f in taken] == [("change.x12", "quarantined")]


def test_a_temporary_file_of_a_pick_up_under_way_is_not_removed_by_another_worker(
    gateway: Gateway,
):
    staging = gateway.files.staging("harborview")
    partial = staging / ".po.x12.part"  # another worker's pick-up, being written
    partial.write_bytes(b"ISA*")
    hold(gateway, "mailbox:harborview", OTHER)
    assert gateway.files.waiting("harborview") == []
    runner(gateway, "w1").run_once()
    assert partial.exists()
    release(gateway, "mailbox:harborview", OTHER)  # that pick-up died: the next one clears it
    runner(gateway, "w1").run_once()
    assert not partial.exists()


def test_long_file_lease_names_fit_the_store():
    name = "x" * 250 + ".x12"
    lease = file_lease("harborview", name)
    assert len(lease) <= 128 and lease.startswith("file:harborview:")
    assert lease != file_lease("harborview", "y" * 250 + ".x12")
    assert file_lease("harborview", "po.x12") == "file:harborview:po.x12"
