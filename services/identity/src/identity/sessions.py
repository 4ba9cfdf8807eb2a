"""Login, sessions, rotating refresh tokens, logout, revocations (issue 4 items 4, 5, 7)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from identity import errors, totp
from identity.domain import (
    OFFICE_ROLE,
    OPERATOR_SCOPES,
    RECIPIENT_SCOPES,
    TERMINATED_SCOPES,
    TERMS_PENDING_SCOPES,
    AccountStatus,
    hash_secret,
    ip_hash,
    normalize_identifier,
)
from identity.records import (
    ACCOUNTS,
    CLIENTS,
    REFRESH_TOKENS,
    REVOCATIONS,
    SESSIONS,
    TERMS,
    Context,
    account_subject,
    instant,
    iso,
    put,
    save_throttle,
    sealed_totp,
    throttle_state,
)
from identity.sealed import totp_object_id
from shared.auth import Principal
from shared.contracts.identity import (
    AccountRole,
    CredentialRevocationReason,
    CredentialsRevokedV1,
    IdentificationAttemptedV1,
    IdentificationOutcome,
    SessionRevocationReason,
    SessionRevokedV1,
)
from shared.ids import new_id
from shared.store.port import Document, DocumentReader, Transaction, VersionConflictError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionTokens:
    """What a successful login or refresh returns."""

    account_id: str
    role: str
    session_id: str
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    scopes: frozenset[str]

    @property
    def terms_acceptance_required(self) -> bool:
        return self.scopes == TERMS_PENDING_SCOPES


async def current_terms_version(reader: DocumentReader, now: datetime) -> int | None:
    """The CGU version in force: the latest whose effective date has come on this clock, or
    a later one retention already declared in force (`retention.terms-effective.v1`), so that
    a replica whose clock lags retention's does not keep serving the previous version."""
    found = await reader.find(
        TERMS, {"effective_at": {"$lte": iso(now)}}, sort=[("effective_at", -1)], limit=1
    )
    declared = await reader.find(
        TERMS, {"in_force_at": {"$ne": None}}, sort=[("version", -1)], limit=1
    )
    versions = [int(row["version"]) for row in (*found, *declared)]
    return max(versions) if versions else None


def scopes_for(account: Document, current_terms: int | None) -> frozenset[str]:
    """What an account's session may do now: the CGU gate and read-only termination."""
    if account["role"] == AccountRole.OPERATOR:
        return OPERATOR_SCOPES
    if account["status"] == AccountStatus.DELETED:
        return frozenset()
    if account["status"] == AccountStatus.TERMINATED:
        return TERMINATED_SCOPES
    if current_terms is not None and account.get("accepted_terms_version") != current_terms:
        return TERMS_PENDING_SCOPES
    return RECIPIENT_SCOPES


async def revoke_session(
    ctx: Context, tx: Transaction, session: Document, reason: SessionRevocationReason, actor: str
) -> None:
    """Mark a session revoked, record it for late-starting services, publish it."""
    if session.get("revoked_at"):
        return
    now = ctx.clock.now()
    await put(tx, SESSIONS, {**session, "revoked_at": iso(now), "revocation_reason": reason})
    payload = SessionRevokedV1(
        account_id=session["account_id"], session_id=session["_id"], reason=reason
    )
    envelope = ctx.envelope(payload, subject=account_subject(session["account_id"]), actor=actor)
    await tx.insert(
        REVOCATIONS,
        {"_id": envelope.event_id, "kind": "session", "session_id": session["_id"], "at": iso(now)},
    )
    await ctx.outbox.add(tx, envelope)


async def revoke_credentials(
    ctx: Context,
    tx: Transaction,
    account: Document,
    reason: CredentialRevocationReason,
    actor: str,
) -> Document:
    """Every session of the account dies and every token issued until now is refused.

    Returns the account document updated (not yet written: the caller writes it once)."""
    now = ctx.clock.now()
    live = await tx.find(SESSIONS, {"account_id": account["_id"], "revoked_at": None})
    for session in live:
        await put(tx, SESSIONS, {**session, "revoked_at": iso(now), "revocation_reason": reason})
    payload = CredentialsRevokedV1(
        account_id=account["_id"],
        issued_before=now,
        session_ids=[s["_id"] for s in live],
        reason=reason,
    )
    envelope = ctx.envelope(payload, subject=account_subject(account["_id"]), actor=actor)
    await tx.insert(
        REVOCATIONS,
        {
            "_id": envelope.event_id,
            "kind": "subject",
            "subject": account["_id"],
            "issued_before": iso(now),
            "at": iso(now),
        },
    )
    await ctx.outbox.add(tx, envelope)
    return {**account, "tokens_not_before": iso(now)}


class Sessions:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # -- login -------------------------------------------------------------------------------

    async def login(
        self, identifier: str, password: str, *, ip: str, second_factor: str | None = None
    ) -> SessionTokens:
        """Identify with identifier + password (+ TOTP or recovery code when enrolled)."""
        ctx = self._ctx
        now = ctx.clock.now()
        settings = ctx.settings
        iph = ip_hash(ip, settings.ip_hash_pepper.get_secret_value().encode())
        ip_key = f"ip:{iph}"
        ip_state, _ = await throttle_state(ctx.store, ip_key)
        wait = ip_state.retry_after(now, settings.throttle_ip_free_failures, ctx.max_delay)
        matches = await ctx.store.find(
            ACCOUNTS, {"identifier": normalize_identifier(identifier)}, limit=1
        )
        account = matches[0] if matches else None
        account_key = f"account:{account['_id']}" if account else None
        if wait is None and account_key is not None:
            state, _ = await throttle_state(ctx.store, account_key)
            wait = state.retry_after(now, settings.throttle_free_failures, ctx.max_delay)
        if wait is not None:
            await self._journal(account, IdentificationOutcome.THROTTLED, iph)
            raise errors.throttled(wait)

        verified = await ctx.passwords.verify(
            account.get("password_hash") if account else None, password
        )
        if not verified or account is None:
            await self._failure(account, ip_key, iph)
            raise errors.invalid_credentials()
        if account.get("suspended"):
            await self._journal(account, IdentificationOutcome.SUSPENDED, iph)
            raise errors.IdentityError(
                403, "account-suspended", "The account is suspended; contact the support."
            )
        used_second_factor = False
        stored_secret = account.get("totp_secret")
        if stored_secret:
            if not second_factor:
                await self._journal(account, IdentificationOutcome.SECOND_FACTOR_REQUIRED, iph)
                raise errors.IdentityError(
                    401, "second-factor-required", "Enter the code of your authenticator app."
                )
            secret = await ctx.sealer.open(stored_secret, totp_object_id(account["_id"]))
            updated = totp.consume(account, secret or "", second_factor, now)
            if updated is None:
                await self._failure(account, ip_key, iph, second_factor=True)
                raise errors.IdentityError(
                    401, "invalid-second-factor", "The code is wrong or already used."
                )
            account = updated
            used_second_factor = True
        return await self._open_session(account, iph, used_second_factor)

    async def _open_session(
        self, account: Document, iph: str, second_factor: bool
    ) -> SessionTokens:
        ctx = self._ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            fresh = await tx.get(ACCOUNTS, account["_id"])
            assert fresh is not None
            if second_factor:
                fresh = {
                    **fresh,
                    "totp_last_step": account.get("totp_last_step"),
                    "recovery_codes": account.get("recovery_codes", []),
                }
            # Migration on read: a TOTP secret stored before sealing is sealed now.
            fresh = await sealed_totp(ctx, fresh)
            if ctx.passwords.needs_rehash(fresh["password_hash"]):
                log.info("password hash of %s is due for the current cost", fresh["_id"])
            await put(tx, ACCOUNTS, {**fresh, "last_login_at": iso(now)})
            await tx.delete("throttles", f"account:{fresh['_id']}")
            session_id = new_id(now)
            session_end = now + timedelta(hours=ctx.settings.session_ttl_hours)
            await tx.insert(
                SESSIONS,
                {
                    "_id": session_id,
                    "account_id": fresh["_id"],
                    "created_at": iso(now),
                    "expires_at": iso(session_end),
                    "revoked_at": None,
                    "second_factor": second_factor,
                },
            )
            tokens = await self._issue(tx, fresh, session_id, session_end)
            await ctx.emit(
                tx,
                IdentificationAttemptedV1(
                    account_id=fresh["_id"],
                    outcome=IdentificationOutcome.SUCCEEDED,
                    ip_hash=iph,
                    second_factor=second_factor,
                ),
                subject=account_subject(fresh["_id"]),
                actor=account_subject(fresh["_id"]),
            )
        return tokens

    async def _issue(
        self, tx: Transaction, account: Document, session_id: str, session_end: datetime
    ) -> SessionTokens:
        ctx = self._ctx
        now = ctx.clock.now()
        scopes = scopes_for(account, await current_terms_version(tx, now))
        access = ctx.issuer.issue(
            account["_id"], role=account["role"], scopes=scopes, sid=session_id
        )
        refresh = secrets.token_urlsafe(32)
        await tx.insert(
            REFRESH_TOKENS,
            {
                "_id": hash_secret(refresh),
                "session_id": session_id,
                "status": "active",
                "created_at": iso(now),
                "expires_at": iso(session_end),
            },
        )
        return SessionTokens(
            account_id=account["_id"],
            role=account["role"],
            session_id=session_id,
            access_token=access.token,
            access_expires_at=access.expires_at,
            refresh_token=refresh,
            refresh_expires_at=session_end,
            scopes=scopes,
        )

    async def _failure(
        self, account: Document | None, ip_key: str, iph: str, *, second_factor: bool = False
    ) -> None:
        ctx = self._ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            keys = [ip_key] + ([f"account:{account['_id']}"] if account else [])
            # Past both the forget period and the longest lockout, the record means nothing.
            forget_at = now + max(ctx.forget_after, ctx.max_delay)
            for key in keys:
                state, document = await throttle_state(tx, key)
                await save_throttle(
                    tx, document, state.after_failure(now, ctx.forget_after), forget_at
                )
            await ctx.emit(
                tx,
                IdentificationAttemptedV1(
                    account_id=account["_id"] if account else None,
                    outcome=IdentificationOutcome.FAILED,
                    ip_hash=iph,
                    second_factor=second_factor,
                ),
                subject=account_subject(account["_id"]) if account else "identification:unknown",
            )

    async def _journal(
        self, account: Document | None, outcome: IdentificationOutcome, iph: str
    ) -> None:
        ctx = self._ctx
        async with ctx.outbox.transaction() as tx:
            await ctx.emit(
                tx,
                IdentificationAttemptedV1(
                    account_id=account["_id"] if account else None, outcome=outcome, ip_hash=iph
                ),
                subject=account_subject(account["_id"]) if account else "identification:unknown",
            )

    # -- refresh and logout ------------------------------------------------------------------

    async def refresh(self, refresh_token: str) -> SessionTokens:
        """Rotate: the presented token is spent and a new pair returned. Presenting a spent
        token again means it was stolen (or replayed): the whole session dies."""
        ctx = self._ctx
        now = ctx.clock.now()
        refused = errors.IdentityError(
            401, "invalid-refresh-token", "The refresh token is not valid; log in again."
        )
        reused = False
        try:
            async with ctx.outbox.transaction() as tx:
                record = await tx.get(REFRESH_TOKENS, hash_secret(refresh_token))
                if record is None:
                    raise refused
                session = await tx.get(SESSIONS, record["session_id"])
                if session is None:
                    raise refused
                if record["status"] != "active":
                    reused = True
                    await revoke_session(
                        ctx,
                        tx,
                        session,
                        SessionRevocationReason.REFRESH_TOKEN_REUSE,
                        "service:identity",
                    )
                    # Commit the revocation, then refuse.
                else:
                    expires = instant(session["expires_at"])
                    if session.get("revoked_at") or (expires is not None and expires <= now):
                        raise refused
                    account = await tx.get(ACCOUNTS, session["account_id"])
                    if account is None or account.get("suspended"):
                        raise refused
                    await put(tx, REFRESH_TOKENS, {**record, "status": "used", "used_at": iso(now)})
                    assert expires is not None
                    return await self._issue(tx, account, session["_id"], expires)
        except VersionConflictError:
            raise refused from None
        if reused:
            log.warning("refresh token reuse: session %s revoked", record["session_id"])
        raise refused

    async def logout(self, principal: Principal) -> None:
        if principal.sid is None:
            raise errors.IdentityError(
                403, "no-session", "This token does not belong to a session."
            )
        ctx = self._ctx
        async with ctx.outbox.transaction() as tx:
            session = await tx.get(SESSIONS, principal.sid)
            if session is None or session["account_id"] != principal.subject:
                raise errors.not_found("session")
            await revoke_session(
                ctx,
                tx,
                session,
                SessionRevocationReason.LOGOUT,
                account_subject(principal.subject),
            )

    # -- what other services ask --------------------------------------------------------------

    async def recent_revocations(self, since: datetime) -> dict[str, list[dict[str, str]]]:
        """Revocations still relevant to a service that starts now (see shared.auth.revocations)."""
        ctx = self._ctx
        horizon = ctx.clock.now() - ctx.issuer.ttl - timedelta(minutes=2)
        since = max(since, horizon)
        rows = await ctx.store.find(
            REVOCATIONS, {"at": {"$gte": iso(since)}}, sort=[("at", 1)], limit=10_000
        )
        return {
            "sessions": [{"session_id": r["session_id"]} for r in rows if r["kind"] == "session"],
            "subjects": [
                {
                    "subject": r["subject"],
                    "issued_before": (instant(r["issued_before"]) or since).isoformat(),
                }
                for r in rows
                if r["kind"] == "subject"
            ],
        }


class StoreRevocations:
    """Identity's own `RevocationList`: it asks its store, the source of truth, directly."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def is_revoked(self, principal: Principal) -> bool:
        store = self._ctx.store
        if principal.sid is not None:
            session = await store.get(SESSIONS, principal.sid)
            if session is None or session.get("revoked_at"):
                return True
        holders = CLIENTS if principal.role == OFFICE_ROLE else ACCOUNTS
        holder = await store.get(holders, principal.subject)
        if holders == CLIENTS and (holder is None or holder.get("disabled")):
            return True
        cutoff = instant(holder.get("tokens_not_before")) if holder else None
        return cutoff is not None and principal.issued_at <= cutoff
