"""The API's tokens, and the outcomes of its requests kept by their idempotency keys.

Strategy: a token is `gw_` and a random `secrets.token_urlsafe(32)`, shown once when it is
made; the store keeps only its SHA-256 (`accounts.token_hash`, as for the console's sessions),
so a copy of the database calls the API as nobody. A token has a name (unique), a role
(`operator`, `viewer` or `partner`, with the partner's key) and acts with the same rights and
scoping as a console user of that role; revoked, it is refused from the next request on. Its
last use is recorded at most once every `TOUCH_INTERVAL`.

An idempotency key is claimed before its request is done: a row (the token's name, the key,
the request's digest) inserted and committed first, so of two requests with one key at the
same time only one inserts it and acts; the outcome (status and body) is written to that row
once the request is answered, and every later request with the key gets it back. A request
that failed on our side (an error of ours, the store unavailable) gives its key up, so that
a retry can be done.

Times are given, never read: aware datetimes, kept in UTC. Each function is one transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from gateway.errors import ConcurrentUpdate, TokenRefused, shown
from gateway.service.accounts import NAME_LENGTH, aware_utc, token_hash, well_formed_name

if TYPE_CHECKING:
    from gateway.service.ports import UnitOfWork

TOKEN_ROLES = ("operator", "viewer", "partner")
"""What a token may be: an API is not for managing the console's users."""
PARTNER_ROLE = "partner"
TOKEN_PREFIX = "gw_"
TOKEN_BYTES = 32
KEY_LENGTH = 255
"""The longest idempotency key taken."""
TOUCH_INTERVAL = dt.timedelta(seconds=60)
"""A token's last use is written at most this often."""


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token of the API (never its secret): its name, role, partner (of a `partner`
    token), when it was made, last used and revoked (None: not yet)."""

    name: str
    role: str
    partner: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True, slots=True)
class KeptOutcome:
    """What is kept of a request made with an idempotency key: its digest, and once answered
    its status and JSON body (None while it is being answered)."""

    token: str
    key: str
    digest: str
    status: int | None
    body: str | None
    claimed_at: dt.datetime | None = None  # when the request that claimed it came


class ApiTokens(Protocol):
    """Tokens by the SHA-256 of their secret (`uow.tokens`)."""

    def add(self, token: ApiToken, token_hash: str) -> None:
        """A new token; TokenRefused when its name is taken."""
        ...

    def get(self, name: str) -> ApiToken | None: ...

    def by_hash(self, token_hash: str) -> ApiToken | None: ...

    def listing(self) -> list[ApiToken]:
        """Every token, by name."""
        ...

    def revoke(self, name: str, at: dt.datetime) -> None: ...

    def touch(self, name: str, at: dt.datetime) -> None:
        """Record a use of the token."""
        ...


class IdempotencyKeys(Protocol):
    """Requests' outcomes by token name and idempotency key (`uow.idempotency`)."""

    def claim(self, token: str, key: str, digest: str, at: dt.datetime) -> bool:
        """Keep the key for a request with `digest`; False when the token holds it already
        (the transaction goes on without it)."""
        ...

    def get(self, token: str, key: str) -> KeptOutcome | None: ...

    def settle(self, token: str, key: str, status: int, body: str) -> None:
        """The request's outcome, kept with its key."""
        ...

    def release(self, token: str, key: str) -> None:
        """Forget the key (its request was not answered)."""
        ...


def _check_new_token(uow: UnitOfWork, name: str, role: str, partner: str | None) -> None:
    if not well_formed_name(name):
        raise TokenRefused(
            "token-name-well-formed",
            f"the token name {shown(name)} is not 1 to {NAME_LENGTH} characters without spaces"
            " or control characters",
        )
    if role not in TOKEN_ROLES:
        raise TokenRefused(
            "token-role-known", f"the role {shown(role)} is not one of {', '.join(TOKEN_ROLES)}"
        )
    if role == PARTNER_ROLE and not partner:
        raise TokenRefused(
            "partner-token-names-partner", "a token of role partner needs the partner's key"
        )
    if role != PARTNER_ROLE and partner:
        raise TokenRefused(
            "partner-token-names-partner",
            f"only a token of role partner belongs to a partner, not one of role {role}",
        )
    if uow.tokens.get(name) is not None:
        raise TokenRefused("token-name-unique", f"a token named {shown(name)} exists already")


def add_token(
    uow: UnitOfWork, name: str, role: str, partner: str | None, at: dt.datetime
) -> tuple[str, ApiToken]:
    """A new token: its secret (to be shown once, never stored) and the token. Refused
    (TokenRefused): a name empty, too long or holding spaces or control characters, a name
    taken, a role not in `TOKEN_ROLES`, a `partner` token without a partner key or another
    with one. Whether the partner key is a configured partner is the caller's to check."""
    at = aware_utc(at)
    with uow:
        _check_new_token(uow, name, role, partner)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        token = ApiToken(name, role, partner or None, at)
        uow.tokens.add(token, token_hash(secret))
        uow.commit()
    return secret, token


def tokens(uow: UnitOfWork) -> list[ApiToken]:
    """Every token, by name."""
    with uow:
        return uow.tokens.listing()


def revoke_token(uow: UnitOfWork, name: str, at: dt.datetime) -> ApiToken:
    """Revoke a token for good: it is refused from its next request on. Revoking a revoked
    token changes nothing. The token as it is now."""
    at = aware_utc(at)
    with uow:
        token = uow.tokens.get(name)
        if token is None:
            raise TokenRefused("token-exists", f"no token named {shown(name)}")
        if not token.revoked:
            uow.tokens.revoke(name, at)
            uow.commit()
            token = replace(token, revoked_at=at)
    return token


def token_for(uow: UnitOfWork, secret: str, at: dt.datetime) -> ApiToken | None:
    """The token whose secret a request gave, None when there is none or it is revoked. Its
    use is recorded when the last one recorded is `TOUCH_INTERVAL` old or more."""
    at = aware_utc(at)
    if not secret.startswith(TOKEN_PREFIX):
        return None
    with uow:
        token = uow.tokens.by_hash(token_hash(secret))
        if token is None or token.revoked:
            return None
        if token.last_used_at is None or at - token.last_used_at >= TOUCH_INTERVAL:
            uow.tokens.touch(token.name, at)
            uow.commit()
        return token


CLAIM_TRIES = 3
"""How often a key is claimed again when it was given up between reading and claiming it."""


def claim_key(
    uow: UnitOfWork, token: str, key: str, digest: str, at: dt.datetime
) -> KeptOutcome | None:
    """Claim `key` for `token`'s request of `digest`: None when it is now this request's to
    answer (committed before anything is done), else what is kept of the request that claimed
    it first."""
    at = aware_utc(at)
    with uow:
        for _ in range(CLAIM_TRIES):  # a key given up between the two statements: again
            if uow.idempotency.claim(token, key, digest, at):
                uow.commit()
                return None
            kept = uow.idempotency.get(token, key)
            if kept is not None:
                return kept
    raise ConcurrentUpdate(f"idempotency key {key!r} claimed and given up {CLAIM_TRIES} times")


def settle_key(uow: UnitOfWork, token: str, key: str, status: int, body: str) -> None:
    """Keep the outcome of the request that claimed `key`."""
    with uow:
        uow.idempotency.settle(token, key, status, body)
        uow.commit()


def release_key(uow: UnitOfWork, token: str, key: str) -> None:
    """Give `key` up: its request was not answered, a retry may do it."""
    with uow:
        uow.idempotency.release(token, key)
        uow.commit()
