"""The e-mail is sent by a worker long after the handler that queued it returned: the attempt
still continues the handler's trace, the SMTP hand-over is its child, and the outcome event
carries that trace to its consumers."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.contracts.notify import NotificationSentV1
from shared.messaging.batch import _CONSUMED
from shared.messaging.outbox import OUTBOX
from shared.telemetry import ACT_ID, OUTCOME, Telemetry, extract_context, span
from tests.unit.notify import events
from tests.unit.notify.conftest import Env


async def test_the_send_continues_the_trace_of_the_event_that_asked_for_it(
    env: Env, telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    with span("act-served process") as handler:
        assert await env.take(events.act_served(env.clock))
    trace_id = handler.get_span_context().trace_id

    assert await env.drain() == 1  # outside any span, as the sender workers run

    spans = exporter.get_finished_spans()
    attempt = next(s for s in spans if s.name == "notification attempt")
    smtp = next(s for s in spans if s.name == "smtp send")
    assert attempt.context is not None
    assert attempt.context.trace_id == trace_id
    assert attempt.parent is not None
    assert attempt.parent.span_id == handler.get_span_context().span_id
    assert smtp.parent is not None
    assert smtp.parent.span_id == attempt.context.span_id
    attributes = dict(attempt.attributes or {})
    assert attributes[ACT_ID] == "act-1"
    assert attributes[OUTCOME] == "accepted"
    assert "jean.dupont" not in str(attributes)


async def test_the_outcome_event_is_written_in_the_attempts_trace(
    env: Env, telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    with span("act-served process") as handler:
        assert await env.take(events.act_served(env.clock))
    assert await env.drain() == 1

    [row] = await env.store.find(OUTBOX, {"envelope.type": NotificationSentV1.routing_key()})
    stored_span = trace.get_current_span(extract_context(row["trace"])).get_span_context()
    attempt = next(s for s in exporter.get_finished_spans() if s.name == "notification attempt")
    assert attempt.context is not None
    assert stored_span.trace_id == handler.get_span_context().trace_id
    assert stored_span.span_id == attempt.context.span_id


async def test_an_event_taken_in_a_batch_is_sent_in_the_trace_of_the_message_that_carried_it(
    env: Env, telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    envelope = events.act_served(env.clock)
    with span("act-served process") as message:
        consumed = message.get_span_context()
    # What the batch consumer tells its handler: each event's own consumer span.
    token = _CONSUMED.set({envelope.event_id: consumed})
    try:
        with span("notify.urgent process"):  # the batch's span, current meanwhile
            assert await env.notify.intake.take_many([envelope], "notify.urgent") == [True]
    finally:
        _CONSUMED.reset(token)
    assert await env.drain() == 1

    attempt = next(s for s in exporter.get_finished_spans() if s.name == "notification attempt")
    assert attempt.context is not None
    assert attempt.context.trace_id == consumed.trace_id
    assert attempt.parent is not None
    assert attempt.parent.span_id == consumed.span_id
