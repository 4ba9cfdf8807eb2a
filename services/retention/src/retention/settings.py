"""Settings of the retention service: env `SECURACT_RETENTION_*`, then `SECURACT_*`."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import BaseServiceSettings, ObjectStoreSettings, service_config


class Settings(ObjectStoreSettings, BaseServiceSettings):
    service_name: ClassVar[str] = "retention"
    default_port: ClassVar[int] = 8106
    model_config = service_config("retention")
