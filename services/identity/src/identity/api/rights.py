"""The holder's rectification requests (GDPR art. 16) and the operators' answers; their
post-mortem directives (loi 78-17 art. 85) and the operators' record of a death."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Response
from pydantic import BaseModel, EmailStr, Field

from identity.api.common import AccountId, Body, Holder, Operator, Recipient
from identity.directives import MAX_JUSTIFICATION, MAX_NAME, DeathRecord, PostMortemDirectives
from identity.rectification import MAX_RECTIFICATION_TEXT, RectificationRequest
from identity.service import Identity
from shared.contracts.identity import PostMortemErasure, RectificationOutcome
from shared.openapi import problem_responses


class RectificationAsked(Body):
    text: str = Field(min_length=1, max_length=MAX_RECTIFICATION_TEXT)


class RectificationAnswer(Body):
    outcome: RectificationOutcome
    reason: str = Field(default="", max_length=MAX_RECTIFICATION_TEXT)


class DirectivesAsked(Body):
    erasure: PostMortemErasure = Field(
        description="at_once: the account's data erased as soon as the death is recorded "
        "(the evidence the law keeps, kept); scheduled: the usual delays"
    )
    designated_name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    designated_email: EmailStr | None = Field(
        default=None, description="the person informed of the death (with designated_name)"
    )


class DirectivesOfHolder(BaseModel):
    directives: PostMortemDirectives | None = Field(description="null when none are recorded")


class DeathRecording(Body):
    died_on: date
    justification: str = Field(
        min_length=1,
        max_length=MAX_JUSTIFICATION,
        description="the reference of the document that proves the death (no names)",
    )


def rights_router(identity: Identity) -> APIRouter:
    router = APIRouter()
    directives = identity.directives

    @router.get("/me/post-mortem-directives", tags=["accounts"])
    async def my_directives(principal: Recipient) -> DirectivesOfHolder:
        """Your post-mortem directives (loi 78-17 art. 85), if you recorded some."""
        return DirectivesOfHolder(directives=await directives.of_account(principal.subject))

    @router.put(
        "/me/post-mortem-directives", tags=["accounts"], responses=problem_responses(404, 409)
    )
    async def record_directives(
        body: DirectivesAsked, principal: Recipient
    ) -> PostMortemDirectives:
        """Record your post-mortem directives, or replace them."""
        return await directives.record(
            principal.subject,
            body.erasure,
            designated_name=body.designated_name,
            designated_email=body.designated_email,
        )

    @router.delete(
        "/me/post-mortem-directives",
        tags=["accounts"],
        status_code=204,
        responses=problem_responses(404, 409),
    )
    async def revoke_directives(principal: Recipient) -> Response:
        """Revoke your directives: the usual schedule applies, no one is informed."""
        await directives.revoke(principal.subject)
        return Response(status_code=204)

    @router.post(
        "/accounts/{account_id}/death",
        tags=["operator"],
        status_code=201,
        responses=problem_responses(403, 404, 409),
    )
    async def record_death(
        account_id: AccountId, body: DeathRecording, principal: Operator
    ) -> DeathRecord:
        """Record the holder's death: the account is closed and their directives applied
        (retention erases at once or on the usual schedule; the designated person is told)."""
        return await directives.record_death(
            account_id, body.died_on, body.justification, operator=principal.subject
        )

    rectifications = identity.rectifications

    @router.post(
        "/me/rectification-requests",
        tags=["accounts"],
        status_code=201,
        responses=problem_responses(404),
    )
    async def request_rectification(
        body: RectificationAsked, principal: Holder
    ) -> RectificationRequest:
        """Ask for a rectification of your data (GDPR art. 16): an operator answers it."""
        return await rectifications.request(principal.subject, body.text)

    @router.get("/me/rectification-requests", tags=["accounts"])
    async def my_rectifications(principal: Holder) -> list[RectificationRequest]:
        return await rectifications.of_account(principal.subject)

    @router.get("/rectification-requests", tags=["operator"])
    async def pending_rectifications(_principal: Operator) -> list[RectificationRequest]:
        """Requests not answered yet, the oldest first (100)."""
        return await rectifications.pending()

    @router.post(
        "/rectification-requests/{request_id}/answer",
        tags=["operator"],
        responses=problem_responses(404, 409),
    )
    async def answer_rectification(
        request_id: str, body: RectificationAnswer, principal: Operator
    ) -> RectificationRequest:
        """The final answer: rectified or refused, with reasons the holder reads."""
        return await rectifications.answer(
            request_id, body.outcome, body.reason, operator=principal.subject
        )

    return router
