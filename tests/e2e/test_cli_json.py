"""`--json` on every command, its failures included, as real processes: a command given `--json`
prints one JSON object or array on standard output, and when it fails (a refused action, a usage
mistake, a bad configuration, the store unavailable) one object `{"error", "rule", "exit"}` with
the exit code it has without `--json`. Also: a status or partner a filter does not know is a
usage error, `run --once` counts duplicate and failed files and exits 1 for them, and `ack` and
`export` take a line's answer in one grammar."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.x12.reader import read_bytes
from tests.conftest import sqlite_config
from tests.e2e.test_cli_orders import config_file
from tests.e2e.test_operator_cli import PO
from tests.e2e.test_operator_cli import site as operator_site
from tests.e2e.test_run import SAMPLES, gateway, setup_site
from tests.e2e.test_store_faults import locked
from tests.e2e.test_store_faults import site as store_fault_site
from tests.integration.outbound_scenarios import PO_4010, SELLER_PO, Store, fresh_store, ship

GOOD = SAMPLES / "850" / "850_004010_good.x12"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A store without partner profiles holding the 850 sample's order, lines 1 and 3 shipped
    (as `test_cli_export` has it)."""
    engine = fresh_store(tmp_path / "data")
    store = Store(engine)
    store.ingest(PO_4010)
    ship(store, "F1", ("1", 2), ("3", 4), carrier="UPSN", tracking_numbers=("1Z8E47W10391284758",))
    engine.dispose()
    return config_file(sqlite_config(tmp_path / "data"), tmp_path)


def failed_as_json(result: subprocess.CompletedProcess[str], code: int) -> dict[str, object]:
    """The one JSON object a failed command printed, checked against its exit code."""
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.count("\n") == 1, result.stdout  # one line, one object
    found = json.loads(result.stdout)
    assert set(found) >= {"error", "rule", "exit"} and found["exit"] == code
    assert isinstance(found["error"], str) and "\n" not in found["error"]
    return found


def succeeded_as_json(result: subprocess.CompletedProcess[str], code: int = 0) -> object:
    assert result.returncode == code, result.stdout + result.stderr
    return json.loads(result.stdout)


# -- failures as JSON --------------------------------------------------------------------------


def test_a_refused_export_is_one_json_object_naming_its_rule(config: Path):
    result = gateway(config, "export", SELLER_PO, "--set", "860", "--json")
    found = failed_as_json(result, 1)
    assert found["rule"] == "export-follows-role"
    assert str(found["error"]).endswith("[export-follows-role]")
    assert result.stderr == ""
    missing = failed_as_json(gateway(config, "orders", "show", "PO-404", "--json"), 1)
    assert missing == {
        "error": "order PO-404: no such order [order-exists]",
        "rule": "order-exists",
        "exit": 1,
    }


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["export", SELLER_PO, "--set", "855", "--json"], "one of --accept-all"),  # the body
        (["export", SELLER_PO, "--json", "--set", "855", "--line", "2=maybe"], "LINE=STATUS"),
        (["orders", "list", "--status", "bogus", "--json"], "confirmed, settled"),  # before --json
        (["orders", "list", "--json", "--limit", "0"], "1<=x<=1000"),
        (["ack", SELLER_PO, "--ship-date", "12/04/2026", "--json"], "CCYYMMDD or YYYY-MM-DD"),
        (["documents", "list", "--status", "lost", "--json"], "partly rejected"),
        (["run", "--json"], "--once"),
    ],
)
def test_a_usage_mistake_with_json_is_one_json_object_and_exit_2(
    config: Path, args: list[str], words: str
):
    found = failed_as_json(gateway(config, *args), 2)
    assert words in str(found["error"]) and found["rule"] is None


def test_a_bad_configuration_with_json_is_one_json_object_and_exit_2(tmp_path: Path):
    bad = tmp_path / "gateway.toml"
    bad.write_text('[database]\nurl = "sqlite:///x.db"\npool = 3\n', encoding="utf-8")
    found = failed_as_json(gateway(bad, "orders", "list", "--json"), 2)
    assert "gateway.toml [database]: unknown key 'pool'" in str(found["error"])


def test_a_store_unavailable_with_json_is_one_json_object_and_exit_75(tmp_path: Path):
    config = store_fault_site(tmp_path)
    (tmp_path / "mailboxes" / "harborview" / "in" / "po.x12").write_bytes(GOOD.read_bytes())
    with locked(tmp_path / "data" / "gateway.db"):
        refused = gateway(config, "cancel", PO, "--reason", "x", "--by", "buyer", "--json")
        found = failed_as_json(refused, 75)
        assert "locked" in str(found["error"]) and "nothing was changed" in str(found["error"])
        stopped = gateway(config, "run", "--once", "--json")
        assert stopped.returncode == 75, stopped.stdout + stopped.stderr
        summary = json.loads(stopped.stdout)
        assert summary["exit"] == 75 and "locked" in summary["error"]
    assert gateway(config, "run", "--once").returncode == 0


# -- results as JSON ----------------------------------------------------------------------------


def test_ack_file_gives_the_acknowledgements_as_json():
    result = gateway(Path("unused.toml"), "ack-file", "--date", "20261121", "--time", "0930",
                     "--control", "41", "--json", str(GOOD))  # fmt: skip
    found = succeeded_as_json(result)
    assert isinstance(found, dict) and found["file"] == str(GOOD)
    (acknowledgement,) = found["acknowledgements"]
    assert acknowledgement["kind"] == "997" and acknowledgement["control"] == "000000041"
    assert "AK9*A*1*1*1~" in acknowledgement["x12"]
    assert read_bytes(acknowledgement["x12"].encode("latin-1")).accepted


def test_store_commands_give_json(tmp_path: Path):
    config = setup_site(tmp_path)
    upgraded = succeeded_as_json(gateway(config, "db", "upgrade", "--json"))
    assert (
        isinstance(upgraded, dict) and upgraded["upgraded"] is True and upgraded["before"] is None
    )
    status = succeeded_as_json(gateway(config, "db", "status", "--json"))
    assert isinstance(status, dict) and status["up_to_date"] is True
    assert status["revision"] == upgraded["after"]
    taken = succeeded_as_json(gateway(config, "ingest", "--json", str(GOOD)))
    assert isinstance(taken, dict)
    (file,) = taken["files"]
    assert file["accepted"] is True and [s["action"] for s in file["sets"]] == ["created"]
    assert [a["kind"] for a in file["acknowledgements"]] == ["997"]
    assert [d["status"] for d in taken["deliveries"]] == ["sent"]
    checked = succeeded_as_json(gateway(config, "partners", "check", "--json"))
    assert checked == [{"partner": "harborview", "transport": checked[0]["transport"],  # type: ignore[index]
                        "ok": True, "problems": []}]  # fmt: skip
    sent = json.loads(gateway(config, "documents", "list", "--direction", "out", "--json").stdout)
    resent = succeeded_as_json(gateway(config, "documents", "resend", str(sent[0]["id"]), "--json"))
    assert isinstance(resent, dict) and resent["document_id"] == sent[0]["id"]
    assert [d["status"] for d in resent["deliveries"]] == ["sent"]
    received = json.loads(
        gateway(config, "documents", "list", "--direction", "in", "--json").stdout
    )
    replayed = gateway(config, "documents", "replay", str(received[0]["id"]), "--json")
    found = failed_as_json(replayed, 1)  # nothing left to replay: refused, with its rule
    assert found["rule"] is not None


def test_run_once_gives_the_pass_summary_as_json_and_logs_on_stderr(tmp_path: Path):
    config = setup_site(tmp_path)
    assert gateway(config, "db", "upgrade").returncode == 0
    shutil.copy(GOOD, tmp_path / "mailboxes" / "harborview" / "in" / "po.x12")
    result = gateway(config, "run", "--once", "--json")
    summary = succeeded_as_json(result)
    assert isinstance(summary, dict)
    assert (summary["files"], summary["applied"], summary["delivered"]) == (1, 1, 1)
    assert summary["exit"] == 0 and summary["unreachable"] == []
    assert "file applied" in result.stderr and "pass done" in result.stderr


def test_export_gives_what_it_sent_as_json(config: Path):
    found = succeeded_as_json(gateway(config, "export", SELLER_PO, "--set", "855", "--json",
                                      "--line", "2:reject"))  # fmt: skip
    assert isinstance(found, dict) and found["set"] == "855" and found["out"] is None
    assert "ACK*IR*1*EA~" in str(found["x12"])  # `ack`'s way of writing a line's answer
    assert found["recorded"] == ["ConfirmOrder", "CancelLines"]


def test_ack_takes_a_line_answer_written_as_export_takes_it(tmp_path: Path):
    config = operator_site(tmp_path / "site")
    result = gateway(config, "ack", PO, "--line", "2=reject", "--line", "3=change:3", "--json")
    found = succeeded_as_json(result)
    assert isinstance(found, dict) and [d["set"] for d in found["documents"]] == ["855"]
    shown = json.loads(gateway(config, "orders", "show", PO, "--json").stdout)
    answers = {line["line"]: line["acknowledged"] for line in shown["lines"]}
    assert "rejected" in answers["2"] and "3" in answers["3"], answers


# -- filters -----------------------------------------------------------------------------------


def test_a_filter_naming_an_unknown_status_or_partner_is_a_usage_error(config: Path):
    def usage_error(*args: str) -> str:
        result = gateway(config, *args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stdout == "" and "Traceback" not in result.stderr
        (error,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        return error

    status = usage_error("documents", "list", "--status", "lost")
    assert all(name in status for name in ("accepted", "queued", "sent", "overdue"))
    partner = usage_error("documents", "list", "--partner", "NOBODY")
    assert "no partner 'NOBODY'" in partner and "079845213" in partner
    mail = usage_error("mail", "list", "--status", "lost")
    assert all(name in mail for name in ("queued", "sent", "failed"))
    assert "CCYYMMDD or YYYY-MM-DD" in usage_error("report", "--since", "last week")
    listed = gateway(config, "documents", "list", "--partner", "079845213", "--status", "ACCEPTED",
                     "--json")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert [d["status"] for d in json.loads(listed.stdout)] == ["accepted"]


# -- run --once counts every file that needs a person --------------------------------------------


def test_run_once_counts_a_duplicate_file_and_exits_1_for_it(tmp_path: Path):
    config = setup_site(tmp_path)
    assert gateway(config, "db", "upgrade").returncode == 0
    inbox = tmp_path / "mailboxes" / "harborview" / "in"
    shutil.copy(GOOD, inbox / "po.x12")
    assert gateway(config, "run", "--once").returncode == 0
    shutil.copy(GOOD, inbox / "po-again.x12")  # the same interchange, sent twice
    again = gateway(config, "run", "--once")
    assert again.returncode == 1, again.stdout + again.stderr
    (done,) = [line for line in again.stderr.splitlines() if " pass done " in line]
    assert "duplicates=1" in done and "quarantined=0" in done and "failed=0" in done
    shutil.copy(GOOD, inbox / "po-third.x12")
    summary = json.loads(gateway(config, "run", "--once", "--json").stdout)
    assert (summary["files"], summary["duplicates"], summary["exit"]) == (1, 1, 1)


def test_a_profile_key_spelled_the_old_way_is_one_warning_line_beside_the_output(tmp_path: Path):
    """`fulfillment = ...` in a profile: read as `fulfilment`, with one line on standard error
    naming the file and the right spelling; standard output is what it would be."""
    config = setup_site(tmp_path)
    profile = config.parent / "partners" / "harborview.toml"
    right = profile.read_text().replace('role = "buyer"', 'role = "buyer"\nfulfilment = "edi"')
    profile.write_text(right)
    expected = gateway(config, "partners", "list", "--json")
    profile.write_text(right.replace("fulfilment =", "fulfillment ="))
    for args in (("partners", "list", "--json"), ("db", "upgrade")):
        result = gateway(config, *args)
        assert result.returncode == 0, result.stderr
        (line,) = result.stderr.splitlines()
        assert f"{profile}: `fulfillment` is spelled `fulfilment` now" in line
    assert result.stdout and expected.stderr == ""
    assert gateway(config, "partners", "list", "--json").stdout == expected.stdout
