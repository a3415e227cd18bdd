"""The order record tells the truth, through the CLI as real processes, on SQLite and PostgreSQL:
a flag is set by a fact the gateway can prove (a document delivered, accepted by the partner's
997), never by a document queued; nothing but returns, refunds, money, notes and shipment
statuses changes after Shipped; a fulfilment's data and money are checked before anything is
recorded. Each refusal is one line on standard error naming its rule, exit 1, nothing changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gateway.config import GatewayConfig
from tests.e2e.test_operator_cli import PO, flags_of, ok, site
from tests.e2e.test_run import SAMPLES, gateway
from tests.smtpd import SmtpServer


def shown(config: Path) -> dict[str, object]:
    result = gateway(config, "orders", "show", PO, "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert isinstance(found, dict)
    return found


def refused(config: Path, *args: str) -> str:
    """Run a command the rules refuse: exit 1, nothing on stdout, one line naming the rule."""
    result = gateway(config, *args)
    assert result.returncode == 1, (args, result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def mailboxes(config: Path) -> tuple[Path, Path]:
    folder = config.parent.parent / "mailboxes" / "harborview"
    return folder / "in", folder / "out"


def ship_everything(config: Path, fulfilment: str = "F-1") -> None:
    ok(config, "fulfil", PO, "--id", fulfilment, "--carrier", "UPS",
       "--tracking", "1Z999AA10123456784", "--tracking", "1Z5R89390357567127",
       "--line", "1:2", "--line", "2:1", "--line", "3:4", "--line", "4:1")  # fmt: skip


def queued_documents(config: Path) -> list[dict[str, object]]:
    listing = json.loads(gateway(config, "documents", "list", "--json").stdout)
    return [d for d in listing if d["direction"] == "out" and d["status"] == "queued"]


def test_flags_come_from_documents_delivered_and_accepted(
    tmp_path: Path, store_config: GatewayConfig
):
    config = site(tmp_path / "site", store_config.database.url)
    inbox, outbox = mailboxes(config)
    shutil.rmtree(outbox)
    outbox.write_text("the share is not mounted")  # the buyer's mailbox cannot take files
    ok(config, "ack", PO, "--accept-all")
    assert "delivery retry" in gateway(config, "run", "--once").stderr  # it failed
    assert flags_of(config) == []  # our 855 sits in the outbox: the buyer does not know
    ship_everything(config)
    gateway(config, "run", "--once")
    assert flags_of(config) == ["settled", "shipped"]  # Shipped is a fact; Completed is not
    assert shown(config)["archived"] is False
    outbox.unlink()
    outbox.mkdir()
    for document in queued_documents(config):  # due again now, not after the backoff
        assert gateway(config, "documents", "resend", str(document["id"])).returncode == 0
    assert gateway(config, "run", "--once").returncode == 0
    # delivered: the 855 confirms; the 856 waits for the 997 the buyer owes for it
    assert flags_of(config) == ["confirmed", "settled", "shipped"]
    listed = gateway(config, "orders", "list", "--json")
    assert PO in listed.stdout  # open work until it is Completed
    for control, path in enumerate(sorted(outbox.glob("85*.x12")), start=900):
        answer = gateway(config, "ack-file", "--control", str(control), str(path))
        (inbox / f"997_{path.name}").write_text(answer.stdout, encoding="latin-1")
    assert gateway(config, "run", "--once").returncode == 0
    assert flags_of(config) == ["completed", "confirmed", "settled", "shipped"]
    page = shown(config)
    assert page["archived"] is True
    assert [f["passed_on"] for f in page["fulfilments"]] == [True]  # type: ignore[index]
    assert PO not in gateway(config, "orders", "list", "--json").stdout  # archived
    assert PO in gateway(config, "orders", "list", "--archived", "--json").stdout
    # shipment statuses go on after Completed, forward only
    assert ok(config, "shipment", PO, "F-1", "--status", "in transit")["action"] == (
        "shipment in transit"
    )
    ok(config, "shipment", PO, "F-1", "--status", "delivered")
    assert refused(config, "shipment", PO, "F-1", "--status", "in transit").endswith(
        "[shipment-status-moves-forward]"
    )
    assert page_status(config) == "delivered"


def page_status(config: Path) -> str:
    fulfilments = shown(config)["fulfilments"]
    assert isinstance(fulfilments, list)
    return str(fulfilments[0]["status"])


PRICE_CHANGE = (
    (
        "ISA*00*          *00*          *01*079845213      *ZZ*CEDARRIDGEOUT  "
        "*261125*0850*U*00401*000051077*0*P*>~\n"
    )
    + """GS*PC*079845213*CEDARRIDGEOUT*20261125*0850*5177*X*004010~
ST*860*0001~
BCH*04*SA*HV4500871234**1*20261103~
POC*1*PC*2*0*EA*79.00**UP*812345100211*VP*CR-TNT2P-GRN*BP*40013571~
CTT*1*2~
SE*5*0001~
GE*1*5177~
IEA*1*000051077~
"""
)
"""The buyer's 860 lowering line 1's price after the order shipped and was invoiced."""


def test_nothing_changes_after_shipped_but_money_returns_notes_and_tracking(
    tmp_path: Path, store_config: GatewayConfig
):
    config = site(tmp_path / "site", store_config.database.url)
    inbox, outbox = mailboxes(config)
    ship_everything(config)
    ok(config, "invoice", PO, "--number", "INV-1")
    before = shown(config)
    for args in (
        ("change-customer", PO, "--ship-to", "Someone Else", "--address", "1 Other St",
         "--city", "Lansing", "--state", "MI", "--postal-code", "48901"),
        ("change-dates", PO, "--ship-date", "20261210"),
        ("ack", PO, "--line", "3:qty=1"),  # the 855 would contradict the 4 that shipped
        ("cancel", PO, "--reason", "too late", "--by", "seller"),
        ("fulfil", PO, "--line", "1:1", "--carrier", "UPS", "--tracking", "1Z879E930346834440"),
    ):  # fmt: skip
        assert refused(config, *args).endswith("[no-change-after-shipped]"), args
    after = shown(config)
    for key in ("parties", "lines", "dates", "fulfilments", "cancellations", "confirmations"):
        assert after[key] == before[key], key
    # the buyer's 860 changing a price after the invoice: refused whole, answered by an 865
    (inbox / "860_price_change.x12").write_text(PRICE_CHANGE, encoding="latin-1")
    assert gateway(config, "run", "--once").returncode == 1  # quarantined: a person looks
    assert shown(config)["lines"] == before["lines"]
    history = [entry["event"] for entry in shown(config)["history"]]  # type: ignore[union-attr]
    assert "DocumentRefused" in history
    answer = next(outbox.glob("865_*.x12")).read_text(encoding="latin-1")
    assert "BCA*04*RD*" in answer or "*RD*" in answer
    assert "no-change-after-shipped" in answer
    # what goes on: a note, a return, the money
    ok(config, "note", PO, "add", "the buyer asked about a discount")
    ok(config, "return", PO, "--line", "1:1", "--reason", "damaged")
    ok(config, "mark-paid", PO, "--reference", "CHK-1")
    assert "returned" in flags_of(config) and "paid" in flags_of(config)


def test_fulfilment_data_is_checked_before_anything_is_recorded(
    tmp_path: Path, store_config: GatewayConfig
):
    config = site(tmp_path / "site", store_config.database.url)
    line = ("--line", "1:1")
    for extra, rule in (
        (("--carrier", "", "--tracking", "1Z999AA10123456784"), "carrier-must-be-known"),
        (("--carrier", "UP~S", "--tracking", "1Z999AA10123456784"), "carrier-must-be-known"),
        (("--carrier", "UPS"), "tracking-number-required"),
        (("--carrier", "UPS", "--tracking", "1Z999AA10123456785"), "tracking-number-must-be-valid"),
        (("--carrier", "UPS", "--tracking", "1Z999~A10123456784"), "tracking-number-must-be-valid"),
        (("--carrier", "FedEx", "--tracking", "000000000000"), "tracking-number-must-be-valid"),
        (("--carrier", "UPS", "--tracking", "1Z999AA10123456784",
          "--tracking-url", "javascript:alert(1)"), "tracking-url-http-only"),
        (("--carrier", "UPS", "--tracking", "1Z999AA10123456784",
          "--ship-date", "20990101"), "ship-date-plausible"),
    ):  # fmt: skip
        message = refused(config, "fulfil", PO, *line, *extra)
        assert message.endswith(f"[{rule}]"), (extra, message)
    half = refused(config, "fulfil", PO, "--line", "1:0.5", "--carrier", "UPS",
                   "--tracking", "1Z999AA10123456784")  # fmt: skip
    assert half.endswith("[counted-units-are-whole]")
    unknown = refused(config, "fulfil", PO, *line, "--carrier", "Pony Express",
                      "--tracking", "1Z999AA10123456784")  # fmt: skip
    assert "known carriers are" in unknown and "UPSN" in unknown
    page = shown(config)
    assert page["fulfilments"] == [] and page["flags"] == []
    assert queued_documents(config) == []  # no 856 either
    done = ok(config, "fulfil", PO, *line, "--carrier", "fedex ground",
              "--tracking", "748900000010")  # fmt: skip
    assert done["documents"][0]["set"] == "856"  # type: ignore[index]
    (fulfilment,) = shown(config)["fulfilments"]  # type: ignore[misc]
    assert fulfilment["carrier"] == "FDEG"  # recorded as its SCAC
    assert fulfilment["tracking_url"].startswith("https://www.fedex.com/")
    again = refused(config, "fulfil", PO, "--line", "2:1", "--carrier", "FDEG",
                    "--tracking", "748900000010")  # fmt: skip
    assert again.endswith("[tracking-number-used-once]")


def test_money_is_checked(tmp_path: Path, store_config: GatewayConfig):
    config = site(tmp_path / "site", store_config.database.url)
    assert refused(config, "mark-paid", PO).endswith("[payment-needs-invoiced-balance]")
    assert refused(config, "refund", PO, "--amount", "100000").endswith(
        "[refund-cannot-exceed-paid]"
    )
    assert refused(config, "refund", PO, "--amount", "1e309").endswith("[amount-within-limit]")
    ship_everything(config)
    invoiced = ok(config, "invoice", PO, "--number", "INV-1")
    assert [d["set"] for d in invoiced["documents"]] == ["810"]  # type: ignore[index]
    assert refused(config, "mark-paid", PO, "--amount", "99999").endswith(
        "[payment-cannot-exceed-balance]"
    )
    ok(config, "mark-paid", PO, "--amount", "100.00", "--reference", "part")
    assert "paid" not in flags_of(config)
    assert shown(config)["payment_status"] == "partially paid"
    ok(config, "mark-paid", PO, "--reference", "the rest")  # the open balance
    assert "paid" in flags_of(config)
    assert refused(config, "mark-paid", PO).endswith("[paid-order-cannot-be-marked-paid]")
    assert refused(config, "refund", PO, "--amount", "10", "--line", "2:2").endswith(
        "[refund-only-of-shipped-quantity]"
    )
    ok(config, "refund", PO, "--amount", "10.00", "--line", "1:1", "--reason", "scratched")
    page = shown(config)
    (refund,) = page["refunds"]  # type: ignore[misc]
    assert refund["lines"] == [{"line": "1", "quantity": "1"}] and refund["amount"] == "10"
    assert page["payment_status"] == "partially refunded" and "returned" in page["flags"]


def test_an_unknown_status_is_a_usage_error(tmp_path: Path):
    config = site(tmp_path / "site")
    result = gateway(config, "orders", "list", "--status", "bogus")
    assert result.returncode == 2 and "confirmed" in result.stderr
    assert (SAMPLES / "850").is_dir()


PINECREST = """name = "Pinecrest Camp Supply"
role = "seller"
fulfilment = "direct"
[identity]
isa_qualifier = "ZZ"
isa_id = "PINECREST"
[us]
isa_qualifier = "ZZ"
isa_id = "CEDARRIDGEOUT"
[transport]
type = "folder"
inbox = "../../mailboxes/pinecrest/in"
outbox = "../../mailboxes/pinecrest/out"
[contacts]
orders = ["orders@pinecrest.example"]
"""


def test_a_direct_sellers_order_is_confirmed_once_the_mail_server_takes_it(
    tmp_path: Path, store_config: GatewayConfig, smtp_server: SmtpServer
):
    folder = tmp_path / "site"
    config = folder / "config"
    (config / "partners").mkdir(parents=True)
    (folder / "mailboxes" / "pinecrest" / "in").mkdir(parents=True)
    database = f'[database]\nurl = "{store_config.database.url}"\n'
    (config / "gateway.toml").write_text(
        '[gateway]\ndata_dir = "../data"\n' + database + "[mail]\n"
        'from = "Cedar Ridge <edi@cedarridge.example>"\n'
        f'host = "{smtp_server.host}"\nport = {smtp_server.port}\nsecurity = "none"\n'
        "timeout_seconds = 5\n"
    )
    (config / "partners" / "pinecrest.toml").write_text(PINECREST)
    path = config / "gateway.toml"
    assert gateway(path, "db", "upgrade").returncode == 0
    placed = gateway(path, "test-order", "--partner", "pinecrest", "--json")
    assert placed.returncode == 0, placed.stderr
    po = json.loads(placed.stdout)["po_number"]

    def flags() -> list[str]:
        listed = json.loads(gateway(path, "orders", "show", po, "--json").stdout)
        return list(listed["flags"])

    assert flags() == ["test"]  # the email is queued: Pinecrest does not know yet
    with smtp_server.stopped():  # the mail server refuses connections
        ran = gateway(path, "run", "--once")
        assert "email retry" in ran.stderr, ran.stderr
    assert flags() == ["test"]
    (email,) = json.loads(gateway(path, "mail", "list", "--json").stdout)
    assert gateway(path, "mail", "retry", str(email["id"])).returncode == 0  # taken now
    assert flags() == ["confirmed", "test"]
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == ("orders@pinecrest.example",)
