"""App factory of the delivery service. Nothing connects until the app's lifespan starts."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from delivery.api import delivery_router
from delivery.consent import SCOPE, ConsentAuthority, ConsentRegistry
from delivery.consumers import (
    ERASURES_QUEUE,
    NOTIFICATIONS_QUEUE,
    PARTIES_QUEUE,
    erasures_subscription,
    notifications_subscription,
    parties_subscription,
)
from delivery.context import Config
from delivery.erasure import ERASURE_INDEXES
from delivery.evidence import EvidenceSigner
from delivery.offices import OfficeDirectory
from delivery.receipts import AuditReceipts
from delivery.reports import EvidenceReports, sealer_from_settings
from delivery.repository import INDEXES
from delivery.service import wire
from delivery.settings import Settings
from shared.auth import TokenVerifier, install_token_verifier
from shared.auth.client_credentials import ClientCredentials, ClientCredentialsConfig
from shared.clock import Clock, SystemClock
from shared.crypto import KeyRing
from shared.crypto.backends import kek_source, signing_ring
from shared.legal_calendar import Territory, window_closures
from shared.malware import MalwareScanner, scanner_from_url
from shared.objects import ObjectStore
from shared.refusals import install_refusal_handlers
from shared.runtime import ServiceRuntime

EVIDENCE_KEY_NAME = "securact-evidence"
AUDIT_TIMEOUT = httpx.Timeout(3.0, connect=1.0)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    span_exporter: SpanExporter | None = None,
    token_verifier: TokenVerifier | None = None,
    objects: ObjectStore | None = None,
    scanner: MalwareScanner | None = None,
    audit_http: httpx.AsyncClient | None = None,
    consent_http: httpx.AsyncClient | None = None,
    identity_http: httpx.AsyncClient | None = None,
    consent: ConsentAuthority | None = None,
) -> FastAPI:
    """The delivery app. `audit_http` (audit's API, base URL set) defaults to a client of
    `settings.audit_url`, `consent_http` of `settings.consent_url`, `identity_http` (its
    token endpoint) of `settings.identity_url`; tests inject them over in-process apps, or
    `consent` itself."""
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings, clock=clock, indexes=(*INDEXES, *ERASURE_INDEXES), span_exporter=span_exporter
    )
    # The calendar's first use loads the holiday tables (~0.3 s of CPU): done here, not in
    # the event loop under the first deposits, which it would stall all at once.
    window_closures(runtime.clock.now(), tuple(Territory))
    if objects is not None:
        runtime.objects = objects
    assert runtime.objects is not None  # delivery's settings include the object store's
    signer = EvidenceSigner(signing_ring(settings, EVIDENCE_KEY_NAME, runtime.clock))
    if audit_http is None:
        audit_http = httpx.AsyncClient(base_url=settings.audit_url, timeout=AUDIT_TIMEOUT)
        runtime.on_shutdown(audit_http.aclose)
    if consent is None:
        consent = _consent_registry(settings, runtime, consent_http, identity_http)
    delivery = wire(
        Config.from_settings(settings),
        store=runtime.store,
        outbox=runtime.outbox,
        clock=runtime.clock,
        objects=runtime.objects,
        keys=KeyRing(kek_source(settings, runtime.clock)),
        signer=signer,
        scanner=scanner or scanner_from_url(settings.clamd_url),
        consent=consent,
        receipts=AuditReceipts(audit_http),
    )
    offices = OfficeDirectory(settings.offices, store=runtime.store)
    # The seal's validity is checked at the TSA's time, the real one: a dev clock offset
    # must not date the dev certificate.
    reports = EvidenceReports(
        delivery.ctx, delivery.views, sealer_from_settings(settings, SystemClock())
    )
    runtime.subscribe(parties_subscription(runtime.inbox(PARTIES_QUEUE), delivery.reconciliation))
    runtime.subscribe(notifications_subscription(runtime.inbox(NOTIFICATIONS_QUEUE), signer))
    runtime.subscribe(
        erasures_subscription(
            runtime.inbox(ERASURES_QUEUE), delivery.eraser, delivery.registry_copy
        )
    )

    async def finalise() -> None:
        await delivery.handover.finalise_due()

    async def deposit() -> None:
        await delivery.scheduler.deposit_scheduled()

    # Each job runs at start (catching up after downtime), then every interval; replicas may
    # run them concurrently: every act changes under optimistic concurrency.
    runtime.every(
        "delivery-finaliser", timedelta(seconds=settings.finaliser_interval_seconds), finalise
    )
    runtime.every(
        "delivery-scheduler", timedelta(seconds=settings.scheduler_interval_seconds), deposit
    )
    runtime.every(
        "delivery-orphans",
        timedelta(seconds=settings.orphan_cleanup_interval_seconds),
        delivery.sweep_orphans,
    )
    app = runtime.create_app(
        title="Delivery gateway: serving acts",
        routers=[delivery_router(delivery, offices, settings.max_request_bytes, reports)],
    )
    install_refusal_handlers(app)
    if token_verifier is not None:
        install_token_verifier(app, token_verifier)
    app.state.delivery = delivery
    return app


def _consent_registry(
    settings: Settings,
    runtime: ServiceRuntime,
    consent_http: httpx.AsyncClient | None,
    identity_http: httpx.AsyncClient | None,
) -> ConsentRegistry:
    """Consent's registry over HTTP with delivery's client-credentials token (`consent:status`),
    every call bounded by `consent_timeout_seconds`."""
    timeout = settings.consent_timeout_seconds
    if consent_http is None:
        consent_http = httpx.AsyncClient(base_url=settings.consent_url, timeout=timeout)
        runtime.on_shutdown(consent_http.aclose)
    if identity_http is None:
        identity_http = httpx.AsyncClient(base_url=settings.identity_url, timeout=timeout)
        runtime.on_shutdown(identity_http.aclose)
    credentials = ClientCredentials(
        ClientCredentialsConfig(
            token_url="/oauth/token",  # noqa: S106 - a path, not a secret
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            scope=SCOPE,
        ),
        identity_http,
        runtime.clock,
    )
    return ConsentRegistry(consent_http, credentials, timeout=timeout)
