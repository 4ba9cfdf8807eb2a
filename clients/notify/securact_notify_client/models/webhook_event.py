from enum import StrEnum


class WebhookEvent(StrEnum):
    ACT_COGNISANCE = "act.cognisance"
    ACT_QUALITY_DETERMINED = "act.quality-determined"
    ACT_REFUSED = "act.refused"
    ACT_SCHEDULED = "act.scheduled"
    ACT_SERVED = "act.served"
    ACT_SERVED_AFTER_CONSENT_END = "act.served-after-consent-end"
    NOTIFICATION_FAILED = "notification.failed"
    REPLY_RECEIVED = "reply.received"

    def __str__(self) -> str:
        return str(self.value)
