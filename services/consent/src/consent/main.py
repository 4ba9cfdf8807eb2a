"""App factory of the consent service. Nothing connects until the app's lifespan starts."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from consent.api import consent_router, internal_router
from consent.consumers import IDENTITY_QUEUE, RETENTION_QUEUE, identity_handler, retention_handler
from consent.context import Config
from consent.intake import Limits
from consent.repository import INDEXES
from consent.service import wire
from consent.settings import Settings
from shared.auth import TokenVerifier, install_token_verifier
from shared.clock import Clock
from shared.crypto import KeyRing
from shared.crypto.backends import kek_source
from shared.refusals import install_refusal_handlers
from shared.runtime import ServiceRuntime

ORPHAN_SWEEP_INTERVAL = timedelta(minutes=10)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    span_exporter: SpanExporter | None = None,
    token_verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, clock=clock, indexes=INDEXES, span_exporter=span_exporter)
    assert runtime.objects is not None  # consent's settings include the object store's
    consent = wire(
        Config.from_settings(settings),
        store=runtime.store,
        outbox=runtime.outbox,
        clock=runtime.clock,
        objects=runtime.objects,
        keys=KeyRing(kek_source(settings, runtime.clock)),
    )
    limits = Limits(
        max_request_bytes=settings.max_request_bytes,
        max_proof_bytes=settings.max_proof_bytes,
        max_proofs=settings.max_proofs,
        max_json_bytes=settings.max_declaration_json_bytes,
    )
    runtime.subscribe(identity_handler(consent.lifecycle, runtime.inbox(IDENTITY_QUEUE)))
    runtime.subscribe(retention_handler(consent.purge, runtime.inbox(RETENTION_QUEUE)))
    # The expiry job runs at start (catching up after downtime), then every interval; it
    # selects by instant, and replicas running it concurrently skip what another expired.
    runtime.every(
        "consent-expiry",
        timedelta(seconds=settings.expiry_interval_seconds),
        consent.lifecycle.expire_due_job,
    )
    # Proof uploads whose declaration never committed (a crash mid-request) are removed.
    runtime.every("consent-orphan-proofs", ORPHAN_SWEEP_INTERVAL, consent.sweep_orphans)
    app = runtime.create_app(
        title="Consent: the national registry of declarations",
        routers=[
            consent_router(consent, limits),
            internal_router(consent),
        ],
    )
    install_refusal_handlers(app)
    if token_verifier is not None:
        install_token_verifier(app, token_verifier)
    app.state.consent = consent
    return app
