"""Passwords hashed with argon2id (argon2-cffi), the `PasswordHasher` port of
`gateway.service.accounts`.

The default parameters are argon2-cffi's (RFC 9106's low-memory profile: 3 passes over 64 MiB,
4 lanes). A hash records its parameters, so a hash made with others (cheaper ones of old, or
`Argon2Hasher.cheap()` in the tests) still verifies, and `needs_rehash` tells the sign-in to make
it again with today's.
"""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2Hasher:
    """argon2id hashes, with argon2-cffi's default parameters unless others are given."""

    def __init__(
        self,
        *,
        time_cost: int = argon2.DEFAULT_TIME_COST,
        memory_cost: int = argon2.DEFAULT_MEMORY_COST,
        parallelism: int = argon2.DEFAULT_PARALLELISM,
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )

    @classmethod
    def cheap(cls) -> Argon2Hasher:
        """A hasher with the least work argon2 takes (one pass over 8 KiB): for tests only,
        where a hash must cost microseconds."""
        return cls(time_cost=1, memory_cost=8, parallelism=1)

    def hash(self, password: str) -> str:
        """A new argon2id hash of `password`, with a random salt: `$argon2id$v=19$m=...`."""
        return self._hasher.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        """Whether `password` matches `hashed` (False too for a hash that is not argon2's)."""
        try:
            return self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hashed: str) -> bool:
        """Whether `hashed` was made with other parameters (or is not a hash argon2 reads)."""
        try:
            return self._hasher.check_needs_rehash(hashed)
        except InvalidHashError:
            return True
