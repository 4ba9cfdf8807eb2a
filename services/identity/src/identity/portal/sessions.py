"""Server-side portal sessions: the browser holds an opaque random value, identity keeps
`SHA-256(value) → (identity session, account, CSRF token)`.

Every request re-reads the identity session and the account, so a logout elsewhere, an
operator's suspension or credential revocation, a password reset or a termination ends the
portal session at once; the session's rights (`scopes_for`: the CGU gate, read-only after
termination) are recomputed from the account's current state.

A portal session ends at the identity session's absolute end (12 h) or after
`portal_idle_timeout_minutes` without a request, whichever comes first. Activity is recorded at
most once a minute (a write per page view would be wasted), so the idle timeout is exact to
that minute.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from identity.domain import (
    ACCOUNT_WRITE,
    TERMS_ANSWER_PENDING_SCOPES,
    TERMS_PENDING_SCOPES,
    AccountStatus,
    hash_secret,
)
from identity.records import ACCOUNTS, PORTAL_SESSIONS, SESSIONS, instant, iso
from identity.service import Identity
from identity.sessions import (
    SessionTokens,
    account_scopes,
    has_refused_terms,
)
from shared.auth import Principal
from shared.contracts.identity import AccountRole
from shared.store.port import Document, VersionConflictError, version_of, without_meta

log = logging.getLogger(__name__)

TOUCH_EVERY = timedelta(minutes=1)

__all__ = ["PORTAL_SESSIONS", "PortalSession", "PortalSessions"]


@dataclass(frozen=True)
class PortalSession:
    """A signed-in browser: its identity session, its account as stored, what it may do."""

    key: str
    session_id: str
    account: Document
    csrf_token: str
    scopes: frozenset[str]

    @property
    def account_id(self) -> str:
        return str(self.account["_id"])

    @property
    def identifier(self) -> str:
        return str(self.account["display_identifier"])

    @property
    def is_recipient(self) -> bool:
        return bool(self.account["role"] == AccountRole.RECIPIENT)

    @property
    def terms_pending(self) -> bool:
        return self.scopes == TERMS_PENDING_SCOPES

    @property
    def terms_answer_pending(self) -> bool:
        """A later CGU version binds the account unanswered: the acts stay open meanwhile."""
        return self.scopes == TERMS_ANSWER_PENDING_SCOPES

    @property
    def terminated(self) -> bool:
        return bool(self.account["status"] == AccountStatus.TERMINATED)

    @property
    def may_write(self) -> bool:
        return ACCOUNT_WRITE in self.scopes


class PortalSessions:
    def __init__(self, identity: Identity) -> None:
        self._identity = identity

    async def open(self, tokens: SessionTokens) -> str:
        """Bind a fresh cookie value to the identity session of a login; returns the value."""
        ctx = self._identity.ctx
        value = secrets.token_urlsafe(32)
        now = ctx.clock.now()
        await ctx.store.insert(
            PORTAL_SESSIONS,
            {
                "_id": hash_secret(value),
                "session_id": tokens.session_id,
                "account_id": tokens.account_id,
                "csrf_token": secrets.token_urlsafe(32),
                "created_at": iso(now),
                "last_seen_at": iso(now),
                "expires_at": iso(tokens.refresh_expires_at),
            },
        )
        return value

    async def find(self, value: str | None) -> PortalSession | None:
        """The live session behind a cookie value, or None (and its record is dropped when
        its identity session has ended or it was idle too long). Records the activity."""
        if value is None:
            return None
        ctx = self._identity.ctx
        store = ctx.store
        now = ctx.clock.now()
        idle = timedelta(minutes=ctx.settings.portal_idle_timeout_minutes)
        key = hash_secret(value)
        record = await store.get(PORTAL_SESSIONS, key)
        if record is None:
            return None
        last_seen = instant(record.get("last_seen_at") or record.get("created_at"))
        session = await store.get(SESSIONS, record["session_id"])
        account = await store.get(ACCOUNTS, record["account_id"])
        if (
            (last_seen is not None and now - last_seen >= idle)
            or session is None
            or account is None
            or session.get("revoked_at")
            or _passed(session.get("expires_at"), now)
            or _passed(record.get("expires_at"), now)
            or account.get("suspended")
            # The CGU refused: every session ended with the refusal; none may outlive it.
            or has_refused_terms(account)
        ):
            await store.delete(PORTAL_SESSIONS, key)
            return None
        if last_seen is None or now - last_seen >= TOUCH_EVERY:
            await _touch(self._identity, record, now)
        scopes = await account_scopes(
            store, account, now, self._identity.ctx.settings.termination_readable_months
        )
        return PortalSession(key, record["session_id"], account, record["csrf_token"], scopes)

    async def forget(self, session: PortalSession) -> None:
        """Drop the portal record (its identity session already ended, e.g. CGU refusal)."""
        await self._identity.ctx.store.delete(PORTAL_SESSIONS, session.key)

    async def logout(self, session: PortalSession) -> None:
        """End the identity session (published as a revocation) and drop the portal record."""
        now = self._identity.ctx.clock.now()
        principal = Principal(
            subject=session.account_id,
            role=str(session.account["role"]),
            scopes=session.scopes,
            sid=session.session_id,
            office_id=None,
            issued_at=now,
            expires_at=now,
        )
        await self._identity.sessions.logout(principal)
        await self.forget(session)


def _passed(value: str | None, now: datetime) -> bool:
    moment = instant(value)
    return moment is not None and moment <= now


async def _touch(identity: Identity, record: Document, now: datetime) -> None:
    try:
        await identity.ctx.store.replace(
            PORTAL_SESSIONS,
            {**without_meta(record), "last_seen_at": iso(now)},
            expected_version=version_of(record),
        )
    except VersionConflictError:
        # A concurrent request of the same browser recorded the activity already.
        log.debug("portal session activity already recorded")
