"""Settings of the audit service: env `SECURACT_AUDIT_*`, then `SECURACT_*`."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import BaseServiceSettings, service_config


class Settings(BaseServiceSettings):
    service_name: ClassVar[str] = "audit"
    default_port: ClassVar[int] = 8105
    model_config = service_config("audit")
