"""The API's tokens and idempotency keys on the SQL store, SQLite and PostgreSQL
(`gateway.service.tokens` over `SqlApiTokens` and `SqlIdempotencyKeys`): a token kept by the
hash of its secret, found, touched, revoked, times given back aware in UTC; a key claimed once,
its outcome kept, given up; migration 0008 from a store at 0007."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from gateway.adapters import orm
from gateway.adapters.migrate import current_revision, upgrade
from gateway.bootstrap import Gateway
from gateway.errors import TokenRefused
from gateway.service.accounts import token_hash
from gateway.service.tokens import (
    add_token,
    claim_key,
    release_key,
    revoke_token,
    settle_key,
    token_for,
    tokens,
)
from tests.integration.test_fulfilment_spelling import downgrade

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def test_tokens_are_kept_by_their_hash_and_refused_once_revoked(gateway: Gateway):
    uow = gateway.uow_factory
    secret, _ = add_token(uow(), "hv", "partner", "harborview", T0)
    with pytest.raises(TokenRefused) as taken:
        add_token(uow(), "hv", "viewer", None, T0)
    assert taken.value.rule == "token-name-unique"
    with uow() as held:
        row = held.connection.execute(select(orm.api_tokens)).one()  # type: ignore[attr-defined]
    assert row.token_hash == token_hash(secret) and secret not in str(tuple(row))
    found = token_for(uow(), secret, T0 + dt.timedelta(minutes=5))
    assert found is not None and (found.name, found.role, found.partner) == (
        "hv",
        "partner",
        "harborview",
    )
    (listed,) = tokens(uow())
    assert listed.last_used_at == T0 + dt.timedelta(minutes=5)
    assert listed.created_at.tzinfo is not None and listed.created_at == T0
    revoke_token(uow(), "hv", T0 + dt.timedelta(hours=1))
    assert token_for(uow(), secret, T0 + dt.timedelta(hours=2)) is None
    (listed,) = tokens(uow())
    assert listed.revoked_at == T0 + dt.timedelta(hours=1)


def test_an_idempotency_key_is_inserted_once_and_keeps_its_outcome(gateway: Gateway):
    uow = gateway.uow_factory
    add_token(uow(), "erp", "operator", None, T0)
    assert claim_key(uow(), "erp", "key-1", "a" * 64, T0) is None
    pending = claim_key(uow(), "erp", "key-1", "a" * 64, T0)
    assert pending is not None and pending.status is None
    settle_key(uow(), "erp", "key-1", 201, '{"record": "F-1"}')
    kept = claim_key(uow(), "erp", "key-1", "b" * 64, T0)
    assert kept is not None and (kept.status, kept.body, kept.digest) == (
        201,
        '{"record": "F-1"}',
        "a" * 64,
    )
    release_key(uow(), "erp", "key-1")
    assert claim_key(uow(), "erp", "key-1", "b" * 64, T0) is None


def test_migration_0008_takes_a_store_at_0007_up_and_back(store_engine: Engine):
    downgrade(store_engine, "0007")
    assert current_revision(store_engine) == "0007"
    tables = set(inspect(store_engine).get_table_names())
    assert not {"api_tokens", "idempotency_keys"} & tables
    upgrade(store_engine, "0008")
    assert current_revision(store_engine) == "0008"
    assert {"api_tokens", "idempotency_keys"} <= set(inspect(store_engine).get_table_names())
    upgrade(store_engine)  # and on to the newest, which the tables declared match
    with store_engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), orm.metadata) == []
