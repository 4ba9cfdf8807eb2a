"""Login, refresh, logout, and the revocations services read when they start."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from identity.api.common import NO_STORE, AnyCaller, Body, Instant, client_ip
from identity.service import Identity
from identity.sessions import SessionTokens
from shared.openapi import problem_responses


class LoginRequest(Body):
    identifier: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(
        default=None, max_length=32, description="TOTP code or a recovery code, when enrolled"
    )


class SessionResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - RFC 6749 token type
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime
    scope: str
    session_id: str
    account_id: str
    role: str
    terms_acceptance_required: bool = Field(
        description="a first CGU version to accept: the session may only answer it"
    )
    terms_answer_pending: bool = Field(
        default=False,
        description="a CGU version awaits the answer; the acts stay open meanwhile",
    )


class RefreshRequest(Body):
    refresh_token: str = Field(min_length=1, max_length=200)


def session_response(tokens: SessionTokens, ttl_seconds: int) -> SessionResponse:
    return SessionResponse(
        access_token=tokens.access_token,
        expires_in=ttl_seconds,
        refresh_token=tokens.refresh_token,
        refresh_expires_at=tokens.refresh_expires_at,
        scope=" ".join(sorted(tokens.scopes)),
        session_id=tokens.session_id,
        account_id=tokens.account_id,
        role=tokens.role,
        terms_acceptance_required=tokens.terms_acceptance_required,
        terms_answer_pending=tokens.terms_answer_pending,
    )


def sessions_router(identity: Identity) -> APIRouter:
    """Sessions: login (password, TOTP), refresh, logout; recent revocations."""
    router = APIRouter()
    ttl = int(identity.ctx.issuer.ttl.total_seconds())

    @router.post(
        "/sessions", tags=["sessions"], status_code=201, responses=problem_responses(401, 403, 429)
    )
    async def login(body: LoginRequest, request: Request, response: Response) -> SessionResponse:
        """Identify with identifier + password (+ TOTP): access and refresh tokens. 401 for
        a wrong identifier or password (one answer), 429 after repeated failures of the
        address or of the identifier typed, 403 `account-suspended`, or 403 `terms-refused`
        when the CGU were refused (final: no session)."""
        tokens = await identity.sessions.login(
            body.identifier, body.password, ip=client_ip(request), second_factor=body.totp
        )
        response.headers.update(NO_STORE)
        return session_response(tokens, ttl)

    @router.post("/sessions/refresh", tags=["sessions"], responses=problem_responses(401, 403))
    async def refresh(body: RefreshRequest, response: Response) -> SessionResponse:
        """Spend a refresh token for a new pair; a reused one revokes the whole session."""
        tokens = await identity.sessions.refresh(body.refresh_token)
        response.headers.update(NO_STORE)
        return session_response(tokens, ttl)

    @router.delete(
        "/sessions/current", tags=["sessions"], status_code=204, responses=problem_responses(404)
    )
    async def logout(principal: AnyCaller) -> None:
        await identity.sessions.logout(principal)

    @router.get("/revocations", tags=["tokens"])
    async def revocations(
        since: Annotated[Instant, Query(description="ISO instant")],
    ) -> dict[str, list[dict[str, str]]]:
        """Revocations of the last access-token lifetime, for services that just started."""
        return await identity.sessions.recent_revocations(since)

    return router
