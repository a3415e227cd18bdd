"""Partner profiles (config/partners/*.toml): read once, checked key by key; every mistake names
the file, the key and the fix. The example profiles shipped in config/ load."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from gateway.config import (
    FolderTransport,
    SftpTransport,
    WebSettings,
    load_config,
    load_mappings,
    load_partner,
    load_partners,
)
from gateway.errors import ConfigurationError
from gateway.mapping.engine import Mappings

ROOT = Path(__file__).resolve().parents[2]

FOLDER = """
name = "Harborview"
role = "buyer"
poll_minutes = 5
[identity]
isa_qualifier = "01"
isa_id = "079845213"
[us]
isa_id = "CEDARRIDGEOUT"
[transport]
type = "folder"
inbox = "in"
outbox = "out"
[contacts]
default = ["edi@harborview.example"]
cancellations = ["orders@harborview.example"]
[mappings."850-in".required]
parties = ["ST"]
[carriers]
"Big Brown Ground" = "UPSN"
[late]
ack_due_hours = 12
cancel_after = false
"""

SFTP = """
role = "seller"
[identity]
isa_id = "BLUEWATERKW"
[us]
isa_id = "079845213"
[x12]
version = "005010"
component_separator = ":"
[acknowledgements]
send = "999"
ta1 = "always"
expect = "999"
deadline_hours = 4
[transport]
type = "sftp"
host = "sftp.bluewater.example"
user = "harborview"
host_key = "SHA256:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
key_file = "keys/bluewater"
remote_inbox = "/outbound"
remote_outbox = "/inbound"
after_pickup = "move"
archive_folder = "/outbound/taken"
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def test_a_folder_profile_reads_with_its_defaults(tmp_path: Path):
    profile = load_partner(write(tmp_path, "harborview", FOLDER))
    assert (profile.key, profile.role, profile.poll_seconds) == ("harborview", "buyer", 300)
    assert (profile.identity.isa_qualifier, profile.identity.gs_id) == ("01", "079845213")
    assert profile.us.isa_qualifier == "ZZ"
    assert isinstance(profile.transport, FolderTransport)
    assert profile.transport.inbox == (tmp_path / "in").resolve()
    assert profile.contacts_for("cancellations") == ("orders@harborview.example",)
    assert profile.contacts_for("quarantine") == ("edi@harborview.example",)
    assert profile.mapping_overrides() == {"850-in": {"required": {"parties": ["ST"]}}}
    assert (profile.acknowledgements.send, profile.x12.version) == ("997", "004010")
    assert profile.carrier_aliases() == {"Big Brown Ground": "UPSN"}
    assert (profile.late.ack_due_hours, profile.late.cancel_after) == (12, False)
    assert (profile.late.ship_date, profile.late.ship_notice_before_ack) == (True, True)


def test_an_sftp_profile_reads_every_key(tmp_path: Path):
    profile = load_partner(write(tmp_path, "bluewater", SFTP))
    transport = profile.transport
    assert isinstance(transport, SftpTransport)
    assert transport.key_file == (tmp_path / "keys" / "bluewater").resolve()
    assert (transport.after_pickup, transport.archive_folder) == ("move", "/outbound/taken")
    assert profile.poll_seconds == 15 * 60  # the default interval
    assert profile.acknowledgements.ta1 == "always"
    assert profile.x12.component_separator == ":"


@pytest.mark.parametrize(
    ("text", "old", "new", "message"),
    [
        (FOLDER, 'role = "buyer"', 'role = "vendor"', "role = 'vendor' is not one of"),
        (FOLDER, 'isa_id = "079845213"', 'isa_id = "0798452131234567"', "1 to 15 characters"),
        (FOLDER, 'isa_qualifier = "01"', 'isa_qualifier = "1"', "must be 2 characters"),
        (FOLDER, 'type = "folder"', 'type = "ftp"', 'type must be "folder" or "sftp"'),
        (FOLDER, 'outbox = "out"', "", "outbox (a folder path) is missing"),
        (FOLDER, "poll_minutes = 5", "poll_minutes = 0", "poll_minutes must be above 0"),
        (FOLDER, "poll_minutes = 5", "poll_minute = 5", "unknown key 'poll_minute'"),
        (FOLDER, 'default = ["edi@harborview.example"]', 'default = "edi"', "list of e-mail"),
        (SFTP, 'host_key = "SHA256:', 'host_key = "MD5:', "SHA256 fingerprint"),
        (SFTP, 'key_file = "keys/bluewater"', 'password = "secret"', "never put a password"),
        (SFTP, 'key_file = "keys/bluewater"', "", "exactly one of key_file"),
        (SFTP, 'archive_folder = "/outbound/taken"', "", 'after_pickup = "move" needs'),
        (SFTP, 'send = "999"', 'send = "998"', "send = '998' is not one of"),
        (SFTP, 'component_separator = ":"', 'component_separator = "*"', "must differ"),
        (SFTP, 'version = "005010"', 'version = "003060"', "version = '003060'"),
        (FOLDER, 'role = "buyer"', 'role = "buyer"\nfulfilment = "direct"', "is for a seller"),
        (SFTP, 'role = "seller"', 'role = "seller"\nfulfilment = "fax"', "fulfilment = 'fax'"),
        (FOLDER, '= "UPSN"', '= "UPS"', "'Big Brown Ground' = 'UPS' is not a SCAC"),
        (FOLDER, 'isa_id = "079845213"', 'isa_id = "0798*5213"', "holds '*'"),
        (FOLDER, 'isa_id = "CEDARRIDGEOUT"', 'isa_id = "CEDAR~RIDGE"', "holds '~'"),
        (FOLDER, 'outbox = "out"', 'outbox = "in"', "inbox and outbox are both"),
        (FOLDER, 'outbox = "out"', 'outbox = "out"\nsettle_seconds = 1e308', "at most 3600"),
        (FOLDER, 'outbox = "out"', 'outbox = "out"\nsettle_seconds = nan', "a finite number"),
        (FOLDER, "poll_minutes = 5", "poll_minutes = inf", "a finite number"),
        (FOLDER, "ack_due_hours = 12", "ack_due_hours = -1", "ack_due_hours cannot be negative"),
        (FOLDER, "cancel_after = false", 'cancel_after = "no"', "cancel_after is true or false"),
        (FOLDER, "cancel_after = false", "cancel_afterwards = false", "unknown key"),
    ],
)
def test_a_mistake_names_the_file_the_key_and_the_fix(
    tmp_path: Path, text: str, old: str, new: str, message: str
):
    assert old in text
    path = write(tmp_path, "partner", text.replace(old, new))
    with pytest.raises(ConfigurationError) as caught:
        load_partner(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_the_old_spelling_of_fulfilment_is_read_with_a_one_line_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="gateway.config")
    direct = SFTP.replace('role = "seller"', 'role = "seller"\nfulfillment = "direct"')
    path = write(tmp_path, "bluewater", direct)
    assert load_partner(path).fulfilment == "direct"
    (warning,) = [r for r in caplog.records if r.name == "gateway.config"]
    assert warning.levelno == logging.WARNING
    message = warning.getMessage()
    assert message.startswith(f"{path}: `fulfillment` is spelled `fulfilment` now")
    assert "\n" not in message
    caplog.clear()
    right = write(tmp_path, "bluewater", direct.replace("fulfillment =", "fulfilment ="))
    assert load_partner(right).fulfilment == "direct"
    assert caplog.records == []


def test_the_old_spelling_is_checked_as_the_new_one(tmp_path: Path):
    buyer = FOLDER.replace('role = "buyer"', 'role = "buyer"\nfulfillment = "direct"')
    with pytest.raises(ConfigurationError, match='fulfilment = "direct" is for a seller'):
        load_partner(write(tmp_path, "harborview", buyer))
    fax = SFTP.replace('role = "seller"', 'role = "seller"\nfulfillment = "fax"')
    with pytest.raises(ConfigurationError, match="fulfilment = 'fax' is not one of"):
        load_partner(write(tmp_path, "bluewater", fax))


def test_both_spellings_in_one_profile_are_refused(tmp_path: Path):
    both = SFTP.replace(
        'role = "seller"', 'role = "seller"\nfulfilment = "edi"\nfulfillment = "direct"'
    )
    path = write(tmp_path, "bluewater", both)
    with pytest.raises(ConfigurationError) as caught:
        load_partner(path)
    assert str(caught.value).startswith(f"{path}: 'fulfillment' and 'fulfilment' are the same")
    assert "keep 'fulfilment'" in str(caught.value)


def test_two_profiles_with_one_isa_identity_are_refused(tmp_path: Path):
    write(tmp_path, "harborview", FOLDER)
    write(tmp_path, "harborview-again", FOLDER.replace('"in"', '"in2"').replace('"out"', '"out2"'))
    with pytest.raises(ConfigurationError, match=r"identity 01/079845213 is also harborview"):
        load_partners(tmp_path)


def test_two_partners_never_share_a_mailbox(tmp_path: Path):
    """One inbox read for two partners takes a file as whichever partner's pass came first; an
    inbox that is a partner's outbox reads our own documents back as the partner's."""
    other = FOLDER.replace('"079845213"', '"OTHERBUYER"')
    write(tmp_path, "harborview", FOLDER)
    write(tmp_path, "other", other.replace('outbox = "out"', 'outbox = "out2"'))
    with pytest.raises(ConfigurationError, match="its inbox is also harborview's"):
        load_partners(tmp_path)
    write(tmp_path, "other", other.replace('"in"', '"in2"').replace('"out"', '"in"'))
    with pytest.raises(ConfigurationError, match="its outbox is harborview's inbox"):
        load_partners(tmp_path)
    write(tmp_path, "other", other.replace('"in"', '"in2"').replace('"out"', '"out2"'))
    assert [p.key for p in load_partners(tmp_path)] == ["harborview", "other"]


def test_a_profile_that_is_not_utf8_is_named_not_a_traceback(tmp_path: Path):
    path = tmp_path / "harborview.toml"
    path.write_bytes(FOLDER.replace("Harborview", "Harborview Caf\xe9").encode("latin-1"))
    with pytest.raises(ConfigurationError, match=r"harborview.toml: not UTF-8 text"):
        load_partner(path)


def test_the_example_configuration_loads(tmp_path: Path):
    config = load_config(ROOT / "config" / "gateway.toml")
    assert [p.key for p in config.partners] == sorted(
        p.stem for p in (ROOT / "config" / "partners").glob("*.toml")
    )
    assert config.data_dir == (ROOT / "data").resolve()
    assert config.mail.operators and config.mail.order_desk and not config.mail.host


MAIL = """
[mail]
from = "Cedar Ridge EDI <edi@cedarridge.example>"
operators = ["ops@cedarridge.example"]
order_desk = ["orders@cedarridge.example"]
host = "smtp.cedarridge.example"
port = 465
security = "tls"
username = "gateway"
password_env = "GATEWAY_TEST_SMTP_PASSWORD"
timeout_seconds = 5
domain = "gateway.cedarridge.example"
alert_repeat_minutes = 30
mailbox_alert_minutes = 10
delivery_alert_attempts = 3
"""


def test_the_mail_section_reads_every_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = write(tmp_path, "gateway", MAIL)
    mail = load_config(path).mail
    assert (mail.host, mail.port, mail.security, mail.timeout_seconds) == (
        "smtp.cedarridge.example", 465, "tls", 5
    )  # fmt: skip
    assert mail.operators == ("ops@cedarridge.example",)
    assert mail.order_desk == ("orders@cedarridge.example",)
    assert (mail.alert_repeat_minutes, mail.delivery_alert_attempts) == (30, 3)
    with pytest.raises(ConfigurationError, match="GATEWAY_TEST_SMTP_PASSWORD, which is not set"):
        mail.password()
    monkeypatch.setenv("GATEWAY_TEST_SMTP_PASSWORD", "s3cret")
    assert mail.password() == "s3cret"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('password_env = "GATEWAY_TEST_SMTP_PASSWORD"', 'password = "x"', "no password in files"),
        ('security = "tls"', 'security = "ssl"', "security = 'ssl' is not one of"),
        ('from = "Cedar Ridge EDI <edi@cedarridge.example>"', 'from = "Cedar"', "not an address"),
        ('operators = ["ops@cedarridge.example"]', 'operators = "ops"', "list of e-mail"),
        ("port = 465", "port = 70000", "must be a TCP port"),
        ("timeout_seconds = 5", "timeout_seconds = 0", "timeout_seconds must be above 0"),
        ("timeout_seconds = 5", 'templates_dir = "nowhere"', "templates_dir"),
        ("timeout_seconds = 5", "timeout = 5", "unknown key 'timeout'"),
    ],
)
def test_a_mistake_in_the_mail_section_names_the_key(
    tmp_path: Path, old: str, new: str, message: str
):
    path = write(tmp_path, "gateway", MAIL.replace(old, new))
    with pytest.raises(ConfigurationError) as caught:
        load_config(path)
    assert f"{path} [mail]" in str(caught.value) and message in str(caught.value)


WEB = """
[web]
host = "0.0.0.0"
port = 8443
session_idle_minutes = 15
session_absolute_hours = 8
login_attempts_per_minute = 5
secure_cookies = true
"""


def test_the_web_section_reads_every_key_and_defaults_without_it(tmp_path: Path):
    web = load_config(write(tmp_path, "gateway", WEB)).web
    assert (web.host, web.port, web.secure_cookies) == ("0.0.0.0", 8443, True)
    assert (web.session_idle_minutes, web.session_absolute_hours) == (15, 8)
    assert web.login_attempts_per_minute == 5
    assert (web.session_idle, web.session_absolute) == (
        dt.timedelta(minutes=15), dt.timedelta(hours=8)
    )  # fmt: skip
    default = load_config(write(tmp_path, "gateway", "[gateway]\n")).web
    assert default == WebSettings()
    assert (default.host, default.port, default.secure_cookies) == ("127.0.0.1", 8080, None)
    assert (default.session_idle, default.session_absolute) == (
        dt.timedelta(minutes=30), dt.timedelta(hours=12)
    )  # fmt: skip
    assert default.login_attempts_per_minute == 10
    assert load_config(None).web == WebSettings()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("port = 8443", "port = 70000", "port 70000 is not a TCP port"),
        ("port = 8443", 'port = "8443"', "port must be a int"),
        ("session_idle_minutes = 15", "session_idle_minutes = 0", "must be above 0"),
        ("session_absolute_hours = 8", "session_absolute_hours = -1", "must be above 0"),
        ("session_idle_minutes = 15", "session_idle_minutes = 600", "longer than"),
        ("login_attempts_per_minute = 5", "login_attempts_per_minute = 0", "1 to 10000"),
        ("login_attempts_per_minute = 5", "login_attempts_per_minute = 2.5", "must be a int"),
        ("secure_cookies = true", 'secure_cookies = "auto"', "secure_cookies must be a bool"),
        ('host = "0.0.0.0"', 'host = " "', "host is empty"),
        ("port = 8443", "listen = 8443", "unknown key 'listen'"),
    ],
)
def test_a_mistake_in_the_web_section_names_the_key(
    tmp_path: Path, old: str, new: str, message: str
):
    assert old in WEB
    path = write(tmp_path, "gateway", WEB.replace(old, new))
    with pytest.raises(ConfigurationError) as caught:
        load_config(path)
    assert f"{path} [web]" in str(caught.value) and message in str(caught.value)


def test_the_sftp_example_profile_loads():
    profile = load_partner(ROOT / "config" / "examples" / "bluewater-sftp.toml")
    assert isinstance(profile.transport, SftpTransport)
    assert (profile.role, profile.x12.version, profile.acknowledgements.send) == (
        "seller",
        "005010",
        "999",
    )
    assert profile.mapping_overrides() == {"856-in": {"settings": {"match_ids": ["UP", "VP"]}}}
    mappings = Mappings(load_mappings(), {profile.key: profile.mapping_overrides()})
    assert mappings.get("856-in", profile.key).settings["match_ids"] == ["UP", "VP"]
