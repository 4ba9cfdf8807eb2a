"""Traces of every service (DESIGN §9); logs live in `shared.logs`.

One call per process, at startup, in the app factory:

    telemetry = setup_telemetry(settings.service_name, release=version)
    telemetry.instrument_app(app)
    broker = RabbitBroker(url, middlewares=[telemetry.broker_middleware()])

The handle keeps its own `TracerProvider` and hands it explicitly to every instrumentation,
middleware and tracer: the OpenTelemetry global can be set only once per process, so nothing
here depends on it (it is still set, for third-party code that reads it).

Where spans go: OTLP/HTTP when `SECURACT_OTLP_ENDPOINT` (or the OTel variables) names a
collector, a JSONL file per service under `SECURACT_SPANS_DIR` (the dev stack's local copy), an
exporter passed by a test. With none of them, nothing is sampled: spans are non-recording, so
the hot paths pay for ids and propagation only.

One trace per act: trace context crosses HTTP (W3C `traceparent`, httpx instrumented once per
process; the server answers a `traceresponse` header) and the bus (AMQP headers, FastStream's
`RabbitTelemetryMiddleware`, which makes the consumer's span current in the handler). The outbox
stores `inject_traceparent()` with each event, in the same write as the state change, and the
relay publishes inside `continue_trace(stored_carrier)`; work deferred past a handler (a queued
e-mail, a scheduled erasure, the journal's group commit) keeps the carrier too and continues
it (`span(..., context=extract_context(carrier))`) or links to it (`links_to`).

Spans name what happened by identifiers only (`ACT_ID`, `OFFICE_ID`, `EVENT_TYPE`, `OUTCOME`):
the client's address and user agent and query strings are removed from server spans.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, MutableMapping
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx
from fastapi import FastAPI
from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor, RequestInfo
from opentelemetry.instrumentation.propagators import (
    TraceResponsePropagator,
    set_global_response_propagator,
)
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import Scope

from shared.logs import ALLOWED_LOG_FIELDS, configure_logging
from shared.spanfile import JsonlSpanExporter

__all__ = [
    "ACT_ID",
    "ALLOWED_LOG_FIELDS",
    "EVENT_TYPE",
    "HEALTH_URLS_PATTERN",
    "OFFICE_ID",
    "OUTCOME",
    "PERSONAL_SERVER_ATTRIBUTES",
    "Telemetry",
    "annotate",
    "annotate_event",
    "configure_logging",
    "continue_trace",
    "extract_context",
    "in_span",
    "inject_traceparent",
    "instrument_client",
    "links_to",
    "reset_for_tests",
    "setup_telemetry",
    "span",
]

logger = logging.getLogger(__name__)

# Span attributes of the platform (identifiers only, never names or addresses).
ACT_ID: Final = "securact.act.id"
OFFICE_ID: Final = "securact.office.id"
EVENT_TYPE: Final = "securact.event.type"
OUTCOME: Final = "securact.outcome"

OTLP_ENDPOINT_VARIABLE: Final = "SECURACT_OTLP_ENDPOINT"
SPANS_DIR_VARIABLE: Final = "SECURACT_SPANS_DIR"
# Either makes the OTLP exporter send somewhere; it reads them itself (OTel convention).
_OTEL_ENDPOINT_VARIABLES: Final = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)

# Matched by the ASGI instrumentation against the full URL (`http://host:port/path`): probes
# hit these every few seconds and would drown the traces that matter.
HEALTH_URLS_PATTERN: Final = r"^[a-z]+://[^/]+/health(/|$)"

# What the ASGI instrumentation records of the caller (both semantic-convention generations):
# personal data under the platform's rules, removed from every server span.
PERSONAL_SERVER_ATTRIBUTES: Final = (
    "client.address",
    "client.port",
    "network.peer.address",
    "network.peer.port",
    "net.peer.ip",
    "net.peer.port",
    "http.client_ip",
    "user_agent.original",
    "user_agent.synthetic.type",
    "http.user_agent",
)
_URL_ATTRIBUTES: Final = ("http.url", "url.full")

# The W3C propagator explicitly, not the global one: the outbox must store exactly
# `traceparent`/`tracestate`, whatever OTEL_PROPAGATORS says.
_W3C: Final = TraceContextTextMapPropagator()
_SCOPE: Final = "securact"
_T = TypeVar("_T")
_NO_TRACER: Final = trace.NoOpTracer()


class Telemetry:
    """The process's tracing: one provider, passed explicitly to everything that makes spans."""

    def __init__(self, service_name: str, tracer_provider: TracerProvider) -> None:
        self._service_name = service_name
        self._provider = tracer_provider
        self._tracer = tracer_provider.get_tracer(_SCOPE)
        self._is_shut_down = False

    @property
    def service_name(self) -> str:
        return self._service_name

    @property
    def tracer_provider(self) -> TracerProvider:
        return self._provider

    def tracer(self, name: str) -> trace.Tracer:
        """A tracer for manual spans: `telemetry.tracer(__name__).start_as_current_span(...)`."""
        return self._provider.get_tracer(name)

    def instrument_app(self, app: FastAPI) -> None:
        """Trace every HTTP request of `app` except the health probes (a server span each,
        without the caller's address, user agent or query string)."""
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self._provider,
            excluded_urls=HEALTH_URLS_PATTERN,
            # One span per request is what a reader of the trace needs; the ASGI
            # `http send`/`http receive` sub-spans triple the volume for no insight.
            exclude_spans=["receive", "send"],
            server_request_hook=_scrub_server_span,
        )

    def broker_middleware(self) -> RabbitTelemetryMiddleware:
        """The FastStream middleware that carries `traceparent` in AMQP headers.

        Pass it as `RabbitBroker(url, middlewares=[telemetry.broker_middleware()])`: it makes a
        producer span on publish (child of the current context) and a consumer span on
        receive (child of the context found in the message headers), current in the handler.
        """
        return RabbitTelemetryMiddleware(tracer_provider=self._provider)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export the spans still buffered; True when every processor finished in time."""
        return self._provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Flush buffered spans and stop the exporters (at process exit; safe to call twice)."""
        if self._is_shut_down:
            return
        self._is_shut_down = True
        self._provider.force_flush()
        self._provider.shutdown()


_telemetry: Telemetry | None = None
_global_provider_set = False


def _remove_attributes(span: Span, keys: Iterable[str]) -> None:
    # The SDK has no public way to drop an attribute once set; its span keeps them in a
    # mutable mapping until it ends. Any other recording span gets a placeholder instead.
    attributes = getattr(span, "_attributes", None)
    for key in keys:
        if isinstance(attributes, MutableMapping):
            attributes.pop(key, None)
        else:
            span.set_attribute(key, "[removed]")


def _scrub_server_span(span: Span, scope: Scope) -> None:
    """Keep the caller's address and user agent (personal data) and query strings (search
    keys, single-use tokens) out of server spans. The path and the route template stay."""
    if not span.is_recording():
        return
    _remove_attributes(span, PERSONAL_SERVER_ATTRIBUTES)
    if scope.get("query_string"):
        for key in _URL_ATTRIBUTES:
            span.set_attribute(key, "[query removed]")
        span.set_attribute("url.query", "[removed]")


def _scrub_client_span(span: Span, request: RequestInfo) -> None:
    url = request.url
    if not span.is_recording() or not isinstance(url, httpx.URL) or not url.query:
        return
    for key in _URL_ATTRIBUTES:
        span.set_attribute(key, f"{url.copy_with(query=None)}?[query removed]")


async def _scrub_client_span_async(span: Span, request: RequestInfo) -> None:
    _scrub_client_span(span, request)


def _exporters_from_environment(service_name: str) -> list[SpanExporter]:
    """The exporters the environment asks for (all batched: off the request path)."""
    exporters: list[SpanExporter] = []
    endpoint = os.environ.get(OTLP_ENDPOINT_VARIABLE, "").strip()
    if endpoint:
        exporters.append(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces"))
    elif any(os.environ.get(name) for name in _OTEL_ENDPOINT_VARIABLES):
        exporters.append(OTLPSpanExporter())
    spans_dir = os.environ.get(SPANS_DIR_VARIABLE, "").strip()
    if spans_dir:
        exporters.append(JsonlSpanExporter(Path(spans_dir) / f"{service_name}.jsonl"))
    return exporters


def setup_telemetry(
    service_name: str,
    *,
    release: str = "dev",
    span_exporter: SpanExporter | None = None,
) -> Telemetry:
    """Build this process's tracing once and return its handle.

    The provider's resource names the service (`service.name`, `service.version` = `release`,
    a random `service.instance.id`). Spans go, batched, to OTLP/HTTP at
    `SECURACT_OTLP_ENDPOINT` (or where `OTEL_EXPORTER_OTLP_ENDPOINT` says) and to
    `SECURACT_SPANS_DIR/<service>.jsonl`; synchronously to `span_exporter` (tests pass an
    `InMemorySpanExporter`). Without any, nothing is sampled. PyMongo and httpx are
    instrumented here, once; responses carry a `traceresponse` header.

    A second call returns the first handle unchanged: processors never stack.
    """
    global _telemetry, _global_provider_set
    if _telemetry is not None:
        if service_name != _telemetry.service_name:
            logger.debug(
                "Telemetry already set up for %s; %s shares it",
                _telemetry.service_name,
                service_name,
            )
        return _telemetry

    resource = Resource.create(
        {
            SERVICE_NAME: service_name,
            SERVICE_VERSION: release,
            SERVICE_INSTANCE_ID: str(uuid.uuid4()),
        }
    )
    exporters = _exporters_from_environment(service_name)
    sampler: Sampler | None = None
    if not exporters and span_exporter is None:
        # Nothing would export: record nothing, whatever a caller's flags say. Ids are still
        # made and propagated, so a caller's trace id still comes back in `traceresponse`.
        sampler = ALWAYS_OFF
    provider = TracerProvider(resource=resource, sampler=sampler)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if span_exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(span_exporter))

    if not _global_provider_set:
        trace.set_tracer_provider(provider)
        set_global_response_propagator(TraceResponsePropagator())  # type: ignore[no-untyped-call]
        _global_provider_set = True

    pymongo = PymongoInstrumentor()
    if not pymongo.is_instrumented_by_opentelemetry:
        # Statements carry filter values (names, addresses): never put them in spans.
        pymongo.instrument(tracer_provider=provider, capture_statement=False)
    instrumented_httpx = HTTPXClientInstrumentor()
    if not instrumented_httpx.is_instrumented_by_opentelemetry:
        instrumented_httpx.instrument(
            tracer_provider=provider,
            request_hook=_scrub_client_span,
            async_request_hook=_scrub_client_span_async,
        )

    _telemetry = Telemetry(service_name, provider)
    return _telemetry


def instrument_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Trace (and propagate through) a client whose transport is not a network one, e.g. an
    in-process `ASGITransport`: network clients are instrumented once, by `setup_telemetry`."""
    provider = _telemetry.tracer_provider if _telemetry is not None else None
    HTTPXClientInstrumentor.instrument_client(
        client, tracer_provider=provider, request_hook=_scrub_client_span_async
    )
    return client


def reset_for_tests() -> None:
    """TEST-ONLY: shut the current handle down so the next `setup_telemetry` builds a new one.

    The OpenTelemetry global provider stays the first one ever set (it cannot change); code that
    goes through the handle is unaffected. PyMongo's command listener cannot be unregistered, so
    the old one is disabled and a fresh one, bound to the next provider, is registered on setup.
    """
    global _telemetry
    if _telemetry is not None:
        _telemetry.shutdown()
        _telemetry = None
    pymongo = PymongoInstrumentor()
    if pymongo.is_instrumented_by_opentelemetry:
        pymongo.uninstrument()
    # The instrumentor reuses its first listener (and that listener's tracer) on re-instrument;
    # forgetting it makes the next setup bind PyMongo spans to the new provider.
    pymongo._commandtracer_instance = None
    instrumented_httpx = HTTPXClientInstrumentor()
    if instrumented_httpx.is_instrumented_by_opentelemetry:
        instrumented_httpx.uninstrument()


# --- Manual spans ------------------------------------------------------------------------------


def span(
    name: str,
    *,
    context: Context | None = None,
    links: Iterable[Link] | None = None,
    attributes: Mapping[str, str | int | bool] | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    root: bool = False,
) -> AbstractContextManager[Span]:
    """A span of this process's provider, current for the block (a no-op before setup).

    `context`: the parent (default the current one), e.g. `extract_context(stored_carrier)`;
    `root`: none (a trace of its own, for work done for many causes: give it `links`).
    """
    tracer = _telemetry._tracer if _telemetry is not None else _NO_TRACER
    return tracer.start_as_current_span(
        name,
        context=Context() if root else context,
        kind=kind,
        attributes=dict(attributes) if attributes else None,
        links=list(links) if links is not None else None,
    )


def start_span(name: str, *, context: Context, kind: SpanKind = SpanKind.INTERNAL) -> Span:
    """A span of this process's provider that is NOT made current, for the caller to `end()`
    (e.g. one per message of a batch, each in its producer's trace, ended when settled)."""
    tracer = _telemetry._tracer if _telemetry is not None else _NO_TRACER
    return tracer.start_span(name, context=context, kind=kind)


@asynccontextmanager
async def in_span(name: str, inner: AbstractAsyncContextManager[_T]) -> AsyncIterator[_T]:
    """`inner` (e.g. a store transaction) entered and left inside a span named `name`."""
    with span(name):
        async with inner as value:
            yield value


def annotate(
    *,
    act_id: str | None = None,
    office_id: str | None = None,
    event_type: str | None = None,
    outcome: str | None = None,
) -> None:
    """Name what the current span is about, by identifiers (nothing when not recording)."""
    current = trace.get_current_span()
    if not current.is_recording():
        return
    if act_id:
        current.set_attribute(ACT_ID, act_id)
    if office_id:
        current.set_attribute(OFFICE_ID, office_id)
    if event_type:
        current.set_attribute(EVENT_TYPE, event_type)
    if outcome:
        current.set_attribute(OUTCOME, outcome)


def annotate_event(subject: str, event_type: str, payload: Mapping[str, Any]) -> None:
    """Name the current span after an event: its type, and the act and office it is about
    (from the `act:<id>` subject or the payload's `act_id`/`office_id`)."""
    current = trace.get_current_span()
    if not current.is_recording():
        return
    attributes = {EVENT_TYPE: event_type}
    act_id = subject[4:] if subject.startswith("act:") else payload.get("act_id")
    if isinstance(act_id, str) and act_id:
        attributes[ACT_ID] = act_id
    office_id = payload.get("office_id")
    if isinstance(office_id, str) and office_id:
        attributes[OFFICE_ID] = office_id
    current.set_attributes(attributes)  # one lock, not one per attribute


def links_to(carriers: Iterable[Mapping[str, str]]) -> list[Link]:
    """Span links to the traces stored in `carriers` (deduplicated, invalid ones skipped): for
    work done once for many acts, such as the journal's group commit."""
    seen: set[tuple[int, int]] = set()
    links: list[Link] = []
    for carrier in carriers:
        if not carrier:
            continue
        context = trace.get_current_span(extract_context(carrier)).get_span_context()
        key = (context.trace_id, context.span_id)
        if context.is_valid and key not in seen:
            seen.add(key)
            links.append(Link(context))
    return links


# --- W3C propagation (the outbox keeps the trace of the request that wrote the event) ----------


def inject_traceparent(context: Context | None = None) -> dict[str, str]:
    """The current trace context (or `context`) as W3C headers: `traceparent`, `tracestate`.

    Empty when no span is active. Store it with an outbox record, in the same write.
    """
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=context)
    return carrier


def extract_context(carrier: Mapping[str, str]) -> Context:
    """The trace context that `inject_traceparent` stored (an empty context if absent/invalid)."""
    return _W3C.extract(dict(carrier))


@contextmanager
def continue_trace(carrier: Mapping[str, str]) -> Iterator[Context]:
    """Make the stored context current for the block: spans and publishes in it join that trace.

    The outbox relay wraps each `broker.publish` in it, since the telemetry middleware takes the
    parent of its producer span from the current context and overwrites any `traceparent`
    header passed by hand.
    """
    ctx = extract_context(carrier)
    token = otel_context.attach(ctx)
    try:
        yield ctx
    finally:
        otel_context.detach(token)
