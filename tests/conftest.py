"""Shared fixtures: real databases started by the test session.

PostgreSQL 15 comes from Debian's postgresql package (installed by `make test` when missing):
its initdb and pg_ctl run from the versioned bin folder, as the `postgres` user when the tests run
as root, into a temporary folder, listening on 127.0.0.1 and a free port. One database is
migrated once and used as the template of a fresh database per test.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from gateway.adapters.migrate import upgrade
from gateway.adapters.store import create_store_engine
from gateway.config import DatabaseConfig, GatewayConfig


def postgres_bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        result = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(result.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return versions[0].parent if versions else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A throwaway PostgreSQL server in a temporary folder."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="gateway-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.admin: Engine | None = None
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self.folder.chmod(0o700)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")
        return result

    def start(self) -> None:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self.run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql")
    server = PostgresServer(bindir)
    server.start()
    admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE gateway_template"))
    template = create_engine(server.url("gateway_template"))
    upgrade(template)
    template.dispose()
    server.admin = admin
    yield server
    admin.dispose()
    server.stop()


_COUNTER = itertools.count(1)


def fresh_postgres_database(server: PostgresServer) -> str:
    name = f"gateway_test_{next(_COUNTER)}"
    assert server.admin is not None
    with server.admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE gateway_template"))
    return server.url(name)


def sqlite_config(folder: Path) -> GatewayConfig:
    return GatewayConfig(data_dir=folder)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> GatewayConfig:
    """A migrated, empty store: SQLite in a temporary folder, then PostgreSQL."""
    if request.param == "sqlite":
        config = sqlite_config(tmp_path)
        engine = create_store_engine(config)
        upgrade(engine)
        engine.dispose()
        return config
    server = request.getfixturevalue("postgres")
    return GatewayConfig(
        data_dir=tmp_path, database=DatabaseConfig(url=fresh_postgres_database(server))
    )


@pytest.fixture
def postgres_config(postgres: PostgresServer, tmp_path: Path) -> GatewayConfig:
    """A migrated, empty store on PostgreSQL only (for what needs real concurrent writers)."""
    return GatewayConfig(
        data_dir=tmp_path, database=DatabaseConfig(url=fresh_postgres_database(postgres))
    )


@pytest.fixture
def store_engine(store_config: GatewayConfig) -> Iterator[Engine]:
    engine = create_store_engine(store_config)
    yield engine
    engine.dispose()


@pytest.hookimpl(tryfirst=True)  # before `-m "not browser"` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives Chromium (it takes the `browser` fixture) is a `browser` test."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


from tests.browser import browser, downloads  # noqa: E402,F401
from tests.smtpd import smtp_server, smtp_server_factory, smtp_tls  # noqa: E402,F401
from tests.sshd import sshd_server  # noqa: E402,F401
