"""`gateway users` as real processes on SQLite: a user added with its password from
GATEWAY_PASSWORD or typed twice on a terminal (pexpect) can sign in with it (the service layer,
as the web console will), a refusal is one line and exit 1 (`--json`: one object naming the
rule), a partner that is not configured is a usage error (exit 2), `list --json`, `disable`
(its sessions end), `passwd` (the old password no longer works), `sign-ins`; a store at
revision 0006 is taken to the latest (0007 and on) by `gateway db upgrade`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from gateway.adapters.migrate import head_revision, upgrade
from gateway.adapters.store import create_store_engine
from gateway.bootstrap import Gateway, bootstrap
from gateway.config import load_config
from gateway.errors import SignInRefused
from gateway.service.accounts import session_for, sign_in
from tests.e2e.test_run import ROOT, setup_site

PASSWORD = "correct horse battery"
IDLE, ABSOLUTE = dt.timedelta(minutes=30), dt.timedelta(hours=12)


def users(
    config: Path, *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`gateway --config CONFIG ARGS`, with GATEWAY_PASSWORD set to `password` (or unset)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("GATEWAY_PASSWORD", "GATEWAY_CRASH_AT", "GATEWAY_CONFIG"):
        env.pop(name, None)
    if password is not None:
        env["GATEWAY_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()", "--config", str(config),
         *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def one_line_refusal(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    return result.stderr


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Harborview buying from us, and a migrated store."""
    made = setup_site(tmp_path)
    ok(users(made, "db", "upgrade"))
    return made


@pytest.fixture
def wired(config: Path) -> Iterator[Gateway]:
    """The gateway on the same configuration, in this process: the web console's side."""
    gateway = bootstrap(load_config(config))
    yield gateway
    gateway.close()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def signs_in(gateway: Gateway, name: str, password: str) -> str:
    token, _ = sign_in(gateway.uow_factory(), gateway.password_hasher, name, password, "::1", now())
    return token


def listed(config: Path) -> list[dict[str, object]]:
    found = json.loads(ok(users(config, "users", "list", "--json")))
    assert isinstance(found, list)
    return found


def test_a_user_added_with_the_password_from_the_environment_signs_in(config, wired):
    out = ok(users(config, "users", "add", "ann", "--role", "operator", password=PASSWORD))
    assert out == "user ann added: operator\n"
    pat = ("users", "add", "pat", "--role", "partner", "--partner", "harborview", "--json")
    added = json.loads(ok(users(config, *pat, password=PASSWORD)))
    assert {k: added[k] for k in ("name", "role", "partner", "disabled")} == {
        "name": "pat", "role": "partner", "partner": "harborview", "disabled": False,
    }  # fmt: skip
    assert dt.datetime.fromisoformat(added["created"]).tzinfo is not None
    assert [(u["name"], u["role"], u["partner"], u["disabled"]) for u in listed(config)] == [
        ("ann", "operator", None, False),
        ("pat", "partner", "harborview", False),
    ]
    assert session_for(wired.uow_factory(), signs_in(wired, "ann", PASSWORD), now(), IDLE, ABSOLUTE)
    with pytest.raises(SignInRefused):
        signs_in(wired, "ann", "not the password")
    table = ok(users(config, "users", "list"))
    assert "harborview" in table and "operator" in table
    log = json.loads(ok(users(config, "users", "sign-ins", "--json")))
    assert [(line["name"], line["outcome"]) for line in log] == [
        ("ann", "wrong password"),
        ("ann", "signed in"),
    ]


def test_a_password_typed_twice_on_a_terminal(config, wired):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("GATEWAY_PASSWORD", "GATEWAY_CRASH_AT", "GATEWAY_CONFIG"):
        env.pop(name, None)
    session = pexpect.spawn(
        sys.executable,
        ["-c", "from gateway.cli import main; main()", "--config", str(config),
         "users", "add", "ann", "--role", "admin"],
        env=env,
        timeout=60,
        encoding="utf-8",
    )  # fmt: skip
    session.expect("Password: ")
    session.sendline(PASSWORD)
    session.expect("Repeat for confirmation: ")
    session.sendline("a typing mistake")  # not the same: asked again
    session.expect("do not match")
    session.expect("Password: ")
    session.sendline(PASSWORD)
    session.expect("Repeat for confirmation: ")
    session.sendline(PASSWORD)
    session.expect(pexpect.EOF)
    shown = session.before or ""
    session.close()
    assert session.exitstatus == 0, shown
    assert "user ann added: admin" in shown and PASSWORD not in shown  # never echoed
    assert signs_in(wired, "ann", PASSWORD)


def test_without_a_terminal_or_the_variable_no_password_is_asked(config):
    refused = one_line_refusal(users(config, "users", "add", "ann", "--role", "admin"), 2)
    assert "set GATEWAY_PASSWORD" in refused
    assert listed(config) == []


def test_refusals_are_one_line_naming_the_rule_and_mistakes_usage_errors(config):
    ok(users(config, "users", "add", "ann", "--role", "admin", password=PASSWORD))
    again = users(config, "users", "add", "ann", "--role", "viewer", password=PASSWORD)
    line = one_line_refusal(again, 1)
    assert line == "error: a user named 'ann' exists already [user-name-unique]\n"
    as_json = users(config, "users", "add", "ann", "--role", "viewer", "--json", password=PASSWORD)
    assert as_json.returncode == 1 and as_json.stdout.count("\n") == 1
    assert json.loads(as_json.stdout) == {
        "error": "a user named 'ann' exists already [user-name-unique]",
        "rule": "user-name-unique",
        "exit": 1,
    }
    short = users(config, "users", "add", "bob", "--role", "viewer", password="short")
    assert "[password-long-enough]" in one_line_refusal(short, 1)
    alone = users(config, "users", "add", "bob", "--role", "partner", password=PASSWORD)
    assert "[partner-user-names-partner]" in one_line_refusal(alone, 1)
    # a partner that is not configured, a role that does not exist: mistakes in the command
    unknown = users(config, "users", "add", "bob", "--role", "partner", "--partner", "acme",
                    password=PASSWORD)  # fmt: skip
    assert "no partner 'acme'; one of: harborview" in one_line_refusal(unknown, 2)
    role = users(config, "users", "add", "bob", "--role", "root", "--json", password=PASSWORD)
    assert role.returncode == 2 and json.loads(role.stdout)["exit"] == 2
    assert "is not one of: admin, operator, viewer, partner" in json.loads(role.stdout)["error"]
    assert [u["name"] for u in listed(config)] == ["ann"]


def test_disable_ends_the_sessions_and_refuses_the_sign_in(config, wired):
    ok(users(config, "users", "add", "ann", "--role", "operator", password=PASSWORD))
    token = signs_in(wired, "ann", PASSWORD)
    assert ok(users(config, "users", "disable", "ann")) == "user ann disabled; its sessions ended\n"
    assert session_for(wired.uow_factory(), token, now(), IDLE, ABSOLUTE) is None
    with pytest.raises(SignInRefused, match="disabled"):
        signs_in(wired, "ann", PASSWORD)
    assert [u["disabled"] for u in listed(config)] == [True]
    shown = json.loads(ok(users(config, "users", "disable", "ann", "--json")))
    assert shown["disabled"] is True
    nobody = users(config, "users", "disable", "nobody")
    assert one_line_refusal(nobody, 1) == "error: no user named 'nobody' [user-exists]\n"


def test_passwd_replaces_the_password_and_ends_the_sessions(config, wired):
    ok(users(config, "users", "add", "ann", "--role", "viewer", password=PASSWORD))
    token = signs_in(wired, "ann", PASSWORD)
    changed = users(config, "users", "passwd", "ann", "--json", password="a brand new password")
    assert json.loads(ok(changed))["password_changed"] is True
    assert session_for(wired.uow_factory(), token, now(), IDLE, ABSOLUTE) is None
    with pytest.raises(SignInRefused, match="the name or the password is wrong"):
        signs_in(wired, "ann", PASSWORD)
    assert signs_in(wired, "ann", "a brand new password")
    text = users(config, "users", "passwd", "ann", password="yet another password")
    assert ok(text) == "password of ann changed; its sessions ended\n"
    short = users(config, "users", "passwd", "ann", password="short")
    assert "[password-long-enough]" in one_line_refusal(short, 1)
    nobody = users(config, "users", "passwd", "nobody", password=PASSWORD)
    assert "[user-exists]" in one_line_refusal(nobody, 1)


def test_db_upgrade_takes_a_store_at_0006_to_the_head(tmp_path: Path):
    config = setup_site(tmp_path)
    engine = create_store_engine(load_config(config))
    upgrade(engine, "0006")
    engine.dispose()
    stale = users(config, "users", "list")
    assert "gateway db upgrade" in one_line_refusal(stale, 2)
    upgraded = json.loads(ok(users(config, "db", "upgrade", "--json")))
    assert (upgraded["before"], upgraded["after"]) == ("0006", head_revision())
    ok(users(config, "users", "add", "ann", "--role", "admin", password=PASSWORD))
    assert [u["name"] for u in listed(config)] == ["ann"]
