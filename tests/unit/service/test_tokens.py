"""The API's tokens and idempotency keys (`gateway.service.tokens`) on the fake store: who may
be added, the secret shown once and kept only as its hash, a revoked or unknown token refused,
the last use recorded at most once a minute, and a key claimed by one request only."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.errors import RULES, TokenRefused
from gateway.service.accounts import token_hash
from gateway.service.tokens import (
    TOKEN_PREFIX,
    add_token,
    claim_key,
    release_key,
    revoke_token,
    settle_key,
    token_for,
    tokens,
)
from tests.fakes import FakeStore

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def test_a_token_is_shown_once_and_kept_only_as_its_hash():
    store = FakeStore()
    secret, token = add_token(store.unit_of_work(), "erp", "operator", None, T0)
    assert secret.startswith(TOKEN_PREFIX) and len(secret) > 40
    assert (token.name, token.role, token.partner) == ("erp", "operator", None)
    assert token.created_at == T0 and token.last_used_at is None and not token.revoked
    held = store.tables["api_tokens"]["erp"]
    assert held[0] == token_hash(secret) and secret not in repr(held)
    other, _ = add_token(store.unit_of_work(), "wms", "viewer", None, T0)
    assert other != secret
    found = token_for(store.unit_of_work(), secret, T0)
    assert found is not None and (found.name, found.role) == ("erp", "operator")


@pytest.mark.parametrize(
    ("name", "role", "partner", "rule"),
    [
        ("", "viewer", None, "token-name-well-formed"),
        ("two words", "viewer", None, "token-name-well-formed"),
        ("bell\x07", "viewer", None, "token-name-well-formed"),
        ("x" * 65, "viewer", None, "token-name-well-formed"),
        ("root", "admin", None, "token-role-known"),
        ("hv", "partner", None, "partner-token-names-partner"),
        ("erp", "operator", "harborview", "partner-token-names-partner"),
    ],
)
def test_a_token_is_refused_naming_the_rule_it_breaks(name, role, partner, rule):
    store = FakeStore()
    with pytest.raises(TokenRefused) as refused:
        add_token(store.unit_of_work(), name, role, partner, T0)
    assert refused.value.rule == rule and rule in RULES
    assert store.tables["api_tokens"] == {}


def test_a_token_name_names_one_token():
    store = FakeStore()
    add_token(store.unit_of_work(), "erp", "operator", None, T0)
    with pytest.raises(TokenRefused) as refused:
        add_token(store.unit_of_work(), "erp", "viewer", None, T0)
    assert refused.value.rule == "token-name-unique"


def test_an_unknown_or_revoked_token_is_refused():
    store = FakeStore()
    secret, _ = add_token(store.unit_of_work(), "hv", "partner", "harborview", T0)
    assert token_for(store.unit_of_work(), secret, T0) is not None
    assert token_for(store.unit_of_work(), secret + "x", T0) is None
    assert token_for(store.unit_of_work(), "not-ours", T0) is None
    revoked = revoke_token(store.unit_of_work(), "hv", T0 + dt.timedelta(hours=1))
    assert revoked.revoked and revoked.revoked_at == T0 + dt.timedelta(hours=1)
    assert token_for(store.unit_of_work(), secret, T0 + dt.timedelta(hours=2)) is None
    again = revoke_token(store.unit_of_work(), "hv", T0 + dt.timedelta(hours=3))
    assert again.revoked_at == T0 + dt.timedelta(hours=1)  # revoking again changes nothing
    with pytest.raises(TokenRefused) as refused:
        revoke_token(store.unit_of_work(), "nobody", T0)
    assert refused.value.rule == "token-exists"


def test_the_last_use_is_recorded_at_most_once_a_minute():
    store = FakeStore()
    secret, _ = add_token(store.unit_of_work(), "erp", "viewer", None, T0)
    token_for(store.unit_of_work(), secret, T0)
    commits = store.commits
    token_for(store.unit_of_work(), secret, T0 + dt.timedelta(seconds=30))
    assert store.commits == commits  # no write within the minute
    token_for(store.unit_of_work(), secret, T0 + dt.timedelta(seconds=61))
    (listed,) = tokens(store.unit_of_work())
    assert listed.last_used_at == T0 + dt.timedelta(seconds=61)


def test_an_idempotency_key_is_claimed_by_one_request_and_keeps_its_outcome():
    store = FakeStore()
    add_token(store.unit_of_work(), "erp", "operator", None, T0)
    assert claim_key(store.unit_of_work(), "erp", "k1", "digest-a", T0) is None
    pending = claim_key(store.unit_of_work(), "erp", "k1", "digest-a", T0)
    assert pending is not None and pending.status is None and pending.digest == "digest-a"
    settle_key(store.unit_of_work(), "erp", "k1", 201, '{"record": "F-1"}')
    kept = claim_key(store.unit_of_work(), "erp", "k1", "digest-b", T0)
    assert kept is not None and (kept.status, kept.body, kept.digest) == (
        201,
        '{"record": "F-1"}',
        "digest-a",
    )
    release_key(store.unit_of_work(), "erp", "k1")
    assert claim_key(store.unit_of_work(), "erp", "k1", "digest-b", T0) is None
