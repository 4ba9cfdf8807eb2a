"""App factory of the delivery service. Nothing connects until the app's lifespan starts."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from delivery.api import delivery_router
from delivery.consumers import (
    ERASURES_QUEUE,
    NOTIFICATIONS_QUEUE,
    PARTIES_QUEUE,
    erasures_subscription,
    notifications_subscription,
    parties_subscription,
)
from delivery.erasure import ERASURE_INDEXES, ActEraser
from delivery.evidence import EvidenceSigner
from delivery.parties import OfficeDirectory
from delivery.receipts import AuditReceipts
from delivery.replies import ReplyDesk
from delivery.service import INDEXES, Gateway, Limits
from delivery.settings import Settings
from delivery.vault import act_vault, reply_vault
from shared.auth import TokenVerifier, install_token_verifier
from shared.clock import Clock
from shared.crypto import KeyRing
from shared.crypto.backends import kek_source, signing_ring
from shared.legal_calendar import Territory, window_closures
from shared.malware import MalwareScanner, scanner_from_url
from shared.objects import ObjectStore
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
) -> FastAPI:
    """The delivery app. `audit_http` (audit's API, base URL set) defaults to a client of
    `settings.audit_url`; tests inject one over an in-process audit app."""
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
    keys = KeyRing(kek_source(settings, runtime.clock))
    vault = act_vault(runtime.objects, keys, runtime.store, runtime.clock)
    replies_vault = reply_vault(runtime.objects, keys, runtime.store, runtime.clock)
    signer = EvidenceSigner(signing_ring(settings, EVIDENCE_KEY_NAME, runtime.clock))
    if audit_http is None:
        audit_http = httpx.AsyncClient(base_url=settings.audit_url, timeout=AUDIT_TIMEOUT)
        runtime.on_shutdown(audit_http.aclose)
    gateway = Gateway(
        runtime.store,
        runtime.outbox,
        runtime.clock,
        vault,
        signer,
        runtime.envelope,
        limits=Limits(
            max_act_bytes=settings.max_act_bytes,
            max_leave_bytes=settings.max_leave_bytes,
            max_metadata_bytes=settings.max_metadata_bytes,
        ),
        service_zones=settings.service_zones,
        portal_url=settings.portal_url,
        idempotency_retention=timedelta(hours=settings.idempotency_retention_hours),
        receipts=AuditReceipts(audit_http),
    )
    replies = ReplyDesk(
        runtime.store,
        runtime.outbox,
        runtime.clock,
        replies_vault,
        signer,
        runtime.envelope,
        scanner or scanner_from_url(settings.clamd_url),
        max_reply_bytes=settings.max_reply_bytes,
    )
    offices = OfficeDirectory(
        settings.offices,
        default_territory=settings.default_office_territory,
        default_email=str(settings.default_office_email),
        store=runtime.store,
    )
    runtime.subscribe(parties_subscription(runtime.inbox(PARTIES_QUEUE)))
    runtime.subscribe(notifications_subscription(runtime.inbox(NOTIFICATIONS_QUEUE), signer))
    eraser = ActEraser(
        runtime.store, runtime.outbox, runtime.clock, vault, replies_vault, runtime.envelope
    )
    runtime.subscribe(erasures_subscription(runtime.inbox(ERASURES_QUEUE), eraser))

    async def finalise() -> None:
        await gateway.finalise_due()

    async def deposit() -> None:
        await gateway.deposit_scheduled()

    async def sweep() -> None:
        await vault.sweep(timedelta(seconds=settings.orphan_grace_seconds))
        await replies_vault.sweep(timedelta(seconds=settings.orphan_grace_seconds))
        await gateway.forget_idempotency_keys()

    # Each job runs at start (catching up after downtime), then every interval; replicas may
    # run them concurrently: every act changes under optimistic concurrency.
    runtime.every(
        "delivery-finaliser", timedelta(seconds=settings.finaliser_interval_seconds), finalise
    )
    runtime.every(
        "delivery-scheduler", timedelta(seconds=settings.scheduler_interval_seconds), deposit
    )
    runtime.every(
        "delivery-orphans", timedelta(seconds=settings.orphan_cleanup_interval_seconds), sweep
    )
    app = runtime.create_app(
        title="Delivery gateway: serving acts",
        routers=[delivery_router(gateway, offices, settings.max_request_bytes, replies)],
    )
    if token_verifier is not None:
        install_token_verifier(app, token_verifier)
    app.state.gateway = gateway
    app.state.vault = vault
    app.state.replies = replies
    app.state.eraser = eraser
    return app
