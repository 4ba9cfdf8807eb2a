"""A session's tokens: the access token (its scopes read now) and a single-use refresh token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from identity.attempts import AttemptJournal
from identity.domain import TERMS_ANSWER_PENDING_SCOPES, TERMS_PENDING_SCOPES, hash_secret
from identity.records import REFRESH_TOKENS, Context, iso
from identity.sessions.access import account_scopes
from identity.throttling import Throttles
from shared.store.port import Document, Transaction


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


class SessionCase:
    """The session use cases' context and how they issue tokens."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._throttles = Throttles(ctx)
        self._journal = AttemptJournal(ctx)

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
