"""Notify's small HTTP API: the notification history of a subject (`notify.history` says who
reads what). What the use case refuses is a `shared.refusals.Refusal`, mapped to problem+json
once for the whole app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from notify.history import NotificationHistory
from notify.notices import NoticeProgress
from notify.service import Notify
from shared.auth import Principal, current_principal
from shared.openapi import problem_responses

Caller = Annotated[Principal, Depends(current_principal)]
Subject = Annotated[str, Query(min_length=1, max_length=200)]
NoticeId = Annotated[str, Path(min_length=1, max_length=64)]


def notifications_router(notify: Notify) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["notifications"])

    @router.get(
        "/notifications", response_model=NotificationHistory, responses=problem_responses(404)
    )
    async def notifications(principal: Caller, subject: Subject) -> NotificationHistory:
        """The notifications sent (or failed) for a subject, e.g. `act:<id>`."""
        return await notify.history.read(principal, subject)

    @router.get("/notices/{notice_id}", responses=problem_responses(403, 404))
    async def notice_progress(principal: Caller, notice_id: NoticeId) -> NoticeProgress:
        """Where a notice to users (maintenance, breach) stands: messages recorded, sent (the
        relay accepted them), failed, waiting. Operator only."""
        return await notify.notices.progress(principal, notice_id)

    return router
