from enum import StrEnum


class NotificationKind(StrEnum):
    ACCOUNT_TERMINATED = "account_terminated"
    ACTIVATION = "activation"
    ACT_SERVED = "act_served"
    BREACH_NOTICE = "breach_notice"
    CONSENT_REVOKED = "consent_revoked"
    DECLARATION_CONTESTED = "declaration_contested"
    EMAIL_CHANGE = "email_change"
    EMAIL_CHANGED = "email_changed"
    ERASURE_CERTIFICATE = "erasure_certificate"
    LETTRE_SIMPLE_DUE = "lettre_simple_due"
    MAINTENANCE_NOTICE = "maintenance_notice"
    MOBILE_CHANGED = "mobile_changed"
    PASSWORD_RESET = "password_reset"
    POST_MORTEM_NOTICE = "post_mortem_notice"
    REPLY_RECEIVED = "reply_received"
    TERMS_NOTICE = "terms_notice"

    def __str__(self) -> str:
        return str(self.value)
