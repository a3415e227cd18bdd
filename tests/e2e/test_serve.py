"""`gateway serve` as a real process: uvicorn listening on 127.0.0.1, the console asking for a
session, its headers, a user added with `gateway users add` signing in, and a clean stop on
SIGTERM. A store that is not migrated is refused before anything listens."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 30


def gateway(data: Path, *args: str, **options: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GATEWAY_PASSWORD": "a passphrase for ada"}
    return subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()", "--data-dir", str(data),
         *args],
        capture_output=True, text=True, timeout=120, check=False, env=env, cwd=ROOT,
        **options,
    )  # fmt: skip


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch(url: str, data: bytes | None = None, cookie: str = "") -> tuple[int, dict, str]:
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookie} if cookie else {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_serve_answers_on_loopback_signs_a_user_in_and_stops_on_sigterm(tmp_path: Path):
    data = tmp_path / "data"
    assert gateway(data, "db", "upgrade").returncode == 0
    assert gateway(data, "users", "add", "ada", "--role", "admin").returncode == 0
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-c", "from gateway.cli import main; main()", "--data-dir", str(data),
         "serve", "--port", str(port), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        said = json.loads(server.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        assert said == {"url": base + "/", "host": "127.0.0.1", "port": port}
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                status, headers, _ = fetch(base + "/orders")
                break
            except OSError:
                assert time.monotonic() < deadline, "the console did not start listening"
                time.sleep(0.2)
        assert status == 303 and headers["location"] == "/signin?next=%2Forders"
        status, headers, page = fetch(base + "/signin")
        assert status == 200 and "frame-ancestors 'none'" in headers["content-security-policy"]
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        first = headers["set-cookie"].split(";")[0]
        form = f"csrf={token}&name=ada&password=a+passphrase+for+ada&next=%2Forders".encode()
        status, headers, _ = fetch(base + "/signin", form, cookie=first)
        assert status == 303 and headers["location"] == "/orders"
        session = headers["set-cookie"].split(";")[0]
        status, _, page = fetch(base + "/orders", cookie=session)
        assert status == 200 and "ada · admin" in page and "No orders match." in page
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=20)
        finally:
            server.kill()
            _, errors = server.communicate(timeout=10)
    assert code == 0, errors
    assert "serving url=" in errors and "Traceback" not in errors


def test_serve_refuses_a_store_that_is_not_migrated(tmp_path: Path):
    result = gateway(tmp_path / "data", "serve", "--port", str(free_port()))
    assert result.returncode == 2
    assert "gateway db upgrade" in result.stderr and "Traceback" not in result.stderr
