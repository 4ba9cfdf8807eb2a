"""App factory of the audit service. Nothing connects until the app's lifespan starts."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from audit.api import journal_router
from audit.consumers import ERASURES_QUEUE, erasure_subscription, journal_subscription
from audit.context import Config
from audit.erasure import SubjectErasure
from audit.evidence import evidence_from_settings
from audit.evidence_api import evidence_router
from audit.records import INDEXES
from audit.service import wire
from audit.settings import Settings
from audit.vault import PayloadVault
from shared.auth import TokenVerifier, install_token_verifier
from shared.clock import Clock
from shared.crypto import KeyRing
from shared.crypto.backends import kek_source, signing_ring
from shared.metrics import Sample, seconds_since
from shared.refusals import install_refusal_handlers
from shared.runtime import ServiceRuntime


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    span_exporter: SpanExporter | None = None,
    token_verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, clock=clock, indexes=INDEXES, span_exporter=span_exporter)
    audit = wire(
        Config.from_settings(settings),
        store=runtime.store,
        outbox=runtime.outbox,
        clock=runtime.clock,
        vault=PayloadVault(KeyRing(kek_source(settings, runtime.clock)), runtime.clock),
        signer=signing_ring(settings, settings.checkpoint_origin, runtime.clock),
        service=runtime.service,
    )
    journal, checkpoints = audit.journal, audit.checkpoints

    evidence = evidence_from_settings(settings, runtime.store, runtime.clock, journal, checkpoints)
    if evidence.configured:
        interval = timedelta(seconds=settings.evidence_interval_seconds)
        runtime.every("audit-evidence", interval, evidence.run)
    runtime.on_shutdown(evidence.close)
    erasure = SubjectErasure(journal, runtime.inbox(ERASURES_QUEUE), audit.ctx.events)
    runtime.subscribe(journal_subscription(journal, prefetch=settings.journal_prefetch))
    runtime.subscribe(erasure_subscription(erasure))
    runtime.on_shutdown(journal.drain)

    async def declare_gaps_and_sign() -> None:
        await journal.check_gaps()
        await checkpoints.sign_if_grown()

    async def sample_journal() -> list[Sample]:
        head = await journal.head()
        signed_at = await checkpoints.latest_signed_at()
        samples = [Sample("journal_size", head.size)]
        if signed_at is not None:
            age = seconds_since(signed_at, runtime.clock.now())
            samples.append(Sample("journal_checkpoint_age", age))
        return samples

    runtime.sample("journal", sample_journal)
    runtime.every(
        "audit-checkpoints",
        timedelta(seconds=settings.checkpoint_interval_seconds),
        declare_gaps_and_sign,
    )
    app = runtime.create_app(
        title="Audit: the verifiable journal of every event",
        # The evidence router first: its /v1/checkpoint (with cosignatures) answers that path.
        routers=[
            evidence_router(evidence, checkpoints),
            journal_router(journal, checkpoints, note=evidence.cosigned),
        ],
        on_start=[journal.check_consistency],
    )
    install_refusal_handlers(app)
    if token_verifier is not None:
        install_token_verifier(app, token_verifier)
    app.state.journal = journal
    app.state.checkpoints = checkpoints
    app.state.evidence = evidence
    app.state.erasure = erasure
    return app
