"""The browser tests' harness: an ASGI app served for real, and a headless Chromium to drive it.

`serve(app)` runs an ASGI app with uvicorn in a daemon thread, on 127.0.0.1 and a port the
system picks (the socket is bound here and handed to uvicorn, so two test sessions never race
for a port), its lifespan on; it yields the base URL once the server accepts connections and
stops it at the end: every wait is bounded. uvicorn's log records go to the root logger at
warning and above, where pytest shows them with a failing test.

`chrome()` starts Debian's Chromium (/usr/bin/chromium, `make browser` installs it) through
Debian's chromedriver, headless, with a fresh profile in a temporary folder and the flags that
keep it off the network (without them it tries to reach Google's servers, and fails: the
machines these tests run on may have no network). The driver's path is given to its `Service`,
so Selenium never runs Selenium Manager (which would look for a driver to download). Page loads
and scripts time out after `PAGE_SECONDS`; quitting is bounded too, and what is left of the
browser is killed.

Fixtures: `browser` (a fresh Chromium per test; the test is skipped when Chromium or its
driver is missing, and fails under CI), `downloads` (the folder the browser saves downloads
in). Helpers: `screenshot(driver, path)`, `wait_for_download(folder)`.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

HOST = "127.0.0.1"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
START_SECONDS = 15.0
STOP_SECONDS = 10.0
PAGE_SECONDS = 30.0
QUIT_SECONDS = 15.0
DOWNLOAD_SECONDS = 15.0
WINDOW = (1280, 900)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # we run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # /dev/shm is small in containers: shared memory in /tmp
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class LiveServer:
    """An ASGI app served by uvicorn in a thread of this process, on `host` and a free port."""

    def __init__(self, app: Any, *, host: str = HOST):
        self.app = app
        self.host = host
        self.port = 0  # chosen by the system at start
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LiveServer {self.url}, {state}>"

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash: http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Serve the app; returns once the server has started (its lifespan startup done)."""
        if self.running:
            return
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((self.host, self.port))
        self.port = int(listening.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            log_config=None,  # records go to the root logger: pytest shows them
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=int(STOP_SECONDS / 2),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=_run,
            args=(server, listening),
            name=f"uvicorn-{self.port}",
            daemon=True,
        )
        self._socket, self._server, self._thread = listening, server, thread
        thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not server.started:
            if not thread.is_alive():
                self._forget()
                raise RuntimeError(
                    f"{self.url}: the server stopped while starting (its log says why)"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.url}: the server did not start in {START_SECONDS} s")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving (open connections are closed) and wait for the thread to end."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(STOP_SECONDS)
        if thread.is_alive():
            server.force_exit = True
            thread.join(STOP_SECONDS)
        self._forget()
        if thread.is_alive():
            raise RuntimeError(f"{self.url}: the server did not stop in {2 * STOP_SECONDS} s")

    def _forget(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket = self._server = self._thread = None

    def __enter__(self) -> LiveServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _run(server: uvicorn.Server, listening: socket.socket) -> None:
    """The server thread: uvicorn exits with SystemExit when the app's startup fails (it logs
    why); that ends the thread, and `start` reports it."""
    with contextlib.suppress(SystemExit):
        server.run(sockets=[listening])


@contextlib.contextmanager
def serve(app: Any, *, host: str = HOST) -> Iterator[str]:
    """Serve the ASGI `app` inside the block; yields its base URL (http://127.0.0.1:PORT)."""
    with LiveServer(app, host=host) as server:
        yield server.url


def missing_browser() -> str | None:
    """Why Chromium cannot be driven here, or None when it can."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (Debian's {package}; `make browser` installs it)"
    return None


def require_browser() -> None:
    """Skip the test when Chromium or its driver is missing; under CI, fail it."""
    reason = missing_browser()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: the browser tests need it under CI")
    pytest.skip(reason)


def chrome_options(profile: Path, download_dir: Path | None = None) -> webdriver.ChromeOptions:
    """Headless Chromium's options: off the network, a profile of its own, downloads saved
    without asking into `download_dir` when given."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    if download_dir is not None:
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": str(download_dir),
                "download.prompt_for_download": False,
                "download.directory_upgrade": True,
                "safebrowsing.enabled": False,
            },
        )
    return options


@contextlib.contextmanager
def chrome(download_dir: Path | None = None) -> Iterator[webdriver.Chrome]:
    """A headless Chromium driven by chromedriver, quit (within bounds) at the end."""
    reason = missing_browser()
    if reason is not None:
        raise RuntimeError(reason)
    folder = Path(tempfile.mkdtemp(prefix="gateway-chromium-"))
    profile = folder / "profile"
    profile.mkdir()
    if download_dir is not None:
        download_dir.mkdir(parents=True, exist_ok=True)
    log = folder / "chromedriver.log"
    service = Service(str(CHROMEDRIVER), log_output=str(log))
    try:
        try:
            driver = webdriver.Chrome(
                service=service, options=chrome_options(profile, download_dir)
            )
        except Exception as error:
            service.stop()
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"Chromium did not start: {error}\n{tail}") from error
        try:
            driver.set_page_load_timeout(PAGE_SECONDS)
            driver.set_script_timeout(PAGE_SECONDS)
            if download_dir is not None:
                driver.execute_cdp_cmd(
                    "Browser.setDownloadBehavior",
                    {"behavior": "allow", "downloadPath": str(download_dir)},
                )
            yield driver
        finally:
            _quit(driver)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _quit(driver: webdriver.Chrome) -> None:
    """Quit the browser; if it does not answer within QUIT_SECONDS, kill the driver and every
    process it started."""
    process = driver.service.process
    started = _descendants(process.pid) if process is not None else []
    quitter = threading.Thread(target=driver.quit, name="chromium-quit", daemon=True)
    quitter.start()
    quitter.join(QUIT_SECONDS)
    leftovers = [pid for pid in started if _alive(pid)]
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(STOP_SECONDS)
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    """The processes started by `pid`: its children, their children, ..."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found: list[int] = []
    generation = [pid]
    while generation:
        generation = [child for child, parent in parents.items() if parent in generation]
        found.extend(generation)
    return found


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in {"Z", "X"}


def screenshot(driver: webdriver.Chrome, path: Path, *, full_page: bool = False) -> Path:
    """Save what the browser shows as a PNG at `path` (the window, or the whole page when
    `full_page`); returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if full_page:
        metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics["cssContentSize"]
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": size["height"],
                    "scale": 1,
                },
            },
        )
        png = base64.b64decode(shot["data"])
    else:
        png = driver.get_screenshot_as_png()
    if not png.startswith(PNG_SIGNATURE):
        raise RuntimeError(f"the browser gave no PNG for {path}")
    path.write_bytes(png)
    return path


def wait_for_download(folder: Path, timeout: float = DOWNLOAD_SECONDS) -> Path:
    """The one file downloaded into `folder`, once Chromium has finished writing it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [
            path
            for path in folder.iterdir()
            if not path.name.endswith((".crdownload", ".tmp")) and not path.name.startswith(".")
        ]
        partial = [path for path in folder.iterdir() if path.name.endswith(".crdownload")]
        if len(done) == 1 and not partial:
            return done[0]
        if len(done) > 1:
            raise AssertionError(f"more than one download in {folder}: {sorted(done)}")
        time.sleep(0.05)
    raise AssertionError(f"no download finished in {folder} within {timeout:g} s")


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    """The folder the `browser` fixture's Chromium saves downloads in (empty at the start)."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def browser(downloads: Path) -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium for the test (its own profile: no cookies carried over)."""
    require_browser()
    with chrome(download_dir=downloads) as driver:
        yield driver
