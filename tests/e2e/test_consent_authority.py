"""Consent is the authority at the sending instant (CPC 748-2, 664-1; DESIGN §3), end to end on
the real components: identity, consent, notify, audit and delivery apps, real RabbitMQ,
SeaweedFS and the dev mailbox. Consent serves over real HTTP (uvicorn) behind a proxy the test
can hold or cut; delivery reaches RabbitMQ through another proxy, so that the test can cut
delivery off the bus while the rest of the platform runs. Consent and delivery share a manual
clock set inside the next CPC 664 window, so their instants compare as in production.

- a revocation made while delivery is cut off the bus refuses the next act at once: consent
  answers synchronously, delivery's stale projection does not decide;
- consent slow or stopped: 503 `consent-registry-unavailable`, nothing recorded;
- an act served just after a revocation decided while consent's answer was on its way, whose
  event reaches delivery late, is flagged: the office sees it in the act's view, its polling
  feed and an event, and the act's evidence holds a signed negative record that verifies
  offline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from delivery.cli import main as delivery_cli
from delivery.evidence import verify_evidence_set
from shared.crypto import VerifierKey
from shared.store.port import DocumentStore, from_iso
from tests.fixtures.rabbit import AMQP_URL
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import login, office_token
from tests.integration.consent.support import ready_bucket
from tests.support.proxy import CuttingProxy
from tests.support.services import eventually, running, serving
from tests.support.stack import Mailbox, ServingStack, active_declaration, bearer, serving_stack
from tests.unit.delivery.support import metadata, multipart, pdf

pytestmark = pytest.mark.slow


@dataclass
class Authority:
    stack: ServingStack
    delivery: httpx.AsyncClient
    consent: httpx.AsyncClient
    bus: CuttingProxy
    """Delivery's connection to RabbitMQ."""
    registry: CuttingProxy
    """Delivery's connection to consent."""
    consent_server: AsyncExitStack
    office: dict[str, str]
    declaration_id: str
    identifier: str

    @property
    def store(self) -> DocumentStore:
        store: DocumentStore = self.stack.delivery.state.runtime.store
        return store

    async def serve(self, key: str, seed: bytes) -> httpx.Response:
        body, content_type = multipart(metadata(self.declaration_id), pdf(20_000, seed))
        return await self.delivery.post(
            "/v1/acts",
            content=body,
            headers={"Content-Type": content_type, "Idempotency-Key": key, **self.office},
        )

    async def revoke(self) -> None:
        person = bearer((await login(self.stack.identity_client, self.identifier))["access_token"])
        revoked = await self.consent.post(
            "/v1/me/declaration/revocation", json={"confirmation": True}, headers=person
        )
        assert revoked.status_code == 200, revoked.text

    async def projected_status(self) -> str:
        row = await self.store.get("declarations", self.declaration_id)
        assert row is not None
        return str(row["status"])


@asynccontextmanager
async def authority(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> AsyncIterator[Authority]:
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    host_port = httpx.URL(AMQP_URL)
    bus = CuttingProxy(f"{host_port.host}:{host_port.port or 5672}")
    await bus.start()
    consent_http = httpx.AsyncClient(timeout=10)
    try:
        stack = serving_stack(
            tmp_path,
            bus_prefix,
            s3_server,
            box,
            checkpoint_every=3600,
            consent_http=consent_http,
            shared_clock=True,
            amqp_url=SecretStr(f"amqp://guest:guest@{bus.endpoint}/"),
        )
        async with AsyncExitStack() as apps:
            identity_client = await apps.enter_async_context(running(stack.identity))
            stack.identity_client = identity_client  # type: ignore[attr-defined]
            consent_server = AsyncExitStack()
            port = await consent_server.enter_async_context(serving(stack.consent))
            apps.push_async_callback(consent_server.aclose)
            registry = CuttingProxy(f"127.0.0.1:{port}")
            await registry.start()
            consent_http.base_url = httpx.URL(f"http://{registry.endpoint}")
            consent_client = await apps.enter_async_context(
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
            )
            await apps.enter_async_context(running(stack.notify))
            await apps.enter_async_context(running(stack.audit))
            delivery_client = await apps.enter_async_context(running(stack.delivery))
            await ready_bucket(stack.consent)
            await ready_bucket(stack.delivery)
            office = bearer(
                await office_token(
                    stack.identity,
                    identity_client,
                    ("registry:write", "registry:read", "acts:write", "acts:read"),
                )
            )
            declaration_id, activated = await active_declaration(
                consent_client, identity_client, box, office
            )
            found = Authority(
                stack=stack,
                delivery=delivery_client,
                consent=consent_client,
                bus=bus,
                registry=registry,
                consent_server=consent_server,
                office=office,
                declaration_id=declaration_id,
                identifier=str(activated["identifier"]),
            )

            async def delivery_knows_consent() -> bool:
                return await found.projected_status() == "active"

            await eventually(delivery_knows_consent, within=30)
            try:
                yield found
            finally:
                await registry.close()
        await stack.audit_http.aclose()
    finally:
        await consent_http.aclose()
        if bus.server is not None and bus.server.is_serving():
            await bus.close()
        box.stop()


async def test_cpc_748_2_a_revocation_while_delivery_is_off_the_bus_refuses_the_next_act_at_once(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async with authority(tmp_path, bus_prefix, s3_server) as a:
        assert (await a.serve("first", b"first")).status_code == 201
        a.bus.cut()  # delivery hears nothing from the bus from now on
        await a.revoke()
        refused = await a.serve("after-revocation", b"after")
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"] == "urn:securact:problem:consent-not-active"
        assert refused.json()["detail"] == "the consent is revoked"
        # Delivery's own copy had not heard of it: the registry decided.
        assert await a.projected_status() == "active"
        assert await a.store.count("acts") == 1


async def test_cpc_748_2_consent_slow_or_stopped_answers_503_and_records_nothing(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async with authority(tmp_path, bus_prefix, s3_server) as a:
        # Slow: the registry's answer does not come within delivery's bound (2 s).
        a.registry.hold_after_bytes_back = a.registry.received
        loop = asyncio.get_running_loop()
        started = loop.time()
        slow = await a.serve("slow", b"slow")
        waited = loop.time() - started
        a.registry.release()
        assert slow.status_code == 503, slow.text
        assert slow.json()["type"] == "urn:securact:problem:consent-registry-unavailable"
        assert slow.headers["retry-after"] == "10"
        assert 1.5 < waited < 6
        # Stopped.
        await a.consent_server.aclose()
        stopped = await a.serve("stopped", b"stopped")
        assert stopped.status_code == 503, stopped.text
        assert stopped.json()["type"] == "urn:securact:problem:consent-registry-unavailable"
        assert await a.store.count("acts") == 0
        assert await a.store.count("idempotency") == 0
        rows = await a.store.find("outbox")
        assert [r for r in rows if r["envelope"]["type"].startswith("delivery.act-")] == []


async def test_cpc_748_2_an_act_served_after_a_revocation_learnt_late_is_flagged_and_told(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async with authority(tmp_path, bus_prefix, s3_server) as a:
        clock = a.stack.clock
        received = a.registry.received
        before = await a.serve("before", b"before")
        assert before.status_code == 201, before.text
        # Two answers per deposit (before the upload, at the deposit instant), same size.
        answer_size = (a.registry.received - received) // 2
        clock.advance(timedelta(minutes=1))

        a.bus.cut()  # the revocation's event will reach delivery late
        # The answer at the deposit instant is held on its way while the person revokes.
        a.registry.hold_after_bytes_back = a.registry.received + answer_size
        deposit: asyncio.Task[httpx.Response] = asyncio.create_task(a.serve("after", b"after"))
        await asyncio.wait_for(a.registry.holding.wait(), 10)
        await a.revoke()
        clock.advance(timedelta(seconds=1))
        a.registry.release()
        after = await deposit
        assert after.status_code == 201, after.text
        after_id, before_id = after.json()["id"], before.json()["id"]
        served_at = from_iso(after.json()["served_at"])
        office = a.office
        view = (await a.delivery.get(f"/v1/acts/{after_id}", headers=office)).json()
        assert view["served_after_consent_end"] is None  # not known yet
        learnt = clock.now()

        await a.bus.resume()  # delivery is back on the bus: the revocation arrives

        async def flagged() -> bool:
            found = await a.delivery.get(f"/v1/acts/{after_id}", headers=office)
            return found.json()["served_after_consent_end"] is not None

        await eventually(flagged, within=45)
        view = (await a.delivery.get(f"/v1/acts/{after_id}", headers=office)).json()
        notice = view["served_after_consent_end"]
        assert notice["reason"] == "revoked"
        assert from_iso(notice["consent_ended_at"]) <= served_at
        untouched = (await a.delivery.get(f"/v1/acts/{before_id}", headers=office)).json()
        assert untouched["served_after_consent_end"] is None  # served before: never retroactive
        # The office's polling feed brings the act back (its cursor moved).
        feed = await a.delivery.get(
            "/v1/acts", params={"since": learnt.isoformat()}, headers=office
        )
        assert [item["id"] for item in feed.json()["items"]] == [after_id]
        # The event, published to the bus for the office's systems (and the journal).
        rows = await a.store.find("outbox")
        told = [
            r["envelope"]
            for r in rows
            if r["envelope"]["type"] == "delivery.act-served-after-consent-end.v1"
        ]
        assert [(e["payload"]["act_id"], e["payload"]["reason"]) for e in told] == [
            (after_id, "revoked")
        ]
        # The negative evidence, signed like the others, verifies offline.
        evidence = (await a.delivery.get(f"/v1/acts/{after_id}/evidence", headers=office)).json()
        keys = (await a.delivery.get("/v1/evidence/keys")).json()["keys"]
        types = verify_evidence_set(evidence, [VerifierKey.from_string(k) for k in keys])
        assert "ServedAfterConsentEnd" in types
        negative: dict[str, Any] = next(
            r for r in evidence["evidence"] if r["type"] == "ServedAfterConsentEnd"
        )
        assert negative["details"]["reasons"][0]["code"] == "consent_revoked"
        consignment = next(r for r in evidence["evidence"] if r["type"] == "ContentConsignment")
        assert consignment["details"]["consent"]["active"] is True  # what consent answered
        saved = tmp_path / "evidence.json"
        saved.write_text(json.dumps(evidence))
        assert delivery_cli(["verify-evidence", str(saved), "--public-key", keys[0]]) == 0
