"""Metrics for every service (DESIGN §9), exported with OTLP beside the traces.

One call per process, at startup (the service runtime makes it):

    handle = setup_metrics(service_name, release=version)
    app.add_middleware(RequestMetricsMiddleware)    # RED per route
    handle.gauges.register(key, sampler)            # observable gauges read from the store

and, where something happens, one line: `instruments().acts_served.add(1)`.

The instruments are defined once, in `Instruments`; `INSTRUMENTS` lists their names, kinds and
units, from which `prometheus_name` derives what Prometheus stores after its OTLP translation
(the dashboards and alert rules are checked against it). Attributes are technical and bounded:
routes, channels, queues, reasons' codes, never an identifier of a person nor a free text.

OTLP export starts when `SECURACT_OTLP_ENDPOINT` (or the OTel `OTEL_EXPORTER_OTLP_ENDPOINT` /
`..._METRICS_ENDPOINT`) is set; otherwise instruments record into readers given by tests, or
nowhere. The OpenTelemetry global meter provider is left alone (it can be set once per process,
and tests build several providers): code reaches the instruments through `instruments()`.

Observable gauges are read by OpenTelemetry's collection thread, synchronously, while the stores
are asynchronous: a `Gauges` board keeps the last value of each sampler, which the runtime
refreshes on the event loop every `SAMPLE_INTERVAL` (each sampler is a cheap indexed read).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from opentelemetry.metrics import (
    CallbackOptions,
    Counter,
    Histogram,
    Meter,
    NoOpMeterProvider,
    Observation,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, SERVICE_VERSION, Resource
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "INSTRUMENTS",
    "Gauges",
    "InstrumentSpec",
    "Instruments",
    "Metrics",
    "RequestMetricsMiddleware",
    "Sample",
    "Sampler",
    "instruments",
    "prometheus_name",
    "prometheus_series",
    "reset_metrics_for_tests",
    "setup_metrics",
]

log = logging.getLogger(__name__)

METER_NAME: Final = "securact"
SAMPLE_INTERVAL: Final = timedelta(seconds=15)
EXPORT_INTERVAL_MILLIS: Final = 15_000

_ENDPOINT_VARIABLES: Final = (
    "SECURACT_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)

# The semantic conventions' advice for `http.server.request.duration`, in seconds.
HTTP_DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
# From an act served to the relay's acceptance: seconds to (while the relay is away) hours.
NOTIFICATION_LATENCY_BUCKETS: Final = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0,
)  # fmt: skip

Kind = Literal["counter", "histogram", "gauge"]


@dataclass(frozen=True)
class InstrumentSpec:
    """One instrument: its OTel name, kind, unit (UCUM; `{thing}` annotations for counts)."""

    attribute: str
    name: str
    kind: Kind
    unit: str
    description: str
    buckets: tuple[float, ...] = ()


INSTRUMENTS: Final[tuple[InstrumentSpec, ...]] = (
    InstrumentSpec(
        "http_server_duration",
        "http.server.request.duration",
        "histogram",
        "s",
        "Duration of HTTP server requests.",
        HTTP_DURATION_BUCKETS,
    ),
    InstrumentSpec("acts_served", "securact.acts.served", "counter", "{act}", "Acts served."),
    InstrumentSpec(
        "acts_scheduled",
        "securact.acts.scheduled",
        "counter",
        "{act}",
        "Acts accepted for the window's next opening (or held for a suspended account).",
    ),
    InstrumentSpec(
        "acts_refused", "securact.acts.refused", "counter", "{act}", "Acts refused, by reason."
    ),
    InstrumentSpec(
        "acts_finalised",
        "securact.acts.finalised",
        "counter",
        "{act}",
        "Served acts whose quality of service was determined (à personne, à domicile).",
    ),
    InstrumentSpec(
        "outbox_backlog",
        "securact.outbox.backlog",
        "gauge",
        "{event}",
        "Events written to the outbox and not yet published.",
    ),
    InstrumentSpec(
        "outbox_oldest_age",
        "securact.outbox.oldest_age",
        "gauge",
        "s",
        "Age of the oldest event not yet published (0 when none waits).",
    ),
    InstrumentSpec(
        "messaging_retries",
        "securact.messaging.retries",
        "counter",
        "{message}",
        "Messages parked for a later attempt after their handler failed.",
    ),
    InstrumentSpec(
        "messaging_dead_letters",
        "securact.messaging.dead_letters",
        "counter",
        "{message}",
        "Messages sent to their queue's dead-letter queue.",
    ),
    InstrumentSpec(
        "messaging_queue_depth",
        "securact.messaging.queue.depth",
        "gauge",
        "{message}",
        "Messages ready in a consumer queue, not yet taken (the consumer's lag).",
    ),
    InstrumentSpec(
        "messaging_dlq_depth",
        "securact.messaging.dlq.depth",
        "gauge",
        "{message}",
        "Messages waiting in a dead-letter queue.",
    ),
    InstrumentSpec(
        "journal_size",
        "securact.journal.size",
        "gauge",
        "{entry}",
        "Entries in the audit journal (its Merkle tree size).",
    ),
    InstrumentSpec(
        "journal_checkpoint_age",
        "securact.journal.checkpoint.age",
        "gauge",
        "s",
        "Time since the latest signed checkpoint of the journal.",
    ),
    InstrumentSpec(
        "journal_gaps",
        "securact.journal.gaps",
        "counter",
        "{gap}",
        "Gaps declared in a producer's sequence (events that never arrived).",
    ),
    InstrumentSpec(
        "notifications_sent",
        "securact.notifications.sent",
        "counter",
        "{notification}",
        "Notifications accepted by the relay (SMTP) or the SMS provider.",
    ),
    InstrumentSpec(
        "notifications_failed",
        "securact.notifications.failed",
        "counter",
        "{notification}",
        "Notifications given up (permanent refusal or retries exhausted).",
    ),
    InstrumentSpec(
        "notification_latency",
        "securact.notifications.latency",
        "histogram",
        "s",
        "From the event that asked for a notification (an act served) to its acceptance.",
        NOTIFICATION_LATENCY_BUCKETS,
    ),
    InstrumentSpec(
        "smtp_certificate_expiry",
        "securact.smtp.certificate.expiry",
        "gauge",
        "s",
        "When the SMTP relay's TLS certificate (as last seen) expires, in Unix seconds.",
    ),
    InstrumentSpec(
        "erasures_due",
        "securact.erasures.due",
        "gauge",
        "{erasure}",
        "Erasures whose date has come and that are not done yet.",
    ),
    InstrumentSpec(
        "erasures_overdue",
        "securact.erasures.overdue",
        "gauge",
        "{erasure}",
        "Erasures still not done past their grace period.",
    ),
    InstrumentSpec(
        "logins_failed",
        "securact.logins.failed",
        "counter",
        "{attempt}",
        "Failed identification attempts.",
    ),
    InstrumentSpec(
        "logins_throttled",
        "securact.logins.throttled",
        "counter",
        "{attempt}",
        "Identification attempts refused by a throttle, unchecked.",
    ),
)

# Prometheus's OTLP translation (UnderscoreEscapingWithSuffixes, its default): units it spells
# out become a suffix, `{annotations}` vanish, monotonic counters end in `_total`.
_PROMETHEUS_UNITS: Final = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "ratio"}


def prometheus_name(spec: InstrumentSpec) -> str:
    """The metric name Prometheus gives this instrument's series (histograms: the base)."""
    name = spec.name.replace(".", "_")
    suffix = _PROMETHEUS_UNITS.get(spec.unit)
    if suffix == "ratio" and spec.kind != "gauge":
        suffix = None
    if suffix and not name.endswith(f"_{suffix}"):
        name = f"{name}_{suffix}"
    if spec.kind == "counter":
        name = f"{name}_total"
    return name


def prometheus_series() -> frozenset[str]:
    """Every series name the code makes Prometheus store (histograms' three included)."""
    names: set[str] = set()
    for spec in INSTRUMENTS:
        base = prometheus_name(spec)
        if spec.kind == "histogram":
            names.update({f"{base}_bucket", f"{base}_sum", f"{base}_count"})
        else:
            names.add(base)
    return frozenset(names)


# --- gauges: samplers refreshed on the loop, read by the collection ------------------------


@dataclass(frozen=True)
class Sample:
    """One value of an observable gauge, with its (bounded, non-personal) attributes."""

    instrument: str  # an `InstrumentSpec.attribute`
    value: float
    attributes: Mapping[str, str] = field(default_factory=dict)


Sampler = Callable[[], Awaitable[Iterable[Sample]]]


class Gauges:
    """The last samples of every registered sampler, by sampler key."""

    def __init__(self) -> None:
        self._samplers: dict[str, Sampler] = {}
        self._samples: dict[str, tuple[Sample, ...]] = {}
        # Values computed at collection time (e.g. a deadline minus now), by key.
        self._live: dict[str, Callable[[], Iterable[Sample]]] = {}

    def register(self, key: str, sampler: Sampler) -> None:
        self._samplers[key] = sampler

    def unregister(self, key: str) -> None:
        self._samplers.pop(key, None)
        self._samples.pop(key, None)
        self._live.pop(key, None)

    def live(self, key: str, compute: Callable[[], Iterable[Sample]]) -> None:
        """A gauge computed at each collection, from memory (no I/O: it runs off the loop)."""
        self._live[key] = compute

    async def refresh(self, prefix: str = "") -> None:
        """Run every sampler (whose key starts with `prefix`) once; one that fails keeps its
        previous samples."""
        for key, sampler in list(self._samplers.items()):
            if not key.startswith(prefix):
                continue
            try:
                self._samples[key] = tuple(await sampler())
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("metrics sampler %s failed (%s)", key, type(error).__name__)

    def observe(self, instrument: str) -> list[Observation]:
        observations: list[Observation] = []
        samples = [s for group in list(self._samples.values()) for s in group]
        for compute in list(self._live.values()):
            try:
                samples.extend(compute())
            except Exception:  # a collection must never fail on one gauge
                log.exception("live gauge failed")
        for sample in samples:
            if sample.instrument == instrument:
                observations.append(Observation(sample.value, dict(sample.attributes)))
        return observations


# --- the instruments ---------------------------------------------------------------------


class Instruments:
    """Every instrument of the platform, created once from one meter."""

    http_server_duration: Histogram
    acts_served: Counter
    acts_scheduled: Counter
    acts_refused: Counter
    acts_finalised: Counter
    messaging_retries: Counter
    messaging_dead_letters: Counter
    journal_gaps: Counter
    notifications_sent: Counter
    notifications_failed: Counter
    notification_latency: Histogram
    logins_failed: Counter
    logins_throttled: Counter

    def __init__(self, meter: Meter, gauges: Gauges) -> None:
        for spec in INSTRUMENTS:
            if spec.kind == "counter":
                instrument: Any = meter.create_counter(
                    spec.name, unit=spec.unit, description=spec.description
                )
            elif spec.kind == "histogram":
                instrument = meter.create_histogram(
                    spec.name,
                    unit=spec.unit,
                    description=spec.description,
                    explicit_bucket_boundaries_advisory=list(spec.buckets),
                )
            else:
                instrument = meter.create_observable_gauge(
                    spec.name,
                    callbacks=[_gauge_callback(gauges, spec.attribute)],
                    unit=spec.unit,
                    description=spec.description,
                )
            setattr(self, spec.attribute, instrument)


def _gauge_callback(
    gauges: Gauges, attribute: str
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def callback(_options: CallbackOptions) -> Iterable[Observation]:
        return gauges.observe(attribute)

    return callback


class Metrics:
    """The process's metrics: one provider, its instruments and the gauges' board."""

    def __init__(self, service_name: str, provider: MeterProvider | None) -> None:
        self.service_name = service_name
        self.provider = provider
        self.gauges = Gauges()
        meter = (provider or NoOpMeterProvider()).get_meter(METER_NAME)
        self.instruments = Instruments(meter, self.gauges)

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        return self.provider.force_flush(timeout_millis) if self.provider else True

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()
            self.provider = None


_metrics: Metrics | None = None
_NOOP: Final = Metrics("none", None)


def _otlp_reader() -> MetricReader:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    endpoint = os.environ.get("SECURACT_OTLP_ENDPOINT")
    exporter = (
        OTLPMetricExporter(endpoint=f"{endpoint.rstrip('/')}/v1/metrics")
        if endpoint
        else OTLPMetricExporter()  # reads the OTEL_EXPORTER_OTLP_* variables itself
    )
    return PeriodicExportingMetricReader(exporter, export_interval_millis=EXPORT_INTERVAL_MILLIS)


def setup_metrics(
    service_name: str,
    *,
    release: str = "dev",
    readers: Sequence[MetricReader] = (),
) -> Metrics:
    """Build this process's metrics once and return the handle (a second call returns it).

    Without an OTLP endpoint and without `readers`, instruments are no-ops.
    """
    global _metrics
    if _metrics is not None:
        return _metrics
    all_readers = list(readers)
    if any(os.environ.get(name) for name in _ENDPOINT_VARIABLES):
        all_readers.append(_otlp_reader())
    provider = None
    if all_readers:
        resource = Resource.create(
            {
                SERVICE_NAME: service_name,
                SERVICE_VERSION: release,
                SERVICE_INSTANCE_ID: str(uuid.uuid4()),
            }
        )
        provider = MeterProvider(resource=resource, metric_readers=all_readers)
    _metrics = Metrics(service_name, provider)
    return _metrics


def current() -> Metrics:
    """The process's metrics handle (a no-op one before `setup_metrics`)."""
    return _metrics or _NOOP


def instruments() -> Instruments:
    """The instruments to record into: `instruments().acts_served.add(1)`."""
    return current().instruments


def reset_metrics_for_tests() -> None:
    """TEST-ONLY: shut the handle down so the next `setup_metrics` builds a new one."""
    global _metrics
    if _metrics is not None:
        _metrics.shutdown()
        _metrics = None


def seconds_since(instant: datetime, now: datetime) -> float:
    """Non-negative seconds from `instant` to `now`."""
    return max(0.0, (now - instant).total_seconds())


# --- RED per route ---------------------------------------------------------------------------


class RequestMetricsMiddleware:
    """Records `http.server.request.duration` for every request but the health probes.

    Attributes per the HTTP semantic conventions: method, route template (never the path, which
    carries identifiers), status code, `error.type` for 5xx. Placed inside the tracing
    middleware, so each measurement's exemplar names the request's trace.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith("/health"):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            attributes: dict[str, str | int] = {
                "http.request.method": _method(scope.get("method", "")),
                "http.route": _route(scope),
                "http.response.status_code": status,
            }
            if status >= 500:
                attributes["error.type"] = str(status)
            instruments().http_server_duration.record(time.perf_counter() - start, attributes)


_KNOWN_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)


def _method(method: str) -> str:
    return method if method in _KNOWN_METHODS else "_OTHER"


def _route(scope: Scope) -> str:
    """The matched route's template (FastAPI puts the route in the scope); a bounded name
    otherwise, never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(path, str) and path:
        return _with_prefix(str(scope.get("path", "")), getattr(route, "path_regex", None), path)
    root = scope.get("root_path", "")
    return f"{root}/*" if root else "unmatched"


def _with_prefix(requested: str, regex: re.Pattern[str] | None, template: str) -> str:
    """The template under the prefixes of the routers it was included through: FastAPI keeps
    an included router's routes as they were declared (`/sessions` under `/v1`). The prefix is
    the part of the requested path before the longest tail the route matches: static, so no
    request data enters the name."""
    if regex is None or regex.match(requested):
        return template
    for at, char in enumerate(requested):
        if at and char == "/" and regex.match(requested[at:]):
            return requested[:at] + template
    return template
