"""The CGU: read them, answer them, how they stand for an account; publication and notice
counts for operators."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from identity.api.common import Body, Instant, Operator, Recipient, client_ip, render_markdown
from identity.service import Identity
from identity.terms import TermsVersion
from shared.openapi import problem_responses


class TermsResponse(BaseModel):
    version: int
    content_hash: str
    effective_at: datetime
    published_at: datetime
    markdown: str
    html: str


class TermsAnswer(Body):
    version: int | None = Field(
        default=None, ge=1, description="the version read; 409 if another one is now in force"
    )
    declaration_hash: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="acceptance only: the content hash of the declaration statement validated "
        "at consent just before; recorded with the acceptance and its event",
    )


class TermsDecisionResponse(BaseModel):
    version: int
    accepted: bool
    terminated: bool


class TermsPublication(Body):
    markdown: str = Field(min_length=1, max_length=200_000)
    effective_at: Instant = Field(description="one month to one year after publication")


class AccountNoticeResponse(BaseModel):
    version: int
    status: str = Field(description="issued, presented (deemed received) or failed")
    presented_at: datetime | None = Field(description="first presentation (relay acceptance)")
    deemed_received_on: date | None = Field(description="CGU §16: first jour ouvré after it")
    binds_from: datetime | None = Field(
        description="the version binds this account from this instant (24:00 of the day one "
        "month after the deemed receipt, CPC 641/642); null while not deemed received"
    )


class AccountTermsResponse(BaseModel):
    accepted_version: int | None
    binding_version: int | None = Field(description="the version that binds the account now")
    answer_pending: bool = Field(description="the binding version is not the accepted one")
    notices: list[AccountNoticeResponse]


class TermsNoticeCountsResponse(BaseModel):
    version: int
    effective_at: datetime
    notified: int = Field(description="accounts sent a notice of this version")
    failed: int = Field(description="notices notify could not hand over (not bound)")
    deemed_received: int = Field(description="notices presented, hence deemed received")
    bound: int = Field(description="accounts the version binds now")
    accepted: int = Field(description="accounts that accepted this version or a later one")


def terms_response(version: TermsVersion) -> TermsResponse:
    return TermsResponse(
        version=version.version,
        content_hash=version.content_hash,
        effective_at=version.effective_at,
        published_at=version.published_at,
        markdown=version.markdown,
        html=render_markdown(version.markdown),
    )


def terms_router(identity: Identity) -> APIRouter:
    """The CGU routes (reads are public)."""
    router = APIRouter()

    @router.get("/me/terms", tags=["terms"], responses=problem_responses(404))
    async def my_terms(principal: Recipient) -> AccountTermsResponse:
        """The CGU as they stand for your account: the version accepted, the one binding you
        now, and each later version's notice (deemed receipt, the instant it binds you)."""
        terms = await identity.terms.for_account(principal.subject)
        return AccountTermsResponse(
            accepted_version=terms.accepted_version,
            binding_version=terms.binding_version,
            answer_pending=terms.binding_version != terms.accepted_version,
            notices=[
                AccountNoticeResponse(
                    version=n.version,
                    status=n.status,
                    presented_at=n.presented_at,
                    deemed_received_on=n.deemed_received_on,
                    binds_from=n.binds_from,
                )
                for n in terms.notices
            ],
        )

    @router.get("/terms/current", tags=["terms"], responses=problem_responses(404))
    async def current_terms() -> TermsResponse:
        """The CGU version in force (public)."""
        return terms_response(await identity.terms.current())

    @router.get("/terms/upcoming", tags=["terms"], responses=problem_responses(404))
    async def upcoming_terms() -> list[TermsResponse]:
        """Published versions not in force yet (public)."""
        return [terms_response(v) for v in await identity.terms.upcoming()]

    @router.post("/terms/current/acceptance", tags=["terms"], responses=problem_responses(404, 409))
    async def accept_terms(
        body: TermsAnswer, principal: Recipient, request: Request
    ) -> TermsDecisionResponse:
        """Accept the version in force: the consent to electronic service. 409
        `terms-refused` after a refusal (final)."""
        decision = await identity.terms.accept(
            principal.subject,
            version=body.version,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            declaration_hash=body.declaration_hash,
        )
        return TermsDecisionResponse(
            version=decision.version, accepted=decision.accepted, terminated=decision.terminated
        )

    @router.post("/terms/current/refusal", tags=["terms"], responses=problem_responses(404, 409))
    async def refuse_terms(
        body: TermsAnswer, principal: Recipient, request: Request
    ) -> TermsDecisionResponse:
        """Refuse the version in force: no access, for good (every session of the account
        ends); after an earlier acceptance, termination. Refusing again answers the decision
        on record."""
        decision = await identity.terms.refuse(
            principal.subject,
            version=body.version,
            session_id=principal.sid,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
        return TermsDecisionResponse(
            version=decision.version, accepted=decision.accepted, terminated=decision.terminated
        )

    @router.post("/terms", tags=["operator"], status_code=201, responses=problem_responses(409))
    async def publish_terms(body: TermsPublication, principal: Operator) -> TermsResponse:
        """Publish a CGU version effective at least one month and at most a year later (422
        otherwise)."""
        version = await identity.terms.publish(
            body.markdown, body.effective_at, operator=principal.subject
        )
        return terms_response(version)

    @router.get("/terms/{version}/notices", tags=["operator"], responses=problem_responses(404))
    async def terms_notices(
        version: Annotated[int, Path(ge=1, le=1_000_000)], principal: Operator
    ) -> TermsNoticeCountsResponse:
        """How many accounts were notified of a version, how many notices are deemed
        received, how many accounts it binds now."""
        counts = await identity.terms.notice_counts(version)
        return TermsNoticeCountsResponse(
            version=counts.version,
            effective_at=counts.effective_at,
            notified=counts.notified,
            failed=counts.failed,
            deemed_received=counts.deemed_received,
            bound=counts.bound,
            accepted=counts.accepted,
        )

    return router
