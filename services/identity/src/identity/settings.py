"""Settings of the identity service: env `SECURACT_IDENTITY_*`, then `SECURACT_*`."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import BaseServiceSettings, service_config


class Settings(BaseServiceSettings):
    service_name: ClassVar[str] = "identity"
    default_port: ClassVar[int] = 8101
    model_config = service_config("identity")
