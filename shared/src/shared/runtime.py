"""What every service process shares: wiring of store, bus, outbox relay, consumers, object
store, telemetry and health endpoints around the service's own routers and use cases.

A service's `create_app` builds a `ServiceRuntime` (nothing connects), hands its parts to its
use cases, and returns `runtime.create_app(...)`. The lifespan then connects the store, starts
the outbox relay, connects the broker in the background (the service serves and accepts writes
while RabbitMQ is down: the outbox keeps the events) and publishes `<service>.started.v1`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import fastapi_offline
import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ConfigDict

from shared.auth import (
    InMemoryRevocationList,
    TokenVerifier,
    VerifierConfig,
    install_token_verifier,
)
from shared.auth.revocations import RevocationListener
from shared.bodylimit import BodyLimitMiddleware
from shared.clock import Clock, clock_from_environment
from shared.contracts.asyncapi import asyncapi_router
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.platform import STARTED_BY_SERVICE
from shared.events import Emitter
from shared.ids import new_id
from shared.messaging.batch import BatchConsumer, BatchSubscription
from shared.messaging.bus import BrokerProbe, EventPublisher, create_broker
from shared.messaging.consumer import EventConsumer, RetryPolicy, Subscription, start_consuming
from shared.messaging.inbox import INBOX_INDEXES, Inbox
from shared.messaging.outbox import Outbox, OutboxRelay, RelayPolicy
from shared.messaging.topology import Topology
from shared.metrics import (
    SAMPLE_INTERVAL,
    Metrics,
    Sample,
    Sampler,
    setup_metrics,
)
from shared.objects import ObjectStore, ObjectStoreUnavailableError
from shared.openapi import document_problems, operation_id, problem_response
from shared.problems import PROBLEM_MEDIA_TYPE, Problem, install_problem_handlers, problem_type
from shared.request_metrics import RequestMetricsMiddleware
from shared.settings import BaseServiceSettings, KeyBackend, ObjectStoreSettings
from shared.store import open_store
from shared.store.port import DocumentStore, Index, StoreUnavailableError
from shared.telemetry import (
    Telemetry,
    configure_logging,
    extract_context,
    inject_traceparent,
    setup_telemetry,
)

log = logging.getLogger(__name__)

BROKER_RETRY_MAX_SECONDS = 15.0

Job = Callable[[], Coroutine[Any, Any, None]]

# Swagger UI and ReDoc from the packaged `fastapi-offline` assets (swagger-ui: Apache-2.0,
# ReDoc: MIT): the docs work without a CDN (air-gapped deployments, the devstack offline).
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS_URL = "/docs-assets"


class Readiness(BaseModel):
    """Every dependency answers (`store`, `broker`, `objects` where the service keeps some)."""

    model_config = ConfigDict(extra="allow")

    status: str
    service: str
    store: bool
    broker: bool
    objects: bool | None = None


def release_of(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "dev"


class ServiceRuntime:
    """The infrastructure parts of one service process, built from its settings."""

    def __init__(
        self,
        settings: BaseServiceSettings,
        *,
        clock: Clock | None = None,
        indexes: Sequence[Index] = (),
        span_exporter: SpanExporter | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.service = settings.service_name
        # Refuses a clock offset outside dev: a shifted clock must never date real evidence.
        self.clock: Clock = clock or clock_from_environment(
            settings.env, settings.clock_offset_seconds
        )
        self.instance_id = new_id(self.clock.now())
        self.release = release_of(f"securact-{self.service}")
        configure_logging(
            settings.log_level,
            settings.log_json,
            service=self.service,
            colour=settings.log_colour,
        )
        self.telemetry: Telemetry = setup_telemetry(
            self.service, release=self.release, span_exporter=span_exporter
        )
        self.metrics: Metrics = setup_metrics(self.service, release=self.release)
        self.topology = Topology(settings.bus_prefix)
        self.store: DocumentStore = open_store(settings.store_url, self.service)
        self.broker = create_broker(
            settings.amqp_url.get_secret_value(),
            middlewares=[self.telemetry.broker_middleware()],
            app_id=f"securact-{self.service}",
            heartbeat_seconds=settings.amqp_heartbeat_seconds,
        )
        self.broker_probe = BrokerProbe(
            self.broker, self.topology, timeout=settings.broker_probe_timeout_seconds
        )
        self.publisher = EventPublisher(self.broker, self.topology)
        self.outbox = Outbox(self.store, self.clock, trace_carrier=inject_traceparent)
        self.relay = OutboxRelay(
            self.store,
            self.publisher,
            self.clock,
            owner=self.instance_id,
            wakeup=self.outbox.pending,
            policy=RelayPolicy(poll_interval=timedelta(seconds=settings.outbox_poll_seconds)),
            publish_context=self._relay_span,
        )
        self.objects: ObjectStore | None = None
        if isinstance(settings, ObjectStoreSettings):
            self.objects = ObjectStore.from_settings(
                settings, settings.s3_bucket or f"securact-{self.service}"
            )
        self.retry = RetryPolicy(max_attempts=settings.consumer_max_attempts)
        # Outgoing HTTP (identity's JWKS and revocations, provider APIs); closed at stop unless
        # the caller passed its own.
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(timeout=10.0)
        self.revocations = InMemoryRevocationList(self.clock)
        self.token_verifier = TokenVerifier(
            VerifierConfig(
                jwks_url=f"{settings.identity_url.rstrip('/')}/.well-known/jwks.json",
                issuer=settings.identity_url.rstrip("/"),
                audiences=frozenset({settings.token_audience}),
            ),
            self.http,
            self.clock,
            self.revocations,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.broker_started = asyncio.Event()
        # Revoked sessions reach every replica of every service within seconds.
        self.revocation_listener = RevocationListener(
            self.broker,
            self.topology,
            service=self.service,
            instance_id=self.instance_id,
            revocations=self.revocations,
            clock=self.clock,
            identity_url=settings.identity_url,
            http=self.http,
            broker_started=self.broker_started,
        )
        self.revocation_listener.register()
        self._jobs: list[tuple[str, Job]] = []
        self._shutdown_hooks: list[Job] = []
        self._indexes = (*OutboxRelay.indexes(), *INBOX_INDEXES, *indexes)
        self._consumers: list[EventConsumer] = []
        # Its own channel: a passive declare of a queue not declared yet closes the channel.
        self._depth_probe = BrokerProbe(
            self.broker, self.topology, timeout=settings.broker_probe_timeout_seconds
        )
        self._samplers: dict[str, Sampler] = {
            "outbox": self._sample_outbox,
            "queues": self._sample_queues,
        }
        self.every("metrics-sampler", SAMPLE_INTERVAL, self._refresh_gauges)
        self._batch_consumers: list[BatchConsumer] = []

    def inbox(self, consumer: str) -> Inbox:
        """An inbox whose effects may emit events (the relay wakes after each commit)."""
        return Inbox(self.store, consumer, self.clock, transaction=self.outbox.transaction)

    @property
    def events(self) -> Emitter:
        """Envelopes of this service into its outbox (the same `Emitter` its use cases take)."""
        return Emitter(self.outbox, self.clock, self.service)

    def envelope(
        self,
        payload: EventPayload,
        *,
        subject: str,
        actor: str | None = None,
        causation: Envelope | None = None,
    ) -> Envelope:
        return self.events.envelope(payload, subject=subject, actor=actor, causation=causation)

    def subscribe(self, subscription: Subscription) -> None:
        consumer = EventConsumer(self.broker, self.topology, subscription, self.retry)
        consumer.register()
        self._consumers.append(consumer)

    def subscribe_batches(self, subscription: BatchSubscription) -> None:
        """Consume a queue in batches (`shared.messaging.batch`), once the broker is up."""
        consumer = BatchConsumer(self.broker, self.topology, subscription, self.retry)
        self._batch_consumers.append(consumer)

    def background(self, name: str, job: Job) -> None:
        """Run `job()` for the app's lifetime: started once the runtime runs, cancelled before
        the store closes. A job that returns or fails is logged, not restarted."""
        self._jobs.append((name, job))

    def every(self, name: str, interval: timedelta, job: Job) -> None:
        """Run `job()` every `interval` for the app's lifetime; a failing run is logged and the
        next one still happens."""

        async def loop() -> None:
            while True:
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("periodic job %s failed; next run in %s", name, interval)
                await asyncio.sleep(interval.total_seconds())

        self.background(name, loop)

    def on_shutdown(self, hook: Job) -> None:
        """Await `hook()` when the app stops, after background jobs, before the store closes."""
        self._shutdown_hooks.append(hook)

    def sample(self, name: str, sampler: Sampler) -> None:
        """Feed observable gauges from `sampler` (a cheap read) while the runtime runs."""
        self._samplers[name] = sampler

    def _sampler_key(self, name: str) -> str:
        return f"{self.service}:{self.instance_id}:{name}"

    async def _refresh_gauges(self) -> None:
        # Only this runtime's samplers: another one in the process (tests) may be stopping, and
        # its broker must not be reconnected from here.
        await self.metrics.gauges.refresh(prefix=self._sampler_key(""))

    async def _sample_outbox(self) -> list[Sample]:
        waiting, age = await self.outbox.backlog()
        where = {"securact.service": self.service}
        return [Sample("outbox_backlog", waiting, where), Sample("outbox_oldest_age", age, where)]

    async def _sample_queues(self) -> list[Sample]:
        """Messages waiting in each consumer queue (its lag) and in its dead-letter queue."""
        if not self.broker_started.is_set():
            return []
        queues = [c.queue for c in self._consumers] + [b.queue for b in self._batch_consumers]
        counts = await self._depth_probe.message_counts([*queues, *(f"{q}.dlq" for q in queues)])
        return [
            Sample(
                "messaging_dlq_depth" if queue.endswith(".dlq") else "messaging_queue_depth",
                count,
                {"messaging.destination.name": queue},
            )
            for queue, count in counts.items()
        ]

    def _relay_span(self, carrier: Mapping[str, str]) -> contextlib.AbstractContextManager[Any]:
        # The relay's publish continues the trace of the request that wrote the event.
        return self.telemetry.tracer(__name__).start_as_current_span(
            "outbox relay", context=extract_context(carrier), kind=SpanKind.INTERNAL
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await self.store.connect()
        await self.store.ensure_indexes(self._indexes)
        self._tasks.append(asyncio.create_task(self._connect_broker(), name="broker-connect"))
        for name, sampler in self._samplers.items():
            self.metrics.gauges.register(self._sampler_key(name), sampler)
        self._tasks.append(asyncio.create_task(self._relay_once_declared(), name="outbox-relay"))
        if self.objects is not None:
            self._tasks.append(asyncio.create_task(self._ensure_bucket(), name="s3-bucket"))
        started = STARTED_BY_SERVICE[self.service](
            service=self.service, instance_id=self.instance_id, release=self.release
        )
        await self.outbox.publish_alone(self.envelope(started, subject=f"service:{self.service}"))
        for name, job in self._jobs:
            self._tasks.append(asyncio.create_task(job(), name=name))
        # In the background: identity may not answer yet while the platform starts.
        self._tasks.append(
            asyncio.create_task(self.revocation_listener.catch_up(), name="revocations")
        )
        if not self.settings.is_dev and self.settings.keys is KeyBackend.FILE:
            # Local key files: fine on a durable, backed-up volume (docker-compose.yml mounts
            # one), fatal on a container's own disk; replicas need the PKCS#11 backend.
            log.warning(
                "%s keeps its key files under %s: that directory must be on durable, backed-up "
                "storage (or plug a KMS behind KekSource)",
                self.service,
                self.settings.kek_file.parent,
            )
        log.info("%s started (instance %s)", self.service, self.instance_id)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.revocation_listener.close()
        with contextlib.suppress(Exception):
            await self.broker_probe.close()
        with contextlib.suppress(Exception):
            await self._depth_probe.close()
        for name in self._samplers:
            self.metrics.gauges.unregister(self._sampler_key(name))
        for batches in self._batch_consumers:
            await batches.stop()
        for hook in self._shutdown_hooks:
            try:
                await hook()
            except Exception:
                log.exception("shutdown hook failed")
        with contextlib.suppress(Exception):
            await self.relay.release_lease()
        with contextlib.suppress(Exception):
            await self.broker.stop()
        await self.store.close()
        if self._owns_http:
            await self.http.aclose()
        self.telemetry.force_flush(timeout_millis=2_000)

    async def _relay_once_declared(self) -> None:
        # Not before every platform queue is declared: audit's queue binds "#", so an event
        # published halfway through the declarations is routable (mandatory publishing does not
        # object) yet never reaches the consumer queues still to be declared: lost for them.
        await self.broker_started.wait()
        await self.relay.run()

    async def _connect_broker(self) -> None:
        """Connect, declare, start consuming; keep trying while RabbitMQ is away."""
        attempt = 0
        while True:
            try:
                await self.broker.connect()
                await start_consuming(self.broker, self.topology, self._consumers)
                for batches in self._batch_consumers:
                    await batches.declare()
                    await batches.start()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                attempt += 1
                pause = min(BROKER_RETRY_MAX_SECONDS, 0.5 * 2**attempt) * (0.5 + random.random())
                log.warning(
                    "broker not reachable (%s); retrying in %.1fs", type(error).__name__, pause
                )
                for batches in self._batch_consumers:
                    await batches.stop()
                with contextlib.suppress(Exception):
                    await self.broker.stop()
                await asyncio.sleep(pause)
                continue
            self.broker_started.set()
            log.info("%s connected to the broker", self.service)
            return

    async def _ensure_bucket(self) -> None:
        assert self.objects is not None
        attempt = 0
        while True:
            try:
                await self.objects.ensure_bucket()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                attempt += 1
                log.warning("object store not ready (%s)", type(error).__name__)
                await asyncio.sleep(min(10.0, 0.5 * 2**attempt))

    async def readiness(self) -> dict[str, bool]:
        """Which dependencies answer right now."""
        checks: dict[str, bool] = {}
        try:
            await asyncio.wait_for(self.store.ping(), 2)
            checks["store"] = True
        except Exception:
            checks["store"] = False
        checks["broker"] = self.broker_started.is_set() and await self.broker_probe.answers()
        if self.objects is not None:
            try:
                await asyncio.wait_for(self.objects.ping(), 3)
                checks["objects"] = True
            except Exception:
                checks["objects"] = False
        return checks

    # -- HTTP ------------------------------------------------------------------------------

    def create_app(
        self,
        *,
        title: str,
        routers: Sequence[APIRouter] = (),
        on_start: Sequence[Callable[[], Any]] = (),
    ) -> FastAPI:
        """The service's FastAPI app: health endpoints, problem+json errors, telemetry, and
        a lifespan that runs the runtime (then `on_start` hooks, e.g. background jobs)."""

        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            for hook in on_start:
                result = hook()
                if asyncio.iscoroutine(result):
                    await result
            try:
                yield
            finally:
                await self.stop()

        app = FastAPI(
            title=title,
            version=self.release,
            lifespan=lifespan,
            generate_unique_id_function=operation_id,
            docs_url=None,
            redoc_url=None,
            # Requests are traced by the OpenTelemetry instrumentor (`instrument_app` below);
            # FastAPI's own telemetry would only find it there and step aside, at each request.
            telemetry={"tracing": False, "metrics": False, "logs": False},
        )
        install_problem_handlers(app)
        app.add_exception_handler(StoreUnavailableError, _dependency_unavailable("database"))
        app.add_exception_handler(
            ObjectStoreUnavailableError, _dependency_unavailable("object store")
        )
        install_token_verifier(app, self.token_verifier)
        app.include_router(self._health_router())
        app.include_router(asyncapi_router(self.service))
        for router in routers:
            app.include_router(router)
        app.add_middleware(BodyLimitMiddleware, default=self.settings.max_body_bytes)
        # Inside the tracing middleware (which wraps the whole stack): exemplars name the trace.
        app.add_middleware(RequestMetricsMiddleware)
        self.telemetry.instrument_app(app)
        _serve_docs(app, title)
        document_problems(app, token_url=f"{self.settings.identity_url.rstrip('/')}/oauth/token")
        app.state.runtime = self
        return app

    def _health_router(self) -> APIRouter:
        router = APIRouter(tags=["health"])

        @router.get("/health/live")
        async def live() -> dict[str, str]:
            return {"status": "live", "service": self.service}

        @router.get(
            "/health/ready",
            response_model=Readiness,
            responses={503: problem_response(503, "a dependency does not answer")},
        )
        async def ready() -> JSONResponse:
            checks = await self.readiness()
            if all(checks.values()):
                return JSONResponse({"status": "ready", "service": self.service, **checks})
            return JSONResponse(
                {
                    "type": "urn:securact:problem:not-ready",
                    "title": "Service not ready",
                    "status": 503,
                    "detail": "unavailable: " + ", ".join(k for k, ok in checks.items() if not ok),
                    "checks": checks,
                },
                status_code=503,
                media_type=PROBLEM_MEDIA_TYPE,
            )

        return router


def _serve_docs(app: FastAPI, title: str) -> None:
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{title} — Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS_URL}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{title} — ReDoc",
            redoc_js_url=f"{DOCS_ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )


def _dependency_unavailable(
    what: str,
) -> Callable[[Request, Exception], Coroutine[Any, Any, Response]]:
    """A store or object store away while a request needs it: 503 (retry), never a 500."""

    async def handler(_request: Request, _exc: Exception) -> Response:
        log.warning("%s unavailable during a request", what)
        return Problem(
            503,
            "Service unavailable",
            f"the {what} cannot be reached; retry later",
            type=problem_type(f"{what.replace(' ', '-')}-unavailable"),
            headers={"Retry-After": "10"},
        ).to_response()

    return handler
