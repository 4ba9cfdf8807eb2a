"""Settings of the delivery service: env `SECURACT_DELIVERY_*`, then `SECURACT_*`."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import BaseServiceSettings, ObjectStoreSettings, service_config


class Settings(ObjectStoreSettings, BaseServiceSettings):
    service_name: ClassVar[str] = "delivery"
    default_port: ClassVar[int] = 8103
    model_config = service_config("delivery")
