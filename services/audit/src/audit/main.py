"""App factory of the audit service. Nothing connects until the app's lifespan starts."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from audit.api import journal_router
from audit.consumers import journal_subscription
from audit.service import INDEXES, Journal
from audit.settings import Settings
from shared.clock import Clock
from shared.runtime import ServiceRuntime


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    span_exporter: SpanExporter | None = None,
) -> FastAPI:
    runtime = ServiceRuntime(
        settings or Settings(), clock=clock, indexes=INDEXES, span_exporter=span_exporter
    )
    journal = Journal(runtime.store, runtime.clock)
    runtime.subscribe(journal_subscription(journal))
    return runtime.create_app(
        title="Audit: the tamper-evident journal of every event",
        routers=[journal_router(journal)],
    )
