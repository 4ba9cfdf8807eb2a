"""Webhook endpoints and deliveries as stored."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from notify.values import Instant
from shared.crypto.sealed import SealedValue
from shared.store.port import VERSION, Document


class WebhookEvent(StrEnum):
    """What an office can subscribe to (the payload's `type`)."""

    ACT_SERVED = "act.served"
    ACT_SCHEDULED = "act.scheduled"
    ACT_REFUSED = "act.refused"
    ACT_COGNISANCE = "act.cognisance"
    ACT_QUALITY_DETERMINED = "act.quality-determined"
    ACT_SERVED_AFTER_CONSENT_END = "act.served-after-consent-end"
    REPLY_RECEIVED = "reply.received"
    NOTIFICATION_FAILED = "notification.failed"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    """Every attempt refused or unanswered: the log says so, nothing more is tried."""


class _Stored(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    KEPT_NULLS: ClassVar[frozenset[str]] = frozenset()

    id: str = Field(alias="_id")
    version: int | None = Field(default=None, alias=VERSION, exclude=True)

    def document(self) -> Document:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class SealedSecret(BaseModel):
    """A signing secret sealed under notify's key ring, and until when it still signs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sealed: SealedValue
    created_at: Instant
    retires_at: Instant | None = None


class Endpoint(_Stored):
    """An office's receiver: where, which events, its signing secret, and during a rotation's
    grace the previous one (deliveries then carry both signatures)."""

    office_id: str
    url: str
    events: tuple[WebhookEvent, ...]
    description: str | None = None
    secret: SealedSecret
    previous_secret: SealedSecret | None = None
    active: bool = True
    created_at: Instant
    updated_at: Instant

    def signing_secrets(self, now: datetime) -> tuple[SealedSecret, ...]:
        previous = self.previous_secret
        if previous is None or (previous.retires_at is not None and previous.retires_at <= now):
            return (self.secret,)
        return (self.secret, previous)

    def rotated(self, fresh: SealedSecret, now: datetime, grace: timedelta) -> Endpoint:
        """`fresh` signs from now; the current secret beside it until `now + grace` (a
        secret already retiring is dropped: two rotations within a grace end the oldest)."""
        previous = self.secret.model_copy(update={"retires_at": now + grace})
        return self.model_copy(
            update={"secret": fresh, "previous_secret": previous, "updated_at": now}
        )


class Delivery(_Stored):
    """One event to one endpoint: the body as first built (retries send the same bytes under
    the same `webhook-id`), and what became of it."""

    endpoint_id: str
    office_id: str
    event_id: str
    event: WebhookEvent
    act_id: str | None
    body: str
    state: DeliveryState
    attempts: int = 0
    next_attempt_at: Instant
    last_status: int | None = None
    last_error: str | None = None
    created_at: Instant
    delivered_at: Instant | None = None
    updated_at: Instant

    @property
    def webhook_id(self) -> str:
        """Standard Webhooks' idempotency key: one per event, the same on every retry."""
        return f"msg_{self.event_id}"
