"""Delivery as a process on real SeaweedFS and real RabbitMQ: consent's events over the bus,
the dev clock offset driving CPC 664, an act encrypted in S3, downloaded, handed over and
proven; S3 vanishing mid-upload; RabbitMQ stopped while acts are accepted."""

from __future__ import annotations

import contextlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from delivery import cli
from delivery.settings import OfficeProfile, Settings
from delivery.vault import ACT_KEYS, object_key
from shared.clock import SystemClock
from shared.contracts.consent import (
    ActNature,
    DeclarationActivatedV1,
    DeclarationRegisteredV1,
    PersonKind,
)
from shared.contracts.envelope import new_envelope
from shared.legal_calendar import Territory
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.outbox import OUTBOX
from shared.messaging.topology import Topology
from shared.objects import ObjectStore
from shared.runtime import ServiceRuntime
from tests.fixtures.rabbit import AMQP_URL
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.support.consent_registry import delivery_on_events
from tests.support.proxy import CuttingProxy
from tests.support.services import eventually, running, service_env
from tests.unit.delivery.support import Tokens, metadata, multipart, pdf

PARIS_TUESDAY_10H = datetime(2031, 4, 8, 8, 0, tzinfo=UTC)
PARIS_SUNDAY_11H = datetime(2031, 4, 6, 9, 0, tzinfo=UTC)


# The offices the integration and end-to-end tests serve for (an office missing from the
# directory cannot serve).
OFFICES = {
    office_id: OfficeProfile(email=f"{office_id}@example.org", territory=Territory.METROPOLE)
    for office_id in ("etude-1", "etude-e2e", "etude-purge")
}


def settings(tmp_path: Path, bus_prefix: str, s3: S3Server, **extra: Any) -> Settings:
    extra.setdefault("offices", OFFICES)
    extra.setdefault("max_act_bytes", 2 * 1024 * 1024)
    return Settings(
        **service_env(tmp_path, bus_prefix),
        kek_file=tmp_path / "kek.json",
        signing_key_file=tmp_path / "signing.json",
        s3_endpoint=s3.endpoint,
        s3_access_key=SecretStr(s3.access_key),
        s3_secret_key=SecretStr(s3.secret_key),
        s3_bucket=random_bucket_name(),
        **extra,
    )


def offset_to(instant: datetime) -> float:
    """The dev clock offset that puts the service's clock at `instant` now."""
    return (instant - SystemClock().now()).total_seconds()


async def give_consent(bus_prefix: str, declaration_id: str, account_id: str) -> None:
    clock = SystemClock()
    broker = create_broker(AMQP_URL)
    await broker.connect()
    try:
        publisher = EventPublisher(broker, Topology(bus_prefix))
        for payload in (
            DeclarationRegisteredV1(
                declaration_id=declaration_id,
                person_kind=PersonKind.NATURAL,
                email="destinataire@example.org",
            ),
            DeclarationActivatedV1(
                declaration_id=declaration_id,
                account_id=account_id,
                activated_at=clock.now(),
                terms_version=1,
                scope=list(ActNature),
                valid_until=None,
                territory="metropole",
            ),
        ):
            await publisher.publish(
                new_envelope(
                    payload,
                    subject=f"declaration:{declaration_id}",
                    actor="service:consent",
                    clock=clock,
                )
            )
    finally:
        await broker.stop()


async def ready(app: FastAPI, declaration_id: str) -> ServiceRuntime:
    runtime: ServiceRuntime = app.state.runtime
    assert runtime.objects is not None
    await runtime.objects.ensure_bucket()

    async def known() -> bool:
        found = await runtime.store.get("declarations", declaration_id)
        return found is not None and found.get("status") == "active" and bool(found.get("email"))

    await eventually(known, within=20)
    return runtime


async def post(
    client: httpx.AsyncClient, tokens: Tokens, key: str, document: bytes
) -> httpx.Response:
    body, content_type = multipart(metadata("decl-int"), document)
    return await client.post(
        "/v1/acts",
        content=body,
        headers={"Content-Type": content_type, "Idempotency-Key": key, **tokens.office()},
    )


async def test_act_flow_over_real_s3_and_bus_with_the_dev_clock_offset(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    tokens = Tokens(SystemClock())
    document = pdf(300_000)
    sunday = delivery_on_events(
        settings(
            tmp_path,
            bus_prefix,
            s3_server,
            clock_offset_seconds=offset_to(PARIS_SUNDAY_11H),
        ),
        token_verifier=tokens.verifier(),
    )
    async with running(sunday) as client:
        await give_consent(bus_prefix, "decl-int", "acc-int")
        await ready(sunday, "decl-int")
        refused = await post(client, tokens, "sunday", document)
        assert refused.status_code == 422
        assert refused.json()["next_window_opens_at"] == "2031-04-07T04:00:00.000000Z"

    app = delivery_on_events(
        settings(
            tmp_path,
            bus_prefix,
            s3_server,
            clock_offset_seconds=offset_to(PARIS_TUESDAY_10H),
        ),
        token_verifier=tokens.verifier(),
    )
    async with running(app) as client:
        runtime = await ready(app, "decl-int")
        response = await post(client, tokens, "tuesday", document)
        assert response.status_code == 201, response.text
        act_id = response.json()["id"]
        assert response.json()["served_at"].startswith("2031-04-08T08:00")
        assert runtime.objects is not None
        raw = b"".join([c async for c in await runtime.objects.get(object_key(act_id))])
        assert raw.startswith(b"SCTA")
        assert document[1000:2000] not in raw

        async def served_event_sent() -> bool:
            rows = await runtime.store.find(OUTBOX, {"sent": True})
            return any(r["envelope"]["type"] == "delivery.act-served.v3" for r in rows)

        await eventually(served_event_sent, within=15)
        download = await client.get(
            f"/v1/inbox/{act_id}/content", headers=tokens.recipient("acc-int")
        )
        assert download.status_code == 200
        assert download.content == document
        evidence = (await client.get(f"/v1/acts/{act_id}/evidence", headers=tokens.office())).json()
        assert [r["type"] for r in evidence["evidence"]][-1] == "ContentHandover"
        keys = (await client.get("/v1/evidence/keys")).json()["keys"]
        saved = tmp_path / "evidence.json"
        saved.write_text(json.dumps(evidence))
        assert cli.main(["verify-evidence", str(saved), "--public-key", keys[0]]) == 0


async def test_s3_stopping_during_an_upload_answers_503_and_leaves_nothing_readable(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    proxy = CuttingProxy(s3_server.endpoint)
    await proxy.start()
    tokens = Tokens(SystemClock())
    config = settings(
        tmp_path, bus_prefix, s3_server, clock_offset_seconds=offset_to(PARIS_TUESDAY_10H)
    )
    direct = ObjectStore.from_settings(config, config.s3_bucket)
    config = config.model_copy(update={"s3_endpoint": proxy.endpoint})
    app = delivery_on_events(config, token_verifier=tokens.verifier())
    async with running(app) as client:
        await give_consent(bus_prefix, "decl-int", "acc-int")
        runtime = await ready(app, "decl-int")
        proxy.cut_after_bytes = 64 * 1024  # S3 goes away a little way into the upload
        response = await post(client, tokens, "cut", pdf(1_500_000))
        assert response.status_code == 503, response.text
        assert await runtime.store.count("acts") == 0
        assert await runtime.store.count(ACT_KEYS) == 0
        assert await runtime.store.count("idempotency") == 0
        pending = await runtime.store.find("pending_objects")
        # Whatever S3 kept has no key anywhere: unreadable, and the sweeper knows about it.
        for row in pending:
            assert await runtime.store.get(ACT_KEYS, row["_id"]) is None
    await direct.close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


@pytest.mark.slow
async def test_acts_are_accepted_while_rabbitmq_is_down_and_events_follow_its_return(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    tokens = Tokens(SystemClock())
    app = delivery_on_events(
        settings(
            tmp_path, bus_prefix, s3_server, clock_offset_seconds=offset_to(PARIS_TUESDAY_10H)
        ),
        token_verifier=tokens.verifier(),
    )
    async with running(app) as client:
        await give_consent(bus_prefix, "decl-int", "acc-int")
        runtime = await ready(app, "decl-int")
        connection = await aio_pika.connect(AMQP_URL)
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{bus_prefix}test.delivery-served", durable=True)
        await queue.bind(f"{bus_prefix}securact.events", routing_key="delivery.act-served.v3")
        await connection.close()
        _rabbitmqctl("stop_app")
        try:
            ids = []
            for n in range(3):
                response = await post(client, tokens, f"outage-{n}", pdf(20_000, seed=bytes([n])))
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
            assert await runtime.store.count(OUTBOX, {"sent": False}) >= 3
        finally:
            _rabbitmqctl("start_app")

        received: set[str] = set()

        async def all_delivered() -> bool:
            with contextlib.suppress(Exception):
                conn = await aio_pika.connect(AMQP_URL)
                try:
                    ch = await conn.channel()
                    q = await ch.declare_queue(f"{bus_prefix}test.delivery-served", durable=True)
                    while (message := await q.get(fail=False)) is not None:
                        received.add(json.loads(message.body)["payload"]["act_id"])
                        await message.ack()
                finally:
                    await conn.close()
            return set(ids) <= received

        await eventually(all_delivered, within=90, every=1.0)
        await eventually(lambda: _no_pending(runtime), within=30)


async def _no_pending(runtime: ServiceRuntime) -> bool:
    return await runtime.store.count(OUTBOX, {"sent": False}) == 0
