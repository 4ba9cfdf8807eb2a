"""One trace id covers the HTTP request, the outbox relay's publish and audit's consumer."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from audit.main import create_app as create_audit
from audit.settings import Settings as AuditSettings
from notify.settings import Settings as NotifySettings
from shared.contracts.platform import NotifyStartedV1
from shared.runtime import ServiceRuntime
from tests.support.services import eventually, running, service_env


async def test_one_trace_spans_request_relay_and_consumer(
    tmp_path: Path, bus_prefix: str, exporter: InMemorySpanExporter
) -> None:
    audit_app = create_audit(
        AuditSettings(**service_env(tmp_path / "audit", bus_prefix)), span_exporter=exporter
    )
    runtime = ServiceRuntime(
        NotifySettings(**service_env(tmp_path / "notify", bus_prefix)), span_exporter=exporter
    )
    router = APIRouter()

    @router.post("/things")
    async def write_thing() -> dict[str, str]:
        payload = NotifyStartedV1(service="notify", instance_id="traced", release="t")
        envelope = runtime.envelope(payload, subject="test:traced")
        async with runtime.outbox.transaction() as tx:
            await runtime.outbox.add(tx, envelope)
        return {"event_id": envelope.event_id}

    notify_app = runtime.create_app(title="test", routers=[router])
    async with running(audit_app) as audit, running(notify_app) as notify:
        response = await notify.post("/things")
        assert response.status_code == 200
        event_id = response.json()["event_id"]

        async def journaled() -> bool:
            entries = (await audit.get("/v1/entries", params={"subject": "test:traced"})).json()
            return [e["event_id"] for e in entries["entries"]] == [event_id]

        await eventually(journaled)

    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind is SpanKind.SERVER and s.name.startswith("POST /things")]
    assert len(server) == 1
    trace_id = server[0].context.trace_id if server[0].context else None
    relay = [s for s in spans if s.name == "outbox relay" and s.context.trace_id == trace_id]
    consumers = [
        s
        for s in spans
        if s.kind is SpanKind.CONSUMER
        and s.context is not None
        and s.context.trace_id == trace_id
        and s.name.endswith("notify.started.v1 process")
    ]
    assert relay, "the relay's publish is not in the request's trace"
    assert consumers, f"audit's consumer is not in the request's trace: {[s.name for s in spans]}"
