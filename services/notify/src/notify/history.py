"""History: the notifications of a subject as the API shows them (no address, no content).

The operator reads every subject; an office reads the notifications of its own acts (the
office recorded from the event that caused them); nobody else. A subject with nothing the
caller may see is refused as not found, so an office cannot probe another office's acts.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from pydantic import BaseModel, ConfigDict

from notify.context import Context
from notify.domain import State
from notify.errors import Forbidden, NotificationsNotFound
from notify.notifications import Notification
from notify.values import Instant
from shared.auth import Principal
from shared.contracts.notify import Channel, NotificationKind

MAX_HISTORY: Final = 500
OPERATOR_ROLES: Final = frozenset({"operator"})
OFFICE_ROLES: Final = frozenset({"office", "bailiff"})


class NotificationView(BaseModel):
    """A history entry: what happened to one message, without its address or content."""

    model_config = ConfigDict(frozen=True)

    notification_id: str
    kind: NotificationKind
    channel: Channel
    recipient: str
    recipient_masked: str
    state: State
    attempts: int
    message_id: str
    source_event_id: str
    source_type: str
    created_at: Instant
    accepted_at: Instant | None
    failed_at: Instant | None
    reason: str | None
    permanent: bool | None
    deemed_received_on: date | None
    resent_after_crash: int
    contact_purged_at: Instant | None
    act_id: str | None
    office_id: str | None

    @classmethod
    def of(cls, row: Notification) -> NotificationView:
        return cls(
            notification_id=row.id,
            kind=row.kind,
            channel=row.channel,
            recipient=row.recipient,
            recipient_masked=row.recipient_masked,
            state=row.state,
            attempts=row.attempts,
            message_id=row.message_id,
            source_event_id=row.event_id,
            source_type=row.source_type,
            created_at=row.created_at,
            accepted_at=row.accepted_at,
            failed_at=row.failed_at,
            reason=row.reason,
            permanent=row.permanent,
            deemed_received_on=row.deemed_received_on,
            resent_after_crash=row.resent_after_crash,
            contact_purged_at=row.contact_purged_at,
            act_id=row.act_id,
            office_id=row.office_id,
        )


class NotificationHistory(BaseModel):
    """The notifications of a subject the caller may read, oldest first."""

    model_config = ConfigDict(frozen=True)

    subject: str
    notifications: list[NotificationView]


def visible_to(principal: Principal, rows: list[Notification]) -> list[Notification]:
    """The notifications a caller may read."""
    if principal.role in OPERATOR_ROLES:
        return rows
    if principal.role in OFFICE_ROLES and principal.office_id:
        return [row for row in rows if row.office_id == principal.office_id]
    raise Forbidden("Only the operator and the serving office read notification histories.")


class History:
    """What was sent (or failed) for a subject."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def of_subject(self, subject: str) -> list[Notification]:
        """The notifications of a subject, oldest first (at most MAX_HISTORY)."""
        return await self._ctx.notifications.of_subject(subject, MAX_HISTORY)

    async def read(self, principal: Principal, subject: str) -> NotificationHistory:
        rows = visible_to(principal, await self.of_subject(subject))
        if not rows:
            raise NotificationsNotFound("There is no notification you may read for this subject.")
        return NotificationHistory(
            subject=subject, notifications=[NotificationView.of(row) for row in rows]
        )
