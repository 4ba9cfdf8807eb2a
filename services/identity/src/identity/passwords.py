"""Argon2id password hashing, always off the event loop (a hash takes tens of milliseconds)."""

from __future__ import annotations

import asyncio
from functools import cached_property

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    """Hashes and verifies passwords with Argon2id at the configured cost."""

    def __init__(self, *, time_cost: int, memory_cost_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            type=Type.ID,
        )

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash (unknown account, no password yet) a dummy
        hash is checked anyway so that the answer takes the same time."""
        target = password_hash or self._dummy_hash
        return await asyncio.to_thread(self._verify, target, password) and bool(password_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters (the cost was raised since)."""
        return self._hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hasher.hash("not a password: equalises the timing of unknown identifiers")
