"""App factory of the identity service. Nothing connects until the app's lifespan starts."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from identity.api import (
    identity_router,
    install_identity_errors,
    internal_router,
    token_router,
)
from identity.consumers import (
    NOTICES_QUEUE,
    RETENTION_QUEUE,
    declarations_subscription,
    notices_subscription,
    retention_subscription,
)
from identity.contacts_api import contacts_router
from identity.portal import portal_router
from identity.portal.acts_pages import acts_pages_router
from identity.portal.consent_pages import consent_pages_router
from identity.portal.contacts_pages import contacts_pages_router
from identity.records import INDEXES
from identity.service import Identity
from identity.settings import Settings
from identity.tokens import TokenIssuer, TokenKeyFile
from shared.auth import TokenVerifier, VerifierConfig, install_token_verifier
from shared.clock import Clock
from shared.crypto import KeyRing
from shared.crypto.backends import kek_source
from shared.portal import stylesheet_router
from shared.runtime import ServiceRuntime

ACCOUNTS_INBOX = "identity.accounts"


def own_token_verifier(identity: Identity, settings: Settings, clock: Clock) -> TokenVerifier:
    """Identity verifies its own tokens with the shared verifier, fed its key set in process
    (an httpx transport answering the JWKS, no HTTP call to itself) and its store as the
    revocation list (the source of truth: no event delay)."""
    issuer = identity.ctx.issuer

    def serve_jwks(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=issuer.jwks())

    config = VerifierConfig(
        jwks_url=f"{settings.issuer}/.well-known/jwks.json",
        issuer=settings.issuer,
        audiences=frozenset({settings.token_audience}),
        cache_ttl=timedelta(seconds=30),
        min_refetch_interval=timedelta(seconds=1),
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(serve_jwks))
    return TokenVerifier(config, http, clock, identity.revocations)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    span_exporter: SpanExporter | None = None,
    consent_http: httpx.AsyncClient | None = None,
    delivery_http: httpx.AsyncClient | None = None,
) -> FastAPI:
    """`consent_http` reaches consent's API for the portal's consent pages, `delivery_http`
    delivery's for its acts pages (defaults: clients on `settings.consent_url` and
    `settings.delivery_url`, closed when the app stops)."""
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, clock=clock, indexes=INDEXES, span_exporter=span_exporter)
    keys = TokenKeyFile(settings.token_key_file, runtime.clock)
    issuer = TokenIssuer(
        keys,
        runtime.clock,
        issuer=settings.issuer,
        audiences=settings.token_audiences,
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
    )
    identity = Identity(
        runtime.store,
        runtime.outbox,
        runtime.clock,
        settings,
        issuer,
        keyring=KeyRing(kek_source(settings, runtime.clock)),
    )
    if consent_http is None:
        consent_http = httpx.AsyncClient(
            base_url=settings.consent_url, timeout=settings.consent_timeout_seconds
        )
        runtime.on_shutdown(consent_http.aclose)
    if delivery_http is None:
        delivery_http = httpx.AsyncClient(
            base_url=settings.delivery_url, timeout=settings.delivery_timeout_seconds
        )
        runtime.on_shutdown(delivery_http.aclose)
    runtime.subscribe(declarations_subscription(identity.accounts, runtime.inbox(ACCOUNTS_INBOX)))
    runtime.subscribe(retention_subscription(identity.retention, runtime.inbox(RETENTION_QUEUE)))
    runtime.subscribe(notices_subscription(identity.ctx, runtime.inbox(NOTICES_QUEUE)))
    runtime.every(
        "identity-terms-notices",
        timedelta(seconds=settings.terms_notice_interval_seconds),
        identity.terms.run_notice_fan_outs,
    )
    runtime.every(
        "identity-identification-summaries",
        timedelta(seconds=settings.identification_summary_interval_seconds),
        identity.attempts.run,
    )
    runtime.every(
        "identity-purge",
        timedelta(seconds=settings.purge_interval_seconds),
        identity.maintenance.run,
    )
    runtime.every(
        "identity-activation-lapses",
        timedelta(seconds=settings.activation_lapse_interval_seconds),
        identity.lapses.run,
    )
    app = runtime.create_app(
        title="Identity: accounts, sessions, OAuth2 clients and the recipient portal",
        routers=[
            token_router(identity),
            identity_router(identity),
            internal_router(identity),
            contacts_router(identity),
            portal_router(identity, consent_http=consent_http),
            consent_pages_router(identity, consent_http),
            contacts_pages_router(identity, consent_http),
            acts_pages_router(identity, delivery_http),
            stylesheet_router(),
        ],
        on_start=[keys.ensure, identity.start],
    )
    install_identity_errors(app)
    install_token_verifier(app, own_token_verifier(identity, settings, runtime.clock))
    app.state.identity = identity
    return app
