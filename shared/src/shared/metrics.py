"""Metrics for every service (DESIGN §9), exported with OTLP beside the traces.

One call per process, at startup (the service runtime makes it):

    handle = setup_metrics(service_name, release=version)
    app.add_middleware(RequestMetricsMiddleware)    # RED per route (`shared.request_metrics`)
    handle.gauges.register(key, sampler)            # observable gauges read from the store

and, where something happens, one line: `instruments().acts_served.add(1)`.

The instruments are defined once, in `Instruments`, from the list of their names, kinds and
units in `shared.metric_catalogue` (`INSTRUMENTS`, with the Prometheus names of their series).
Attributes are technical and bounded: routes, channels, queues, reasons' codes, never an
identifier of a person nor a free text.

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
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

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

from shared.metric_catalogue import (
    INSTRUMENTS,
    InstrumentSpec,
    prometheus_name,
    prometheus_series,
)

__all__ = [
    "INSTRUMENTS",
    "Gauges",
    "InstrumentSpec",
    "Instruments",
    "Metrics",
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
