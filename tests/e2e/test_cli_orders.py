"""`gateway db` and `gateway orders` end to end, on SQLite and on PostgreSQL: the store is filled
through the service layer, then read by the command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.adapters.store import SqlUnitOfWork, create_store_engine
from gateway.config import GatewayConfig
from gateway.domain import commands
from gateway.domain.rules import Flag, FulfilmentStatus, PaymentStatus
from gateway.domain.values import Side
from gateway.service.messagebus import MessageBus
from tests.unit.domain.builders import at, fulfil, on_order, quantities, receive_order

ROOT = Path(__file__).resolve().parents[2]


def gateway(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from gateway.cli import main; main()",
            "--config",
            str(config),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
    )


def config_file(store_config: GatewayConfig, folder: Path) -> Path:
    path = folder / "gateway.toml"
    lines = ["[gateway]", f'data_dir = "{store_config.data_dir}"']
    if store_config.database.url:
        lines += ["[database]", f'url = "{store_config.database.url}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def filled(store_config: GatewayConfig, tmp_path: Path) -> Path:
    """A store holding three orders: PO-1001 shipped in part with one line cancelled, PO-2002
    new, PO-3003 cancelled whole (archived)."""
    engine = create_store_engine(store_config)
    bus = MessageBus(lambda: SqlUnitOfWork(engine))
    bus.handle(receive_order(("1", 10), ("2", 4)))
    bus.handle(fulfil("F1", ("1", 10), carrier="UPSN", tracking_numbers=("1Z999AA10123456784",)))
    bus.handle(
        on_order(
            commands.CancelLines,
            cancellation_id="C1",
            lines=quantities(("2", 4)),
            requested_by=Side.BUYER,
            reason="out of season",
            at=at(5),
        )
    )
    other = receive_order(("1", 3))
    bus.handle(commands.ReceiveOrder(**{**other.__dict__, "po_number": "PO-2002"}))
    bus.handle(commands.ReceiveOrder(**{**other.__dict__, "po_number": "PO-3003"}))
    bus.handle(
        commands.CancelOrder(
            partner="ACME",
            po_number="PO-3003",
            cancellation_id="C-all",
            requested_by=Side.SELLER,
            reason="discontinued",
            at=at(6),
        )
    )
    engine.dispose()
    return config_file(store_config, tmp_path)


def test_orders_list_shows_flags_and_statuses(filled: Path):
    result = gateway(filled, "orders", "list")
    assert result.returncode == 0, result.stderr
    assert "PO-1001" in result.stdout and "PO-2002" in result.stdout
    assert "shipped" in result.stdout and "2 orders" in result.stdout


def test_orders_list_filters_by_status_and_prints_json(filled: Path):
    result = gateway(filled, "orders", "list", "--status", "shipped", "--json")
    assert result.returncode == 0, result.stderr
    (order,) = json.loads(result.stdout)
    assert order["po_number"] == "PO-1001"
    assert "shipped" in order["flags"] and order["fulfilment_status"] == "fulfilled"
    assert json.loads(gateway(filled, "orders", "list", "--partner", "ACME", "--json").stdout)
    assert json.loads(gateway(filled, "orders", "list", "--status", "test", "--json").stdout) == []


def test_orders_list_shows_open_work_the_archive_or_both(filled: Path):
    def listed(*args: str) -> list[str]:
        result = gateway(filled, "orders", "list", "--json", *args)
        assert result.returncode == 0, result.stderr
        return [order["po_number"] for order in json.loads(result.stdout)]

    assert listed() == ["PO-1001", "PO-2002"]
    assert listed("--archived") == ["PO-3003"]
    assert listed("--all") == ["PO-1001", "PO-2002", "PO-3003"]
    assert listed("--status", "cancelled") == ["PO-3003"]
    table = gateway(filled, "orders", "list", "--archived")
    assert "PO-3003" in table.stdout and "PO-1001" not in table.stdout
    assert "showing 1-1 of 1 order\n" in table.stdout


def test_orders_list_searches_sorts_and_pages(filled: Path):
    found = gateway(filled, "orders", "list", "--search", "1z999aa1", "--json")
    assert found.returncode == 0, found.stderr
    assert [order["po_number"] for order in json.loads(found.stdout)] == ["PO-1001"]
    product = gateway(filled, "orders", "list", "--all", "--search", "SKU-2", "--json")
    assert [order["po_number"] for order in json.loads(product.stdout)] == ["PO-1001"]
    by_po = gateway(filled, "orders", "list", "--all", "--sort", "po", "--desc", "--json")
    assert [o["po_number"] for o in json.loads(by_po.stdout)] == ["PO-3003", "PO-2002", "PO-1001"]
    page = gateway(
        filled, "orders", "list", "--all", "--sort", "po", "--limit", "1", "--offset", "1"
    )
    assert page.returncode == 0, page.stderr
    assert "PO-2002" in page.stdout and "PO-1001" not in page.stdout
    assert "showing 2-2 of 3 orders" in page.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--status", "bogus"), [f.value for f in Flag] + ["open", "archived"]),
        (("--fulfilment", "bogus"), [s.value for s in FulfilmentStatus]),
        (("--payment", "bogus"), [s.value for s in PaymentStatus]),
        (("--partner", "NOBODY"), ["ACME"]),
        (("--since", "2026-13-01"), ["YYYY-MM-DD"]),
        (("--since", "2026-12-02", "--until", "2026-12-01"), ["--since", "--until"]),
        (("--limit", "0"), ["1<=x<=1000"]),
        (("--limit", "1001"), ["1<=x<=1000"]),
        (("--offset", "-1"), ["--offset"]),
        (("--sort", "size"), ["date", "po", "partner", "updated"]),
        (("--archived", "--all"), ["--archived", "--all"]),
        (("--search", " "), ["--search"]),
    ],
)
def test_a_mistaken_orders_list_is_a_usage_error_naming_what_is_valid(
    filled: Path, args: tuple[str, ...], named: list[str]
):
    result = gateway(filled, "orders", "list", *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    for name in named:
        assert name in error, (name, error)


def test_orders_show_gives_lines_fulfilments_cancellations_and_history(filled: Path):
    result = gateway(filled, "orders", "show", "PO-1001", "--json")
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    first, second = view["lines"]
    assert (first["ordered"], first["fulfilled"], first["open"]) == ("10", "10", "0")
    assert (second["cancelled"], second["open"]) == ("4", "0")
    assert view["fulfilments"][0]["tracking_numbers"] == ["1Z999AA10123456784"]
    assert view["cancellations"][0]["requested_by"] == "buyer"
    events = [entry["event"] for entry in view["history"]]
    assert events[0] == "OrderReceived" and "LinesCancelled" in events


def test_orders_show_draws_tables_for_a_person(filled: Path):
    result = gateway(filled, "orders", "show", "PO-1001")
    assert result.returncode == 0, result.stderr
    for word in ("PO PO-1001 from ACME", "lines", "fulfilments", "cancellations", "history"):
        assert word in result.stdout
    assert "out of season" in result.stdout


def test_an_unknown_order_is_one_line_and_exit_1(filled: Path):
    result = gateway(filled, "orders", "show", "PO-404")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: order PO-404: no such order [order-exists]"


def test_commands_refuse_an_unmigrated_database_and_db_upgrade_fixes_it(tmp_path: Path):
    config = tmp_path / "gateway.toml"
    config.write_text('[gateway]\ndata_dir = "store"\n', encoding="utf-8")
    refused = gateway(config, "orders", "list")
    assert refused.returncode == 2 and "gateway db upgrade" in refused.stderr
    assert gateway(config, "db", "status").returncode == 1
    upgraded = gateway(config, "db", "upgrade")
    assert upgraded.returncode == 0 and "upgraded from empty" in upgraded.stdout
    assert "already at revision" in gateway(config, "db", "upgrade").stdout
    assert gateway(config, "db", "status").returncode == 0
    assert gateway(config, "orders", "list").stdout.strip() == "no orders"


def test_a_bad_configuration_is_one_line_naming_file_and_key(tmp_path: Path):
    config = tmp_path / "gateway.toml"
    config.write_text('[database]\nurl = "sqlite:///x.db"\npool = 3\n', encoding="utf-8")
    result = gateway(config, "orders", "list")
    assert result.returncode == 2
    assert "gateway.toml [database]: unknown key 'pool'" in result.stderr
    assert "Traceback" not in result.stderr
