"""`gateway run --once` killed with SIGKILL while it takes in a CSV buyer's file of 210 orders (two
batches) and a cXML buyer's orders, then restarted: the same orders with the same
history, the same documents, the same Responses in the cXML buyer's outbox as a run never
killed. Nothing lost, nothing applied or answered twice (see tests/e2e/test_run.py for how the
worker kills itself at a chosen point)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from gateway.cxml.reader import read_response
from tests.e2e.test_run import gateway

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SECRET = "not-a-real-secret"  # the SharedSecret the cXML samples carry
NORTHWIND = """
name = "Northwind Traders"
role = "buyer"
format = "cxml"
[cxml]
domain = "NetworkID"
identity = "NWBUYER-01"
our_domain = "DUNS"
our_identity = "123456789"
shared_secret_env = "NORTHWIND_CXML_SECRET"
[transport]
type = "folder"
inbox = "../../mailboxes/northwind/in"
outbox = "../../mailboxes/northwind/out"
settle_seconds = 0
"""
BIRCHWOOD = """
name = "Birchwood Supply"
role = "buyer"
format = "csv"
[transport]
type = "folder"
inbox = "../../mailboxes/birchwood/in"
outbox = "../../mailboxes/birchwood/out"
settle_seconds = 0
"""
ORDERS = 210


def orders_csv() -> bytes:
    rows = ["po_number,order_date,line,vendor_part,quantity,unit_price"]
    for number in range(1, ORDERS + 1):
        for line in (1, 2):
            rows.append(f"BW-{number:04d},2026-12-01,{line},PART-{line},{line + 1},{line}.25")
    rows.insert(7, "BW-0003,2026-12-01,3,PART-3,=cmd|' /C calc'!A0,1.00")  # a bad row
    return ("\r\n".join(rows) + "\r\n").encode()


def setup_site(folder: Path) -> Path:
    config = folder / "config"
    (config / "partners").mkdir(parents=True)
    (config / "gateway.toml").write_text('[gateway]\ndata_dir = "../data"\n')
    (config / "partners" / "northwind.toml").write_text(NORTHWIND)
    (config / "partners" / "birchwood.toml").write_text(BIRCHWOOD)
    for key in ("northwind", "birchwood"):
        (folder / "mailboxes" / key / "in").mkdir(parents=True)
    return config / "gateway.toml"


def drop_files(folder: Path) -> None:
    northwind = folder / "mailboxes" / "northwind" / "in"
    new = (SAMPLES / "cxml" / "order_request_new.xml").read_bytes()
    (northwind / "order-1.xml").write_bytes(new)
    (northwind / "order-2.xml").write_bytes(
        new.replace(b"NW-PO-20481", b"NW-PO-20482").replace(b".4711@", b".4799@")
    )
    (folder / "mailboxes" / "birchwood" / "in" / "orders.csv").write_bytes(orders_csv())


def final_state(config: Path, folder: Path) -> dict[str, object]:
    listed = gateway(config, "orders", "list", "--include-test", "--json", "--limit", "1000")
    assert listed.returncode == 0, listed.stderr
    summaries = json.loads(listed.stdout)
    shown = []
    for summary in summaries[:1] + summaries[-2:]:  # three orders, the same in every run
        found = gateway(config, "orders", "show", summary["po_number"], "--json")
        view = json.loads(found.stdout)
        view["history"] = [entry["event"] for entry in view["history"]]
        view["documents"] = [(d["direction"], d["sets"], d["status"]) for d in view["documents"]]
        view.pop("version")
        view["notes"] = [(note["id"], note["text"]) for note in view["notes"]]  # not their times
        shown.append(view)
    documents = json.loads(gateway(config, "documents", "list", "--json").stdout)
    outbox = folder / "mailboxes" / "northwind" / "out"
    responses = []
    for path in outbox.glob("*.xml"):
        answer = read_response(path.read_bytes())
        responses.append((answer.in_reply_to, answer.status_code, answer.detail))
    return {
        "orders": len(summaries),
        "shown": shown,
        "documents": sorted((d["direction"], d["sets"], d["status"]) for d in documents),
        "responses": sorted(responses),
        "inboxes": sorted(
            p.name for key in ("northwind", "birchwood")
            for p in (folder / "mailboxes" / key / "in").iterdir()
        ),
    }  # fmt: skip


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHWIND_CXML_SECRET", SECRET)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NORTHWIND_CXML_SECRET", SECRET)
        folder = tmp_path_factory.mktemp("straight")
        config = setup_site(folder)
        assert gateway(config, "db", "upgrade").returncode == 0
        drop_files(folder)
        first = gateway(config, "run", "--once")
        assert first.returncode == 1, first.stdout + first.stderr  # the bad row's quarantine
        return final_state(config, folder)


CRASH_POINTS = ("stored:1", "set:1", "stored:3", "set:4", "delivered:1")
"""The CSV file stored, nothing applied; its first batch applied, not its second; the second
cXML order stored (its partner's Responses not all queued); it applied with its Response; the
first Response delivered, not yet recorded as sent."""


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_a_worker_killed_in_a_cxml_or_csv_file_ends_as_if_never_killed(
    tmp_path: Path, crash_at: str, uninterrupted: dict[str, object]
):
    config = setup_site(tmp_path)
    assert gateway(config, "db", "upgrade").returncode == 0
    drop_files(tmp_path)
    killed = gateway(config, "run", "--once", crash_at=crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    restarted = gateway(config, "run", "--once")
    assert restarted.returncode in (0, 1), restarted.stdout + restarted.stderr
    assert final_state(config, tmp_path) == uninterrupted


def test_the_uninterrupted_run_took_every_order_and_answered_each_cxml_one(
    uninterrupted: dict[str, object],
):
    assert uninterrupted["orders"] == 2 + ORDERS - 1  # BW-0003 refused by its bad row
    assert [code for _, code, _ in uninterrupted["responses"]] == [200, 200]  # type: ignore[union-attr]
    assert uninterrupted["inboxes"] == []
