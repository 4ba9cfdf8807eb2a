"""History: the notifications of a subject as the API shows them (no address, no content)."""

from __future__ import annotations

from datetime import date
from typing import Final

from pydantic import BaseModel, ConfigDict

from notify.context import Context
from notify.domain import State
from notify.notifications import Notification
from notify.values import Instant
from shared.contracts.notify import Channel, NotificationKind

MAX_HISTORY: Final = 500


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


class History:
    """What was sent (or failed) for a subject."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def of_subject(self, subject: str) -> list[Notification]:
        """The notifications of a subject, oldest first (at most MAX_HISTORY)."""
        return await self._ctx.notifications.of_subject(subject, MAX_HISTORY)
