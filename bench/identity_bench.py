"""Identity benchmark: logins per second at the production Argon2id cost, and access-token
verifications per second with the shared verifier (what every service does per request).

- logins: the real login use case (`Sessions.login`: Argon2id verify off the event loop, the
  session, refresh token and identification event written to SQLite, a JWT signed), with as
  many concurrent logins as the machine has cores, for a few seconds, on the default settings'
  Argon2 parameters (time_cost, memory_cost, parallelism);
- verifications: `TokenVerifier.verify` (EdDSA signature, claims, revocation list lookup) on
  one access token, the JWKS cached, for about a second.

`run()` returns `logins_s`, `argon2_hash_ms` (one hash alone), `argon2_time_cost`,
`argon2_memory_mib`, `concurrent_logins`, `token_verifications_s`.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from identity.records import INDEXES
from identity.service import Identity
from identity.settings import Settings
from identity.tokens import TokenIssuer, TokenKeyFile
from shared.auth import InMemoryRevocationList, TokenVerifier, VerifierConfig
from shared.clock import SystemClock
from shared.messaging.inbox import INBOX_INDEXES
from shared.messaging.outbox import Outbox, OutboxRelay
from shared.store.sqlite import SqliteStore

LOGIN_SECONDS = 4.0
VERIFY_SECONDS = 1.0
PASSWORD = "banc-d-essai-argon2-identite"  # noqa: S105 - a throwaway bench account


async def _measure(directory: Path) -> dict[str, float]:
    clock = SystemClock()
    settings = Settings(data_dir=directory, token_key_file=directory / "keys.json", log_json=False)
    store = SqliteStore(directory / "identity.sqlite3")
    await store.connect()
    try:
        await store.ensure_indexes((*OutboxRelay.indexes(), *INBOX_INDEXES, *INDEXES))
        keys = TokenKeyFile(settings.token_key_file, clock)
        keys.ensure()
        issuer = TokenIssuer(
            keys,
            clock,
            issuer=settings.issuer,
            audiences=settings.token_audiences,
            ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        )
        identity = Identity(store, Outbox(store, clock), clock, settings, issuer)
        await identity.terms.seed()
        await identity.accounts.create_operator("bench-operator", PASSWORD)

        started = time.perf_counter()
        await identity.ctx.passwords.hash(PASSWORD)
        hashed = time.perf_counter() - started

        logins = 0
        deadline = time.perf_counter() + LOGIN_SECONDS

        async def worker() -> None:
            nonlocal logins
            while time.perf_counter() < deadline:
                await identity.sessions.login("bench-operator", PASSWORD, ip="127.0.0.1")
                logins += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(os.cpu_count() or 1)))
        login_rate = logins / (time.perf_counter() - started)

        token = (
            await identity.sessions.login("bench-operator", PASSWORD, ip="127.0.0.1")
        ).access_token

        def serve_jwks(_request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json=issuer.jwks())

        async with httpx.AsyncClient(transport=httpx.MockTransport(serve_jwks)) as http:
            verifier = TokenVerifier(
                VerifierConfig(
                    jwks_url="http://identity/.well-known/jwks.json",
                    issuer=settings.issuer,
                    audiences=frozenset({"delivery"}),
                ),
                http,
                clock,
                InMemoryRevocationList(clock),
            )
            await verifier.verify(token)
            verifications = 0
            started = time.perf_counter()
            while time.perf_counter() - started < VERIFY_SECONDS:
                for _ in range(100):
                    await verifier.verify(token)
                verifications += 100
            verify_rate = verifications / (time.perf_counter() - started)
    finally:
        await store.close()
    return {
        "logins_s": round(login_rate, 2),
        "argon2_hash_ms": round(hashed * 1000, 1),
        "argon2_time_cost": float(settings.argon2_time_cost),
        "argon2_memory_mib": settings.argon2_memory_cost_kib / 1024,
        "concurrent_logins": float(os.cpu_count() or 1),
        "token_verifications_s": round(verify_rate, 1),
    }


def run() -> dict[str, float]:
    """Measure on this machine (about six seconds)."""
    with tempfile.TemporaryDirectory(prefix="securact-identity-bench-") as directory:
        return asyncio.run(_measure(Path(directory)))


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:>24}  {value:>12,.2f}")
