"""Email through the CLI, as real processes against a real SMTP server: `gateway run --once`
sends the cancellation an 860 makes; killed (kill -9) right after the server took it and before
the store recorded it, the restarted run sends the same message again under the same
Message-ID and nothing more; `gateway mail list|show|retry` show and act on the queue; without a
mail server, emails are captured as .eml files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.e2e.test_run import PARTNER, SAMPLES, gateway
from tests.smtpd import SmtpServer

MAIL = """
[mail]
from = "Cedar Ridge Outfitters <edi@cedarridge.example>"
operators = ["ops@cedarridge.example"]
order_desk = ["orders@cedarridge.example"]
domain = "gateway.test"
{server}
"""


LATE_OFF = """[late]
ack_due_hours = 0
ship_date = false
cancel_after = false
"""
"""The samples' ship dates have passed; these tests count the cancellation's emails only."""


def site(folder: Path, smtp: SmtpServer | None) -> Path:
    config = folder / "config"
    (config / "partners").mkdir(parents=True)
    server = (
        f'host = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\ntimeout_seconds = 5'
        if smtp is not None
        else ""
    )
    (config / "gateway.toml").write_text(
        '[gateway]\ndata_dir = "../data"\n' + MAIL.format(server=server)
    )
    (config / "partners" / "harborview.toml").write_text(
        PARTNER.format(us="CEDARRIDGEOUT", key="harborview") + LATE_OFF
    )
    inbox = folder / "mailboxes" / "harborview" / "in"
    inbox.mkdir(parents=True)
    for name in ("850/850_004010_good.x12", "860/860_004010_good_change.x12"):
        shutil.copy(SAMPLES / name, inbox / Path(name).name)
    assert gateway(config / "gateway.toml", "db", "upgrade").returncode == 0
    return config / "gateway.toml"


def test_killed_after_the_handover_the_restart_sends_the_same_message_id_once_more(
    tmp_path: Path, smtp_server: SmtpServer
):
    config = site(tmp_path, smtp_server)
    killed = gateway(config, "run", "--once", crash_at="mail-sent:1")
    assert killed.returncode == -9, killed.stderr
    (first,) = smtp_server.wait_for(1)
    listed = json.loads(gateway(config, "mail", "list", "--json").stdout)
    assert [(m["kind"], m["status"]) for m in listed] == [("cancellation", "queued")]
    restarted = gateway(config, "run", "--once")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    first, second = smtp_server.wait_for(2)
    assert first.message["Message-ID"] == second.message["Message-ID"] == listed[0]["message_id"]
    assert first.rcpt_tos == ("orders@cedarridge.example",)
    again = gateway(config, "run", "--once")
    assert again.returncode == 0 and len(smtp_server.messages) == 2
    (sent,) = json.loads(gateway(config, "mail", "list", "--json").stdout)
    assert (sent["status"], sent["attempts"]) == ("sent", 2)


def test_mail_list_show_and_retry(tmp_path: Path, smtp_server: SmtpServer):
    config = site(tmp_path, smtp_server)
    smtp_server.refuse_recipient("orders@cedarridge.example", "550 5.1.1 no such user")
    refused_run = gateway(config, "run", "--once")
    assert refused_run.returncode == 1  # an email refused for good is a permanent failure
    assert "emails_failed=1" in refused_run.stderr
    day = gateway(config, "report")
    assert "emails refused for good: 1" in day.stdout and "550 5.1.1" in day.stdout
    (failed_email,) = json.loads(gateway(config, "report", "--json").stdout)["failed_emails"]
    assert failed_email["to"] == "orders@cedarridge.example"
    listing = gateway(config, "mail", "list")
    assert listing.returncode == 0
    assert "failed" in listing.stdout and "[gateway] An email was refused" in listing.stdout
    failed = json.loads(gateway(config, "mail", "list", "--status", "failed", "--json").stdout)
    (entry,) = failed
    shown = gateway(config, "mail", "show", str(entry["id"]))
    assert shown.returncode == 0
    assert "status: failed" in shown.stdout and "550 5.1.1 no such user" in shown.stdout
    assert "ordered 4 EA, cancelled now 1" in shown.stdout
    html = gateway(config, "mail", "show", str(entry["id"]), "--html").stdout
    assert html.startswith("<!DOCTYPE html>")
    refused = gateway(config, "mail", "retry", str(entry["id"]))  # still refused
    assert refused.returncode == 1 and "failed" in refused.stdout
    smtp_server.reset()
    retried = gateway(config, "mail", "retry", str(entry["id"]))
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert f"email {entry['id']} queued again" in retried.stdout and "sent" in retried.stdout
    assert smtp_server.messages[-1].rcpt_tos == ("orders@cedarridge.example",)
    assert json.loads(gateway(config, "report", "--json").stdout)["failed_emails"] == []
    unknown = gateway(config, "mail", "show", "999")
    assert (
        unknown.returncode == 1 and unknown.stderr.strip() == "error: no email 999 [email-exists]"
    )
    assert "Traceback" not in unknown.stderr


def test_without_a_mail_server_emails_are_captured_as_eml_files(tmp_path: Path):
    config = site(tmp_path, None)
    assert gateway(config, "run", "--once").returncode == 0
    (captured,) = (tmp_path / "data" / "mail" / "captured").glob("*.eml")
    text = captured.read_text()
    assert "To: orders@cedarridge.example" in text and "Message-ID: <" in text
    (entry,) = json.loads(gateway(config, "mail", "list", "--json").stdout)
    assert entry["status"] == "sent" and entry["message_id"] in text
