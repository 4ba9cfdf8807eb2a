"""Settings of the notify service: env `SECURACT_NOTIFY_*`, then `SECURACT_*`.

`smtp_password` is `SecretStr | None`: an unauthenticated relay (the dev mailbox, a local MTA
that relays by IP) is legitimate, so the base class's "secrets must be set outside dev" rule
cannot apply to it. When `smtp_username` is set, the password is required (checked at start).

TLS to the relay always verifies its certificate (there is deliberately no setting to turn that
off): a relay with a certificate from a private CA is trusted through `smtp_ca_file`. Outside
dev, credentials are only sent over TLS.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import EmailStr, Field, FilePath, SecretStr, model_validator

from shared.legal_calendar import BusinessDays, Territory
from shared.settings import BaseServiceSettings, Environment, service_config


class Settings(BaseServiceSettings):
    service_name: ClassVar[str] = "notify"
    default_port: ClassVar[int] = 8104
    model_config = service_config("notify")

    # --- SMTP ---------------------------------------------------------------------------------
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, description="1025: the dev mailbox")
    smtp_starttls: bool = Field(default=False, description="upgrade with STARTTLS (port 587)")
    smtp_tls: bool = Field(default=False, description="implicit TLS from the start (port 465)")
    smtp_ca_file: FilePath | None = Field(
        default=None,
        description="PEM file of the private CA(s) that issued the relay's certificate; it "
        "replaces the system trust store. Unset: the system trust store. Always verified.",
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    smtp_connections: int = Field(default=4, ge=1, description="concurrent SMTP connections")
    mail_from: str = "SECURACT <ne-pas-repondre@securact.local>"
    message_id_domain: str = Field(
        default="notify.securact.local", description="right-hand side of every Message-ID"
    )
    # --- SMS ----------------------------------------------------------------------------------
    sms_mode: Literal["dev", "http", "off"] = Field(
        default="dev", description="dev: SMS become mails to <number>@sms.invalid"
    )
    sms_endpoint: str = ""
    sms_token: SecretStr | None = None
    sms_sender: str = "SECURACT"
    # --- sending ------------------------------------------------------------------------------
    retry_max_attempts: int = Field(default=10, ge=1)
    retry_first_delay_seconds: float = Field(default=5.0, gt=0)
    retry_max_delay_seconds: float = Field(default=900.0, gt=0)
    claim_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="a 'sending' claim older than this is a crashed attempt: it is sent again",
    )
    shutdown_grace_seconds: float = Field(
        default=10.0,
        gt=0,
        description="at a stop, how long attempts under way may take to finish their hand-over "
        "and record its outcome before they are cut short",
    )
    domain_rate_per_second: float = Field(
        default=50.0, gt=0, description="messages per second to one destination domain"
    )
    domain_burst: int = Field(default=50, ge=1)
    idle_poll_seconds: float = Field(default=1.0, gt=0)
    # --- CGU notices --------------------------------------------------------------------------
    deemed_received_territories: tuple[Territory, ...] = Field(
        default=tuple(Territory),
        description="the latest first business day over these territories is used (the "
        "recipient's territory is not known to notify)",
    )
    business_days: BusinessDays = BusinessDays.JOURS_OUVRES
    # --- identity (activation and reset links, fetched when their e-mail is sent) --------------
    client_id: str = Field(
        default="service-notify",
        description="notify's OAuth2 client at identity (links:read, certificates:read)",
    )
    client_secret: SecretStr = Field(
        default=SecretStr("securact-dev-notify-client-secret"),
        description="SECURACT_NOTIFY_CLIENT_SECRET: the same value identity is given",
    )
    identity_timeout_seconds: float = Field(
        default=10.0, gt=0, description="a link or token request to identity gives up after this"
    )
    # --- retention (erasure-certificate download links, fetched when their e-mail is sent) ----
    retention_url: str = Field(
        default="http://127.0.0.1:8106",
        description="retention's API: certificate download links (scope certificates:read)",
    )
    retention_timeout_seconds: float = Field(
        default=10.0, gt=0, description="a link request to retention gives up after this"
    )
    # --- webhooks to offices (Standard Webhooks) ----------------------------------------------
    webhook_max_attempts: int = Field(default=12, ge=1)
    webhook_first_delay_seconds: float = Field(default=10.0, gt=0)
    webhook_max_delay_seconds: float = Field(
        default=4 * 3600.0, gt=0, description="backoff cap: 12 attempts span about a day"
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="an office's receiver must answer within this"
    )
    webhook_secret_grace_hours: float = Field(
        default=24.0, ge=0, description="how long a rotated secret still signs beside the new one"
    )
    webhook_allow_http: bool = Field(
        default=False, description="accept plain-HTTP receivers (dev and tests; never production)"
    )
    # --- notices to users (maintenance, breach) ------------------------------------------------
    notice_batch_size: int = Field(
        default=200, ge=1, le=5000, description="contacts a notice's fan-out reads per transaction"
    )
    notice_fanout_interval_seconds: float = Field(
        default=2.0, gt=0, description="how often pending notices are fanned out"
    )
    # --- offices ------------------------------------------------------------------------------
    office_emails: dict[str, EmailStr] = Field(
        default_factory=dict,
        description="office directory by office_id (JSON): where an office is told that a "
        "person contested the declaration it registered (the e-mails of delivery's directory)",
    )
    # --- HTTP API -----------------------------------------------------------------------------

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.smtp_tls and self.smtp_starttls:
            raise ValueError("smtp_tls (implicit TLS) and smtp_starttls exclude each other")
        if self.smtp_username and self.smtp_password is None:
            raise ValueError("smtp_username is set: smtp_password is required")
        encrypted = self.smtp_tls or self.smtp_starttls
        if self.smtp_ca_file is not None and not encrypted:
            raise ValueError("smtp_ca_file is set but neither smtp_tls nor smtp_starttls is")
        if self.webhook_allow_http and self.env is Environment.PRODUCTION:
            raise ValueError("webhook_allow_http is refused in production: receivers use HTTPS")
        if self.smtp_username and not encrypted and self.env is not Environment.DEV:
            raise ValueError("smtp credentials outside dev need smtp_tls or smtp_starttls")
        if self.sms_mode == "http" and (not self.sms_endpoint or self.sms_token is None):
            raise ValueError("sms_mode=http needs sms_endpoint and sms_token")
        if self.claim_timeout_seconds <= 2 * self.smtp_timeout_seconds:
            raise ValueError("claim_timeout_seconds must exceed twice smtp_timeout_seconds")
        if not self.deemed_received_territories:
            raise ValueError("deemed_received_territories needs at least one territory")
        return self
