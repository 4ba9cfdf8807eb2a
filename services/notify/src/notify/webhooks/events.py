"""Which bus events become which webhook, and the thin data each carries: the act id, the
instants and outcomes of the fact, never a personal datum (no name, address, e-mail, mobile)
nor the act's content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from notify.webhooks.model import WebhookEvent
from shared.contracts.delivery import (
    ActHandedOverV1,
    ActRejectedV1,
    ActScheduledV1,
    ActServedAfterConsentEndV1,
    ActServedV1,
    ActServedV2,
    ActServedV3,
    ReplyReceivedV1,
    ServiceQualityDeterminedV1,
)
from shared.contracts.envelope import EventPayload
from shared.contracts.notify import NotificationFailedV1
from shared.jsondoc import JsonObject


@dataclass(frozen=True)
class Source:
    """A contract that becomes a webhook: its type and the fields of its data."""

    event: WebhookEvent
    fields: tuple[str, ...]

    def data(self, payload: EventPayload) -> JsonObject:
        # The chosen fields of a typed contract, as JSON: their types are the contract's.
        dumped = payload.model_dump(mode="json")
        return {name: dumped[name] for name in self.fields if name in dumped}


_SERVED: Final = Source(WebhookEvent.ACT_SERVED, ("act_id", "served_at", "act_sha256"))

SOURCES: Final[dict[type[EventPayload], Source]] = {
    ActServedV1: _SERVED,
    ActServedV2: _SERVED,
    ActServedV3: _SERVED,
    ActScheduledV1: Source(
        WebhookEvent.ACT_SCHEDULED, ("act_id", "act_sha256", "submitted_at", "scheduled_for")
    ),
    ActRejectedV1: Source(
        WebhookEvent.ACT_REFUSED, ("act_id", "act_sha256", "rejected_at", "reasons")
    ),
    ActHandedOverV1: Source(WebhookEvent.ACT_COGNISANCE, ("act_id", "served_at", "handed_over_at")),
    ServiceQualityDeterminedV1: Source(
        WebhookEvent.ACT_QUALITY_DETERMINED,
        ("act_id", "quality", "served_at", "handed_over_at", "lettre_simple_due_on"),
    ),
    ActServedAfterConsentEndV1: Source(
        WebhookEvent.ACT_SERVED_AFTER_CONSENT_END,
        ("act_id", "served_at", "consent_ended_at", "reason", "detected_at"),
    ),
    ReplyReceivedV1: Source(WebhookEvent.REPLY_RECEIVED, ("act_id", "reply_id", "received_at")),
    NotificationFailedV1: Source(
        WebhookEvent.NOTIFICATION_FAILED, ("act_id", "channel", "failed_at", "permanent")
    ),
}


def office_of(payload: EventPayload) -> str | None:
    office: str | None = getattr(payload, "office_id", None)
    return office


def act_of(payload: EventPayload) -> str | None:
    act: str | None = getattr(payload, "act_id", None)
    return act
