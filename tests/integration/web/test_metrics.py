"""`/metrics` and `/healthz` of the console, served by a real uvicorn on 127.0.0.1: after an
operator's day the Prometheus text, read back with prometheus-client's own parser, counts what
`gateway report` counts; neither needs a session; `/healthz` says 503 when the database cannot
be used."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.bootstrap import bootstrap
from gateway.config import DatabaseConfig, GatewayConfig
from gateway.domain.values import LineQuantity, Side
from gateway.mapping.outbound import Decision
from gateway.service.report import build_report
from gateway.web.app import create_app
from tests.browser import serve
from tests.integration.web.conftest import HARBORVIEW_PO, ROOT, Console

BAD_850 = ROOT / "samples" / "850" / "850_004010_bad_SE01_count.x12"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def operators_day(console: Console) -> None:
    """A bad file through the pipeline (quarantined), Harborview's order acknowledged, line 1
    fulfilled, line 2 cancelled."""
    profile = next(p for p in console.gateway.config.partners if p.key == "harborview")
    inbox = profile.transport.inbox  # type: ignore[union-attr]
    shutil.copy(BAD_850, Path(inbox) / BAD_850.name)
    console.gateway.runner().run_once(wait_settling=True)
    desk = console.gateway.desk(actor="olive")
    desk.acknowledge(HARBORVIEW_PO, Decision.accept_all())
    desk.fulfil(HARBORVIEW_PO, [LineQuantity("1", Decimal(2))], carrier="UPS",
                tracking_numbers=("1Z999AA10123456784",))  # fmt: skip
    desk.cancel(HARBORVIEW_PO, [LineQuantity("2", Decimal(1))], by=Side.SELLER,
                reason="out of stock")  # fmt: skip


def test_metrics_after_an_operators_day_count_what_the_report_counts(console: Console):
    operators_day(console)
    gateway = console.gateway
    with serve(console.app) as url:
        answer = httpx.get(f"{url}/metrics", follow_redirects=False, timeout=30)
        health = httpx.get(f"{url}/healthz", follow_redirects=False, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    found = samples(answer.text)
    report = build_report(gateway.uow_factory(), gateway.files, now=dt.datetime.now(dt.UTC))
    assert report["orders"], report
    for row in report["orders"]:
        for state, count in row.items():
            if state != "partner":
                labels = (("partner", row["partner"]), ("state", state))
                assert found["gateway_orders", labels] == count, (row, state)
    assert found["gateway_orders", (("partner", "harborview"), ("state", "total"))] == 1
    quarantined = report["quarantined_files"]
    assert [q["partner"] for q in quarantined] == ["harborview"]
    assert found["gateway_files_quarantined", (("partner", "harborview"),)] == 1
    assert found["gateway_files_received_total", (("partner", "harborview"),)] == 2
    assert found["gateway_sets_total", (("partner", "harborview"), ("result", "accepted"))] >= 1
    overdue = len(report["overdue_acknowledgements"])
    assert found["gateway_acknowledgements_overdue", (("partner", "harborview"),)] == overdue
    unreachable = {row["partner"] for row in report["unreachable_mailboxes"]}
    for profile in gateway.config.partners:
        up = found["gateway_mailbox_up", (("partner", profile.key),)]
        assert up == (0 if profile.key in unreachable else 1)
    with gateway.uow_factory() as uow:
        queued = {kind: len(uow.outbox.listing(kind, status="queued", limit=1000))
                  for kind in ("x12", "email")}  # fmt: skip
    for kind, count in queued.items():
        assert found["gateway_queue_depth", (("kind", kind),)] == count
        assert found["gateway_queue_oldest_age_seconds", (("kind", kind),)] >= 0
    assert found["gateway_webhook_deliveries_failing", ()] == 0


def test_health_and_metrics_need_no_session_and_carry_the_security_headers(console: Console):
    client = console.client()  # not signed in
    for path in ("/healthz", "/metrics"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 200, (path, answer.status_code)
        assert "content-security-policy" in answer.headers
    assert client.get("/", follow_redirects=False).status_code == 303  # the pages still do


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_healthz_is_503_when_the_database_cannot_be_used(tmp_path: Path):
    url = f"postgresql+psycopg://gateway@127.0.0.1:{closed_port()}/gateway?connect_timeout=2"
    config = GatewayConfig(data_dir=tmp_path, database=DatabaseConfig(url=url))
    gateway = bootstrap(config)
    try:
        with serve(create_app(gateway)) as served:
            health = httpx.get(f"{served}/healthz", timeout=30)
            scrape = httpx.get(f"{served}/metrics", timeout=30)
    finally:
        gateway.close()
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable" and health.json()["reason"]
    assert scrape.status_code == 503


def test_healthz_is_503_when_the_sqlite_file_is_not_a_database(console: Console):
    gateway = console.gateway
    if not gateway.config.database_url.startswith("sqlite"):
        pytest.skip("an SQLite file only; PostgreSQL's case is the closed port above")
    path = Path(gateway.engine.url.database or "")
    gateway.engine.dispose()
    path.write_bytes(b"this is not a database" * 100)
    answer = console.client().get("/healthz")
    assert answer.status_code == 503, answer.text
    assert answer.json()["status"] == "unavailable"
