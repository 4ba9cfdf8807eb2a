"""The holder's rectification requests (GDPR art. 16) and the operators' answers."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from identity.api.common import Body, Holder, Operator
from identity.rectification import MAX_RECTIFICATION_TEXT, RectificationRequest
from identity.service import Identity
from shared.contracts.identity import RectificationOutcome
from shared.openapi import problem_responses


class RectificationAsked(Body):
    text: str = Field(min_length=1, max_length=MAX_RECTIFICATION_TEXT)


class RectificationAnswer(Body):
    outcome: RectificationOutcome
    reason: str = Field(default="", max_length=MAX_RECTIFICATION_TEXT)


def rights_router(identity: Identity) -> APIRouter:
    router = APIRouter()
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
