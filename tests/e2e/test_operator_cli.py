"""An operator's day through the CLI, as real processes: an 850 arrives, is acknowledged line by
line, shipped in two parts, a line cancelled, invoiced, paid, a note kept; every action goes
through the order rules (a refused one is one line and exit 1, a usage mistake exit 2), is
recorded in the order's history, queues the document the partner is owed (855, 856, 810) and the
email the cancellation calls for; `--json` for scripts."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sys
from pathlib import Path
from unittest.mock import ANY

import pexpect

from gateway.config import GatewayConfig
from gateway.x12.reader import read_bytes
from tests.e2e.test_run import PARTNER, ROOT, SAMPLES, gateway

PO = "HV4500871234"
EXPECTED = Path(__file__).resolve().parent / "expected" / "operator_day"
"""The day's outbound files and final order; `UPDATE_EXPECTED=1` rewrites them (review the diff)."""


def normalized_x12(text: str) -> str:
    """One segment a line, with what depends on the day and hour masked: ISA09/ISA10, GS04/GS05,
    BSN03/BSN04, and any element that is today's date."""
    today = dt.datetime.now(dt.UTC).date()
    days = {today.strftime("%Y%m%d"), today.strftime("%y%m%d")}
    masked = {"ISA": (9, 10), "GS": (4, 5), "BSN": (3, 4)}
    element, terminator = text[3], text[105]
    lines = []
    for segment in text.split(terminator):
        segment = segment.strip()
        if not segment:
            continue
        parts = segment.split(element)
        for position in range(1, len(parts)):
            if position in masked.get(parts[0], ()) or parts[position] in days:
                parts[position] = "<now>"
        lines.append(element.join(parts))
    return "\n".join(lines) + "\n"


def normalized_json(text: str, note_id: str) -> str:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", "<time>", text)
    return text.replace(today, "<today>").replace(note_id, "<note>") + "\n"


def compare_with_expected(found: dict[str, str]) -> None:
    if os.environ.get("UPDATE_EXPECTED"):
        shutil.rmtree(EXPECTED, ignore_errors=True)
        EXPECTED.mkdir(parents=True)
        for name, text in found.items():
            (EXPECTED / name).write_text(text)
    expected = {p.name: p.read_text() for p in sorted(EXPECTED.iterdir())}
    assert sorted(found) == sorted(expected)
    for name, text in found.items():
        assert text == expected[name], name


def site(folder: Path, database_url: str = "") -> Path:
    config = folder / "config"
    (config / "partners").mkdir(parents=True)
    database = f'[database]\nurl = "{database_url}"\n' if database_url else ""
    (config / "gateway.toml").write_text(
        '[gateway]\ndata_dir = "../data"\n[mail]\nfrom = "Cedar Ridge <edi@cedarridge.example>"\n'
        'operators = ["ops@cedarridge.example"]\n' + database
    )
    (config / "partners" / "harborview.toml").write_text(
        PARTNER.format(us="CEDARRIDGEOUT", key="harborview")
        + '[contacts]\ncancellations = ["orders@harborview.example"]\n'
    )
    inbox = folder / "mailboxes" / "harborview" / "in"
    inbox.mkdir(parents=True)
    shutil.copy(SAMPLES / "850" / "850_004010_good.x12", inbox)
    path = config / "gateway.toml"
    assert gateway(path, "db", "upgrade").returncode == 0
    assert gateway(path, "run", "--once").returncode == 0
    return path


def flags_of(config: Path) -> list[str]:
    shown = json.loads(gateway(config, "orders", "show", PO, "--json").stdout)
    return list(shown["flags"])


def ok(config: Path, *args: str) -> dict[str, object]:
    result = gateway(config, *args, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    found = json.loads(result.stdout)
    assert isinstance(found, dict)
    return found


def test_an_operators_day_through_the_cli(tmp_path: Path, store_config: GatewayConfig):
    """On SQLite (the data folder's) and on PostgreSQL (a fresh database of the test server)."""
    config = site(tmp_path / "site", store_config.database.url)
    acknowledged = ok(config, "ack", PO, "--line", "2:reject", "--line", "3:qty=3")
    assert [d["set"] for d in acknowledged["documents"]] == ["855"]  # type: ignore[index]
    assert acknowledged["flags"] == []  # the 855 is queued: the buyer does not know yet
    assert gateway(config, "run", "--once").returncode == 0  # delivered to their mailbox
    assert flags_of(config) == ["confirmed"]
    first = gateway(config, "fulfil", PO, "--id", "F-1", "--line", "1:2", "--carrier", "UPS",
                    "--tracking", "1Z999AA10123456784",
                    "--tracking-url", "https://www.ups.com/track?n=1Z999AA10123456784")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"{PO} (harborview): fulfilled F-")
    assert "856 queued" in first.stdout
    cancelled = ok(config, "cancel", PO, "--id", "C-1", "--line", "4:1",
                   "--reason", "out of stock", "--by", "seller")  # fmt: skip
    # acknowledged before: an 855 replacing ours (BAK01 05) states the order as it now stands
    assert cancelled["action"] == "cancelled"
    assert [d["set"] for d in cancelled["documents"]] == ["855"]  # type: ignore[index]
    second = ok(config, "fulfil", PO, "--id", "F-2", "--line", "3:3", "--carrier", "FedEx",
                "--tracking", "748900000010")  # fmt: skip
    assert "shipped" in second["flags"]  # type: ignore[operator]
    invoiced = ok(config, "invoice", PO, "--number", "INV-1")
    assert [d["set"] for d in invoiced["documents"]] == ["810"]  # type: ignore[index]
    assert ok(config, "mark-paid", PO, "--reference", "CHK-77")["action"] == "paid"
    noted = ok(config, "note", PO, "add", "the buyer called about the tent")
    note_id = str(noted["record"])
    assert ok(config, "note", PO, "edit", note_id, "the buyer called twice")["action"] == (
        "note edited"
    )
    # what the rules refuse: one line, exit 1, nothing changed
    late = gateway(config, "fulfil", PO, "--line", "1:1", "--carrier", "UPS",
                   "--tracking", "1Z5R89390357567127")  # fmt: skip
    assert late.returncode == 1 and late.stdout == ""
    assert late.stderr.strip().endswith("[no-change-after-shipped]")
    assert "Traceback" not in late.stderr
    unknown = gateway(config, "cancel", "NO-SUCH-PO", "--reason", "x", "--by", "buyer")
    assert unknown.returncode == 1 and "NO-SUCH-PO" in unknown.stderr
    buyer = gateway(config, "test-order", "--partner", "harborview")
    assert buyer.returncode == 1 and "[test-order-to-a-seller]" in buyer.stderr
    # usage mistakes: exit 2
    assert gateway(config, "fulfil", PO, "--line", "1", "--carrier", "UPS").returncode == 2
    assert gateway(config, "cancel", PO, "--reason", "x", "--by", "nobody").returncode == 2
    assert gateway(config, "ack", PO, "--accept-all", "--reject-all").returncode == 2
    assert gateway(config, "note", PO, "edit", note_id).returncode == 2
    assert gateway(config, "change-dates", PO).returncode == 2  # no date given
    moved = gateway(config, "change-dates", PO, "--ship-date", "20261201")
    assert moved.returncode == 1 and "[no-change-after-shipped]" in moved.stderr
    # the documents delivered: Shipped, not Completed while the buyer owes its 997s
    assert gateway(config, "run", "--once").returncode == 0
    assert flags_of(config) == ["confirmed", "paid", "settled", "shipped"]
    outbox = tmp_path / "site" / "mailboxes" / "harborview" / "out"
    inbox = tmp_path / "site" / "mailboxes" / "harborview" / "in"
    ours = sorted(p for p in outbox.glob("*.x12") if not p.name.startswith("997"))
    for control, path in enumerate(ours, start=900):  # the buyer's translator answers each
        answer = gateway(config, "ack-file", "--control", str(control), str(path))
        assert answer.returncode == 0, answer.stderr
        (inbox / f"997_for_{path.name}").write_text(answer.stdout, encoding="latin-1")
    assert gateway(config, "run", "--once").returncode == 0
    assert flags_of(config) == ["completed", "confirmed", "paid", "settled", "shipped"]
    # the record: every action in the order's history, the documents delivered and accepted
    shown = json.loads(gateway(config, "orders", "show", PO, "--json").stdout)
    events = [entry["event"] for entry in shown["history"]]
    for expected in ("OrderConfirmed", "LinesCancelled", "FulfilmentCreated", "OrderShipped",
                     "InvoiceRecorded", "PaymentRecorded", "NoteAdded", "NoteEdited"):  # fmt: skip
        assert expected in events, (expected, events)
    assert [n["text"] for n in shown["notes"]] == ["the buyer called twice"]
    assert [line["open"] for line in shown["lines"]] == ["0", "0", "0", "0"]
    assert {d["state"] for d in shown["followed_documents"]} == {"accepted"}
    sent = sorted(p.name.split("_")[0] for p in outbox.glob("*.x12"))
    assert sent == ["810", "855", "855", "856", "856", "997"]
    for path in outbox.glob("*.x12"):
        report = read_bytes(path.read_bytes())
        assert report.accepted, (path.name, report.first_issue())
    # the final state and every file sent, as expected (the same on SQLite and PostgreSQL)
    found = {p.name: normalized_x12(p.read_text("latin-1")) for p in sorted(outbox.glob("*.x12"))}
    found["order.json"] = normalized_json(
        json.dumps({k: v for k, v in shown.items() if k != "history"}, indent=2, sort_keys=True),
        note_id,
    )
    found["history.txt"] = "\n".join(events) + "\n"
    compare_with_expected(found)
    # the day's report: the order per state, nothing overdue, the bad file in quarantine
    shutil.copy(SAMPLES / "850" / "850_004010_bad_SE01_count.x12",
                tmp_path / "site" / "mailboxes" / "harborview" / "in")  # fmt: skip
    assert gateway(config, "run", "--once").returncode == 1  # quarantined: exit 1 for cron
    day = json.loads(gateway(config, "report", "--json").stdout)
    (counts,) = day["orders"]
    assert (counts["partner"], counts["total"], counts["open"]) == ("harborview", 1, 0)
    assert (counts["shipped"], counts["completed"], counts["paid"]) == (1, 1, 1)
    assert day["overdue_acknowledgements"] == []
    (bad,) = day["quarantined_files"]
    assert bad["file"] == "850_004010_bad_SE01_count.x12" and "SE01 says" in bad["why"]
    later = json.loads(gateway(config, "report", "--since", "29991231", "--json").stdout)
    assert later["orders"] == [] and later["quarantined_files"] == []
    table = gateway(config, "report")
    assert table.returncode == 0 and "files in quarantine: 1" in table.stdout
    assert "mailboxes unreachable" not in table.stdout
    shutil.rmtree(inbox)  # the share is gone: the next run cannot reach the mailbox
    assert gateway(config, "run", "--once").returncode == 1
    down = gateway(config, "report")
    assert "mailboxes unreachable: 1" in down.stdout and "does not exist" in down.stdout
    inbox.mkdir()
    mails = json.loads(gateway(config, "mail", "list", "--json").stdout)
    # the 855's rejection and cut, then our cancellation: each emailed to the buyer
    assert [(m["kind"], m["to"], m["subject"]) for m in mails] == [
        (
            "alert",
            ["ops@cedarridge.example"],
            "[gateway] File 850_004010_bad_SE01_count.x12 from harborview was quarantined",
        ),
        ("cancellation", ["orders@harborview.example"], ANY),
        ("cancellation", ["orders@harborview.example"], ANY),
        # the sample's requested ship date (2026-11-06) had passed when it came in, open
        (
            "alert",
            ["ops@cedarridge.example"],
            f"[gateway] Late: ship date passed, PO {PO} (Harborview Home Goods)",
        ),
    ]


def test_the_order_page_on_a_terminal_and_in_a_pipe(tmp_path: Path):
    """`orders show` as a person reads it on a terminal (a real pseudo-terminal): flags as
    coloured badges, the quantities of each line, the tracking number a link to the carrier's
    page, the documents with their states; in a pipe the same words and no escape codes."""
    config = site(tmp_path / "site")
    ok(config, "ack", PO, "--accept-all")
    assert gateway(config, "run", "--once").returncode == 0  # the 855 delivered: Confirmed
    url = "https://www.ups.com/track?n=1Z999AA10123456784"
    ok(config, "fulfil", PO, "--line", "1:2", "--carrier", "UPS",
       "--tracking", "1Z999AA10123456784", "--tracking-url", url)  # fmt: skip
    ok(config, "return", PO, "--line", "1:1")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "220", "TERM": "xterm-256color"}
    for name in ("NO_COLOR", "CI", "GITHUB_ACTIONS", "TERM_PROGRAM", "GATEWAY_CRASH_AT"):
        env.pop(name, None)
    arguments = ["-c", "from gateway.cli import main; main()", "--config", str(config),
                 "orders", "show", PO]  # fmt: skip
    session = pexpect.spawn(
        sys.executable, arguments, env=env, dimensions=(60, 220), timeout=120, encoding="utf-8"
    )
    session.expect(pexpect.EOF)
    page = session.before or ""
    session.close()
    assert session.exitstatus == 0, page
    assert "\x1b]8;id=" in page and url in page  # an OSC 8 hyperlink on the tracking number
    assert re.search(r"\x1b\[[0-9;]*m confirmed ", page), page  # a coloured badge
    for heading in ("ordered", "fulfilled", "cancelled", "returned", "open", "acknowledged"):
        assert heading in page
    piped = gateway(config, "orders", "show", PO)
    assert piped.returncode == 0 and "\x1b" not in piped.stdout
    assert " confirmed " in piped.stdout and "1Z999AA10123456784" in piped.stdout
    assert "returned" in piped.stdout and "accepted 2" in piped.stdout
    (row,) = [line for line in piped.stdout.splitlines() if "Two-person backpacking tent" in line]
    # line 1: ordered 2, fulfilled 2, cancelled 0, returned 1, open 0
    assert re.search(r"\b2\s*│\s*2\s*│\s*0\s*│\s*1\s*│\s*0\s*│", row), row
    assert "855" in piped.stdout and "856" in piped.stdout and "queued" in piped.stdout
    assert re.search(r"\x1b\[[0-9;]*m(\x1b\[[0-9;]*m)*queued", page), page  # states coloured
