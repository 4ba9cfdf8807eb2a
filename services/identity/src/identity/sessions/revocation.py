"""Revocations: a session, or every credential of an account, revoked, recorded for services
that start late and published; identity's own revocation list; the recent ones services
read at start."""

from __future__ import annotations

from datetime import datetime, timedelta

from identity.domain import OFFICE_ROLE
from identity.records import (
    ACCOUNTS,
    CLIENTS,
    REVOCATIONS,
    SESSIONS,
    Context,
    account_subject,
    instant,
    iso,
    put,
)
from shared.auth import Principal
from shared.contracts.identity import (
    CredentialRevocationReason,
    CredentialsRevokedV1,
    SessionRevocationReason,
    SessionRevokedV1,
)
from shared.store.port import Document, Transaction


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


class RecentRevocations:
    """What a service that starts now asks (a use case of `Sessions`, on its context)."""

    _ctx: Context

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
