"""App factory of the retention service. Nothing connects until the app's lifespan starts."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from retention.api import retention_router
from retention.consumers import (
    CONFIRMATIONS_QUEUE,
    LIFECYCLE_QUEUE,
    confirmations_handler,
    lifecycle_handler,
)
from retention.internal_api import internal_router
from retention.repository import INDEXES, erasure_samples
from retention.service import Retention, wire
from retention.settings import Settings
from retention.status.api import status_router
from retention.status.page import status_page_router
from retention.status.records import STATUS_INDEXES
from retention.status.service import wire_status
from shared.auth import TokenVerifier, install_token_verifier
from shared.clock import Clock
from shared.crypto import KeyRing
from shared.crypto.backends import kek_source, signing_ring
from shared.receipts import AuditReceipts, RetryPolicy
from shared.refusals import install_refusal_handlers
from shared.runtime import ServiceRuntime

AUDIT_TIMEOUT = 5.0

log = logging.getLogger(__name__)


def build_retention(
    runtime: ServiceRuntime, settings: Settings, audit_http: httpx.AsyncClient
) -> Retention:
    """The use cases wired on a runtime's parts (also used by the CLI); `audit_http` has
    audit's base URL (receipts for the certificates)."""
    assert runtime.objects is not None  # retention's settings include the object store's
    return wire(
        settings,
        store=runtime.store,
        outbox=runtime.outbox,
        clock=runtime.clock,
        signer=signing_ring(settings, settings.signing_key_name, runtime.clock),
        keys=KeyRing(kek_source(settings, runtime.clock)),
        objects=runtime.objects,
        receipts=AuditReceipts(
            audit_http,
            RetryPolicy(
                attempts=settings.receipt_attempts,
                delay_seconds=settings.receipt_retry_seconds,
                deadline_seconds=settings.receipt_attempts * (settings.receipt_retry_seconds + 5),
            ),
        ),
    )


def audit_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=settings.audit_url, timeout=AUDIT_TIMEOUT)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    span_exporter: SpanExporter | None = None,
    token_verifier: TokenVerifier | None = None,
    audit_http: httpx.AsyncClient | None = None,
) -> FastAPI:
    """The retention app. `audit_http` (audit's API, base URL set) defaults to a client of
    `settings.audit_url`; tests inject one over an in-process audit app."""
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings, clock=clock, indexes=(*INDEXES, *STATUS_INDEXES), span_exporter=span_exporter
    )
    if audit_http is None:
        audit_http = audit_client(settings)
        runtime.on_shutdown(audit_http.aclose)
    retention = build_retention(runtime, settings, audit_http)
    runtime.subscribe(lifecycle_handler(retention, runtime.inbox(LIFECYCLE_QUEUE)))
    runtime.subscribe(confirmations_handler(retention, runtime.inbox(CONFIRMATIONS_QUEUE)))

    async def scheduler_pass() -> None:
        # At start (catching up on everything due while down), then every interval; replicas
        # may run it at once: each schedule is claimed at its version.
        await retention.schedules.run_due()
        await retention.certificates.issue_pending()
        await retention.erasures.check_overdue()

    runtime.sample("erasures", lambda: erasure_samples(runtime.store, runtime.clock.now()))
    runtime.background("retention-certificates", retention.certificates.issue_when_wanted)
    runtime.every(
        "retention-scheduler",
        timedelta(seconds=settings.scheduler_interval_seconds),
        scheduler_pass,
    )
    status = wire_status(retention.ctx, settings, runtime.http)
    runtime.every(
        "status-probes",
        timedelta(seconds=settings.status_probe_interval_seconds),
        status.probes.run_once,
    )
    if status.probes.path is not None:
        runtime.every(
            "status-path-probe",
            timedelta(seconds=settings.status_path_interval_seconds),
            status.probes.run_path,
        )
    elif not settings.is_dev:
        log.warning(
            "the end-to-end path is not probed (no STATUS_PATH_* identities): the status page "
            "infers it from readiness only"
        )
    app = runtime.create_app(
        title="Retention: schedules, crypto-shredding and erasure certificates",
        routers=[
            retention_router(retention),
            internal_router(retention),
            status_router(status),
            status_page_router(status),
        ],
    )
    install_refusal_handlers(app)
    if token_verifier is not None:
        install_token_verifier(app, token_verifier)
    app.state.retention = retention
    app.state.status = status
    return app
