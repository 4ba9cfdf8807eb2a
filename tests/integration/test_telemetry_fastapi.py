"""One trace from an HTTP POST, through an outbox and real RabbitMQ, to a chain of consumers.

DESIGN §9: the relay publishes after the request has ended, so the trace survives only if the
stored `traceparent` is made current again when publishing (`continue_trace`).
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI
from faststream.rabbit import RabbitBroker, RabbitQueue
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared.telemetry import (
    Telemetry,
    continue_trace,
    inject_traceparent,
)

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def _trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    trace_id: int = span.context.trace_id
    return trace_id


async def test_post_outbox_relay_and_consumers_share_one_trace(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    run = uuid.uuid4().hex[:8]
    first = RabbitQueue(f"telemetry-it.{run}.first", auto_delete=True)
    second = RabbitQueue(f"telemetry-it.{run}.second", auto_delete=True)
    broker = RabbitBroker(AMQP_URL, middlewares=[telemetry.broker_middleware()])
    consumed: dict[str, int] = {}
    done = asyncio.get_running_loop().create_future()

    @broker.subscriber(first)
    async def first_consumer(body: str) -> None:
        consumed["first"] = trace.get_current_span().get_span_context().trace_id
        # A consumer that publishes in turn: its publish is a child of its consumer span.
        await broker.publish(body, queue=second.name)

    @broker.subscriber(second)
    async def second_consumer(body: str) -> None:
        consumed["second"] = trace.get_current_span().get_span_context().trace_id
        done.set_result(body)

    outbox: list[tuple[str, dict[str, str]]] = []
    app = FastAPI()

    @app.post("/acts")
    async def create_act() -> dict[str, str]:
        # The state change and the event are one write; the carrier goes with the event.
        outbox.append(("act-created", inject_traceparent()))
        return {"status": "accepted"}

    telemetry.instrument_app(app)

    await broker.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://delivery") as client:
            assert (await client.post("/acts")).status_code == 200
        # The relay runs later, in a task of its own with no span active.
        assert not trace.get_current_span().get_span_context().is_valid
        for body, carrier in outbox:
            with continue_trace(carrier):
                await broker.publish(body, queue=first.name)
        assert await asyncio.wait_for(done, timeout=10) == "act-created"
    finally:
        await broker.stop()

    spans = exporter.get_finished_spans()
    server = next(span for span in spans if span.kind is SpanKind.SERVER)
    trace_id = _trace_id(server)
    assert consumed == {"first": trace_id, "second": trace_id}
    consumers = [span for span in spans if span.kind is SpanKind.CONSUMER]
    producers = [span for span in spans if span.kind is SpanKind.PRODUCER]
    assert len(consumers) == 2
    assert len(producers) >= 2
    assert {_trace_id(span) for span in spans} == {trace_id}
