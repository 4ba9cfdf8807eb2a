"""One act's journey is one trace, on the real components (RabbitMQ, SeaweedFS, SQLite, the dev
mailbox): the office's POST → consent check → upload to S3 → store → outbox relay → RabbitMQ →
notify → SMTP → notify's outcome event → delivery's notification evidence and audit's journal.
The journal's group commit is a trace of its own, linked to each handler it answered; the
recipient's download and the end-of-day finalisation (the quality) are traces of their own that
name the act. No span name or attribute holds a personal datum (e-mail, mobile, name, address,
client IP, user agent) or a credential.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared.store.port import from_iso
from shared.telemetry import (
    ACT_ID,
    EVENT_TYPE,
    OFFICE_ID,
    OUTCOME,
    PERSONAL_SERVER_ATTRIBUTES,
    setup_telemetry,
)
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import PASSWORD, login, office_token
from tests.integration.consent.support import ready_bucket
from tests.support.services import eventually, running
from tests.support.stack import Mailbox, active_declaration, bearer, mail_to, serving_stack
from tests.unit.consent.support import BIRTH, EMAIL, NOM, PRENOMS
from tests.unit.delivery.support import metadata, multipart, pdf

ACT_SERVED = "delivery.act-served.v3"
NOTIFICATION_SENT = "notify.notification-sent.v1"
QUALITY = "delivery.service-quality-determined.v1"


def _trace_of(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id


def _named(spans: Sequence[ReadableSpan], trace_id: int, name: str) -> list[ReadableSpan]:
    return [s for s in spans if _trace_of(s) == trace_id and s.name == name]


def _consumed(spans: Sequence[ReadableSpan], trace_id: int, event_type: str) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if _trace_of(s) == trace_id
        and s.kind is SpanKind.CONSUMER
        and s.name.endswith(f"{event_type} process")
    ]


def _attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


@pytest.mark.slow
async def test_one_act_is_one_trace_with_ids_and_no_personal_data(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server, exporter: InMemorySpanExporter
) -> None:
    # The exporter fixture reset the process's telemetry: set up here, every service of this
    # process exports to it.
    setup_telemetry("e2e", span_exporter=exporter)
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        stack = serving_stack(tmp_path, bus_prefix, s3_server, box, checkpoint_every=3600)
        async with (
            running(stack.identity) as identity_client,
            running(stack.consent) as consent_client,
            running(stack.notify),
            running(stack.audit) as audit_client,
            running(stack.delivery) as delivery_client,
        ):
            await ready_bucket(stack.consent)
            await ready_bucket(stack.delivery)
            scopes = ("registry:write", "registry:read", "acts:write", "acts:read")
            office_bearer = await office_token(stack.identity, identity_client, scopes)
            office = bearer(office_bearer)
            declaration_id, activated = await active_declaration(
                consent_client, identity_client, box, office
            )

            async def delivery_knows_consent() -> bool:
                row = await stack.delivery.state.runtime.store.get("declarations", declaration_id)
                return row is not None and row.get("status") == "active"

            await eventually(delivery_knows_consent, within=30)

            body, content_type = multipart(metadata(declaration_id), pdf(30_000, seed=b"trace"))
            served = await delivery_client.post(
                "/v1/acts",
                content=body,
                headers={"Content-Type": content_type, "Idempotency-Key": "trace-1", **office},
            )
            assert served.status_code == 201, served.text
            act_id = served.json()["id"]
            traceresponse = served.headers.get("traceresponse")
            assert traceresponse is not None, dict(served.headers)
            trace_id = int(traceresponse.split("-")[1], 16)
            await mail_to(box, "Un acte vous a été signifié")

            async def evidence_and_journal_done() -> bool:
                spans = exporter.get_finished_spans()
                found = await audit_client.get("/v1/entries", params={"subject": f"act:{act_id}"})
                types = {e["type"] for e in found.json()["entries"]}
                return NOTIFICATION_SENT in types and bool(
                    list(_consumed(spans, trace_id, NOTIFICATION_SENT))
                )

            await eventually(evidence_and_journal_done, within=30)

            person_token = (await login(identity_client, str(activated["identifier"])))[
                "access_token"
            ]
            download = await delivery_client.get(
                f"/v1/inbox/{act_id}/content", headers=bearer(person_token)
            )
            assert download.status_code == 200, download.text
            download_trace = int(download.headers["traceresponse"].split("-")[1], 16)

            async def handover_journaled() -> bool:
                found = await audit_client.get("/v1/entries", params={"subject": f"act:{act_id}"})
                return "delivery.act-handed-over.v1" in {e["type"] for e in found.json()["entries"]}

            await eventually(handover_journaled, within=30)

            # The end of the sending day: the finaliser determines the quality (à personne).
            act = await stack.delivery.state.runtime.store.get("acts", act_id)
            stack.clock.set(from_iso(act["finalise_after"]) + timedelta(seconds=1))
            assert await stack.delivery.state.delivery.handover.finalise_due() == 1

            async def quality_journaled() -> bool:
                found = await audit_client.get("/v1/entries", params={"subject": f"act:{act_id}"})
                return QUALITY in {e["type"] for e in found.json()["entries"]}

            await eventually(quality_journaled, within=30)
        await stack.audit_http.aclose()
    finally:
        box.stop()

    spans = exporter.get_finished_spans()
    journey = [s for s in spans if _trace_of(s) == trace_id]

    # The office's request: the act and the office by id, the outcome.
    posts = [s for s in journey if s.kind is SpanKind.SERVER and s.name.startswith("POST /v1/acts")]
    assert len(posts) == 1
    post = _attributes(posts[0])
    assert post[ACT_ID] == act_id
    assert isinstance(post[OFFICE_ID], str)
    assert post[OFFICE_ID]
    assert post[OUTCOME] == "served"

    # The deposit's steps, and the consent registry's own server span in the same trace.
    for step in ("consent check", "upload and encrypt", "store transaction", "evidence signing"):
        assert _named(spans, trace_id, step), f"no {step!r} span in the act's trace"
    # In process the server span is INTERNAL (a span is already current); over the network it
    # is SERVER. Either way its parent is the client span that sent `traceparent`.
    clients = {s.context.span_id for s in journey if s.kind is SpanKind.CLIENT and s.context}
    consent_server = [
        s
        for s in journey
        if s.name.startswith("GET /internal/v1/declarations/")
        and s.parent is not None
        and s.parent.span_id in clients
    ]
    assert consent_server, "the consent check's HTTP call does not carry the trace"

    # Relay → RabbitMQ → notify → SMTP → notify's outcome → delivery's evidence and audit.
    relays = _named(spans, trace_id, "outbox relay")
    assert any(_attributes(s).get(EVENT_TYPE) == ACT_SERVED for s in relays)
    assert any(
        _attributes(s).get(EVENT_TYPE) == ACT_SERVED and _attributes(s).get(ACT_ID) == act_id
        for s in _consumed(spans, trace_id, ACT_SERVED)
    )
    attempts = _named(spans, trace_id, "notification attempt")
    assert attempts, "the e-mail send is not in the act's trace"
    assert _attributes(attempts[0])[ACT_ID] == act_id
    assert _attributes(attempts[0])[OUTCOME] == "accepted"
    assert _named(spans, trace_id, "smtp send")
    assert any(_attributes(s).get(EVENT_TYPE) == NOTIFICATION_SENT for s in relays)
    sent_handlers = _consumed(spans, trace_id, NOTIFICATION_SENT)
    assert len(sent_handlers) >= 2, "delivery's evidence and audit's journal both consume it"
    assert all(_attributes(s).get(OUTCOME) == "handled" for s in sent_handlers)
    evidence_spans = _named(spans, trace_id, "evidence signing")
    notification_evidence = [
        s
        for s in evidence_spans
        if _attributes(s).get("securact.evidence") == "ConsignmentNotification"
    ]
    assert notification_evidence, "delivery's notification evidence is not in the act's trace"

    # Audit's group commits: traces of their own, each link naming a handler of the act's trace.
    handler_ids = {s.context.span_id for s in journey if s.context is not None}
    commits = [s for s in spans if s.name == "journal group commit"]
    linked = [
        link for commit in commits for link in commit.links if link.context.trace_id == trace_id
    ]
    assert linked, "no group commit links to the act's trace"
    assert all(link.context.span_id in handler_ids for link in linked)

    # The recipient's download: a request of its own, naming the act; its events follow it.
    downloads = [s for s in spans if _trace_of(s) == download_trace and s.kind is SpanKind.SERVER]
    assert any(_attributes(s).get(ACT_ID) == act_id for s in downloads)
    assert _consumed(spans, download_trace, "delivery.act-handed-over.v1")

    # The finalisation: a trace of its own naming the act, the quality as outcome; audit
    # journals its event in that trace.
    finalisations = [
        s for s in spans if s.name == "act finalisation" and _attributes(s).get(ACT_ID) == act_id
    ]
    assert len(finalisations) == 1
    assert _attributes(finalisations[0])[OUTCOME] == "a_personne"
    assert _consumed(spans, _trace_of(finalisations[0]), QUALITY)

    # Nothing personal, no credential, in any span's name or attributes.
    forbidden = {
        EMAIL,
        "+33612345678",
        "0612345678",
        NOM,
        *PRENOMS.split(),
        BIRTH.isoformat(),
        "Granges",
        "python-httpx",
        PASSWORD,
        office_bearer,
        person_token,
        "securact-dev-notify-client-secret",
        "securact-dev-delivery-client-secret",
    }
    for span in spans:
        text = span.name + " " + " ".join(f"{k}={v}" for k, v in _attributes(span).items())
        leaked = sorted(word for word in forbidden if word and word in text)
        assert not leaked, f"{span.name}: {leaked} in {text}"
        # The caller's address and user agent (server spans); servers' own addresses stay.
        recorded = set(_attributes(span)) & set(PERSONAL_SERVER_ATTRIBUTES)
        assert not recorded, f"{span.name} records {recorded}"
