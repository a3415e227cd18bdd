"""`gateway run --metrics-port`: a real daemon serves /metrics and /healthz while it runs (the
file it takes in counted there), and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_run import ROOT, SAMPLES, gateway, setup_site


def received(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "gateway_files_received_total"
    )


def test_a_running_gateway_serves_metrics_and_health_on_its_metrics_port(tmp_path: Path):
    config = setup_site(tmp_path)
    assert gateway(config, "db", "upgrade").returncode == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GATEWAY_CRASH_AT", None)
    daemon = subprocess.Popen(
        [sys.executable, "-c", "from gateway.cli import main; main()", "--config", str(config),
         "run", "--log-format", "json", "--metrics-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert daemon.stderr is not None
        first = json.loads(daemon.stderr.readline())  # logged before the first pass
        assert first["event"] == "metrics served", first
        url = first["url"].rstrip("/")
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/healthz", timeout=30).json() == {"status": "ok"}
        inbox = tmp_path / "mailboxes" / "harborview" / "in"
        shutil.copy(SAMPLES / "850" / "850_004010_good.x12", inbox / ".arriving.part")
        (inbox / ".arriving.part").rename(inbox / "po.x12")
        deadline = time.monotonic() + 30
        scrape = httpx.get(f"{url}/metrics", timeout=30)
        while time.monotonic() < deadline and received(scrape.text) < 1:
            time.sleep(0.2)
            scrape = httpx.get(f"{url}/metrics", timeout=30)
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain; version=")
        assert received(scrape.text) == 1, scrape.text
        assert httpx.get(f"{url}/nothing", timeout=30).status_code == 404
        daemon.send_signal(signal.SIGTERM)
        _stdout, stderr = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate()
    assert daemon.returncode == 0, stderr
    events = [json.loads(line)["event"] for line in stderr.splitlines()]
    assert "stop requested" in events and events[-1] == "gateway stopped"
