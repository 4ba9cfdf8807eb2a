"""The telemetry kernel: spans for HTTP, the bus and manual work; W3C propagation; JSON logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from faststream.rabbit import RabbitBroker, TestRabbitBroker
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared.telemetry import (
    Telemetry,
    configure_logging,
    continue_trace,
    extract_context,
    inject_traceparent,
    reset_for_tests,
    setup_telemetry,
)


class LogCapture:
    """What `configure_logging` writes, as text or parsed JSON lines."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handlers: list[logging.Handler] = []

    def configure(self, level: str = "DEBUG", json_format: bool = True) -> None:
        self.handlers.append(configure_logging(level, json_format, stream=self.stream))

    def text(self) -> str:
        return self.stream.getvalue()

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines() if line]


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    root = logging.getLogger()
    level = root.level
    capture = LogCapture()
    yield capture
    for handler in capture.handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def _processors(handle: Telemetry) -> tuple[SpanProcessor, ...]:
    # The SDK exposes no public listing of processors; its multi-processor keeps them here.
    processors: tuple[SpanProcessor, ...] = (
        handle.tracer_provider._active_span_processor._span_processors
    )
    return processors


def _by_name(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    matching = [span for span in spans if span.name == name]
    assert len(matching) == 1, [span.name for span in spans]
    return matching[0]


def _trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    trace_id: int = span.context.trace_id
    return trace_id


# --- setup -----------------------------------------------------------------------------------


def test_resource_names_the_service_release_and_instance(telemetry: Telemetry) -> None:
    attributes = telemetry.tracer_provider.resource.attributes

    assert attributes["service.name"] == "telemetry-test"
    assert attributes["service.version"] == "1.2.3"
    assert attributes["service.instance.id"]


def test_second_setup_returns_the_same_handle_without_stacking_processors(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    before = _processors(telemetry)

    again = setup_telemetry("telemetry-test", span_exporter=InMemorySpanExporter())

    assert again is telemetry
    assert _processors(again) == before
    with telemetry.tracer("test").start_as_current_span("once"):
        pass
    assert [span.name for span in exporter.get_finished_spans()] == ["once"]


def test_without_otlp_endpoint_only_the_given_exporter_is_configured(
    telemetry: Telemetry,
) -> None:
    processors = _processors(telemetry)

    assert len(processors) == 1
    assert isinstance(processors[0], SimpleSpanProcessor)


def test_otlp_endpoint_in_environment_adds_a_batched_otlp_exporter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Port 9 (discard) on loopback: nothing listens, and no span is made, so nothing is sent.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    reset_for_tests()
    try:
        handle = setup_telemetry("telemetry-test")
        processors = _processors(handle)

        assert len(processors) == 1
        batch = processors[0]
        assert isinstance(batch, BatchSpanProcessor)
        otlp = batch._batch_processor._exporter
        assert isinstance(otlp, OTLPSpanExporter)
        assert otlp._endpoint == "http://127.0.0.1:9/v1/traces"
    finally:
        reset_for_tests()


# --- HTTP and manual spans --------------------------------------------------------------------


def _app(telemetry: Telemetry) -> FastAPI:
    app = FastAPI()
    tracer = telemetry.tracer("test.items")

    @app.get("/items/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        with tracer.start_as_current_span("load-item"):
            return {"id": item_id}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    telemetry.instrument_app(app)
    return app


async def test_request_span_is_exported_and_manual_span_is_its_child(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    transport = httpx.ASGITransport(app=_app(telemetry))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.get("/items/42")
    assert response.status_code == 200

    spans = exporter.get_finished_spans()
    server = _by_name(spans, "GET /items/{item_id}")
    manual = _by_name(spans, "load-item")
    assert server.kind is SpanKind.SERVER
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/items/{item_id}"
    assert _trace_id(manual) == _trace_id(server)
    assert manual.parent is not None
    assert server.context is not None
    assert manual.parent.span_id == server.context.span_id
    # Only the request span and ours: the ASGI send/receive sub-spans are left out.
    assert len(spans) == 2


async def test_health_probes_are_not_traced(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    transport = httpx.ASGITransport(app=_app(telemetry))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/items/healthy")).status_code == 200

    names = [span.name for span in exporter.get_finished_spans()]
    assert "GET /health/live" not in names
    assert "GET /items/{item_id}" in names


async def test_incoming_traceparent_header_makes_the_request_span_a_child(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    with telemetry.tracer("test.client").start_as_current_span("caller") as caller:
        headers = inject_traceparent()
    transport = httpx.ASGITransport(app=_app(telemetry))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        await client.get("/items/7", headers=headers)

    server = _by_name(exporter.get_finished_spans(), "GET /items/{item_id}")
    assert _trace_id(server) == caller.get_span_context().trace_id
    assert server.parent is not None
    assert server.parent.span_id == caller.get_span_context().span_id


# --- W3C propagation --------------------------------------------------------------------------


def test_inject_then_extract_keeps_the_trace_id(telemetry: Telemetry) -> None:
    with telemetry.tracer("test").start_as_current_span("write") as span:
        carrier = inject_traceparent()
    expected = span.get_span_context()

    restored = trace.get_current_span(extract_context(carrier)).get_span_context()

    assert set(carrier) == {"traceparent"}
    assert carrier["traceparent"].startswith(f"00-{expected.trace_id:032x}-{expected.span_id:016x}")
    assert restored.trace_id == expected.trace_id
    assert restored.span_id == expected.span_id
    assert restored.is_remote


def test_inject_outside_any_span_gives_an_empty_carrier() -> None:
    assert inject_traceparent() == {}
    assert not trace.get_current_span(extract_context({})).get_span_context().is_valid


def test_spans_started_in_a_continued_trace_join_it(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    tracer = telemetry.tracer("test.outbox")
    with tracer.start_as_current_span("request") as request:
        stored = inject_traceparent()

    # Later, in the relay: no span is active any more.
    assert not trace.get_current_span().get_span_context().is_valid
    with continue_trace(stored), tracer.start_as_current_span("relay-publish"):
        pass
    assert not trace.get_current_span().get_span_context().is_valid

    relay = _by_name(exporter.get_finished_spans(), "relay-publish")
    assert _trace_id(relay) == request.get_span_context().trace_id
    assert relay.parent is not None
    assert relay.parent.span_id == request.get_span_context().span_id


# --- the bus (FastStream's middleware, in-memory broker) --------------------------------------


async def test_consumer_span_continues_the_publishers_trace_through_amqp_headers(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    broker = RabbitBroker(middlewares=[telemetry.broker_middleware()])
    seen: list[tuple[int, dict[str, Any]]] = []

    @broker.subscriber("telemetry-test-queue")
    async def handle(body: str) -> None:
        span_context = trace.get_current_span().get_span_context()
        seen.append((span_context.trace_id, dict(inject_traceparent())))

    async with TestRabbitBroker(broker) as test_broker:
        with telemetry.tracer("test.bus").start_as_current_span("use-case") as use_case:
            await test_broker.publish("hello", queue="telemetry-test-queue")
        # The outbox path: published later, outside the request, from the stored carrier.
        with telemetry.tracer("test.bus").start_as_current_span("request") as request:
            stored = inject_traceparent()
        with continue_trace(stored):
            await test_broker.publish("later", queue="telemetry-test-queue")

    assert [trace_id for trace_id, _ in seen] == [
        use_case.get_span_context().trace_id,
        request.get_span_context().trace_id,
    ]
    spans = exporter.get_finished_spans()
    consumers = [span for span in spans if span.kind is SpanKind.CONSUMER]
    producers = [span for span in spans if span.kind is SpanKind.PRODUCER]
    assert len(consumers) == 2
    assert {_trace_id(span) for span in producers} == {_trace_id(span) for span in consumers}


# --- logging ----------------------------------------------------------------------------------


def test_log_record_inside_a_span_carries_its_trace_and_span_ids(
    telemetry: Telemetry, logs: LogCapture
) -> None:
    logs.configure()
    log = logging.getLogger("test.telemetry")

    with telemetry.tracer("test").start_as_current_span("work") as span:
        log.info("accepted %s of %d", "act", 3)
    log.info("outside")

    inside, outside = logs.json_lines()
    assert inside["message"] == "accepted act of 3"
    assert inside["level"] == "INFO"
    assert inside["logger"] == "test.telemetry"
    assert inside["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert inside["span_id"] == f"{span.get_span_context().span_id:016x}"
    assert inside["time"].endswith("Z")
    assert "trace_id" not in outside


def test_extra_fields_outside_the_allow_list_are_dropped(logs: LogCapture) -> None:
    logs.configure()

    logging.getLogger("test.telemetry").warning(
        "delivery failed",
        extra={"event_id": "0190-abc", "attempt": 2, "email": "jean@example.fr", "payload": "x"},
    )

    (line,) = logs.json_lines()
    assert line["event_id"] == "0190-abc"
    assert line["attempt"] == 2
    assert "email" not in line
    assert "payload" not in line
    assert "jean@example.fr" not in logs.text()


def test_exception_info_is_logged_in_the_json_line(logs: LogCapture) -> None:
    logs.configure()

    try:
        raise RuntimeError("broker unreachable")
    except RuntimeError:
        logging.getLogger("test.telemetry").exception("relay failed")

    (line,) = logs.json_lines()
    assert line["level"] == "ERROR"
    assert "RuntimeError: broker unreachable" in line["exception"]


def test_configuring_logging_twice_keeps_a_single_handler(logs: LogCapture) -> None:
    logs.configure("INFO", True)
    logs.configure("WARNING", True)

    log = logging.getLogger("test.telemetry")
    log.info("hidden")
    log.warning("shown")

    assert [line["message"] for line in logs.json_lines()] == ["shown"]
    assert logging.getLogger().level == logging.WARNING


def test_plain_text_format_shows_message_allowed_extras_and_trace_id(
    telemetry: Telemetry, logs: LogCapture
) -> None:
    logs.configure("DEBUG", False)

    with telemetry.tracer("test").start_as_current_span("work") as span:
        logging.getLogger("test.telemetry").info(
            "consumed", extra={"queue": "notify.acts", "address": "1 rue X"}
        )

    text = logs.text()
    assert "INFO" in text
    assert "test.telemetry: consumed" in text
    assert "queue=notify.acts" in text
    assert f"trace_id={span.get_span_context().trace_id:032x}" in text
    assert "rue X" not in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_unknown_log_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("LOUD", True, stream=io.StringIO())


async def test_query_strings_never_reach_spans(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    app = FastAPI()

    @app.get("/search")
    async def search(nom: str) -> str:
        return nom

    telemetry.instrument_app(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        await client.get("/search", params={"nom": "Dupont", "token": "s3cr3t"})

    attributes = [dict(span.attributes or {}) for span in exporter.get_finished_spans()]
    assert attributes
    assert all("Dupont" not in str(a) and "s3cr3t" not in str(a) for a in attributes)
    assert any(a.get("http.route") == "/search" for a in attributes)
