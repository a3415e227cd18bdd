"""The browser harness itself (tests/browser.py), on a small Starlette app of its own rather than
the gateway's console: a form is filled in and sent by a real headless Chromium, a download is
saved, a screenshot is written, and `serve()` starts the app's lifespan and stops for good."""

from __future__ import annotations

import contextlib
import html
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests import browser as harness
from tests.browser import LiveServer, screenshot, serve, wait_for_download

pytestmark = pytest.mark.browser

FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Find a partner</title></head>
<body>
<h1>Find a partner</h1>
<form method="post" action="/found">
  <label>Partner <input name="partner" id="partner" required></label>
  <button type="submit">Find</button>
</form>
<a id="export" href="/export.csv">Export</a>
</body></html>"""

TALL = """<!doctype html>
<html lang="en"><head><title>Tall</title></head>
<body><div style="height: 3000px">top</div><p id="bottom">bottom</p></body></html>"""

EXPORT = "partner,orders\r\nHarborview,3\r\n"


async def form_page(request: Request) -> HTMLResponse:
    return HTMLResponse(FORM)


async def found_page(request: Request) -> HTMLResponse:
    form = await request.form()
    partner = html.escape(str(form.get("partner", "")))
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><title>Found</title></head>'
        f'<body><h1 id="result">Orders of {partner}</h1></body></html>'
    )


async def tall_page(request: Request) -> HTMLResponse:
    return HTMLResponse(TALL)


async def export_csv(request: Request) -> Response:
    return Response(
        EXPORT,
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
    )


def tiny_app(events: list[str] | None = None) -> Starlette:
    """The form, its result page and a CSV download; `events` records the lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if events is not None:
            events.append("startup")
        yield
        if events is not None:
            events.append("shutdown")

    return Starlette(
        routes=[
            Route("/", form_page),
            Route("/found", found_page, methods=["POST"]),
            Route("/tall", tall_page),
            Route("/export.csv", export_csv),
        ],
        lifespan=lifespan,
    )


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    assert png.startswith(harness.PNG_SIGNATURE)
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def test_the_browser_fills_in_a_form_and_sees_the_result_page(browser, tmp_path: Path):
    with serve(tiny_app()) as base:
        browser.get(f"{base}/")
        assert browser.title == "Find a partner"
        browser.find_element(By.ID, "partner").send_keys("Harbor<view>")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 10).until(expected_conditions.title_is("Found"))
        assert browser.find_element(By.ID, "result").text == "Orders of Harbor<view>"
        shot = screenshot(browser, tmp_path / "shots" / "found.png")
    png = shot.read_bytes()
    assert len(png) > 1000
    assert png_size(png)[0] == harness.WINDOW[0]


def test_a_full_page_screenshot_reaches_below_the_window(browser, tmp_path: Path):
    with serve(tiny_app()) as base:
        browser.get(f"{base}/tall")
        window = png_size(screenshot(browser, tmp_path / "window.png").read_bytes())
        page = png_size(screenshot(browser, tmp_path / "page.png", full_page=True).read_bytes())
    assert window[1] < harness.WINDOW[1] < 3000 < page[1]
    assert page[0] <= window[0]  # less the scroll bar


def test_the_browser_saves_a_download_in_the_downloads_folder(browser, downloads: Path):
    with serve(tiny_app()) as base:
        browser.get(f"{base}/")
        browser.find_element(By.ID, "export").click()
        saved = wait_for_download(downloads)
    assert saved.name == "orders.csv"
    assert saved.read_bytes() == EXPORT.encode()


def test_the_window_has_the_harness_size(browser):
    size = browser.get_window_size()
    assert (size["width"], size["height"]) == harness.WINDOW


def test_serve_runs_the_lifespan_and_closes_the_port_when_done():
    events: list[str] = []
    server = LiveServer(tiny_app(events))
    with server:
        assert server.url.startswith("http://127.0.0.1:")
        assert events == ["startup"]
        assert not refused(server.port)
    assert events == ["startup", "shutdown"]
    assert not server.running
    assert refused(server.port)


def test_serve_yields_the_base_url_and_stops_for_good():
    with serve(tiny_app()) as base:
        port = int(base.rpartition(":")[2])
        assert base == f"http://127.0.0.1:{port}"
        assert not refused(port)
    assert refused(port)


def test_an_app_whose_startup_fails_is_reported_not_awaited():
    @contextlib.asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    with (
        pytest.raises(RuntimeError, match="stopped while starting"),
        serve(Starlette(lifespan=broken)),
    ):
        pass


def test_a_machine_without_chromium_skips_the_browser_tests(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(harness, "CHROMIUM", tmp_path / "chromium")
    with pytest.raises(pytest.skip.Exception, match=r"chromium is missing \(Debian's chromium;"):
        harness.require_browser()
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="need it under CI"):
        harness.require_browser()
