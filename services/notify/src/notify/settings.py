"""Settings of the notify service: env `SECURACT_NOTIFY_*`, then `SECURACT_*`."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import BaseServiceSettings, service_config


class Settings(BaseServiceSettings):
    service_name: ClassVar[str] = "notify"
    default_port: ClassVar[int] = 8104
    model_config = service_config("notify")
