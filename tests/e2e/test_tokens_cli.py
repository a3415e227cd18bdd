"""`gateway tokens` as real processes on SQLite: a token added prints its secret once (the
store keeps its hash) and calls the service layer as its role; `list` and `--json` show when it
was used and revoked; `revoke` ends it; a refusal is one line and exit 1 (`--json`: one object
naming the rule); a partner that is not configured is a usage error (exit 2)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.bootstrap import Gateway, bootstrap
from gateway.config import load_config
from gateway.service.accounts import token_hash
from gateway.service.tokens import TOKEN_PREFIX, token_for
from tests.e2e.test_run import setup_site
from tests.e2e.test_users_cli import ok, one_line_refusal, users


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """Harborview buying from us, and a migrated store: the configuration's path."""
    made = setup_site(tmp_path)
    ok(users(made, "db", "upgrade"))
    return made


@pytest.fixture
def wired(site: Path) -> Iterator[Gateway]:
    """The gateway on the same configuration, in this process: the API's side."""
    gateway = bootstrap(load_config(site))
    yield gateway
    gateway.close()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_a_token_is_printed_once_kept_as_its_hash_listed_and_revoked(site: Path, wired: Gateway):
    added = users(site, "tokens", "add", "erp", "--role", "operator")
    secret = ok(added).strip()
    assert secret.startswith(TOKEN_PREFIX) and "\n" not in secret
    assert "shown this once" in added.stderr
    with wired.uow_factory() as uow:
        kept = uow.tokens.by_hash(token_hash(secret))
    assert kept is not None and kept.name == "erp"
    pat = ("tokens", "add", "hv", "--role", "partner", "--partner", "harborview", "--json")
    shown = json.loads(ok(users(site, *pat)))
    assert (shown["name"], shown["role"], shown["partner"]) == ("hv", "partner", "harborview")
    assert shown["token"].startswith(TOKEN_PREFIX) and shown["revoked"] is None
    assert token_for(wired.uow_factory(), secret, now()) is not None
    listed = json.loads(ok(users(site, "tokens", "list", "--json")))
    assert [(t["name"], t["role"], t["partner"]) for t in listed] == [
        ("erp", "operator", None),
        ("hv", "partner", "harborview"),
    ]
    assert listed[0]["last_used"] is not None and listed[1]["last_used"] is None
    assert all("token" not in t for t in listed)  # the secret is never shown again
    table = ok(users(site, "tokens", "list"))
    assert "harborview" in table and "operator" in table and secret not in table
    assert ok(users(site, "tokens", "revoke", "erp")) == "token erp revoked\n"
    assert token_for(wired.uow_factory(), secret, now()) is None
    revoked = json.loads(ok(users(site, "tokens", "revoke", "erp", "--json")))
    assert revoked["revoked"] is not None


def test_refusals_are_one_line_and_name_their_rule(site: Path):
    ok(users(site, "tokens", "add", "erp", "--role", "viewer"))
    taken = users(site, "tokens", "add", "erp", "--role", "viewer")
    assert "[token-name-unique]" in one_line_refusal(taken, 1)
    as_json = users(site, "tokens", "add", "erp", "--role", "viewer", "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["rule"] == "token-name-unique"
    nobody = users(site, "tokens", "revoke", "nobody")
    assert "[token-exists]" in one_line_refusal(nobody, 1)
    alone = users(site, "tokens", "add", "hv", "--role", "partner")
    assert "[partner-token-names-partner]" in one_line_refusal(alone, 1)
    elsewhere = users(site, "tokens", "add", "x", "--role", "partner", "--partner", "nowhere")
    assert "no partner 'nowhere'" in one_line_refusal(elsewhere, 2)
    admin = users(site, "tokens", "add", "root", "--role", "admin")
    assert admin.returncode == 2
