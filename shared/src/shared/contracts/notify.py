"""Events of the notify service: the evidence that a person was (or could not be)
notified, in the ETSI EN 319 522 vocabulary (`ConsignmentNotification`,
`ConsignmentNotificationFailure`).

Subject: the subject of the event that caused the notification (`act:<id>`, `account:<id>`…),
so an act's trail lists its notifications. The address itself is never in these events: the
recipient is named by party (`account:<id>`, `office:<id>`) and a masked address
(`j***@example.fr`, `+336******78`) that lets a reader match it with the declaration.

`ContactsPurgedV1` is the trail of notify's part in retention's purges (ids and instant only).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import register


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class NotificationKind(StrEnum):
    ACTIVATION = "activation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind of message, not a secret
    TERMS_NOTICE = "terms_notice"
    ACT_SERVED = "act_served"
    LETTRE_SIMPLE_DUE = "lettre_simple_due"
    REPLY_RECEIVED = "reply_received"
    CONSENT_REVOKED = "consent_revoked"
    ACCOUNT_TERMINATED = "account_terminated"
    ERASURE_CERTIFICATE = "erasure_certificate"
    EMAIL_CHANGE = "email_change"
    EMAIL_CHANGED = "email_changed"
    MOBILE_CHANGED = "mobile_changed"
    DECLARATION_CONTESTED = "declaration_contested"
    POST_MORTEM_NOTICE = "post_mortem_notice"
    MAINTENANCE_NOTICE = "maintenance_notice"
    BREACH_NOTICE = "breach_notice"


class NotificationFacts(EventPayload):
    """What both outcomes say about the notification."""

    notification_id: str
    kind: NotificationKind
    channel: Channel
    recipient: str = Field(description="the party notified: account:<id> or office:<id>")
    recipient_masked: str = Field(description="the address, masked (no full personal data)")
    message_id: str = Field(description="Message-ID (e-mail) or reference (SMS), from the event")
    source_event_id: str = Field(description="the event that asked for the notification")
    source_type: str
    attempts: int = Field(ge=0)
    act_id: str | None = None
    office_id: str | None = None


@register
class NotificationSentV1(NotificationFacts):
    """The message was accepted by the SMTP relay or the SMS provider (`ConsignmentNotification`).

    For a CGU notice, `deemed_received_on` is the first business day after this first
    presentation (CGU §16)."""

    producer: ClassVar[str] = "notify"
    fact: ClassVar[str] = "notification-sent"
    version: ClassVar[int] = 1

    accepted_at: AwareDatetime = Field(description="when the relay or provider accepted it")
    deemed_received_on: date | None = None


@register
class NotificationFailedV1(NotificationFacts):
    """The message could not be handed over (`ConsignmentNotificationFailure`): refused for good
    (SMTP 5xx, invalid address, no address known) or still failing after the bounded retries."""

    producer: ClassVar[str] = "notify"
    fact: ClassVar[str] = "notification-failed"
    version: ClassVar[int] = 1

    failed_at: AwareDatetime
    reason: str = Field(max_length=500, description="why; server text with addresses redacted")
    permanent: bool = Field(description="refused for good (true) or retries exhausted (false)")


@register
class ContactsPurgedV1(EventPayload):
    """Notify forgot the contact data it kept for an account or a declaration and removed the
    masked addresses from their notification history, in answer to retention's
    `retention.contact-data-purge-requested.v1` (`account_id` set) or
    `retention.declaration-purge-requested.v1` (`declaration_id` set).

    Subject: the request's subject. Retention does not wait for it: it is the trail of the step.
    Ids and the instant only."""

    producer: ClassVar[str] = "notify"
    fact: ClassVar[str] = "contacts-purged"
    version: ClassVar[int] = 1

    erasure_id: str
    account_id: str | None = None
    declaration_id: str | None = None
    purged_at: AwareDatetime
