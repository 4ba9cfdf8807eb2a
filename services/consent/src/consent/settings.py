"""Settings of the consent service: env `SECURACT_CONSENT_*`, then `SECURACT_*`."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import BaseServiceSettings, ObjectStoreSettings, service_config


class Settings(ObjectStoreSettings, BaseServiceSettings):
    service_name: ClassVar[str] = "consent"
    default_port: ClassVar[int] = 8102
    model_config = service_config("consent")
