"""A schedule fires long after the event that made it: its firing is a trace of its own, linked
to the handler's span kept with the schedule."""

from __future__ import annotations

from datetime import timedelta

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.contracts.identity import TermsPublishedV1
from shared.telemetry import Telemetry, span
from tests.unit.retention.conftest import START, Harness


async def test_a_fired_schedule_links_to_the_trace_that_scheduled_it(
    harness: Harness, telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    with span("terms-published process") as handler:
        await harness.deliver(
            TermsPublishedV1(
                terms_version=2,
                content_hash="h",
                effective_at=START + timedelta(days=1),
                published_at=START,
            )
        )
    harness.clock.set(START + timedelta(days=2))
    assert (await harness.retention.schedules.run_due()).fired == 1

    [fired] = [s for s in exporter.get_finished_spans() if s.name == "schedule fired"]
    assert fired.parent is None
    assert [link.context.span_id for link in fired.links] == [handler.get_span_context().span_id]
    assert (fired.attributes or {})["securact.purpose"] == "terms_effective"
