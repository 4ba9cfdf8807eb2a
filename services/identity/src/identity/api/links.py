"""The e-mailed links: activation, password reset, link checks, and the internal route notify
fetches a link by (events carry only its id)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from identity.api.common import NO_STORE, Body, LinkReader, client_ip
from identity.service import Identity
from shared.openapi import null_answer, problem_responses


class ActivationRequest(Body):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class ActivationResponse(BaseModel):
    account_id: str
    identifier: str


class ResetRequest(Body):
    identifier: str = Field(min_length=1, max_length=200)


class LinkCheckRequest(Body):
    token: str = Field(min_length=1, max_length=200)
    purpose: Literal["activation", "reset"]


class LinkCheckResponse(BaseModel):
    purpose: str
    expires_at: datetime


class DeliverableLinkResponse(BaseModel):
    link_id: str
    purpose: str
    url: str
    expires_at: datetime


class ResetCompletion(Body):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


def links_router(identity: Identity) -> APIRouter:
    """Activation and reset links (public: the link is the credential)."""
    router = APIRouter()

    @router.post("/activations", tags=["accounts"], responses=problem_responses(409, 410))
    async def activate(body: ActivationRequest) -> ActivationResponse:
        """Spend an activation link and choose the password."""
        activated = await identity.accounts.activate(body.token, body.password)
        return ActivationResponse(account_id=activated.account_id, identifier=activated.identifier)

    @router.post(
        "/password-resets",
        tags=["accounts"],
        status_code=202,
        responses={**null_answer(202), **problem_responses(429)},
    )
    async def request_reset(body: ResetRequest, request: Request) -> None:
        """E-mail a reset link; the answer is the same whether the identifier exists or not.
        An address making too many requests in an hour gets 429; an account gets a few
        e-mails an hour at most (further requests are answered alike and send nothing)."""
        await identity.accounts.request_password_reset(body.identifier, ip=client_ip(request))

    @router.post("/link-checks", tags=["accounts"], responses=problem_responses(410))
    async def check_link(body: LinkCheckRequest) -> LinkCheckResponse:
        """Whether an activation or reset link can still be used, without spending it: 410
        `link-invalid` when it expired, was used or replaced (one answer for all)."""
        checked = await identity.accounts.check_link(body.token, body.purpose)
        return LinkCheckResponse(purpose=checked.purpose, expires_at=checked.expires_at)

    @router.post(
        "/password-resets/completion",
        tags=["accounts"],
        status_code=204,
        responses=problem_responses(409, 410),
    )
    async def complete_reset(body: ResetCompletion) -> None:
        await identity.accounts.complete_password_reset(body.token, body.password)

    return router


def internal_router(identity: Identity) -> APIRouter:
    """Service-to-service routes: callers are the platform's service clients
    (`identity.service_clients`), each limited by its scope."""
    router = APIRouter(prefix="/internal/v1", tags=["internal"])

    @router.get("/links/{link_id}")
    async def deliverable_link(
        link_id: Annotated[str, Path(max_length=64)], _caller: LinkReader, response: Response
    ) -> DeliverableLinkResponse:
        """The activation or reset link `link_id` names, for notify to e-mail it (events only
        carry the id). 404 for an unknown id, 410 `link-invalid` once it was used, replaced or
        expired. Never cached, never logged."""
        link = await identity.accounts.deliverable_link(link_id)
        response.headers.update(NO_STORE)
        return DeliverableLinkResponse(
            link_id=link.link_id, purpose=link.purpose, url=link.url, expires_at=link.expires_at
        )

    return router
