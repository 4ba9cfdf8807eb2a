"""Traces and logs for every service (DESIGN §9).

One call per process, at startup, in the app factory:

    telemetry = setup_telemetry(settings.service_name, release=version)
    configure_logging(settings.log_level, settings.log_json)
    telemetry.instrument_app(app)
    broker = RabbitBroker(url, middlewares=[telemetry.broker_middleware()])

The handle keeps its own `TracerProvider` and hands it explicitly to every instrumentation,
middleware and tracer: the OpenTelemetry global can be set only once per process, so nothing
here depends on it (it is still set, for third-party code that reads it).

Trace context crosses the bus in AMQP headers (W3C `traceparent`), written and read by
FastStream's `RabbitTelemetryMiddleware`. That middleware injects the context that is *current*
when `publish` is called, so the outbox relay stores `inject_traceparent()` with the event, in the
same write as the state change, and later publishes inside `continue_trace(stored_carrier)`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from fastapi import FastAPI
from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "ALLOWED_LOG_FIELDS",
    "HEALTH_URLS_PATTERN",
    "Telemetry",
    "configure_logging",
    "continue_trace",
    "extract_context",
    "inject_traceparent",
    "reset_for_tests",
    "setup_telemetry",
]

logger = logging.getLogger(__name__)

# Either variable makes the OTLP exporter send somewhere; it reads them itself (OTel convention).
_OTLP_ENDPOINT_VARIABLES: Final = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)

# Matched by the ASGI instrumentation against the full URL (`http://host:port/path`): probes
# hit these every few seconds and would drown the traces that matter.
HEALTH_URLS_PATTERN: Final = r"^[a-z]+://[^/]+/health(/|$)"

# The W3C propagator explicitly, not the global one: the outbox must store exactly
# `traceparent`/`tracestate`, whatever OTEL_PROPAGATORS says.
_W3C: Final = TraceContextTextMapPropagator()


class Telemetry:
    """The process's tracing: one provider, passed explicitly to everything that makes spans."""

    def __init__(self, service_name: str, tracer_provider: TracerProvider) -> None:
        self._service_name = service_name
        self._provider = tracer_provider
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
        """Trace every HTTP request of `app` except the health probes (a server span each)."""
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self._provider,
            excluded_urls=HEALTH_URLS_PATTERN,
            # One span per request is what a reader of the trace needs; the ASGI
            # `http send`/`http receive` sub-spans triple the volume for no insight.
            exclude_spans=["receive", "send"],
            server_request_hook=_drop_query_string,
        )

    def broker_middleware(self) -> RabbitTelemetryMiddleware:
        """The FastStream middleware that carries `traceparent` in AMQP headers.

        Pass it as `RabbitBroker(url, middlewares=[telemetry.broker_middleware()])`: it makes a
        producer span on publish (child of the current context) and a consumer span on
        receive (child of the context found in the message headers).
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


def _drop_query_string(span: trace.Span, scope: dict[str, Any]) -> None:
    """Keep query strings out of spans: they may carry search keys (names, birth dates) and
    single-use tokens. The path and the route template stay."""
    if span.is_recording() and scope.get("query_string"):
        for key in ("http.url", "url.full"):
            span.set_attribute(key, "[query removed]")
        span.set_attribute("url.query", "[removed]")


def setup_telemetry(
    service_name: str,
    *,
    release: str = "dev",
    span_exporter: SpanExporter | None = None,
) -> Telemetry:
    """Build this process's tracing once and return its handle.

    The provider's resource names the service (`service.name`, `service.version` = `release`,
    a random `service.instance.id`). Spans go to the OTLP/HTTP exporter (batched) when
    `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and to `span_exporter` (synchronously; tests pass an
    `InMemorySpanExporter`) when given. PyMongo is instrumented here, once.

    A second call returns the first handle unchanged: processors never stack.
    """
    global _telemetry, _global_provider_set
    if _telemetry is not None:
        if service_name != _telemetry.service_name:
            logger.warning(
                "Telemetry already set up for %s; ignoring setup for %s",
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
    provider = TracerProvider(resource=resource)
    if any(os.environ.get(name) for name in _OTLP_ENDPOINT_VARIABLES):
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if span_exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(span_exporter))

    if not _global_provider_set:
        trace.set_tracer_provider(provider)
        _global_provider_set = True

    pymongo = PymongoInstrumentor()
    if not pymongo.is_instrumented_by_opentelemetry:
        # Statements carry filter values (names, addresses): never put them in spans.
        pymongo.instrument(tracer_provider=provider, capture_statement=False)

    _telemetry = Telemetry(service_name, provider)
    return _telemetry


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


# --- Logging ---------------------------------------------------------------------------------

# `extra` keys that may reach the logs: identifiers and technical facts only, never personal
# data nor payloads. Anything else passed in `extra` is dropped.
ALLOWED_LOG_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "event_id",
        "event_type",
        "schema_version",
        "subject",
        "producer",
        "producer_seq",
        "correlation_id",
        "causation_id",
        "consumer",
        "queue",
        "routing_key",
        "attempt",
        "max_attempts",
        "delay_seconds",
        "duration_ms",
        "count",
        "service",
        "outcome",
        "status_code",
        "method",
        "route",
    }
)

_TRACE_ID_ATTR: Final = "otel_trace_id"
_SPAN_ID_ATTR: Final = "otel_span_id"


class _TraceContextFilter(logging.Filter):
    """Stamps the active span's ids on the record, in the emitting task's context."""

    def filter(self, record: logging.LogRecord) -> bool:
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            setattr(record, _TRACE_ID_ATTR, trace.format_trace_id(span_context.trace_id))
            setattr(record, _SPAN_ID_ATTR, trace.format_span_id(span_context.span_id))
        return True


def _allowed_extras(record: logging.LogRecord, allowed: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key in allowed}


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace ids, allowed extras."""

    def __init__(self, allowed_fields: frozenset[str] = ALLOWED_LOG_FIELDS) -> None:
        super().__init__()
        self._allowed = allowed_fields

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace_id = getattr(record, _TRACE_ID_ATTR, None)
        if trace_id is not None:
            entry["trace_id"] = trace_id
            entry["span_id"] = getattr(record, _SPAN_ID_ATTR, None)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in _allowed_extras(record, self._allowed).items():
            entry.setdefault(key, value)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextLogFormatter(logging.Formatter):
    """Human-readable lines for a terminal: the same fields as the JSON format, as `key=value`."""

    def __init__(self, allowed_fields: frozenset[str] = ALLOWED_LOG_FIELDS) -> None:
        super().__init__("%(asctime)s.%(msecs)03dZ %(levelname)-7s %(name)s: %(message)s")
        self.default_time_format = "%Y-%m-%dT%H:%M:%S"
        self.default_msec_format = None  # milliseconds come from the format string
        self.converter = time.gmtime
        self._allowed = allowed_fields

    def format(self, record: logging.LogRecord) -> str:
        # The base class appends the traceback after the message; keep it last.
        exc_info, exc_text, stack_info = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = exc_info, exc_text, stack_info
        fields = dict(sorted(_allowed_extras(record, self._allowed).items()))
        trace_id = getattr(record, _TRACE_ID_ATTR, None)
        if trace_id is not None:
            fields["trace_id"] = trace_id
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


_handler: logging.Handler | None = None


def configure_logging(
    level: str,
    json_format: bool,
    *,
    extra_fields: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send the root logger to stderr (or `stream`), as JSON lines or plain text.

    Each line carries the active span's `trace_id`/`span_id` and the `extra` fields named in
    `ALLOWED_LOG_FIELDS` (plus `extra_fields`); other extras are dropped. Calling it again
    replaces the handler it installed before, never duplicates it; handlers installed by others
    (pytest's capture, for one) are left alone. Returns the installed handler.
    """
    global _handler
    levels = logging.getLevelNamesMapping()
    numeric_level = levels.get(level.upper())
    if numeric_level is None:
        raise ValueError(f"unknown log level {level!r}")

    allowed = ALLOWED_LOG_FIELDS | frozenset(extra_fields)
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.addFilter(_TraceContextFilter())
    handler.setFormatter(JsonLogFormatter(allowed) if json_format else TextLogFormatter(allowed))

    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
    root.addHandler(handler)
    root.setLevel(numeric_level)
    _handler = handler
    return handler
