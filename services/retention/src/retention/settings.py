"""Settings of the retention service: env `SECURACT_RETENTION_*`, then `SECURACT_*`."""

from __future__ import annotations

from typing import ClassVar, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator

from shared.legal_calendar import Territory
from shared.settings import BaseServiceSettings, ObjectStoreSettings, service_config

ProbedService = Literal["identity", "consent", "delivery", "notify", "audit"]


class Settings(ObjectStoreSettings, BaseServiceSettings):
    service_name: ClassVar[str] = "retention"
    default_port: ClassVar[int] = 8106
    model_config = service_config("retention")

    grace_months: int = Field(
        default=2,
        ge=0,
        description="seed CGU §11.1 and §12: months a terminated account's acts stay readable, "
        "then they are erased",
    )
    registry_retention_years: int = Field(
        default=5,
        ge=0,
        description="décret 2021-1625 art. 21 (and seed CGU §11.1, §12): years after the consent "
        "ended (revoked, terminated, expired, refused) until the registry's data, the account "
        "and the acts of a person who never terminated are destroyed",
    )
    legal_zone: str = Field(
        default="Europe/Paris",
        description="the legal time in which calendar months are counted (décret 2017-292)",
    )
    scheduler_interval_seconds: float = Field(
        default=60.0, gt=0, description="how often due schedules are fired (also at start)"
    )
    scheduler_batch_size: int = Field(default=100, ge=1, le=1000)
    confirmation_timeout_hours: float = Field(
        default=72.0,
        gt=0,
        description="an erasure not confirmed by every participant within this raises an alert",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8106",
        description="base of the certificate download links e-mailed to the person",
    )
    audit_url: str = Field(
        default="http://127.0.0.1:8105",
        description="audit's API: receipts of the erasure events for the certificate",
    )
    receipt_attempts: int = Field(
        default=4, ge=1, le=20, description="tries per receipt before it is listed as missing"
    )
    receipt_grace_minutes: float = Field(
        default=15,
        ge=0,
        le=24 * 60,
        description="how long a certificate waits for audit to checkpoint its confirmations "
        "before it is issued listing the missing receipts",
    )
    receipt_retry_seconds: float = Field(
        default=0.5, ge=0, le=30, description="delay between tries (audit checkpoints soon)"
    )
    signing_key_name: str = Field(
        default="securact.local/platform",
        description="name of the platform signing key when the key file is created here",
    )

    consent_url: str = Field(default="http://127.0.0.1:8102", description="probed for status")
    delivery_url: str = Field(default="http://127.0.0.1:8103", description="probed for status")
    notify_url: str = Field(default="http://127.0.0.1:8104", description="probed for status")
    status_probe_services: list[ProbedService] = Field(
        default=["identity", "consent", "delivery", "notify", "audit"],
        description="services whose readiness the status probes check (by their URL setting)",
    )
    status_probe_urls: dict[str, str] = Field(
        default_factory=dict,
        description="per service, the base URL to probe when it differs from its URL setting "
        "(identity's is the public issuer URL; inside the platform it is reached directly)",
    )
    status_probe_interval_seconds: float = Field(
        default=30.0, gt=0, description="how often each service's readiness is checked"
    )
    status_probe_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="a readiness check slower than this fails"
    )
    status_outage_threshold_seconds: float = Field(
        default=300.0,
        ge=0,
        description="a service failing its checks longer than this gets an incident opened",
    )

    # The end-to-end path probe: on when the operator configured its two identities (see
    # `retention.status.path`); the dev stack leaves it off (a notice every few minutes would
    # clutter the dev mailbox).
    status_path_client_id: str | None = Field(
        default=None,
        description="the probe office's API client (registered by the operator, scope acts:write)",
    )
    status_path_client_secret: SecretStr | None = Field(
        default=None, description="its secret (use the `_FILE` variant)"
    )
    status_path_declaration_id: str | None = Field(
        default=None, description="the probe recipient's active declaration (consent registry)"
    )
    status_path_recipient: str | None = Field(
        default=None, description="the probe recipient's login identifier"
    )
    status_path_recipient_password: SecretStr | None = Field(
        default=None, description="its password (use the `_FILE` variant)"
    )
    status_path_territory: Territory = Field(
        default=Territory.METROPOLE,
        description="the probe office's and recipient's territory: the path is probed only "
        "inside its CPC 664 window (an act cannot be served outside it)",
    )
    status_path_interval_seconds: float = Field(
        default=300.0, gt=0, description="how often the end-to-end path is probed"
    )
    status_path_notice_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="the notice of the probe act must be sent within this, or the path fails",
    )

    @model_validator(mode="after")
    def _whole_path_probe(self) -> Self:
        identities = (
            self.status_path_client_id,
            self.status_path_client_secret,
            self.status_path_declaration_id,
            self.status_path_recipient,
            self.status_path_recipient_password,
        )
        if any(v is not None for v in identities) and any(v is None for v in identities):
            raise ValueError(
                "the path probe needs all of STATUS_PATH_CLIENT_ID, _CLIENT_SECRET, "
                "_DECLARATION_ID, _RECIPIENT and _RECIPIENT_PASSWORD, or none"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.legal_zone)
