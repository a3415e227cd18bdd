"""`gateway run` as a daemon and as a batch job, with a real kill -9 in the middle of a batch.

The worker is a real process: `GATEWAY_CRASH_AT=POINT:N` makes it SIGKILL itself the Nth time it
passes POINT, so the kill lands at a chosen moment of the pipeline (a file claimed, stored, half
its sets applied, taken in but not released). A restart must then reach exactly the state of a
run that was never interrupted: the same orders with the same history, the same documents, the
same acknowledgements in the partner's outbox, nothing left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
FILES = ("850_004010_three_sets.x12", "850_004010_good.x12", "850_005010_good.x12")
PARTNER = """
name = "Harborview Home Goods"
role = "buyer"
[identity]
isa_qualifier = "01"
isa_id = "079845213"
[us]
isa_qualifier = "ZZ"
isa_id = "{us}"
[transport]
type = "folder"
inbox = "../../mailboxes/{key}/in"
outbox = "../../mailboxes/{key}/out"
settle_seconds = 0
"""


def setup_site(folder: Path) -> Path:
    """A configuration with Harborview buying from us (as Cedar Ridge in 004010 and as
    Bluewater in 005010: two profiles would need two ids, so the 005010 file goes to a second
    gateway identity of the same buyer through its own mailbox)."""
    config = folder / "config"
    (config / "partners").mkdir(parents=True)
    (config / "gateway.toml").write_text('[gateway]\ndata_dir = "../data"\n')
    (config / "partners" / "harborview.toml").write_text(
        PARTNER.format(us="CEDARRIDGEOUT", key="harborview")
    )
    for key in ("harborview",):
        (folder / "mailboxes" / key / "in").mkdir(parents=True)
    return config / "gateway.toml"


def gateway(
    config: Path, *args: str, crash_at: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GATEWAY_CRASH_AT", None)
    if crash_at:
        env["GATEWAY_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()", "--config", str(config),
         *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )  # fmt: skip


def drop_files(folder: Path) -> None:
    for name in FILES[:2]:
        shutil.copy(SAMPLES / "850" / name, folder / "mailboxes" / "harborview" / "in" / name)


def final_state(config: Path, folder: Path) -> dict[str, object]:
    listed = gateway(config, "orders", "list", "--include-test", "--json")
    assert listed.returncode == 0, listed.stderr
    orders = []
    for summary in json.loads(listed.stdout):
        shown = gateway(config, "orders", "show", summary["po_number"], "--json")
        view = json.loads(shown.stdout)
        view["history"] = [entry["event"] for entry in view["history"]]
        view["documents"] = [(d["direction"], d["sets"], d["status"]) for d in view["documents"]]
        view.pop("version")
        orders.append(view)
    documents = json.loads(gateway(config, "documents", "list", "--json").stdout)
    outbox = folder / "mailboxes" / "harborview" / "out"
    return {
        "orders": orders,
        "documents": sorted((d["direction"], d["sets"], d["status"]) for d in documents),
        "outbox": sorted(p.read_bytes().split(b"*")[13] for p in outbox.glob("*.x12")),
        "inbox": sorted(p.name for p in (folder / "mailboxes" / "harborview" / "in").iterdir()),
        "staged": sorted(
            str(p.relative_to(folder)) for p in (folder / "data" / "staging").rglob("*")
            if p.is_file()
        ),
    }  # fmt: skip


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("straight")
    config = setup_site(folder)
    assert gateway(config, "db", "upgrade").returncode == 0
    drop_files(folder)
    first = gateway(config, "run", "--once")
    assert first.returncode == 0, first.stdout + first.stderr
    return final_state(config, folder)


CRASH_POINTS = (
    "claimed:1",
    "archived:2",
    "stored:1",
    "set:2",
    "ingested:1",
    "released:2",
    "claimed-delivery:1",
    "delivered:2",
)


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_a_worker_killed_mid_batch_and_restarted_ends_as_if_never_killed(
    tmp_path: Path, crash_at: str, uninterrupted: dict[str, object]
):
    config = setup_site(tmp_path)
    assert gateway(config, "db", "upgrade").returncode == 0
    drop_files(tmp_path)
    killed = gateway(config, "run", "--once", crash_at=crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    restarted = gateway(config, "run", "--once")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert final_state(config, tmp_path) == uninterrupted
    orders = uninterrupted["orders"]
    assert isinstance(orders, list) and len(orders) == 4
    assert uninterrupted["inbox"] == [] and uninterrupted["staged"] == []


def test_the_daemon_takes_files_as_they_come_and_stops_cleanly_on_sigterm(tmp_path: Path):
    config = setup_site(tmp_path)
    assert gateway(config, "db", "upgrade").returncode == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GATEWAY_CRASH_AT", None)
    daemon = subprocess.Popen(
        [sys.executable, "-c", "from gateway.cli import main; main()", "--config", str(config),
         "run", "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        time.sleep(1.0)  # started and idle
        inbox = tmp_path / "mailboxes" / "harborview" / "in"
        shutil.copy(SAMPLES / "850" / "850_004010_good.x12", inbox / ".arriving.part")
        (inbox / ".arriving.part").rename(inbox / "po.x12")
        outbox = tmp_path / "mailboxes" / "harborview" / "out"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(outbox.glob("*.x12")):
            time.sleep(0.1)
        assert list(outbox.glob("997_*.x12")), "the 997 never arrived"
        daemon.send_signal(signal.SIGTERM)
        stdout, stderr = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate()
    assert daemon.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines()]  # one JSON object a line
    events = [line["event"] for line in lines]
    assert events[0] == "gateway started"
    assert "file applied" in events and "delivery sent" in events
    assert events[-2:] == ["stop requested", "gateway stopped"]
    assert {line["logger"] for line in lines} >= {"gateway.runner"}
    assert all(line["level"] == "info" for line in lines), lines
    assert stdout == ""


def test_a_one_pass_run_with_a_quarantined_file_exits_1_for_cron(tmp_path: Path):
    config = setup_site(tmp_path)
    assert gateway(config, "db", "upgrade").returncode == 0
    shutil.copy(
        SAMPLES / "850" / "850_004010_bad_SE01_count.x12",
        tmp_path / "mailboxes" / "harborview" / "in" / "bad.x12",
    )
    result = gateway(config, "run", "--once")
    assert result.returncode == 1
    assert "file quarantined" in result.stderr and "quarantined=1" in result.stderr
    reports = list((tmp_path / "data" / "quarantine" / "harborview").glob("*.report.txt"))
    assert len(reports) == 1 and "rejected:" in reports[0].read_text()


def test_two_workers_on_postgresql_share_the_load_without_doing_anything_twice(
    tmp_path: Path, postgres_config
):
    """Two `gateway run --once` at the same time on one PostgreSQL database and one mailbox:
    every file taken in once, every order created once, every 997 delivered once."""
    config = setup_site(tmp_path)
    url = postgres_config.database.url
    config.write_text(f'[gateway]\ndata_dir = "../data"\n[database]\nurl = "{url}"\n')
    assert gateway(config, "db", "upgrade").returncode == 0
    template = (SAMPLES / "850" / "850_004010_good.x12").read_bytes()
    inbox = tmp_path / "mailboxes" / "harborview" / "in"
    count = 24
    for number in range(count):
        content = template.replace(b"HV4500871234", f"HV45009{number:05d}".encode())
        content = content.replace(b"000051001", f"{900000000 + number}".encode())
        (inbox / f"po-{number:02d}.x12").write_bytes(content)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GATEWAY_CRASH_AT", None)
    command = [sys.executable, "-c", "from gateway.cli import main; main()", "--config",
               str(config), "run", "--once"]  # fmt: skip
    workers = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    outputs = [worker.communicate(timeout=300)[1] for worker in workers]  # the log lines
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert gateway(config, "run", "--once").returncode == 0  # whatever was left
    orders = json.loads(gateway(config, "orders", "list", "--json").stdout)
    assert sorted(o["po_number"] for o in orders) == [f"HV45009{n:05d}" for n in range(count)]
    documents = json.loads(gateway(config, "documents", "list", "--limit", "500", "--json").stdout)
    assert sorted(d["direction"] for d in documents) == ["in"] * count + ["out"] * count
    assert {d["status"] for d in documents if d["direction"] == "out"} == {"sent"}
    delivered = list((tmp_path / "mailboxes" / "harborview" / "out").glob("997_*.x12"))
    assert len(delivered) == count
    taken = [output.count("file applied") for output in outputs]
    assert sum(taken) == count
    assert all(taken), taken  # one partner's files, shared by both workers (file leases)


def test_two_workers_on_one_partner_one_killed_apply_everything_once_and_in_order(
    tmp_path: Path, postgres_config
):
    """Two workers on one partner's files, orders and changes to some of them each in a file
    behind its order's, on PostgreSQL; one worker is killed (-9) in the middle of a file, the
    other goes on, a restart takes in what the dead one left: every order once, every change
    applied (none refused for arriving before its order), every 997 once, nothing left."""
    config = setup_site(tmp_path)
    url = postgres_config.database.url
    config.write_text(f'[gateway]\ndata_dir = "../data"\n[database]\nurl = "{url}"\n')
    assert gateway(config, "db", "upgrade").returncode == 0
    order = (SAMPLES / "850" / "850_004010_good.x12").read_bytes()
    change = (SAMPLES / "860" / "860_004010_good_change.x12").read_bytes()
    inbox = tmp_path / "mailboxes" / "harborview" / "in"
    count, changed = 16, range(0, 16, 3)
    start = time.time() - 1000
    for number in range(count):
        po = f"HV45008{number:05d}".encode()
        (inbox / f"po-{number:02d}.x12").write_bytes(
            order.replace(b"HV4500871234", po).replace(
                b"000051001", f"{800000000 + number}".encode()
            )
        )
        os.utime(inbox / f"po-{number:02d}.x12", (start + 2 * number,) * 2)
        if number in changed:
            (inbox / f"chg-{number:02d}.x12").write_bytes(
                change.replace(b"HV4500871234", po).replace(
                    b"000051009", f"{810000000 + number}".encode()
                )
            )
            os.utime(inbox / f"chg-{number:02d}.x12", (start + 2 * number + 1,) * 2)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from gateway.cli import main; main()", "--config",
               str(config), "run", "--once"]  # fmt: skip
    workers = [
        subprocess.Popen(
            command, env={**env, "GATEWAY_CRASH_AT": crash}, stderr=subprocess.PIPE, text=True
        )
        for crash in ("set:4", "")
    ]
    outputs = [worker.communicate(timeout=300)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [-signal.SIGKILL, 0], outputs
    restarted = gateway(config, "run", "--once")
    assert restarted.returncode == 0, restarted.stderr
    orders = json.loads(gateway(config, "orders", "list", "--json").stdout)
    assert sorted(o["po_number"] for o in orders) == [f"HV45008{n:05d}" for n in range(count)]
    for number in range(count):
        shown = json.loads(
            gateway(config, "orders", "show", f"HV45008{number:05d}", "--json").stdout
        )
        opened = [line["open"] for line in shown["lines"]]
        assert (opened == ["2", "0", "3", "1", "2"]) == (number in changed), (number, opened)
        events = [entry["event"] for entry in shown["history"]]
        assert events.count("LinesChanged") == (number in changed), (number, events)
    documents = json.loads(gateway(config, "documents", "list", "--limit", "500", "--json").stdout)
    inbound = [d for d in documents if d["direction"] == "in"]
    assert len(inbound) == count + len(changed)
    assert {d["status"] for d in inbound} == {"accepted"}
    delivered = list((tmp_path / "mailboxes" / "harborview" / "out").glob("997_*.x12"))
    assert len(delivered) == count + len(changed)
    assert not list((tmp_path / "data" / "quarantine").rglob("*.x12"))
    assert not [p for p in (tmp_path / "data" / "staging").rglob("*") if p.is_file()]
    assert list(inbox.iterdir()) == []


def test_documents_commands_list_show_resend_and_replay(tmp_path: Path):
    config = setup_site(tmp_path)
    assert gateway(config, "db", "upgrade").returncode == 0
    inbox = tmp_path / "mailboxes" / "harborview" / "in"
    # the change order arrives before the order it changes: refused, quarantined
    shutil.copy(SAMPLES / "860" / "860_004010_good_change.x12", inbox / "change.x12")
    assert gateway(config, "run", "--once").returncode == 1
    shutil.copy(SAMPLES / "850" / "850_004010_good.x12", inbox / "po.x12")
    assert gateway(config, "run", "--once").returncode == 0
    listed = json.loads(gateway(config, "documents", "list", "--direction", "in", "--json").stdout)
    change = next(d for d in listed if d["sets"] == ["860"])
    shown = gateway(config, "documents", "show", str(change["id"]))
    assert "860 #0001 PO HV4500871234: refused" in shown.stdout
    raw = gateway(config, "documents", "show", str(change["id"]), "--raw")
    assert raw.stdout.encode() == (SAMPLES / "860" / "860_004010_good_change.x12").read_bytes()
    replayed = gateway(config, "documents", "replay", str(change["id"]))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert replayed.stdout.startswith("860 #0001 PO HV4500871234: changed")
    again = gateway(config, "documents", "replay", str(change["id"]))
    assert again.returncode == 1 and "nothing to replay" in again.stderr
    shown = json.loads(gateway(config, "orders", "show", "HV4500871234", "--json").stdout)
    assert [line["open"] for line in shown["lines"]] == ["2", "0", "3", "1", "2"]
    sent = json.loads(gateway(config, "documents", "list", "--direction", "out", "--json").stdout)
    outbox = tmp_path / "mailboxes" / "harborview" / "out"
    first = sorted(outbox.glob("*.x12"))[0]
    first.unlink()  # the partner lost it
    resent = gateway(config, "documents", "resend", str(sent[-1]["id"]))
    assert resent.returncode == 0 and "queued again" in resent.stdout
    assert first.exists()
    wrong = gateway(config, "documents", "resend", str(change["id"]))
    assert wrong.returncode == 1 and "only what we send can be resent" in wrong.stderr
    partners = json.loads(gateway(config, "partners", "list", "--json").stdout)
    assert [(p["partner"], p["isa"]) for p in partners] == [("harborview", "01/079845213")]
