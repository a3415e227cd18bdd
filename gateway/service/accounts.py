"""The web console's users, their sessions and their sign-ins.

Strategy: a session is a random token (`secrets.token_urlsafe(32)`) that the browser keeps in a
cookie; the store keeps only its SHA-256 (`token_hash`), so a copy of the database signs nobody
in. Each session has its own CSRF token. A session is over `idle` after its last recorded use
(recorded at most once every `TOUCH_INTERVAL`, to spare the store a write per request: the idle
time may run out up to that much early), `absolute` after it began, as soon as its user is
disabled, and it is ended when its user signs out, is disabled or changes password.

Sign-ins are throttled from the sign-in log: once `attempts` sign-ins failed in the last
`THROTTLE_WINDOW` for a user name, or for an address, every sign-in of that name or address is
refused without its password being checked, and counted as failed too, so an attack that goes on
stays refused; a minute without attempts lifts it. An unknown name costs a hash as a wrong
password costs a verification, and both are told the same sentence (`WRONG`). Every attempt is
logged with its outcome.

Times are given, never read: aware datetimes, kept in UTC. Passwords are hashed by the
`PasswordHasher` port (argon2id in `gateway.adapters.passwords`); users, sessions and the log
are kept by the `Accounts` repository of the unit of work. Each function is one transaction and
commits its own work (a refused sign-in commits its line in the log, then raises).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NoReturn, Protocol

from gateway.errors import AccountRefused, SignInRefused, shown

if TYPE_CHECKING:
    from gateway.service.ports import UnitOfWork

ROLES = ("admin", "operator", "viewer", "partner")
"""What a user may be: `partner` users belong to one partner (`User.partner`)."""
PARTNER_ROLE = "partner"
NAME_LENGTH = 64
"""The longest user name; a longer name given at sign-in is logged cut to this."""
ADDRESS_LENGTH = 128
"""The longest address kept in the sign-in log (an IPv6 address with its zone fits)."""
MIN_PASSWORD_LENGTH = 12
DEFAULT_ATTEMPTS = 10
"""Failed sign-ins a minute, per name and per address, before the rest are refused."""
THROTTLE_WINDOW = dt.timedelta(seconds=60)
TOUCH_INTERVAL = dt.timedelta(seconds=60)
"""A session's last use is written at most this often."""
TOKEN_BYTES = 32

SIGNED_IN = "signed in"
WRONG_PASSWORD = "wrong password"
UNKNOWN_USER = "unknown user"
DISABLED = "disabled"
THROTTLED = "throttled"
SIGNED_OUT = "signed out"
OUTCOMES = (SIGNED_IN, WRONG_PASSWORD, UNKNOWN_USER, DISABLED, THROTTLED, SIGNED_OUT)
"""What the sign-in log says of an attempt (or of a sign-out)."""
FAILURES = (WRONG_PASSWORD, UNKNOWN_USER, THROTTLED)
"""The outcomes the throttle counts."""

WRONG = "the name or the password is wrong"
TOO_MANY = "too many attempts: try again in a minute"
USER_DISABLED = "this user is disabled: ask an administrator"


@dataclass(frozen=True, slots=True)
class User:
    """A user of the web console. `partner` is the partner key of a `partner` user (None for
    the other roles)."""

    name: str
    role: str
    partner: str | None
    disabled: bool
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in session: whose, the token its forms must carry (CSRF), when it began and
    when it was last recorded in use."""

    user: User
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SignIn:
    """One line of the sign-in log: when, the name given, from where, and the outcome (one of
    `OUTCOMES`)."""

    at: dt.datetime
    name: str
    address: str
    outcome: str


class PasswordHasher(Protocol):
    """Turns passwords into hashes that can be checked and cannot be reversed."""

    def hash(self, password: str) -> str:
        """A new hash of `password` (with its own salt and parameters)."""
        ...

    def verify(self, hashed: str, password: str) -> bool:
        """Whether `password` is the one `hashed` was made from (False for a hash it cannot
        read)."""
        ...

    def needs_rehash(self, hashed: str) -> bool:
        """Whether `hashed` was made with other parameters than the hasher's own."""
        ...


class Accounts(Protocol):
    """Users with their password hashes, sessions by the SHA-256 of their token, and the
    sign-in log (`uow.accounts`)."""

    def add(self, user: User, password_hash: str) -> None:
        """A new user (its name not taken: the caller checks)."""
        ...

    def get(self, name: str) -> User | None: ...

    def credentials(self, name: str) -> tuple[User, str] | None:
        """The user named so and its password hash."""
        ...

    def listing(self) -> list[User]:
        """Every user, by name."""
        ...

    def disable(self, name: str, at: dt.datetime) -> None: ...

    def set_password_hash(
        self, name: str, password_hash: str, changed_at: dt.datetime | None = None
    ) -> None:
        """A user's new password hash; `changed_at` None keeps the date of the last change (a
        rehash of the same password)."""
        ...

    def add_session(self, token_hash: str, name: str, csrf_token: str, at: dt.datetime) -> None: ...

    def session(self, token_hash: str) -> WebSession | None: ...

    def touch_session(self, token_hash: str, at: dt.datetime) -> None:
        """Record a use of the session."""
        ...

    def end_session(self, token_hash: str) -> bool:
        """Forget the session; whether there was one."""
        ...

    def end_sessions(self, name: str) -> int:
        """Forget every session of the user; how many."""
        ...

    def record_sign_in(self, sign_in: SignIn) -> None: ...

    def count_sign_ins(
        self,
        outcomes: Collection[str],
        since: dt.datetime,
        *,
        name: str | None = None,
        address: str | None = None,
    ) -> int:
        """How many sign-ins with one of `outcomes` the log holds after `since` (excluded), of
        that name, of that address (None: any)."""
        ...

    def sign_ins(self, limit: int) -> list[SignIn]:
        """The latest `limit` lines of the log, newest first."""
        ...


def token_hash(token: str) -> str:
    """What the store keeps of a session token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def aware_utc(at: dt.datetime) -> dt.datetime:
    """`at` in UTC; a naive datetime is a bug of the caller (ValueError)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} is a naive datetime: give an aware one (UTC)")
    return at.astimezone(dt.UTC)


def well_formed_name(name: str) -> bool:
    """Whether a user's or a token's name is 1 to NAME_LENGTH characters, none a space or a
    control character."""
    return 1 <= len(name) <= NAME_LENGTH and not any(
        character.isspace() or unicodedata.category(character).startswith("C") for character in name
    )


def _check_name(name: str) -> None:
    if not well_formed_name(name):
        raise AccountRefused(
            "user-name-well-formed",
            f"the user name {shown(name)} is not 1 to {NAME_LENGTH} characters without spaces"
            " or control characters",
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountRefused(
            "password-long-enough",
            f"the password is {len(password)} characters long: it needs at least"
            f" {MIN_PASSWORD_LENGTH}",
        )


def _refusal_of_new_user(uow: UnitOfWork, name: str, role: str, partner: str | None) -> None:
    _check_name(name)
    if role not in ROLES:
        raise AccountRefused(
            "user-role-known", f"the role {shown(role)} is not one of {', '.join(ROLES)}"
        )
    if role == PARTNER_ROLE and not partner:
        raise AccountRefused(
            "partner-user-names-partner", "a user of role partner needs the partner's key"
        )
    if role != PARTNER_ROLE and partner:
        raise AccountRefused(
            "partner-user-names-partner",
            f"only a user of role partner belongs to a partner, not one of role {role}",
        )
    if uow.accounts.get(name) is not None:
        raise AccountRefused("user-name-unique", f"a user named {shown(name)} exists already")


def _existing(uow: UnitOfWork, name: str) -> User:
    user = uow.accounts.get(name)
    if user is None:
        raise AccountRefused("user-exists", f"no user named {shown(name)}")
    return user


def check_new_user(uow: UnitOfWork, name: str, role: str, partner: str | None) -> None:
    """Refuse (AccountRefused) a user that `add_user` would refuse for anything but its
    password: for the command line, before it asks for one."""
    with uow:
        _refusal_of_new_user(uow, name, role, partner)


def add_user(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    name: str,
    role: str,
    partner: str | None,
    password: str,
    at: dt.datetime,
) -> User:
    """A new user of the console. Refused (AccountRefused): a name empty, too long or holding
    spaces or control characters, a name taken, a role not in `ROLES`, a `partner` user
    without a partner key or another with one, a password shorter than `MIN_PASSWORD_LENGTH`.
    Whether the partner key is a configured partner is the caller's to check."""
    at = aware_utc(at)
    with uow:
        _refusal_of_new_user(uow, name, role, partner)
        _check_password(password)
        user = User(name, role, partner or None, False, at)
        uow.accounts.add(user, hasher.hash(password))
        uow.commit()
    return user


def users(uow: UnitOfWork) -> list[User]:
    """Every user, by name."""
    with uow:
        return uow.accounts.listing()


def find_user(uow: UnitOfWork, name: str) -> User:
    """The user named `name` (AccountRefused when there is none)."""
    with uow:
        return _existing(uow, name)


def disable_user(uow: UnitOfWork, name: str, at: dt.datetime) -> User:
    """Disable a user (for good: it cannot sign in) and end its sessions; the user as it is
    now. Disabling a disabled user changes nothing."""
    at = aware_utc(at)
    with uow:
        user = _existing(uow, name)
        if not user.disabled:
            uow.accounts.disable(name, at)
        uow.accounts.end_sessions(name)
        uow.commit()
    return replace(user, disabled=True)


def change_password(
    uow: UnitOfWork, hasher: PasswordHasher, name: str, password: str, at: dt.datetime
) -> None:
    """Give a user a new password (at least `MIN_PASSWORD_LENGTH` characters) and end its
    sessions: whoever held one signs in again."""
    at = aware_utc(at)
    _check_password(password)
    with uow:
        _existing(uow, name)
        uow.accounts.set_password_hash(name, hasher.hash(password), at)
        uow.accounts.end_sessions(name)
        uow.commit()


def _turned_away(uow: UnitOfWork, attempt: SignIn, refusal: SignInRefused) -> NoReturn:
    """Log the refused attempt (committed) and raise its refusal."""
    uow.accounts.record_sign_in(attempt)
    uow.commit()
    raise refusal


def sign_in(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    name: str,
    password: str,
    address: str,
    at: dt.datetime,
    attempts: int = DEFAULT_ATTEMPTS,
) -> tuple[str, WebSession]:
    """Sign a user in from `address`: a new session, its raw token (for the cookie, never
    stored) and the session. Refused (SignInRefused), and logged: after `attempts` failed
    sign-ins in the last minute for the name or for the address (throttled, the password not
    checked), for an unknown name or a wrong password (one sentence for both), for a disabled
    user. A hash made with other parameters than the hasher's is made again."""
    at = aware_utc(at)
    given, name, address = name, name[:NAME_LENGTH], address[:ADDRESS_LENGTH]
    with uow:
        since = at - THROTTLE_WINDOW
        accounts = uow.accounts
        if accounts.count_sign_ins(FAILURES, since, name=name) >= attempts or (
            address and accounts.count_sign_ins(FAILURES, since, address=address) >= attempts
        ):
            _turned_away(
                uow,
                SignIn(at, name, address, THROTTLED),
                SignInRefused("sign-in-attempts-limited", TOO_MANY),
            )
        found = accounts.credentials(name) if given == name else None
        if found is None:
            hasher.hash(password)  # as long as a verification: no name is told by the time taken
            _turned_away(
                uow,
                SignIn(at, name, address, UNKNOWN_USER),
                SignInRefused("sign-in-credentials-match", WRONG),
            )
        user, hashed = found
        if not hasher.verify(hashed, password):
            _turned_away(
                uow,
                SignIn(at, name, address, WRONG_PASSWORD),
                SignInRefused("sign-in-credentials-match", WRONG),
            )
        if user.disabled:
            _turned_away(
                uow,
                SignIn(at, name, address, DISABLED),
                SignInRefused("sign-in-user-enabled", USER_DISABLED),
            )
        if hasher.needs_rehash(hashed):
            accounts.set_password_hash(name, hasher.hash(password))
        token, csrf_token = secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES)
        accounts.add_session(token_hash(token), name, csrf_token, at)
        accounts.record_sign_in(SignIn(at, name, address, SIGNED_IN))
        uow.commit()
    return token, WebSession(user, csrf_token, at, at)


def session_for(
    uow: UnitOfWork, token: str, at: dt.datetime, idle: dt.timedelta, absolute: dt.timedelta
) -> WebSession | None:
    """The session whose token the browser gave, None when there is none or it is over: idle
    longer than `idle` since its last recorded use, begun longer than `absolute` ago, or its
    user disabled (such a session is ended). Its use is recorded when the last one recorded is
    `TOUCH_INTERVAL` old or more."""
    at = aware_utc(at)
    with uow:
        key = token_hash(token)
        session = uow.accounts.session(key)
        if session is None:
            return None
        if (
            session.user.disabled
            or at - session.last_seen_at > idle
            or at - session.created_at > absolute
        ):
            uow.accounts.end_session(key)
            uow.commit()
            return None
        if at - session.last_seen_at >= TOUCH_INTERVAL:
            uow.accounts.touch_session(key, at)
            uow.commit()
            session = replace(session, last_seen_at=at)
        return session


def sign_out(uow: UnitOfWork, token: str, at: dt.datetime, address: str = "") -> bool:
    """End the session whose token the browser gave, logged as signed out (from `address`,
    when given); whether there was one."""
    at = aware_utc(at)
    with uow:
        key = token_hash(token)
        session = uow.accounts.session(key)
        if session is None:
            return False
        uow.accounts.end_session(key)
        uow.accounts.record_sign_in(
            SignIn(at, session.user.name, address[:ADDRESS_LENGTH], SIGNED_OUT)
        )
        uow.commit()
    return True


def sign_ins(uow: UnitOfWork, limit: int = 50) -> list[SignIn]:
    """The latest `limit` lines of the sign-in log, newest first."""
    with uow:
        return uow.accounts.sign_ins(limit)
