"""What the telemetry kernel records and where: nothing without an exporter, OTLP and local JSONL
on request, no caller address or user agent, W3C context on outgoing HTTP and back to callers,
the act's trace tree in the terminal, and readable dev logs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from devstack.traces import act_traces, render
from shared.logs import configure_logging
from shared.spanfile import JsonlSpanExporter, read_spans
from shared.telemetry import (
    ACT_ID,
    OUTCOME,
    PERSONAL_SERVER_ATTRIBUTES,
    Telemetry,
    annotate,
    inject_traceparent,
    instrument_client,
    links_to,
    reset_for_tests,
    setup_telemetry,
    span,
)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No exporter in the environment; telemetry reset before and after."""
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "SECURACT_OTLP_ENDPOINT",
        "SECURACT_SPANS_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    reset_for_tests()
    yield
    reset_for_tests()


def _app(telemetry: Telemetry) -> FastAPI:
    app = FastAPI()

    @app.get("/acts/{act_id}")
    async def read(act_id: str) -> dict[str, str]:
        annotate(act_id=act_id, outcome="read")
        return {"id": act_id}

    telemetry.instrument_app(app)
    return app


async def test_without_any_exporter_nothing_is_recorded_yet_callers_get_a_trace_id(
    fresh: None,
) -> None:
    telemetry = setup_telemetry("quiet")
    with span("work") as work:
        assert not work.is_recording()
        assert work.get_span_context().is_valid  # ids still propagate
    transport = httpx.ASGITransport(app=_app(telemetry))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        response = await client.get("/acts/a1")
    version, trace_id, _span_id, flags = response.headers["traceresponse"].split("-")
    assert version == "00"
    assert not int(flags, 16) & 1  # not sampled
    assert int(trace_id, 16) != 0


def test_securact_otlp_endpoint_and_spans_dir_add_batched_exporters(
    fresh: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECURACT_OTLP_ENDPOINT", "http://127.0.0.1:9/")
    monkeypatch.setenv("SECURACT_SPANS_DIR", str(tmp_path))
    telemetry = setup_telemetry("svc")
    processors = telemetry.tracer_provider._active_span_processor._span_processors
    exporters = [
        p._batch_processor._exporter for p in processors if isinstance(p, BatchSpanProcessor)
    ]
    assert len(exporters) == 2
    otlp = next(e for e in exporters if isinstance(e, OTLPSpanExporter))
    assert otlp._endpoint == "http://127.0.0.1:9/v1/traces"
    jsonl = next(e for e in exporters if isinstance(e, JsonlSpanExporter))
    assert jsonl.path == tmp_path / "svc.jsonl"


async def test_server_spans_name_the_act_but_not_the_callers_address_or_agent(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    transport = httpx.ASGITransport(app=_app(telemetry), client=("203.0.113.7", 4242))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        response = await client.get("/acts/a1", headers={"User-Agent": "Mozilla/5.0 (X11)"})
    server = next(s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER)
    attributes = dict(server.attributes or {})
    assert attributes[ACT_ID] == "a1"
    assert attributes[OUTCOME] == "read"
    assert not set(attributes) & set(PERSONAL_SERVER_ATTRIBUTES)
    assert "203.0.113.7" not in str(attributes)
    assert "Mozilla" not in str(attributes)
    context = server.context
    assert context is not None
    assert response.headers["traceresponse"].startswith(
        f"00-{context.trace_id:032x}-{context.span_id:016x}-"
    )


async def test_outgoing_calls_carry_the_trace_and_no_query_string(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    client = instrument_client(httpx.AsyncClient(transport=httpx.MockTransport(answer)))
    async with client:
        with span("caller") as caller:
            await client.get("http://consent/v1/search", params={"nom": "Dupont"})
    traceparent = seen[0].headers["traceparent"]
    assert traceparent.split("-")[1] == f"{caller.get_span_context().trace_id:032x}"
    http = next(s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT)
    assert http.parent is not None
    assert http.parent.span_id == caller.get_span_context().span_id
    assert "Dupont" not in str(dict(http.attributes or {}))


def test_links_to_stored_contexts_skip_empty_and_repeated_ones(telemetry: Telemetry) -> None:
    with span("a"):
        first = inject_traceparent()
    with span("b"):
        second = inject_traceparent()
    links = links_to([first, {}, second, first])
    assert [f"{link.context.trace_id:032x}" for link in links] == [
        first["traceparent"].split("-")[1],
        second["traceparent"].split("-")[1],
    ]


def test_the_devstack_shows_an_acts_traces_from_the_jsonl_files(
    fresh: None, tmp_path: Path
) -> None:
    exporter = JsonlSpanExporter(tmp_path / "spans" / "delivery.jsonl")
    setup_telemetry("delivery", span_exporter=exporter)
    with span("POST /v1/acts", kind=SpanKind.SERVER):
        annotate(act_id="act-1", office_id="office-9", outcome="served")
        with span("store transaction"):
            carrier = inject_traceparent()
    with span("journal group commit", root=True, links=links_to([carrier])):
        pass
    with span("POST /v1/acts", kind=SpanKind.SERVER):
        annotate(act_id="act-2")

    spans = list(read_spans([tmp_path / "spans" / "delivery.jsonl"]))
    traces = act_traces(spans, "act-1")
    assert len(traces) == 2  # the act's own and the group commit linked to it
    lines = render(traces)
    text = "\n".join(lines)
    assert "act.id=act-1" in text
    assert "act-2" not in text
    request = next(line for line in lines if line.lstrip().startswith("POST /v1/acts"))
    store = next(line for line in lines if line.lstrip().startswith("store transaction"))
    assert len(store) - len(store.lstrip()) > len(request) - len(request.lstrip())
    assert "journal group commit [delivery]" in text
    assert "↪" in text


def test_dev_log_lines_start_with_the_service_and_are_coloured_on_request() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("INFO", False, service="notify", colour=True, stream=stream)
    try:
        logging.getLogger("notify.sending").warning("slow\nrelay", extra={"queue": "q"})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    line = stream.getvalue()
    assert line.count("\n") == 1
    assert line.startswith("\x1b[1mnotify")
    assert "\x1b[33m" in line  # a warning, in yellow
    assert "notify.sending: slow ⏎ relay" in line
    assert "queue=q" in line


def test_securact_dev_trace_prints_the_tree_or_says_nothing_names_the_act(
    fresh: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from devstack.cli import main

    monkeypatch.setenv("SECURACT_DEV_ROOT", str(tmp_path))
    setup_telemetry(
        "audit", span_exporter=JsonlSpanExporter(tmp_path / "var" / "spans" / "a.jsonl")
    )
    with span("POST /v1/acts", kind=SpanKind.SERVER):
        annotate(act_id="act-7")
    assert main(["trace", "act-7"]) == 0
    assert "POST /v1/acts [audit]" in capsys.readouterr().out
    assert main(["trace", "act-8"]) == 1
    assert "no span names act act-8" in capsys.readouterr().out
