"""shared.metrics: instruments defined once, no-ops before setup, gauges from samplers, RED per
route with exemplars naming the trace, and OTLP export to SECURACT_OTLP_ENDPOINT."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.sdk.metrics.export import HistogramDataPoint
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared import metrics
from shared.metrics import (
    INSTRUMENTS,
    Sample,
    instruments,
    reset_metrics_for_tests,
    setup_metrics,
)
from shared.request_metrics import RequestMetricsMiddleware
from tests.fixtures.metrics import MetricsProbe


def test_instruments_are_no_ops_before_setup() -> None:
    reset_metrics_for_tests()
    instruments().acts_served.add(1)
    instruments().http_server_duration.record(0.1, {"http.route": "/x"})
    assert metrics.current().provider is None


def test_every_instrument_is_defined_once_with_a_unit() -> None:
    names = [spec.name for spec in INSTRUMENTS]
    assert len(names) == len(set(names))
    assert all(spec.unit for spec in INSTRUMENTS)
    assert {spec.unit for spec in INSTRUMENTS if spec.kind == "histogram"} == {"s"}
    for spec in INSTRUMENTS:
        assert hasattr(instruments(), spec.attribute)


def test_a_second_setup_returns_the_first_handle(metrics_probe: MetricsProbe) -> None:
    assert setup_metrics("other-service") is metrics_probe.handle


async def test_a_failing_sampler_keeps_its_last_values(metrics_probe: MetricsProbe) -> None:
    values = [3.0]

    async def sampler() -> list[Sample]:
        if not values:
            raise RuntimeError("store away")
        return [Sample("outbox_backlog", values.pop(), {"securact.service": "s"})]

    metrics_probe.handle.gauges.register("s", sampler)
    assert (await metrics_probe.collect()).value("securact.outbox.backlog") == 3
    assert (await metrics_probe.collect()).value("securact.outbox.backlog") == 3
    metrics_probe.handle.gauges.unregister("s")
    assert (await metrics_probe.collect())["securact.outbox.backlog"] == []


def _app() -> FastAPI:
    # As the runtime builds them: FastAPI's own telemetry off (a span of its own, from the
    # process's first tracer provider, would stand between the request and its trace).
    app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})

    @app.get("/v1/acts/{act_id}")
    async def act(act_id: str) -> dict[str, str]:
        return {"id": act_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(RequestMetricsMiddleware)
    return app


async def test_requests_are_measured_per_route_template_with_exemplars(
    metrics_probe: MetricsProbe,
) -> None:
    tracer = TracerProvider().get_tracer(__name__)
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/v1/acts/another")).status_code == 200
        # Last on its route: a bucket keeps the latest exemplar.
        with tracer.start_as_current_span("request") as span:
            # Its trace id also in `traceparent`, should a server span be made for the request.
            carrier: dict[str, str] = {}
            TraceContextTextMapPropagator().inject(carrier)
            answer = await client.get("/v1/acts/0199-secret-act-id", headers=carrier)
            assert answer.status_code == 200
        assert (await client.get("/nowhere/jean.dupont@example.fr")).status_code == 404
        assert (await client.get("/boom")).status_code == 500
        assert (await client.get("/health/live")).status_code == 200
    exported = await metrics_probe.collect()
    points = {
        (p.attributes["http.route"], p.attributes["http.response.status_code"]): p
        for p in exported["http.server.request.duration"]
    }
    assert set(points) == {("/v1/acts/{act_id}", 200), ("unmatched", 404), ("/boom", 500)}
    assert points[("/v1/acts/{act_id}", 200)].value == 2
    assert points[("/boom", 500)].attributes["error.type"] == "500"
    assert "error.type" not in points[("/v1/acts/{act_id}", 200)].attributes
    # The measurement made inside a span carries its trace id: Grafana links to the trace.
    data = exported.data
    assert data is not None
    exemplars = [
        exemplar
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "http.server.request.duration"
        for point in metric.data.data_points
        if isinstance(point, HistogramDataPoint) and point.attributes["http.route"] != "/boom"
        if point.attributes["http.response.status_code"] == 200
        for exemplar in point.exemplars
    ]
    assert span.get_span_context().trace_id in {e.trace_id for e in exemplars}


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.bodies.append((self.path, self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", _Receiver.bodies
    finally:
        server.shutdown()
        server.server_close()


def test_metrics_go_over_otlp_http_to_the_configured_endpoint(
    receiver: tuple[str, list[tuple[str, bytes]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, bodies = receiver
    monkeypatch.setenv("SECURACT_OTLP_ENDPOINT", endpoint)
    reset_metrics_for_tests()
    try:
        handle = setup_metrics("delivery", release="9.9.9")
        instruments().acts_refused.add(1, {"securact.refusal.reason": "window_closed"})
        assert handle.force_flush(5_000)
    finally:
        reset_metrics_for_tests()
    assert bodies
    assert {path for path, _ in bodies} == {"/v1/metrics"}
    request = ExportMetricsServiceRequest()
    request.ParseFromString(bodies[0][1])
    [resource] = request.resource_metrics
    service = {a.key: a.value.string_value for a in resource.resource.attributes}
    assert service["service.name"] == "delivery"
    assert service["service.version"] == "9.9.9"
    [metric] = [
        m for s in resource.scope_metrics for m in s.metrics if m.name == "securact.acts.refused"
    ]
    assert metric.unit == "{act}"
    [point] = metric.sum.data_points
    assert point.as_int == 1
    assert {a.key: a.value.string_value for a in point.attributes} == {
        "securact.refusal.reason": "window_closed"
    }
