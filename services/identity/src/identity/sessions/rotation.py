"""Refresh (rotating refresh tokens; a reused one revokes its session) and logout."""

from __future__ import annotations

import logging

from identity import errors
from identity.domain import hash_secret
from identity.records import ACCOUNTS, REFRESH_TOKENS, SESSIONS, account_subject, instant, iso, put
from identity.sessions.issuing import SessionCase, SessionTokens
from identity.sessions.revocation import revoke_session
from shared.auth import Principal
from shared.contracts.identity import SessionRevocationReason
from shared.store.port import VersionConflictError

log = logging.getLogger(__name__)


class Rotation(SessionCase):
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
