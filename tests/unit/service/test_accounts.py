"""The web console's users, sessions and sign-ins (`gateway.service.accounts`) on the fake store,
with a hasher that costs nothing: who may be added, the throttle per name and per address, the
idle and absolute ends of a session, disabled users, signing out, a new token at each sign-in
kept only as its hash, and the rehash of a hash made with other parameters."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from gateway.errors import RULES, AccountRefused, SignInRefused
from gateway.service import accounts
from gateway.service.accounts import (
    SignIn,
    User,
    add_user,
    change_password,
    check_new_user,
    disable_user,
    find_user,
    session_for,
    sign_in,
    sign_ins,
    sign_out,
    token_hash,
    users,
)
from tests.fakes import FakeStore

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"
IDLE = dt.timedelta(minutes=30)
ABSOLUTE = dt.timedelta(hours=12)
HERE, THERE = "192.0.2.10", "198.51.100.7"


class FakeHasher:
    """`fake$VERSION$sha256(password)`: as fast as a hash can be, and countable. A hash of
    another version needs a rehash."""

    def __init__(self, version: int = 1):
        self.version = version
        self.hashed = 0
        self.verified = 0

    def hash(self, password: str) -> str:
        self.hashed += 1
        return f"fake${self.version}${hashlib.sha256(password.encode()).hexdigest()}"

    def verify(self, hashed: str, password: str) -> bool:
        self.verified += 1
        return hashed.rsplit("$", maxsplit=1)[-1] == hashlib.sha256(password.encode()).hexdigest()

    def needs_rehash(self, hashed: str) -> bool:
        return hashed.split("$")[1] != str(self.version)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(clock=lambda: T0)


@pytest.fixture
def hasher() -> FakeHasher:
    return FakeHasher()


def at(**delta: float) -> dt.datetime:
    return T0 + dt.timedelta(**delta)


def add(store: FakeStore, hasher: FakeHasher, name: str = "ann", role: str = "operator",
        partner: str | None = None, password: str = PASSWORD) -> User:  # fmt: skip
    return add_user(store.unit_of_work(), hasher, name, role, partner, password, T0)


def signed_in(store: FakeStore, hasher: FakeHasher, when: dt.datetime, name: str = "ann",
              password: str = PASSWORD, address: str = HERE) -> str:  # fmt: skip
    token, _ = sign_in(store.unit_of_work(), hasher, name, password, address, when)
    return token


def refused(store: FakeStore, hasher: FakeHasher, when: dt.datetime, name: str = "ann",
            password: str = "wrong password!", address: str = HERE) -> SignInRefused:  # fmt: skip
    with pytest.raises(SignInRefused) as caught:
        sign_in(store.unit_of_work(), hasher, name, password, address, when)
    return caught.value


def outcomes(store: FakeStore) -> list[str]:
    """The sign-in log's outcomes, oldest first."""
    return [line.outcome for line in reversed(sign_ins(store.unit_of_work(), 1000))]


def current(store: FakeStore, token: str, when: dt.datetime):
    return session_for(store.unit_of_work(), token, when, IDLE, ABSOLUTE)


# -- users ---------------------------------------------------------------------------------------


def test_a_user_is_added_listed_and_found_with_its_password_kept_only_as_a_hash(store, hasher):
    added = add(store, hasher)
    add(store, hasher, "bob", "partner", "harborview")
    assert added == User("ann", "operator", None, False, T0)
    assert [(u.name, u.role, u.partner) for u in users(store.unit_of_work())] == [
        ("ann", "operator", None),
        ("bob", "partner", "harborview"),
    ]
    assert find_user(store.unit_of_work(), "bob").partner == "harborview"
    assert PASSWORD not in repr(store.tables["users"])
    with store.unit_of_work() as uow:
        found = uow.accounts.credentials("ann")
        assert found is not None and hasher.verify(found[1], PASSWORD)


@pytest.mark.parametrize(
    ("name", "role", "partner", "password", "rule"),
    [
        ("ann", "operator", None, PASSWORD, "user-name-unique"),
        ("", "operator", None, PASSWORD, "user-name-well-formed"),
        ("al ice", "operator", None, PASSWORD, "user-name-well-formed"),
        ("al\x1bice", "operator", None, PASSWORD, "user-name-well-formed"),
        ("x" * 65, "operator", None, PASSWORD, "user-name-well-formed"),
        ("carl", "superuser", None, PASSWORD, "user-role-known"),
        ("carl", "partner", None, PASSWORD, "partner-user-names-partner"),
        ("carl", "admin", "harborview", PASSWORD, "partner-user-names-partner"),
        ("carl", "viewer", None, "elevenchars", "password-long-enough"),
    ],
)
def test_what_a_new_user_cannot_be(store, hasher, name, role, partner, password, rule):
    add(store, hasher)
    with pytest.raises(AccountRefused) as caught:
        add_user(store.unit_of_work(), hasher, name, role, partner, password, T0)
    assert caught.value.rule == rule
    assert rule in RULES and caught.value.rule in str(caught.value)
    assert [u.name for u in users(store.unit_of_work())] == ["ann"]
    if rule != "password-long-enough":  # the command line asks before the password
        with pytest.raises(AccountRefused, match=rule):
            check_new_user(store.unit_of_work(), name, role, partner)


def test_every_role_can_be_added_and_twelve_characters_are_enough(store, hasher):
    for role in accounts.ROLES:
        add(store, hasher, role, role, "harborview" if role == "partner" else None, "x" * 12)
    assert [u.role for u in users(store.unit_of_work())] == sorted(accounts.ROLES)


def test_an_action_on_no_such_user_is_refused(store, hasher):
    for action in (
        lambda: find_user(store.unit_of_work(), "nobody"),
        lambda: disable_user(store.unit_of_work(), "nobody", T0),
        lambda: change_password(store.unit_of_work(), hasher, "nobody", PASSWORD, T0),
    ):
        with pytest.raises(AccountRefused) as caught:
            action()
        assert caught.value.rule == "user-exists"


def test_times_must_be_aware(store, hasher):
    with pytest.raises(ValueError, match="naive"):
        add_user(
            store.unit_of_work(), hasher, "ann", "admin", None, PASSWORD, dt.datetime(2026, 1, 1)
        )


# -- signing in ----------------------------------------------------------------------------------


def test_a_sign_in_gives_a_new_token_each_time_kept_only_as_its_hash(store, hasher):
    add(store, hasher)
    first, session = sign_in(store.unit_of_work(), hasher, "ann", PASSWORD, HERE, at(seconds=1))
    second, other = sign_in(store.unit_of_work(), hasher, "ann", PASSWORD, HERE, at(seconds=2))
    assert first != second and len(first) >= 43 and len(session.csrf_token) >= 43
    assert session.csrf_token != other.csrf_token and session.csrf_token not in (first, second)
    assert (session.user.name, session.created_at, session.last_seen_at) == (
        "ann", at(seconds=1), at(seconds=1)
    )  # fmt: skip
    assert set(store.tables["web_sessions"]) == {token_hash(first), token_hash(second)}
    assert token_hash(first) == hashlib.sha256(first.encode()).hexdigest()
    assert first not in repr(store.tables) and second not in repr(store.tables)
    # both sessions stand, each with its own CSRF token
    assert current(store, first, at(seconds=3)).csrf_token == session.csrf_token
    assert current(store, second, at(seconds=3)).csrf_token == other.csrf_token
    assert outcomes(store) == ["signed in", "signed in"]


def test_an_unknown_name_and_a_wrong_password_are_told_the_same(store, hasher):
    add(store, hasher)
    hashed_before = hasher.hashed
    unknown = refused(store, hasher, at(seconds=1), name="nobody", password=PASSWORD)
    wrong = refused(store, hasher, at(seconds=2))
    assert str(unknown) == str(wrong) and unknown.message == "the name or the password is wrong"
    assert unknown.rule == wrong.rule == "sign-in-credentials-match"
    assert hasher.hashed == hashed_before + 1  # the unknown name cost a hash, as a verification
    assert outcomes(store) == ["unknown user", "wrong password"]
    assert store.tables["web_sessions"] == {}
    (line, _) = sign_ins(store.unit_of_work(), 2)
    assert line == SignIn(at(seconds=2), "ann", HERE, "wrong password")


def test_a_name_longer_than_any_is_unknown_even_when_it_starts_like_one(store, hasher):
    add(store, hasher, "a" * 64)
    assert refused(store, hasher, T0, name="a" * 70, password=PASSWORD).rule == (
        "sign-in-credentials-match"
    )
    assert sign_ins(store.unit_of_work(), 1)[0] == SignIn(T0, "a" * 64, HERE, "unknown user")


def test_the_eleventh_attempt_in_a_minute_for_a_name_is_throttled_then_a_minute_later_not(
    store, hasher
):
    add(store, hasher)
    for second in range(10):  # from ten addresses: the name alone is counted
        refused(store, hasher, at(seconds=second), address=f"203.0.113.{second}")
    verified = hasher.verified
    throttled = refused(store, hasher, at(seconds=10), password=PASSWORD, address=THERE)
    assert throttled.message == "too many attempts: try again in a minute"
    assert throttled.rule == "sign-in-attempts-limited"
    assert hasher.verified == verified  # the password was not even checked
    # still within a minute of the ten failures: refused, and counted
    assert refused(store, hasher, at(seconds=59), password=PASSWORD).rule == (
        "sign-in-attempts-limited"
    )
    assert outcomes(store) == ["wrong password"] * 10 + ["throttled"] * 2
    assert store.tables["web_sessions"] == {}
    # a minute after the last failures but one: 9 in the window, below the limit
    token = signed_in(store, hasher, at(seconds=71))
    assert current(store, token, at(seconds=72)) is not None
    assert outcomes(store)[-1] == "signed in"


def test_an_attack_that_goes_on_stays_throttled(store, hasher):
    """Throttled attempts count as failures: refused attempts every few seconds keep the
    window full, and only a quiet minute lifts it."""
    add(store, hasher)
    for second in range(10):
        refused(store, hasher, at(seconds=second))
    for second in range(10, 61, 5):
        refused(store, hasher, at(seconds=second), password=PASSWORD)
    # the ten wrong passwords but four are more than a minute old; the throttled ones are not
    assert refused(store, hasher, at(seconds=65), password=PASSWORD).rule == (
        "sign-in-attempts-limited"
    )
    assert outcomes(store) == ["wrong password"] * 10 + ["throttled"] * 12
    assert signed_in(store, hasher, at(seconds=126))


def test_attempts_from_one_address_are_counted_whatever_the_names(store, hasher):
    add(store, hasher)
    for second in range(10):
        refused(store, hasher, at(seconds=second), name=f"guess{second}", address=THERE)
    assert outcomes(store) == ["unknown user"] * 10
    from_there = refused(store, hasher, at(seconds=10), password=PASSWORD, address=THERE)
    assert from_there.rule == "sign-in-attempts-limited"
    assert signed_in(store, hasher, at(seconds=11), address=HERE)  # the name is not throttled
    assert signed_in(store, hasher, at(seconds=61), address=THERE)  # a minute later


def test_the_limit_is_the_one_given(store, hasher):
    add(store, hasher)
    for second in range(3):
        refused(store, hasher, at(seconds=second))
    with pytest.raises(SignInRefused, match="too many attempts"):
        sign_in(store.unit_of_work(), hasher, "ann", PASSWORD, HERE, at(seconds=3), attempts=3)
    token, _ = sign_in(store.unit_of_work(), hasher, "ann", PASSWORD, HERE, at(seconds=4))
    assert token  # 4 failures, under the default of 10


def test_a_disabled_user_cannot_sign_in_and_its_sessions_end(store, hasher):
    add(store, hasher)
    token = signed_in(store, hasher, T0)
    disabled = disable_user(store.unit_of_work(), "ann", at(seconds=1))
    assert disabled.disabled and find_user(store.unit_of_work(), "ann").disabled
    assert store.tables["web_sessions"] == {}  # ended with the disabling
    assert current(store, token, at(seconds=2)) is None
    turned_away = refused(store, hasher, at(seconds=3), password=PASSWORD)
    assert turned_away.rule == "sign-in-user-enabled"
    assert refused(store, hasher, at(seconds=4)).rule == "sign-in-credentials-match"
    assert outcomes(store) == ["signed in", "disabled", "wrong password"]
    assert disable_user(store.unit_of_work(), "ann", at(seconds=5)).disabled  # changes nothing


def test_a_session_of_a_user_disabled_behind_its_back_is_over(store, hasher):
    add(store, hasher)
    token = signed_in(store, hasher, T0)
    with store.unit_of_work() as uow:  # disabled without its sessions ended
        uow.accounts.disable("ann", T0)
        uow.commit()
    assert current(store, token, at(seconds=1)) is None


def test_a_hash_made_with_other_parameters_is_made_again_at_sign_in(store):
    old = FakeHasher(version=1)
    add(store, old)
    with store.unit_of_work() as uow:
        before = uow.accounts.credentials("ann")
    assert before is not None and before[1].startswith("fake$1$")
    new = FakeHasher(version=2)
    signed_in(store, new, T0)
    with store.unit_of_work() as uow:
        after = uow.accounts.credentials("ann")
    assert after is not None and after[1].startswith("fake$2$")
    assert new.verify(after[1], PASSWORD)
    hashed = new.hashed
    signed_in(store, new, at(seconds=1))
    assert new.hashed == hashed  # made once, not at every sign-in


# -- sessions ------------------------------------------------------------------------------------


def test_a_session_idle_longer_than_allowed_is_over(store, hasher):
    add(store, hasher)
    token = signed_in(store, hasher, T0)
    assert current(store, token, at(minutes=30)) is not None  # exactly the idle time: not past
    assert current(store, token, at(minutes=60)) is not None  # 30 min after the last use
    assert current(store, token, at(minutes=90, seconds=1)) is None
    assert store.tables["web_sessions"] == {}  # ended
    assert current(store, token, at(minutes=90, seconds=2)) is None


def test_a_session_older_than_the_absolute_limit_is_over_however_busy(store, hasher):
    add(store, hasher)
    token = signed_in(store, hasher, T0)
    for minutes in range(20, 12 * 60 + 1, 20):
        assert current(store, token, at(minutes=minutes)) is not None, minutes
    assert current(store, token, at(hours=12, seconds=1)) is None


def test_a_use_is_written_at_most_once_a_minute(store, hasher):
    add(store, hasher)
    token = signed_in(store, hasher, T0)
    commits = store.commits
    seen = current(store, token, at(seconds=59))
    assert seen is not None and seen.last_seen_at == T0 and store.commits == commits
    seen = current(store, token, at(seconds=60))
    assert seen is not None and seen.last_seen_at == at(seconds=60)
    assert store.commits == commits + 1
    assert current(store, token, at(seconds=61)).last_seen_at == at(seconds=60)


def test_an_unknown_token_has_no_session(store, hasher):
    add(store, hasher)
    signed_in(store, hasher, T0)
    assert current(store, "not-a-token", at(seconds=1)) is None
    assert current(store, "", at(seconds=1)) is None


def test_signing_out_ends_the_session_and_is_logged(store, hasher):
    add(store, hasher)
    token = signed_in(store, hasher, T0)
    other = signed_in(store, hasher, at(seconds=1))
    assert sign_out(store.unit_of_work(), token, at(seconds=2), HERE) is True
    assert current(store, token, at(seconds=3)) is None
    assert current(store, other, at(seconds=3)) is not None  # the other session stands
    assert sign_out(store.unit_of_work(), token, at(seconds=4)) is False
    assert outcomes(store) == ["signed in", "signed in", "signed out"]
    assert sign_ins(store.unit_of_work(), 1)[0] == SignIn(at(seconds=2), "ann", HERE, "signed out")


def test_a_new_password_ends_the_sessions_and_replaces_the_old(store, hasher):
    add(store, hasher)
    token = signed_in(store, hasher, T0)
    with pytest.raises(AccountRefused, match="password-long-enough"):
        change_password(store.unit_of_work(), hasher, "ann", "too short", at(seconds=1))
    assert current(store, token, at(seconds=2)) is not None  # refused: nothing changed
    change_password(store.unit_of_work(), hasher, "ann", "a new and longer one", at(seconds=3))
    assert current(store, token, at(seconds=4)) is None
    assert refused(store, hasher, at(seconds=5), password=PASSWORD).rule == (
        "sign-in-credentials-match"
    )
    assert signed_in(store, hasher, at(seconds=6), password="a new and longer one")


def test_the_log_is_read_newest_first_up_to_the_limit(store, hasher):
    add(store, hasher)
    signed_in(store, hasher, at(seconds=2))
    refused(store, hasher, at(seconds=1), name="nobody")  # logged later, happened earlier
    refused(store, hasher, at(seconds=3))
    assert [(s.at, s.outcome) for s in sign_ins(store.unit_of_work(), 10)] == [
        (at(seconds=3), "wrong password"),
        (at(seconds=2), "signed in"),
        (at(seconds=1), "unknown user"),
    ]
    assert len(sign_ins(store.unit_of_work(), 2)) == 2
