"""Over a real socket, every httpx client of the process carries the trace (no per-client
wiring): the called service's server span is a child of the caller's, and answers with a
`traceresponse` naming the same trace."""

from __future__ import annotations

import asyncio

import httpx
import uvicorn
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared.telemetry import Telemetry, span
from tests.support.services import _listening_socket, eventually


async def test_a_plain_client_propagates_the_trace_to_a_served_app(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    app = FastAPI()

    @app.get("/internal/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    telemetry.instrument_app(app)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    )
    sock = _listening_socket()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:

        async def started() -> bool:
            return server.started

        await eventually(started, within=30)
        port = sock.getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            with span("caller") as caller:
                response = await client.get("/internal/v1/things/t1")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)

    trace_id = caller.get_span_context().trace_id
    assert response.headers["traceresponse"].split("-")[1] == f"{trace_id:032x}"
    spans = exporter.get_finished_spans()
    client_span = next(s for s in spans if s.kind is SpanKind.CLIENT)
    server_span = next(s for s in spans if s.kind is SpanKind.SERVER)
    assert client_span.context is not None
    assert server_span.parent is not None
    assert server_span.parent.span_id == client_span.context.span_id
    assert server_span.context is not None
    assert server_span.context.trace_id == trace_id
