"""Settings of the delivery service: env `SECURACT_DELIVERY_*`, then `SECURACT_*`."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, SecretStr

from shared.legal_calendar import ServiceZones, Territory
from shared.settings import BaseServiceSettings, ObjectStoreSettings, service_config

MIB = 1024 * 1024


class OfficeProfile(BaseModel):
    """What delivery must know of an office (étude) that identity's client does not carry:
    its territory (CPC 664 is checked in its legal time too), its name for the recipient's
    notice and its e-mail for the lettre-simple task."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, max_length=300)
    email: EmailStr | None = None
    territory: Territory | None = None
    probe: bool = Field(
        default=False,
        description="the platform's own availability probe (retention's end-to-end path): "
        "its acts are synthetic, flagged `probe`, and left out of the platform's counts",
    )


class Settings(ObjectStoreSettings, BaseServiceSettings):
    service_name: ClassVar[str] = "delivery"
    default_port: ClassVar[int] = 8103
    model_config = service_config("delivery")

    max_act_bytes: int = Field(
        default=256 * MIB, ge=1, description="largest act accepted (413 before reading beyond)"
    )
    max_leave_bytes: int = Field(default=20 * MIB, ge=1, description="largest judge's leave")
    max_metadata_bytes: int = Field(default=64 * 1024, ge=1024)
    max_reply_bytes: int = Field(
        default=20 * MIB,
        ge=1,
        description="largest reply (keep it under clamd's StreamMaxLength when scanning)",
    )
    clamd_url: str = Field(
        default="",
        description="clamd to scan replies (unix:///path or tcp://host:port); empty: no scan, "
        "replies are recorded as not_scanned",
    )
    audit_url: str = Field(
        default="http://127.0.0.1:8105",
        description="the audit service, whose receipts evidence sets carry",
    )
    service_zones: ServiceZones = Field(
        default=ServiceZones.RECIPIENT_AND_OFFICE,
        description="whose legal time governs CPC 664 (LEGAL open question 1)",
    )
    offices: dict[str, OfficeProfile] = Field(
        default_factory=dict,
        description="office directory by office_id (JSON): territory and e-mail (required to "
        "serve), name; an office missing from it is refused (403 office-not-configured)",
    )
    consent_url: str = Field(
        default="http://127.0.0.1:8102",
        description="consent's registry, asked at each sending instant (CPC 748-2)",
    )
    consent_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="how long a deposit waits for the registry's answer (token included) "
        "before it is refused with 503 consent-registry-unavailable",
    )
    client_id: str = Field(
        default="service-delivery",
        description="delivery's OAuth2 client at identity (consent:status)",
    )
    client_secret: SecretStr = Field(
        default=SecretStr("securact-dev-delivery-client-secret"),
        description="SECURACT_DELIVERY_CLIENT_SECRET: the same value identity is given",
    )
    portal_url: str = Field(
        default="http://127.0.0.1:8101/", description="where recipients log in (in notices)"
    )
    finaliser_interval_seconds: float = Field(
        default=30.0, gt=0, description="how often due acts are finalised (also at start)"
    )
    scheduler_interval_seconds: float = Field(
        default=5.0, gt=0, description="how often scheduled acts are checked for deposit"
    )
    orphan_cleanup_interval_seconds: float = Field(default=300.0, gt=0)
    orphan_grace_seconds: float = Field(
        default=3600.0, gt=0, description="age after which an uncommitted upload is removed"
    )
    idempotency_retention_hours: float = Field(default=72.0, gt=0)
    probe_act_retention_minutes: float = Field(
        default=60.0,
        gt=0,
        description="the availability probe's acts are crypto-shredded this long after their "
        "deposit (its run is over and the act's late events are in by then)",
    )
    tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 TSA timestamping the sealed evidence reports (evidence.pdf); "
        "unset: the reports are unavailable (503)",
    )
    tsa_chain_file: Path | None = Field(
        default=None, description="PEM bundle of the TSA's pinned chain (shown to verifiers)"
    )
    seal_certificate_file: Path | None = Field(
        default=None,
        description="the platform's qualified seal certificate chain (PEM, leaf first); unset "
        "in dev: a local test CA and seal are made at first start beside signing_key_file",
    )
    seal_key_file: Path | None = Field(
        default=None, description="the seal's ECDSA P-256 private key (PEM, 0600)"
    )

    @property
    def max_request_bytes(self) -> int:
        """A whole request's ceiling, checked against Content-Length before reading."""
        return self.max_act_bytes + self.max_leave_bytes + self.max_metadata_bytes + 64 * 1024
