"""End-to-end tests run the command line on SQLite: the PostgreSQL store is exercised by the
integration tier (every store test on both databases) and by the end-to-end tests that ask for
it by name (`postgres_config`: two workers sharing a mailbox). This keeps the whole suite within
its time budget on two cores."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.adapters.migrate import upgrade
from gateway.adapters.store import create_store_engine
from gateway.config import GatewayConfig
from tests.conftest import sqlite_config


@pytest.fixture
def store_config(tmp_path: Path) -> GatewayConfig:
    """A migrated, empty SQLite store in a temporary folder."""
    config = sqlite_config(tmp_path)
    engine = create_store_engine(config)
    upgrade(engine)
    engine.dispose()
    return config
