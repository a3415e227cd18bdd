"""`gateway export` end to end on SQLite: the 850 sample is taken in, then documents about the
order are exported as a user runs the command; a refused action is one line and exit 1."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gateway.x12.reader import read_bytes
from tests.conftest import sqlite_config
from tests.e2e.test_cli_orders import config_file, gateway
from tests.integration.outbound_scenarios import (
    PO_4010,
    SELLER_PO,
    Store,
    fresh_store,
    ship,
)
from tests.unit.domain.builders import ups_tracking


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A store holding the 850 sample's order, with lines 1 and 3 shipped (F1)."""
    engine = fresh_store(tmp_path / "data")
    store = Store(engine)
    store.ingest(PO_4010)
    ship(store, "F1", ("1", 2), ("3", 4), carrier="UPSN", tracking_numbers=("1Z8E47W10391284758",))
    engine.dispose()
    return config_file(sqlite_config(tmp_path / "data"), tmp_path)


def test_an_acknowledgement_is_printed_and_its_summary_goes_to_stderr(config: Path):
    result = gateway(config, "export", SELLER_PO, "--set", "855", "--line", "2=reject")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ISA*") and "BAK*00*AC*HV4500871234*" in result.stdout
    assert "ACK*IR*1*EA~" in result.stdout
    assert read_bytes(result.stdout.encode("latin-1")).accepted
    assert result.stderr.startswith(f"{SELLER_PO}: 855 #0001 in interchange 000000002 queued")
    assert "recorded: ConfirmOrder, CancelLines" in result.stderr


def test_a_ship_notice_is_written_to_the_file_named(config: Path, tmp_path: Path):
    out = tmp_path / "asn.x12"
    result = gateway(
        config, "export", SELLER_PO, "--set", "856", "--fulfilment", "F1", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "written to" in result.stdout and "recorded: nothing" in result.stdout  # until delivered
    assert b"BSN*00*F1*" in out.read_bytes() and read_bytes(out.read_bytes()).accepted


def test_the_fulfilment_option_spelled_the_old_way_is_taken_unlisted(config: Path, tmp_path: Path):
    """`--fulfillment`, as `--fulfilment` was once spelled: a script written before still
    sends its ship notice; the help offers the new spelling only."""
    out = tmp_path / "asn.x12"
    result = gateway(
        config, "export", SELLER_PO, "--set", "856", "--fulfillment", "F1", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and "written to" in result.stdout
    assert b"BSN*00*F1*" in out.read_bytes()
    shown = gateway(config, "export", "--help").stdout
    assert "--fulfilment ID" in shown and "--fulfillment" not in shown


def test_the_fulfil_command_spelled_the_old_way_runs_it_unlisted(config: Path):
    """`fulfill`, as `fulfil` was once named: it records the shipment and sends its 856 as
    `fulfil` does, saying nothing more; neither the help nor `fulfil`'s usage names it."""
    ship = ("--carrier", "UPS", "--tracking")
    old = gateway(
        config, "fulfill", SELLER_PO, "--id", "F2", "--line", "2:1", *ship, ups_tracking(1)
    )
    new = gateway(
        config, "fulfil", SELLER_PO, "--id", "F3", "--line", "4:1", *ship, ups_tracking(2)
    )
    assert old.returncode == new.returncode == 0, old.stderr + new.stderr
    assert old.stderr == new.stderr == ""

    def masked(line: str) -> str:  # the ids, numbers and flags (the second ships the order)
        return re.sub(r"\d+", "#", re.sub(r" \[.*\]$| F[23];", "", line.strip()))

    assert old.stdout.startswith(f"{SELLER_PO} (") and ": fulfilled F2; 856 queued" in old.stdout
    assert masked(old.stdout) == masked(new.stdout)
    shown = json.loads(gateway(config, "orders", "show", SELLER_PO, "--json").stdout)
    assert [f["id"] for f in shown["fulfilments"]] == ["F1", "F2", "F3"]
    listed = gateway(config, "--help").stdout
    assert re.search(r"^  fulfil ", listed, re.M) and "fulfill" not in listed
    assert gateway(config, "fulfill", "--help").stdout.startswith("Usage:")


def test_a_refused_export_is_one_line_and_exit_1(config: Path):
    result = gateway(config, "export", SELLER_PO, "--set", "860")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "[export-follows-role]" in result.stderr and result.stdout == ""
    missing = gateway(config, "export", "NOPE", "--set", "810")
    assert missing.returncode == 1 and "no such order" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "855"], "one of --accept-all, --reject-all or --line"),
        (["--set", "855", "--accept-all", "--reject-all"], "one of --accept-all"),
        (["--set", "855", "--line", "2=maybe"], "LINE=STATUS"),
        (["--set", "856", "--accept-all"], "are for an 855"),
        (["--set", "810", "--fulfilment", "F1"], "an 810 takes no fulfilments (given to an 856)"),
        (["--set", "810", "--fulfillment", "F1"], "an 810 takes no fulfilments"),
        (["--set", "997"], "'997' is not one of"),
    ],
)
def test_a_request_that_makes_no_sense_is_a_usage_error(config: Path, args, message):
    result = gateway(config, "export", SELLER_PO, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
