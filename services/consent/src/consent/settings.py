"""Settings of the consent service: env `SECURACT_CONSENT_*`, then `SECURACT_*`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from shared.settings import BaseServiceSettings, ObjectStoreSettings, service_config

MIB = 1024 * 1024


class Settings(ObjectStoreSettings, BaseServiceSettings):
    service_name: ClassVar[str] = "consent"
    default_port: ClassVar[int] = 8102
    model_config = service_config("consent")

    max_proof_bytes: int = Field(
        default=10 * MIB, ge=1, description="largest proof file accepted (413 beyond)"
    )
    max_proofs: int = Field(default=8, ge=1, le=20, description="files per declaration")
    max_declaration_json_bytes: int = Field(default=64 * 1024, ge=1024)
    search_pepper: SecretStr = Field(
        default=SecretStr("securact-dev-registry-pepper"),
        description="HMAC key of the registry's search keys: without it they cannot be "
        "recomputed from a guessed identity.",
    )
    freshness_months: int = Field(
        default=3, ge=1, description="arrêté 17 Nov 2023: proof of address / Kbis age limit"
    )
    lookups_per_office_per_minute: int = Field(
        default=60,
        ge=1,
        description="registry lookups an office (all its clients together) may make in any "
        "rolling minute; 429 with Retry-After beyond",
    )
    lookups_per_judicial_client_per_minute: int = Field(
        default=60,
        ge=1,
        description="registry lookups a judicial authority client may make in any rolling minute",
    )
    expiry_interval_seconds: float = Field(
        default=86_400.0, gt=0, description="how often the expiry job runs (also at start)"
    )

    @property
    def max_request_bytes(self) -> int:
        """A whole upload's ceiling, checked against Content-Length before reading."""
        return self.max_proofs * self.max_proof_bytes + self.max_declaration_json_bytes + 64 * 1024
