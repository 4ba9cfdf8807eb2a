"""A service's first events wait until the whole platform topology exists.

On a fresh broker every service declares every consumer queue when it connects. Audit's queue
binds "#", so an event published halfway through those declarations is routable — mandatory
publishing does not object — yet never reaches the queues still to be declared.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aio_pika
import pytest

import shared.messaging.topology as topology_module
from notify.main import create_app as create_notify
from notify.settings import Settings as NotifySettings
from shared.clock import SystemClock
from shared.contracts.identity import TermsPublishedV1
from shared.messaging.outbox import OUTBOX
from shared.messaging.topology import PLATFORM_QUEUES, Topology
from shared.runtime import ServiceRuntime
from tests.support.services import eventually, service_env


async def test_event_written_while_queues_are_declared_reaches_the_last_one(
    tmp_path: Path, bus_prefix: str, amqp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare = topology_module.declare_consumer_queue

    async def slowly(*args: object) -> None:
        await asyncio.sleep(0.2)
        await declare(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(topology_module, "declare_consumer_queue", slowly)
    # Retention's lifecycle queue binds the event and is declared after audit's.
    names = list(PLATFORM_QUEUES)
    assert names.index("retention.lifecycle") > names.index("audit.journal.v2")
    assert TermsPublishedV1.routing_key() in PLATFORM_QUEUES["retention.lifecycle"]

    app = create_notify(NotifySettings(**service_env(tmp_path / "notify", bus_prefix)))
    async with app.router.lifespan_context(app):
        runtime: ServiceRuntime = app.state.runtime
        now = SystemClock().now()
        envelope = runtime.envelope(
            TermsPublishedV1(
                terms_version=9, content_hash="0" * 64, effective_at=now, published_at=now
            ),
            subject="terms:v9",
        )
        await runtime.outbox.publish_alone(envelope)
        assert not runtime.broker_started.is_set(), "the declarations should still be running"
        await asyncio.wait_for(runtime.broker_started.wait(), 30)

        async def sent() -> bool:
            row = await runtime.store.get(OUTBOX, envelope.event_id)
            return row is not None and row["sent"] is True

        await eventually(sent)

    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(
            Topology(bus_prefix).queue_name("retention.lifecycle"), ensure=True
        )
        message = await queue.get(timeout=5)
        assert message.message_id == envelope.event_id
        await message.ack()
    finally:
        await connection.close()
