"""Webhooks end to end: `gateway webhooks` as real processes on SQLite, and a receiver the test
starts on 127.0.0.1 taking the events of an operator's day from real `gateway run --once`
passes: once each, in order, signed; the receiver down, then answering 500, then up (short
backoff settings): delivered after the retries; a real `gateway run` killed (SIGKILL) after the
change committed and before the delivery: delivered exactly once after the restart, same id."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_run import SAMPLES, gateway, setup_site
from tests.unit.domain.builders import ups_tracking
from tests.webhook_receiver import Receiver

SECRET = "whsec-e2e-secret"
PO = "HV4500871234"
DAY = "order.received,order.acknowledged,fulfilment.created,order.shipped"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A migrated site with Harborview, short webhook backoff, the secret in WEBHOOK_SECRET."""
    config = setup_site(tmp_path)
    with config.open("a") as toml:
        toml.write("[webhooks]\nfirst_retry_seconds = 0.2\nlast_retry_seconds = 1\njitter = 0\n")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    assert gateway(config, "db", "upgrade").returncode == 0
    return config, tmp_path


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def subscribe(config: Path, url: str, events: str = DAY) -> int:
    made = json.loads(
        ok(gateway(config, "webhooks", "add", url, "--events", events,
                   "--secret-env", "WEBHOOK_SECRET", "--json"))
    )  # fmt: skip
    return int(made["id"])


def take_in(config: Path, folder: Path) -> None:
    inbox = folder / "mailboxes" / "harborview" / "in"
    shutil.copy(SAMPLES / "850" / "850_004010_good.x12", inbox / "850_004010_good.x12")


def log(config: Path, subscription: int) -> list[dict[str, object]]:
    found: list[dict[str, object]] = json.loads(
        ok(gateway(config, "webhooks", "log", str(subscription), "--json"))
    )
    return list(reversed(found))  # oldest first


def test_the_webhooks_commands(site: tuple[Path, Path]):
    config, _ = site
    unknown = gateway(config, "webhooks", "add", "https://erp.example/h", "--events",
                      "order.shipped,order.teleported", "--secret-env", "S")  # fmt: skip
    assert unknown.returncode == 2 and "order.teleported" in unknown.stderr
    bad_url = gateway(config, "webhooks", "add", "ftp://erp.example/", "--events",
                      "order.shipped", "--secret-env", "S", "--json")  # fmt: skip
    assert bad_url.returncode == 1
    assert json.loads(bad_url.stdout)["rule"] == "webhook-url-http"
    first = subscribe(config, "https://erp.example/hooks")
    second = subscribe(config, "https://wms.example/in", "order.cancelled")
    listed = json.loads(ok(gateway(config, "webhooks", "list", "--json")))
    assert [(s["id"], s["url"], s["secret_env"]) for s in listed] == [
        (first, "https://erp.example/hooks", "WEBHOOK_SECRET"),
        (second, "https://wms.example/in", "WEBHOOK_SECRET"),
    ]
    assert sorted(listed[0]["events"]) == sorted(DAY.split(","))
    assert SECRET not in json.dumps(listed)
    assert "https://erp.example/hooks" in ok(gateway(config, "webhooks", "list"))
    assert log(config, first) == []
    removed = json.loads(ok(gateway(config, "webhooks", "remove", str(first), "--json")))
    assert removed == {"id": first, "removed": True}
    again = gateway(config, "webhooks", "remove", str(first), "--json")
    assert again.returncode == 1 and json.loads(again.stdout)["rule"] == "webhook-exists"
    listed = json.loads(ok(gateway(config, "webhooks", "list", "--json")))
    assert [s["id"] for s in listed] == [second]
    events = json.loads(ok(gateway(config, "webhooks", "events", "--json")))
    assert {"event": "order.shipped", "domain_event": "OrderShipped"}.items() <= events[
        [e["event"] for e in events].index("order.shipped")
    ].items()


def test_the_events_of_an_operators_day_arrive_once_each_in_order_signed(
    site: tuple[Path, Path], receiver: Receiver
):
    config, folder = site
    subscription = subscribe(config, receiver.url)
    take_in(config, folder)
    ok(gateway(config, "run", "--once"))
    ok(gateway(config, "ack", PO, "--accept-all"))
    order = json.loads(ok(gateway(config, "orders", "show", PO, "--json")))
    lines = [f"{line['line']}:{line['open']}" for line in order["lines"]]
    ok(gateway(config, "fulfil", PO, *(f"--line={line}" for line in lines),
               "--carrier", "UPSN", "--tracking", ups_tracking(1)))  # fmt: skip
    shipped = json.loads(ok(gateway(config, "run", "--once", "--json")))
    assert (shipped["webhooks_delivered"], shipped["webhooks_retrying"]) == (3, 0)
    ok(gateway(config, "run", "--once"))  # nothing more
    events = [r.event for r in receiver.received]
    assert [e["type"] for e in events] == DAY.split(",")
    assert len({e["id"] for e in events}) == len(events)
    for request in receiver.received:
        assert request.signed_with(SECRET)
        assert request.headers["Webhook-Id"] == request.event["id"]
        assert request.path == "/hooks"
        assert request.event["order"] == {"partner": "harborview", "po_number": PO}
    attempts = log(config, subscription)
    assert [a["event_id"] for a in attempts] == [e["id"] for e in events]
    assert all(a["delivered"] and a["status_code"] == 200 for a in attempts)


def test_a_receiver_down_then_failing_then_up_gets_the_event_after_backoff(
    site: tuple[Path, Path], receiver: Receiver
):
    config, folder = site
    subscription = subscribe(config, receiver.url, "order.received")
    receiver.stop()  # down: the connection is refused
    take_in(config, folder)
    ok(gateway(config, "run", "--once"))
    receiver.status = 500
    receiver.start()
    time.sleep(0.3)
    ok(gateway(config, "run", "--once"))
    receiver.status = 200
    time.sleep(0.5)
    ok(gateway(config, "run", "--once"))
    (delivered,) = receiver.received
    assert delivered.event["type"] == "order.received" and delivered.signed_with(SECRET)
    attempts = log(config, subscription)
    assert [(a["status_code"], a["delivered"]) for a in attempts] == [
        (None, False),
        (500, False),
        (200, True),
    ]
    assert "no answer" in str(attempts[0]["error"])
    assert {a["event_id"] for a in attempts} == {delivered.event["id"]}


def test_a_kill_between_the_commit_and_the_delivery_delivers_once_after_the_restart(
    site: tuple[Path, Path], receiver: Receiver
):
    config, folder = site
    subscription = subscribe(config, receiver.url, "order.received")
    take_in(config, folder)
    killed = gateway(config, "run", "--once", crash_at="claimed-webhook:1")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert receiver.received == []
    order = json.loads(ok(gateway(config, "orders", "show", PO, "--json")))  # committed
    assert order["po_number"] == PO
    ok(gateway(config, "run", "--once"))
    ok(gateway(config, "run", "--once"))
    (delivered,) = receiver.received
    (attempt,) = log(config, subscription)
    assert attempt["delivered"] and attempt["event_id"] == delivered.event["id"]
    assert delivered.headers["Webhook-Id"] == delivered.event["id"]
