"""Retention's purge requests over the real RabbitMQ: notify forgets the contacts, scrubs the
history and publishes `notify.contacts-purged.v1` on the bus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest

from notify.contacts import CONTACTS
from notify.repository import NOTIFICATIONS
from shared.clock import SystemClock
from shared.contracts.notify import ContactsPurgedV1
from shared.messaging.topology import Topology
from tests.integration.notify.support import SmtpServer, notify_running, notify_settings
from tests.support.services import eventually
from tests.unit.notify import events

PURGED = ContactsPurgedV1.routing_key()


async def _next_message(
    queue: aio_pika.abc.AbstractQueue,
) -> aio_pika.abc.AbstractIncomingMessage:
    """The next message of `queue`, acknowledged (fails after the usual wait)."""
    found: aio_pika.abc.AbstractIncomingMessage | None = None

    async def arrived() -> bool:
        nonlocal found
        found = await queue.get(fail=False)
        return found is not None

    await eventually(arrived)
    assert found is not None
    await found.ack()
    return found


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_retention_purge_requests_forget_the_contacts_and_say_so_on_the_bus(
    tmp_path: Path,
    bus_prefix: str,
    smtp: SmtpServer,
    amqp_connection: aio_pika.abc.AbstractRobustConnection,
) -> None:
    clock = SystemClock()
    async with notify_running(notify_settings(tmp_path, bus_prefix, smtp.port)) as notify:
        channel = await amqp_connection.channel()
        listener = await channel.declare_queue(
            f"{bus_prefix}test.notify-purged", exclusive=True, auto_delete=True
        )
        await listener.bind(Topology(bus_prefix).events.name, routing_key=PURGED)
        store = notify.runtime.store

        await notify.publish(events.account_created(clock), events.activation(clock))

        async def remembered_and_sent() -> bool:
            rows = await store.find(NOTIFICATIONS, {"state": "sent"})
            return await store.count(CONTACTS) == 1 and len(rows) == 1

        await eventually(remembered_and_sent)

        request = events.contact_data_purge_requested(clock)
        await notify.publish(request)

        async def forgotten() -> bool:
            return await store.count(CONTACTS) == 0

        await eventually(forgotten)
        [row] = await store.find(NOTIFICATIONS, {})
        assert row["recipient_masked"] == ""
        assert row["contact_purged_at"] is not None

        message = await _next_message(listener)
        envelope = json.loads(message.body)
        assert envelope["type"] == PURGED
        assert envelope["subject"] == "account:acc-1"
        assert envelope["causation_id"] == request.event_id
        assert envelope["payload"]["erasure_id"] == "erasure-3"
        assert envelope["payload"]["account_id"] == "acc-1"
        assert "jean.dupont" not in message.body.decode()

        # The five-year purge of a declaration reaches notify too.
        await notify.publish(events.declaration_registered(clock))

        async def declared() -> bool:
            return await store.count(CONTACTS) == 1

        await eventually(declared)
        await notify.publish(events.declaration_purge_requested(clock))
        await eventually(forgotten)
        second = json.loads((await _next_message(listener)).body)
        assert second["subject"] == "declaration:decl-1"
        assert second["payload"]["declaration_id"] == "decl-1"
