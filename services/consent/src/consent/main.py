"""App factory of the consent service. Nothing connects until the app's lifespan starts."""

from __future__ import annotations

from fastapi import FastAPI

from consent.settings import Settings
from shared.clock import Clock
from shared.runtime import ServiceRuntime


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or Settings(), clock=clock)
    return runtime.create_app(title="Consent: the national registry of declarations")
