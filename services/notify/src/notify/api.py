"""Notify's small HTTP API: the notification history of a subject.

The operator reads every subject; an office reads the notifications of its own acts (the
office recorded from the event that caused them); nobody else. A subject with nothing the
caller may see answers 404, so an office cannot probe another office's acts.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query

from notify.history import NotificationView
from notify.notifications import Notification
from notify.service import Notify
from shared.auth import Principal, current_principal
from shared.problems import Problem, problem_type

OPERATOR_ROLES: Final = frozenset({"operator"})
OFFICE_ROLES: Final = frozenset({"office", "bailiff"})


def visible_to(principal: Principal, rows: list[Notification]) -> list[Notification]:
    """The rows a caller may read."""
    if principal.role in OPERATOR_ROLES:
        return rows
    if principal.role in OFFICE_ROLES and principal.office_id:
        return [row for row in rows if row.office_id == principal.office_id]
    raise Problem(
        403,
        "Forbidden",
        "Only the operator and the serving office read notification histories.",
        type=problem_type("forbidden"),
    )


def notifications_router(notify: Notify) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["notifications"])

    @router.get("/notifications")
    async def notifications(
        principal: Annotated[Principal, Depends(current_principal)],
        subject: Annotated[str, Query(min_length=1, max_length=200)],
    ) -> dict[str, Any]:
        """The notifications sent (or failed) for a subject, e.g. `act:<id>`."""
        rows = visible_to(principal, await notify.history.of_subject(subject))
        if not rows:
            raise Problem(
                404,
                "No notifications",
                "There is no notification you may read for this subject.",
                type=problem_type("notifications-not-found"),
            )
        return {
            "subject": subject,
            "notifications": [NotificationView.of(row).model_dump(mode="json") for row in rows],
        }

    return router
