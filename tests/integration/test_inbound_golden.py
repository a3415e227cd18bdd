"""Golden files of the inbound 850 mapping: each purchase order sample, taken in by a fresh store,
gives the orders written beside it (samples/850/expected/<sample>.orders.json). A change to the
850 mapping or to the order model shows up as a diff of those files.

To refresh them after a deliberate change, run
`.venv/bin/python -m tests.integration.test_inbound_golden --write` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from gateway.adapters.migrate import upgrade
from gateway.adapters.store import SqlUnitOfWork, create_store_engine
from gateway.config import GatewayConfig, load_mappings
from gateway.mapping.engine import Mappings
from gateway.service.ingest import Ingestor
from gateway.service.views import order_view

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = (
    sorted(p for p in (ROOT / "samples" / "850").glob("*_good*.x12"))
    + sorted((ROOT / "samples" / "850").glob("*three_sets*.x12"))
    + sorted((ROOT / "samples" / "850").glob("*two_interchanges*.x12"))
)
NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)


def orders_after_ingest(sample: Path, folder: Path) -> list[dict[str, Any]]:
    config = GatewayConfig(data_dir=folder)
    engine = create_store_engine(config)
    upgrade(engine)
    ingestor = Ingestor(lambda: SqlUnitOfWork(engine), Mappings(load_mappings()), clock=lambda: NOW)
    result = ingestor.ingest(sample.read_bytes(), sample.name)
    assert result.accepted, result.first_issue
    views = []
    with SqlUnitOfWork(engine) as uow:
        for summary in uow.orders.summaries(include_test=True):
            order = uow.orders.get(summary.partner, summary.po_number)
            assert order is not None
            views.append(order_view(order))
    engine.dispose()
    return views


def expected_path(sample: Path) -> Path:
    return sample.parent / "expected" / f"{sample.stem}.orders.json"


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_inbound_850_gives_the_expected_orders(sample: Path, tmp_path: Path):
    views = orders_after_ingest(sample, tmp_path)
    expected = json.loads(expected_path(sample).read_text(encoding="utf-8"))
    assert views == expected


def test_every_good_850_sample_has_a_golden_file():
    assert len(SAMPLES) >= 5
    assert all(expected_path(s).exists() for s in SAMPLES)


def write_expected() -> None:
    for sample in SAMPLES:
        with tempfile.TemporaryDirectory() as folder:
            views = orders_after_ingest(sample, Path(folder))
        expected_path(sample).write_text(json.dumps(views, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write_expected()
