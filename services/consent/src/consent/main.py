"""App factory of the consent service. Nothing connects until the app's lifespan starts."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from consent.api import consent_router, install_unavailable_handlers
from consent.consumers import IDENTITY_QUEUE, RETENTION_QUEUE, identity_handler, retention_handler
from consent.intake import Limits
from consent.proofs import ProofVault
from consent.service import INDEXES, LookupLimits, Registry
from consent.settings import Settings
from shared.auth import TokenVerifier, install_token_verifier
from shared.clock import Clock
from shared.crypto import KeyRing
from shared.crypto.backends import kek_source
from shared.runtime import ServiceRuntime

ORPHAN_GRACE = timedelta(hours=1)
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
    vault = ProofVault(
        runtime.objects,
        KeyRing(kek_source(settings, runtime.clock)),
        runtime.store,
        runtime.clock,
    )
    registry = Registry(
        runtime.store,
        runtime.outbox,
        runtime.clock,
        vault,
        runtime.envelope,
        pepper=settings.search_pepper.get_secret_value().encode("utf-8"),
        freshness_months=settings.freshness_months,
        lookup_limits=LookupLimits(
            per_office=settings.lookups_per_office_per_minute,
            per_judicial_client=settings.lookups_per_judicial_client_per_minute,
        ),
    )
    limits = Limits(
        max_request_bytes=settings.max_request_bytes,
        max_proof_bytes=settings.max_proof_bytes,
        max_proofs=settings.max_proofs,
        max_json_bytes=settings.max_declaration_json_bytes,
    )
    runtime.subscribe(identity_handler(registry, runtime.inbox(IDENTITY_QUEUE)))
    runtime.subscribe(retention_handler(registry, runtime.inbox(RETENTION_QUEUE)))
    # The expiry job runs at start (catching up after downtime), then every interval; it
    # selects by instant, and replicas running it concurrently skip what another expired.
    runtime.every(
        "consent-expiry",
        timedelta(seconds=settings.expiry_interval_seconds),
        registry.expire_due_job,
    )

    async def sweep_orphans() -> None:
        await vault.sweep(ORPHAN_GRACE)

    # Proof uploads whose declaration never committed (a crash mid-request) are removed.
    runtime.every("consent-orphan-proofs", ORPHAN_SWEEP_INTERVAL, sweep_orphans)
    app = runtime.create_app(
        title="Consent: the national registry of declarations",
        routers=[consent_router(registry, runtime.clock, limits)],
    )
    install_unavailable_handlers(app)
    if token_verifier is not None:
        install_token_verifier(app, token_verifier)
    app.state.registry = registry
    return app
