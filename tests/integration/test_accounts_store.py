"""The web console's accounts on the SQL store, SQLite and PostgreSQL (`gateway.service.accounts`
over `SqlAccounts`): users, sign-ins throttled per name and per address, sessions kept by the
hash of their token and ended idle, old, disabled or signed out, times given back aware in UTC;
the argon2id hasher the gateway is wired with; migration 0007 from a store at 0006."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from gateway.adapters import orm
from gateway.adapters.migrate import current_revision, head_revision, upgrade
from gateway.adapters.passwords import Argon2Hasher
from gateway.bootstrap import Gateway
from gateway.errors import AccountRefused, SignInRefused
from gateway.service.accounts import (
    SignIn,
    add_user,
    change_password,
    disable_user,
    session_for,
    sign_in,
    sign_ins,
    sign_out,
    token_hash,
    users,
)
from gateway.service.ports import UnitOfWork
from tests.integration.test_fulfilment_spelling import downgrade

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"
IDLE, ABSOLUTE = dt.timedelta(minutes=30), dt.timedelta(hours=12)
HERE, THERE = "192.0.2.10", "2001:db8::7"
CHEAP = Argon2Hasher.cheap()


def at(**delta: float) -> dt.datetime:
    return T0 + dt.timedelta(**delta)


@pytest.fixture
def uow(gateway: Gateway) -> Callable[[], UnitOfWork]:
    """New units of work on the store, with ann, an operator, and pat, Harborview's user."""
    add_user(gateway.uow_factory(), CHEAP, "ann", "operator", None, PASSWORD, T0)
    add_user(gateway.uow_factory(), CHEAP, "pat", "partner", "harborview", PASSWORD, T0)
    return gateway.uow_factory


def refused(uow: Callable[[], UnitOfWork], when: dt.datetime, *, name: str = "ann",
            password: str = "wrong password!", address: str = HERE) -> str:  # fmt: skip
    with pytest.raises(SignInRefused) as caught:
        sign_in(uow(), CHEAP, name, password, address, when)
    return caught.value.rule


def outcomes(uow: Callable[[], UnitOfWork]) -> list[str]:
    return [line.outcome for line in reversed(sign_ins(uow(), 1000))]


def test_users_are_kept_with_an_argon2id_hash_and_aware_times(gateway: Gateway, uow):
    listed = users(uow())
    assert [(u.name, u.role, u.partner, u.disabled) for u in listed] == [
        ("ann", "operator", None, False),
        ("pat", "partner", "harborview", False),
    ]
    assert listed[0].created_at == T0 and listed[0].created_at.tzinfo is not None
    with pytest.raises(AccountRefused, match="user-name-unique"):
        add_user(uow(), CHEAP, "ann", "admin", None, PASSWORD, T0)
    with gateway.engine.connect() as connection:
        hashes = connection.execute(select(orm.users.c.password_hash)).scalars().all()
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


def test_a_name_taken_meanwhile_is_refused_and_the_transaction_goes_on(gateway: Gateway, uow):
    """The service looks for the name first; a worker adding the same name between the look
    and the insert is refused by the table's key, as the service would have refused it."""
    with uow() as unit:
        taken = users(gateway.uow_factory())[0]
        with pytest.raises(AccountRefused, match="user-name-unique"):
            unit.accounts.add(taken, CHEAP.hash(PASSWORD))
        unit.accounts.add(dataclasses.replace(taken, name="zoe"), CHEAP.hash(PASSWORD))
        unit.commit()
    assert [u.name for u in users(uow())] == ["ann", "pat", "zoe"]


def test_a_session_is_kept_by_the_hash_of_its_token_and_read_back(gateway: Gateway, uow):
    token, session = sign_in(uow(), CHEAP, "ann", PASSWORD, HERE, at(seconds=1))
    again, _ = sign_in(uow(), CHEAP, "ann", PASSWORD, HERE, at(seconds=2))
    assert token != again
    with gateway.engine.connect() as connection:
        rows = connection.execute(select(orm.web_sessions)).all()
    assert {row.token_hash for row in rows} == {token_hash(token), token_hash(again)}
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in str(tuple(row)) or again in str(tuple(row)) for row in rows)
    found = session_for(uow(), token, at(seconds=30), IDLE, ABSOLUTE)
    assert found == session  # its user, CSRF token and times, aware and in UTC
    assert found is not None and found.created_at.utcoffset() == dt.timedelta(0)


def test_times_in_another_zone_are_kept_as_the_same_moment(uow):
    paris = dt.timezone(dt.timedelta(hours=1))
    token, _ = sign_in(uow(), CHEAP, "ann", PASSWORD, HERE, T0.astimezone(paris))
    found = session_for(uow(), token, at(minutes=1), IDLE, ABSOLUTE)
    assert found is not None and found.created_at == T0 and found.last_seen_at == at(minutes=1)


def test_sessions_end_idle_old_and_signed_out(uow):
    token, _ = sign_in(uow(), CHEAP, "ann", PASSWORD, HERE, T0)
    seen = session_for(uow(), token, at(seconds=59), IDLE, ABSOLUTE)
    assert seen is not None and seen.last_seen_at == T0  # not written: under a minute
    seen = session_for(uow(), token, at(minutes=25), IDLE, ABSOLUTE)
    assert seen is not None and seen.last_seen_at == at(minutes=25)
    assert session_for(uow(), token, at(minutes=55, seconds=1), IDLE, ABSOLUTE) is None
    assert session_for(uow(), token, at(minutes=55), IDLE, ABSOLUTE) is None  # ended for good

    busy, _ = sign_in(uow(), CHEAP, "ann", PASSWORD, HERE, at(hours=1))
    for minutes in range(20, 12 * 60 + 1, 20):
        assert session_for(uow(), busy, at(hours=1, minutes=minutes), IDLE, ABSOLUTE)
    assert session_for(uow(), busy, at(hours=13, seconds=1), IDLE, ABSOLUTE) is None

    leaving, _ = sign_in(uow(), CHEAP, "pat", PASSWORD, THERE, at(hours=14))
    assert sign_out(uow(), leaving, at(hours=14, minutes=1), THERE)
    assert session_for(uow(), leaving, at(hours=14, minutes=2), IDLE, ABSOLUTE) is None
    assert not sign_out(uow(), leaving, at(hours=14, minutes=3))
    assert sign_ins(uow(), 1) == [SignIn(at(hours=14, minutes=1), "pat", THERE, "signed out")]


def test_the_eleventh_failure_in_a_minute_for_a_name_is_throttled(uow):
    for second in range(10):
        assert refused(uow, at(seconds=second), address=f"203.0.113.{second}") == (
            "sign-in-credentials-match"
        )
    assert refused(uow, at(seconds=10), password=PASSWORD) == "sign-in-attempts-limited"
    assert refused(uow, at(seconds=59), password=PASSWORD) == "sign-in-attempts-limited"
    token, _ = sign_in(uow(), CHEAP, "ann", PASSWORD, THERE, at(seconds=71))
    assert session_for(uow(), token, at(seconds=72), IDLE, ABSOLUTE) is not None
    assert outcomes(uow) == ["wrong password"] * 10 + ["throttled"] * 2 + ["signed in"]


def test_the_eleventh_failure_in_a_minute_from_an_address_is_throttled(uow):
    for second in range(10):
        refused(uow, at(seconds=second), name=f"guess{second}", address=THERE)
    assert refused(uow, at(seconds=10), name="pat", password=PASSWORD, address=THERE) == (
        "sign-in-attempts-limited"
    )
    assert sign_in(uow(), CHEAP, "pat", PASSWORD, HERE, at(seconds=11))  # from elsewhere
    assert sign_in(uow(), CHEAP, "pat", PASSWORD, THERE, at(seconds=61))  # a minute later
    assert outcomes(uow) == ["unknown user"] * 10 + ["throttled"] + ["signed in"] * 2


def test_disabled_users_and_new_passwords_end_sessions(uow):
    token, _ = sign_in(uow(), CHEAP, "ann", PASSWORD, HERE, T0)
    other, _ = sign_in(uow(), CHEAP, "pat", PASSWORD, HERE, T0)
    assert disable_user(uow(), "ann", at(seconds=1)).disabled
    assert session_for(uow(), token, at(seconds=2), IDLE, ABSOLUTE) is None
    assert refused(uow, at(seconds=3), password=PASSWORD) == "sign-in-user-enabled"
    assert [u.disabled for u in users(uow())] == [True, False]

    change_password(uow(), CHEAP, "pat", "another long password", at(seconds=4))
    assert session_for(uow(), other, at(seconds=5), IDLE, ABSOLUTE) is None
    assert refused(uow, at(seconds=6), name="pat", password=PASSWORD) == (
        "sign-in-credentials-match"
    )
    assert sign_in(uow(), CHEAP, "pat", "another long password", HERE, at(seconds=7))


def test_a_hash_with_old_parameters_is_made_again_at_sign_in(gateway: Gateway, uow):
    stronger = Argon2Hasher(time_cost=2, memory_cost=16, parallelism=1)

    def stored() -> str:
        with gateway.engine.connect() as connection:
            query = select(orm.users.c.password_hash).where(orm.users.c.name == "ann")
            return str(connection.execute(query).scalar_one())

    assert "$m=8,t=1,p=1$" in stored()
    sign_in(uow(), stronger, "ann", PASSWORD, HERE, T0)
    assert "$m=16,t=2,p=1$" in stored() and stronger.verify(stored(), PASSWORD)


def test_the_gateway_hashes_with_argon2id(gateway: Gateway):
    assert isinstance(gateway.password_hasher, Argon2Hasher)
    assert gateway.password_hasher.needs_rehash(CHEAP.hash(PASSWORD))


def test_argon2id_hashes_verify_the_password_and_nothing_else():
    hasher = Argon2Hasher()  # the parameters the gateway uses
    hashed = hasher.hash(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert hasher.verify(hashed, PASSWORD)
    assert not hasher.verify(hashed, PASSWORD + " ")
    assert not hasher.verify("not a hash", PASSWORD) and hasher.needs_rehash("not a hash")
    assert not hasher.needs_rehash(hashed)
    assert hasher.hash(PASSWORD) != hashed  # a salt of its own


def test_migration_0007_takes_a_store_at_0006_up_and_back(store_engine: Engine):
    downgrade(store_engine, "0006")
    assert current_revision(store_engine) == "0006"
    assert not {"users", "web_sessions", "sign_ins"} & set(inspect(store_engine).get_table_names())
    upgrade(store_engine)
    assert current_revision(store_engine) == head_revision()
    assert {"users", "web_sessions", "sign_ins"} <= set(inspect(store_engine).get_table_names())
    with store_engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), orm.metadata) == []
    indexes = {index["name"] for index in inspect(store_engine).get_indexes("sign_ins")}
    assert {"ix_sign_ins_name_at", "ix_sign_ins_address_at"} <= indexes
