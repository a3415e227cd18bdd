"""Database faults (issue 13, point 4): SQLite locked by another program past the busy timeout,
a database file that cannot be written (immutable), a database that is full. The running
gateway logs the fault, waits with backoff and goes on when the store is back; `run --once` and
the other commands say so in one line and exit 75 (try again later), never with a traceback;
nothing is lost and nothing is applied twice."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from gateway.adapters.migrate import upgrade
from gateway.adapters.store import create_store_engine, store_fault
from gateway.bootstrap import Gateway, bootstrap
from gateway.config import DatabaseConfig, FolderTransport, GatewayConfig
from tests.e2e.test_run import SAMPLES, gateway, setup_site
from tests.integration.test_pipeline import harborview

PO = "HV4500871234"
SAMPLE = SAMPLES / "850" / "850_004010_good.x12"
EXIT_TEMPFAIL = 75
BUSY = 0.2  # seconds SQLite waits for a lock in these tests


@contextlib.contextmanager
def locked(database: Path) -> Iterator[None]:
    """Another program holding the database's write lock."""
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[Gateway]:
    mailboxes = tmp_path / "mailboxes"
    (mailboxes / "in").mkdir(parents=True)
    config = GatewayConfig(
        data_dir=tmp_path / "data",
        database=DatabaseConfig(busy_timeout_seconds=BUSY),
        partners=(harborview(mailboxes),),
    )
    engine = create_store_engine(config)
    upgrade(engine)
    engine.dispose()
    found = bootstrap(config)
    yield found
    found.close()


def inbox(wired: Gateway) -> Path:
    transport = wired.config.partners[0].transport
    assert isinstance(transport, FolderTransport)
    return transport.inbox


def orders(wired: Gateway) -> list[str]:
    with wired.uow_factory() as uow:
        return [o.po_number for o in uow.orders.find(PO)]


def database(wired: Gateway) -> Path:
    return wired.config.data_dir / "gateway.db"


def test_the_running_gateway_outlives_a_lock_held_past_the_busy_timeout(wired: Gateway):
    logged: list[tuple[str, dict[str, Any]]] = []
    failures: list[BaseException] = []
    stop = threading.Event()
    runner = wired.runner(log=lambda event_, **fields: logged.append((event_, fields)))

    def serve() -> None:
        try:
            runner.run(stop, lambda timeout: stop.wait(min(timeout, 0.1)))
        except BaseException as exc:  # what the service died of
            failures.append(exc)

    with locked(database(wired)):
        worker = threading.Thread(target=serve, daemon=True)
        worker.start()
        (inbox(wired) / "po.x12").write_bytes(SAMPLE.read_bytes())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(e == "store unavailable" for e, _ in logged):
            time.sleep(0.05)
        time.sleep(0.5)  # a few more passes into the lock
        assert worker.is_alive(), failures
    unavailable = [fields for e, fields in logged if e == "store unavailable"]
    assert unavailable and "locked" in str(unavailable[0]["error"])
    assert "retry_in" in unavailable[0]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not orders(wired):
        time.sleep(0.1)
    stop.set()
    worker.join(10)
    assert not worker.is_alive() and failures == []
    assert orders(wired) == [PO]
    assert any(e == "store available again" for e, _ in logged)


def test_a_full_database_stops_the_pass_and_loses_nothing(wired: Gateway):
    engine = wired.engine
    engine.dispose()
    with sqlite3.connect(database(wired), isolation_level=None) as plain:
        plain.execute("VACUUM")  # no free pages left: the next one written is past the cap
        (pages,) = plain.execute("PRAGMA page_count").fetchone()

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", cap)
    engine.dispose()
    # line breaks after the IEA are layout, but its bytes are stored: pages past the cap
    (inbox(wired) / "po.x12").write_bytes(SAMPLE.read_bytes() + b"\n" * 20_000)
    summary = wired.runner().run_once()
    assert "full" in summary.store_unavailable
    event.remove(engine, "connect", cap)
    engine.dispose()
    assert orders(wired) == []
    again = wired.runner().run_once()
    assert again.store_unavailable == ""
    assert orders(wired) == [PO]
    with wired.uow_factory() as uow:
        sent = list(uow.documents.listing(direction="out"))
    assert len(sent) == 1, "one 997, not one per attempt"


def site(folder: Path) -> Path:
    config = setup_site(folder)
    text = config.read_text()
    config.write_text(text + f"\n[database]\nbusy_timeout_seconds = {BUSY}\n")
    assert gateway(config, "db", "upgrade").returncode == 0
    return config


def one_line_tempfail(run: subprocess.CompletedProcess[str], reason: str) -> None:
    assert run.returncode == EXIT_TEMPFAIL, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and reason in errors[0], run.stderr


def test_run_once_on_a_locked_database_says_so_and_exits_75(tmp_path: Path):
    config = site(tmp_path)
    (tmp_path / "mailboxes" / "harborview" / "in" / "po.x12").write_bytes(SAMPLE.read_bytes())
    with locked(tmp_path / "data" / "gateway.db"):
        one_line_tempfail(gateway(config, "run", "--once"), "locked")
        one_line_tempfail(gateway(config, "cancel", PO, "--reason", "x", "--by", "buyer"), "locked")
    after = gateway(config, "run", "--once")
    assert after.returncode == 0, after.stdout + after.stderr
    shown = gateway(config, "orders", "show", PO)
    assert shown.returncode == 0 and PO in shown.stdout


def test_an_immutable_database_file_is_reported_in_one_line(tmp_path: Path):
    config = site(tmp_path)
    path = tmp_path / "data" / "gateway.db"
    if subprocess.run(["chattr", "+i", str(path)], check=False).returncode != 0:
        pytest.skip("chattr +i is not available on this file system")
    try:
        (tmp_path / "mailboxes" / "harborview" / "in" / "po.x12").write_bytes(SAMPLE.read_bytes())
        one_line_tempfail(gateway(config, "run", "--once"), "cannot be written")
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)
    after = gateway(config, "run", "--once")
    assert after.returncode == 0, after.stdout + after.stderr


def test_store_faults_are_named_for_the_operator() -> None:
    assert "locked" in store_fault("database is locked")
    assert "full" in store_fault("database or disk is full")
    assert "cannot be written" in store_fault("attempt to write a readonly database")
    assert store_fault("no such table: orders") == ""  # not a fault of the store's state


def test_a_database_server_that_cannot_be_reached_stops_the_pass_not_the_service(
    tmp_path: Path,
):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # a port of ours where nothing listens
    port = closed.getsockname()[1]
    try:
        url = f"postgresql+psycopg://gateway@127.0.0.1:{port}/gateway"
        config = GatewayConfig(data_dir=tmp_path, database=DatabaseConfig(url=url))
        found = bootstrap(config)
        try:
            summary = found.runner().run_once()
        finally:
            found.close()
    finally:
        closed.close()
    assert summary.store_unavailable.startswith("the database server cannot be reached")
