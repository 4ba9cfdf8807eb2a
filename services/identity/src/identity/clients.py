"""Bailiff offices' systems as OAuth2 clients (RFC 6749 §4.4 client credentials).

The client secret is 256 random bits, shown once and stored as its SHA-256: a fast hash is
enough for a secret nobody can guess (Argon2 protects low-entropy passwords against offline
guessing; here it would only slow every token request down without adding security).

An operator can disable a client (token requests fail with `invalid_client`, and the tokens it
holds are revoked in every service through `identity.credentials-revoked.v1`, whose `account_id`
is the tokens' `sub`: here the client id), enable it again, and rotate its secret (the new one
is shown once; the old one stops working at once).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from identity import errors
from identity.attempts import Attempt, AttemptJournal
from identity.domain import (
    JUDICIAL_ROLE,
    JUDICIAL_SCOPES,
    OFFICE_ROLE,
    OFFICE_SCOPES,
    SERVICE_ROLE,
    hash_secret,
    ip_hash,
    secrets_match,
)
from identity.records import CLIENTS, REVOCATIONS, THROTTLES, Context, client_throttle, iso, put
from identity.throttling import Reservation, Throttles
from shared.contracts.identity import (
    CredentialRevocationReason,
    CredentialsRevokedV1,
    IdentificationOutcome,
    JudicialClientRegisteredV1,
    OfficeClientRegisteredV1,
)
from shared.store.port import Document, Transaction

_UNKNOWN_CLIENT_HASH = hash_secret("no such client: equalises the comparison")


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: `error` code, HTTP status, safe description; `retry_after`
    seconds for a lockout (429)."""

    def __init__(
        self, error: str, status: int, description: str, *, retry_after: int | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.description = description
        self.retry_after = retry_after


def client_throttled(retry_after: int) -> OAuthError:
    # RFC 6749 has no code for a lockout; `slow_down` is the token endpoint's registered code
    # for "wait before asking again" (RFC 8628 §3.5), with Retry-After saying how long.
    return OAuthError(
        "slow_down",
        429,
        "Too many failed client authentications; try again later.",
        retry_after=retry_after,
    )


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str
    office_id: str
    bailiff_name: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class RotatedSecret:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class ClientToken:
    access_token: str
    expires_in: int
    scope: str


class Clients:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._throttles = Throttles(ctx)
        self._journal = AttemptJournal(ctx)

    async def register(
        self, office_id: str, bailiff_name: str, scopes: list[str], *, operator: str
    ) -> RegisteredClient:
        unknown = sorted(set(scopes) - OFFICE_SCOPES)
        if unknown or not scopes:
            raise errors.IdentityError(
                422,
                "scopes-invalid",
                "An office client needs at least one of the office scopes, and only those.",
                extra={"unknown_scopes": unknown, "allowed_scopes": sorted(OFFICE_SCOPES)},
            )
        ctx = self._ctx
        client_id = f"office-{secrets.token_hex(8)}"
        secret = secrets.token_urlsafe(32)
        ordered = tuple(sorted(set(scopes)))
        async with ctx.outbox.transaction() as tx:
            await tx.insert(
                CLIENTS,
                {
                    "_id": client_id,
                    "office_id": office_id,
                    "bailiff_name": bailiff_name,
                    "scopes": list(ordered),
                    "secret_hash": hash_secret(secret),
                    "disabled": False,
                    "created_at": iso(ctx.clock.now()),
                },
            )
            await ctx.emit(
                tx,
                OfficeClientRegisteredV1(
                    client_id=client_id,
                    office_id=office_id,
                    bailiff_name=bailiff_name,
                    scopes=list(ordered),
                ),
                subject=f"client:{client_id}",
                actor=f"operator:{operator}",
            )
        return RegisteredClient(client_id, secret, office_id, bailiff_name, ordered)

    async def register_judicial(self, authority_name: str, *, operator: str) -> RegisteredClient:
        """A judicial authority's system: its tokens carry the `judicial_authority` role and
        `registry:read` only, and no office."""
        ctx = self._ctx
        client_id = f"judicial-{secrets.token_hex(8)}"
        secret = secrets.token_urlsafe(32)
        scopes = tuple(sorted(JUDICIAL_SCOPES))
        async with ctx.outbox.transaction() as tx:
            await tx.insert(
                CLIENTS,
                {
                    "_id": client_id,
                    "kind": JUDICIAL_ROLE,
                    "office_id": None,
                    "bailiff_name": authority_name,
                    "scopes": list(scopes),
                    "secret_hash": hash_secret(secret),
                    "disabled": False,
                    "created_at": iso(ctx.clock.now()),
                },
            )
            await ctx.emit(
                tx,
                JudicialClientRegisteredV1(
                    client_id=client_id, authority_name=authority_name, scopes=list(scopes)
                ),
                subject=f"client:{client_id}",
                actor=f"operator:{operator}",
            )
        return RegisteredClient(client_id, secret, "", authority_name, scopes)

    async def get(self, client_id: str) -> Document | None:
        return await self._ctx.store.get(CLIENTS, client_id)

    async def describe(self, client_id: str) -> dict[str, object]:
        """What an operator sees of a client (never its secret hash)."""
        client = await self.get(client_id)
        if client is None:
            raise errors.not_found("client")
        return {
            "client_id": client["_id"],
            "kind": client.get("kind", OFFICE_ROLE),
            "office_id": client["office_id"],
            "bailiff_name": client["bailiff_name"],
            "scopes": list(client["scopes"]),
            "disabled": bool(client.get("disabled")),
            "created_at": client.get("created_at"),
            "disabled_at": client.get("disabled_at"),
            "secret_rotated_at": client.get("secret_rotated_at"),
        }

    async def disable(self, client_id: str, *, operator: str) -> None:
        """No token for this client any more, and the ones it holds die everywhere."""
        ctx = self._ctx
        actor = f"operator:{operator}"
        async with ctx.outbox.transaction() as tx:
            client = await self._existing(tx, client_id)
            if client.get("disabled"):
                return
            now = ctx.clock.now()
            payload = CredentialsRevokedV1(
                account_id=client_id,
                issued_before=now,
                reason=CredentialRevocationReason.OPERATOR,
            )
            envelope = ctx.envelope(payload, subject=f"client:{client_id}", actor=actor)
            await tx.insert(
                REVOCATIONS,
                {
                    "_id": envelope.event_id,
                    "kind": "subject",
                    "subject": client_id,
                    "issued_before": iso(now),
                    "at": iso(now),
                },
            )
            await ctx.outbox.add(tx, envelope)
            await put(
                tx,
                CLIENTS,
                {
                    **client,
                    "disabled": True,
                    "disabled_at": iso(now),
                    "disabled_by": actor,
                    "tokens_not_before": iso(now),
                },
            )

    async def enable(self, client_id: str, *, operator: str) -> None:
        """Token requests work again (with the current secret)."""
        ctx = self._ctx
        async with ctx.outbox.transaction() as tx:
            client = await self._existing(tx, client_id)
            if not client.get("disabled"):
                return
            await put(
                tx,
                CLIENTS,
                {
                    **client,
                    "disabled": False,
                    "enabled_at": iso(ctx.clock.now()),
                    "enabled_by": f"operator:{operator}",
                },
            )

    async def rotate_secret(self, client_id: str, *, operator: str) -> RotatedSecret:
        """A new secret, returned once; the previous one is refused from now on. Tokens already
        issued live out their ten minutes (disable the client to kill them)."""
        ctx = self._ctx
        secret = secrets.token_urlsafe(32)
        async with ctx.outbox.transaction() as tx:
            client = await self._existing(tx, client_id)
            await put(
                tx,
                CLIENTS,
                {
                    **client,
                    "secret_hash": hash_secret(secret),
                    "secret_rotated_at": iso(ctx.clock.now()),
                    "secret_rotated_by": f"operator:{operator}",
                },
            )
        return RotatedSecret(client_id, secret)

    async def _existing(self, tx: Transaction, client_id: str) -> Document:
        client = await tx.get(CLIENTS, client_id)
        if client is None:
            raise errors.not_found("client")
        return client

    async def token(
        self, client_id: str, client_secret: str, scope: str | None, *, ip: str
    ) -> ClientToken:
        """Client credentials grant: a JWT carrying the granted scopes and the office.

        Throttled like the login (`throttling`): each request is counted as a failure of the
        client id typed (HMAC) and of the address before the secret is checked, a token issued
        gives it back, and a locked key is refused with 429 `slow_down`. Failures are journaled
        per window (`attempts`), tokens issued one by one."""
        ctx = self._ctx
        settings = ctx.settings
        iph = ip_hash(ip, settings.ip_hash_pepper.get_secret_value().encode())
        # Not the login's address key: a shared address's failed logins must not stop an
        # office's system from getting tokens, nor the reverse.
        ip_key = f"token-ip:{iph}"
        client_key = client_throttle(settings, client_id)
        reservation = await self._throttles.reserve(
            (
                (ip_key, settings.throttle_ip_free_failures),
                (client_key, settings.throttle_free_failures),
            )
        )
        client = await ctx.store.get(CLIENTS, client_id)
        known = client_id if client else None
        if reservation.retry_after is not None:
            locked_key = client_key if client_key in reservation.locked else ip_key
            await self._failed(
                locked_key, Attempt(IdentificationOutcome.THROTTLED, iph, client_id=known)
            )
            raise client_throttled(reservation.retry_after)
        expected = client["secret_hash"] if client else _UNKNOWN_CLIENT_HASH
        authenticated = secrets_match(client_secret, expected) and client is not None
        if not authenticated or client is None or client.get("disabled"):
            # The reservation is the failure.
            await self._failed(
                client_key, Attempt(IdentificationOutcome.FAILED, iph, client_id=known)
            )
            raise OAuthError("invalid_client", 401, "Client authentication failed.")
        allowed = frozenset(client["scopes"])
        requested = frozenset(scope.split()) if scope else allowed
        if not requested or not requested <= allowed:
            # Authenticated, but no token: journaled as a failed identification of the client,
            # and not counted as a failed authentication.
            await self._failed(
                client_key,
                Attempt(IdentificationOutcome.FAILED, iph, client_id=client_id),
                refund=reservation,
            )
            raise OAuthError(
                "invalid_scope", 400, "The requested scope exceeds what the client was granted."
            )
        if client.get("kind") == SERVICE_ROLE:
            # One of the platform's services (`service_clients`): no office, its scopes only.
            issued = ctx.issuer.issue(
                client_id, role=SERVICE_ROLE, scopes=requested, extra={"client_id": client_id}
            )
        elif client.get("kind") == JUDICIAL_ROLE:
            issued = ctx.issuer.issue(
                client_id,
                role=JUDICIAL_ROLE,
                scopes=requested,
                extra={"client_id": client_id, "authority_name": client["bailiff_name"]},
            )
        else:
            issued = ctx.issuer.issue(
                client_id,
                role=OFFICE_ROLE,
                scopes=requested,
                office_id=client["office_id"],
                extra={"client_id": client_id, "bailiff_name": client["bailiff_name"]},
            )
        async with ctx.outbox.transaction() as tx:
            # A token issued clears the client's failures (as a login clears the identifier's).
            await tx.delete(THROTTLES, client_key)
            await self._journal.succeeded(
                tx,
                client_key,
                Attempt(IdentificationOutcome.SUCCEEDED, iph, client_id=client_id),
                actor="service:identity",
            )
        await self._throttles.refund(reservation, [ip_key])
        return ClientToken(
            issued.token, int(ctx.issuer.ttl.total_seconds()), " ".join(sorted(requested))
        )

    async def _failed(
        self, key: str, attempt: Attempt, *, refund: Reservation | None = None
    ) -> None:
        """Journal a refused token request on `key`'s window, giving its reservation back
        when the client did authenticate."""
        await self._journal.settle(key, attempt, refund=refund)
