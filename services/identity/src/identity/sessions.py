"""Login, sessions, rotating refresh tokens, logout, revocations (issue 4 items 4, 5, 7)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from identity import errors, totp
from identity.attempts import Attempt, AttemptJournal
from identity.domain import (
    OFFICE_ROLE,
    OPERATOR_SCOPES,
    RECIPIENT_SCOPES,
    TERMINATED_SCOPES,
    TERMS_ANSWER_PENDING_SCOPES,
    TERMS_PENDING_SCOPES,
    AccountStatus,
    hash_secret,
    ip_hash,
    normalize_identifier,
    readable_until,
)
from identity.notices import binding_terms_version
from identity.records import (
    ACCOUNTS,
    CLIENTS,
    REFRESH_TOKENS,
    REVOCATIONS,
    SESSIONS,
    TERMS,
    THROTTLES,
    Context,
    account_subject,
    identifier_throttle,
    instant,
    iso,
    put,
    sealed_totp,
)
from identity.sealed import totp_object_id
from identity.throttling import Reservation, Throttles
from shared.auth import Principal
from shared.contracts.identity import (
    AccountRole,
    CredentialRevocationReason,
    CredentialsRevokedV1,
    IdentificationOutcome,
    SessionRevocationReason,
    SessionRevokedV1,
)
from shared.ids import new_id
from shared.store.port import (
    Document,
    DocumentReader,
    Transaction,
    VersionConflictError,
)

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

    @property
    def terms_answer_pending(self) -> bool:
        """A later CGU version awaits the answer: the acts stay open meanwhile."""
        return self.scopes == TERMS_ANSWER_PENDING_SCOPES


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


def has_refused_terms(account: Document) -> bool:
    """The recipient refused the CGU before ever accepting them. The refusal is final (consent
    refuses the declaration for good): the account gives no access at all. (A refusal after an
    acceptance terminates the account instead: read-only, see `scopes_for`.)"""
    return account.get("terms_refused_at") is not None


def read_only_until(account: Document, months: int) -> datetime | None:
    """The end of a terminated account's read-only period (None: not terminated)."""
    stored = instant(account.get("readable_until"))
    if stored is not None:
        return stored
    terminated_at = instant(account.get("terminated_at"))
    return readable_until(terminated_at, months) if terminated_at is not None else None


def scopes_for(
    account: Document, binding_terms: int | None, now: datetime, readable_months: int = 2
) -> frozenset[str]:
    """What an account's session may do now: the CGU gate, a pending CGU answer and the
    read-only termination period. `binding_terms` is the version binding the account
    (`notices.binding_terms_version`)."""
    if account["role"] == AccountRole.OPERATOR:
        return OPERATOR_SCOPES
    if account["status"] == AccountStatus.DELETED:
        return frozenset()
    if account["status"] == AccountStatus.TERMINATED:
        until = read_only_until(account, readable_months)
        return TERMINATED_SCOPES if until is None or now < until else frozenset()
    if has_refused_terms(account):
        return frozenset()
    accepted = account.get("accepted_terms_version")
    if binding_terms is not None and accepted != binding_terms:
        # A first acceptance is the consent (nothing served yet); a later version never
        # withholds the acts served under the one accepted.
        return TERMS_PENDING_SCOPES if accepted is None else TERMS_ANSWER_PENDING_SCOPES
    return RECIPIENT_SCOPES


async def account_scopes(
    reader: DocumentReader, account: Document, now: datetime, readable_months: int = 2
) -> frozenset[str]:
    """`scopes_for` with the version in force and the one binding the account read now."""
    current = await current_terms_version(reader, now)
    binding = await binding_terms_version(reader, account, current, now)
    return scopes_for(account, binding, now, readable_months)


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
        self._throttles = Throttles(ctx)
        self._journal = AttemptJournal(ctx)

    # -- login -------------------------------------------------------------------------------

    async def login(
        self, identifier: str, password: str, *, ip: str, second_factor: str | None = None
    ) -> SessionTokens:
        """Identify with identifier + password (+ TOTP or recovery code when enrolled).

        Each attempt is counted as a failure of its address and of the identifier typed before
        the password is checked (`Throttles.reserve`), so concurrent guesses cannot all pass a
        counter none of them has incremented yet. A right password then takes the count back:
        a session opened clears the identifier's failures; a right password refused for
        another reason (suspension, second factor missing, CGU refused) refunds the attempt.
        Failures are journaled per window (`attempts`), a session opened by itself."""
        ctx = self._ctx
        settings = ctx.settings
        iph = ip_hash(ip, settings.ip_hash_pepper.get_secret_value().encode())
        ip_key = f"ip:{iph}"
        identifier_key = identifier_throttle(settings, identifier)
        matches = await ctx.store.find(
            ACCOUNTS, {"identifier": normalize_identifier(identifier)}, limit=1
        )
        account = matches[0] if matches else None
        reservation = await self._throttles.reserve(
            (
                (ip_key, settings.throttle_ip_free_failures),
                (identifier_key, settings.throttle_free_failures),
            )
        )
        if reservation.retry_after is not None:
            # Journaled on the identifier when it is locked, else on the address: an address
            # trying many identifiers fills one window, not one per identifier.
            locked_key = identifier_key if identifier_key in reservation.locked else ip_key
            await self._settle(locked_key, account, IdentificationOutcome.THROTTLED, iph)
            raise errors.throttled(reservation.retry_after)

        verified = await ctx.passwords.verify(
            account.get("password_hash") if account else None, password
        )
        if not verified or account is None:
            # The reservation is the failure.
            await self._settle(identifier_key, account, IdentificationOutcome.FAILED, iph)
            raise errors.invalid_credentials()
        if account.get("suspended"):
            await self._settle(
                identifier_key,
                account,
                IdentificationOutcome.SUSPENDED,
                iph,
                refund=reservation,
            )
            raise errors.IdentityError(
                403, "account-suspended", "The account is suspended; contact the support."
            )
        used_second_factor = False
        stored_secret = account.get("totp_secret")
        if stored_secret:
            if not second_factor:
                await self._settle(
                    identifier_key,
                    account,
                    IdentificationOutcome.SECOND_FACTOR_REQUIRED,
                    iph,
                    refund=reservation,
                )
                raise errors.IdentityError(
                    401, "second-factor-required", "Enter the code of your authenticator app."
                )
            secret = await ctx.sealer.open(stored_secret, totp_object_id(account["_id"]))
            updated = totp.consume(account, secret or "", second_factor, ctx.clock.now())
            if updated is None:
                # A wrong code counts as a failure too: the reservation stands.
                await self._settle(
                    identifier_key,
                    account,
                    IdentificationOutcome.FAILED,
                    iph,
                    second_factor=True,
                )
                raise errors.IdentityError(
                    401, "invalid-second-factor", "The code is wrong or already used."
                )
            account = updated
            used_second_factor = True
        if has_refused_terms(account):
            # The right credentials, but the refusal is final: no session at all. Journaled as
            # a failed identification (no access was given; the contract has no finer outcome).
            await self._settle(
                identifier_key, account, IdentificationOutcome.FAILED, iph, refund=reservation
            )
            raise errors.terms_refused(403)
        return await self._open_session(account, iph, used_second_factor, reservation)

    async def _settle(
        self,
        key: str,
        account: Document | None,
        outcome: IdentificationOutcome,
        iph: str,
        *,
        second_factor: bool = False,
        refund: Reservation | None = None,
    ) -> None:
        """Journal the failed attempt's outcome on `key`'s window, refunding its reservation
        when the password was right (the attempt was not a failure)."""
        attempt = Attempt(
            outcome,
            iph,
            account_id=account["_id"] if account else None,
            second_factor=second_factor,
        )
        await self._journal.settle(key, attempt, refund=refund)

    async def _open_session(
        self, account: Document, iph: str, second_factor: bool, reservation: Reservation
    ) -> SessionTokens:
        """Open the session; the identifier's failures are cleared with it, and the address
        gets this attempt back (afterwards: a contended address counter must not fail the
        login; at worst a crash leaves it one failure too many)."""
        tokens = await self._new_session(account, iph, second_factor)
        identifier_key = identifier_throttle(self._ctx.settings, account["identifier"])
        await self._throttles.refund(
            reservation, [k for k in reservation.previous if k != identifier_key]
        )
        return tokens

    async def _new_session(self, account: Document, iph: str, second_factor: bool) -> SessionTokens:
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
            # Success resets the failures of the identifier.
            identifier_key = identifier_throttle(ctx.settings, fresh["identifier"])
            await tx.delete(THROTTLES, identifier_key)
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
            await self._journal.succeeded(
                tx,
                identifier_key,
                Attempt(
                    IdentificationOutcome.SUCCEEDED,
                    iph,
                    account_id=fresh["_id"],
                    second_factor=second_factor,
                ),
                actor=account_subject(fresh["_id"]),
            )
        return tokens

    async def _issue(
        self, tx: Transaction, account: Document, session_id: str, session_end: datetime
    ) -> SessionTokens:
        ctx = self._ctx
        now = ctx.clock.now()
        scopes = await account_scopes(tx, account, now, ctx.settings.termination_readable_months)
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
