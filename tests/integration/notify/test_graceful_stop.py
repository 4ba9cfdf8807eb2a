"""Notify: a stop between the relay's acceptance and the bookkeeping must not produce a
duplicate. Notify is stopped (its runtime's ordinary shutdown) while a real SMTP server is slow
to answer DATA; then it starts again with a claim timeout short enough that an unrecorded
attempt would be sent again at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from notify.domain import State
from notify.repository import NOTIFICATIONS
from shared.clock import SystemClock
from shared.contracts.notify import NotificationSentV1
from tests.integration.notify.support import SmtpServer, notify_running, notify_settings
from tests.support.services import eventually
from tests.unit.notify import events

SENT = NotificationSentV1.routing_key()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_a_stop_during_data_delivers_one_message_and_records_it(
    tmp_path: Path, bus_prefix: str, smtp: SmtpServer
) -> None:
    smtp.handler.data_delay = 1.0
    settings = notify_settings(tmp_path, bus_prefix, smtp.port)
    async with notify_running(settings) as notify:
        await notify.publish(events.act_served(SystemClock()))

        async def in_data() -> bool:
            return smtp.handler.data_received.is_set()

        await eventually(in_data, every=0.02)
    # Stopped while the relay had the message and had not answered yet.
    assert len(smtp.handler.messages()) == 1

    smtp.handler.data_delay = 0.0
    restart = notify_settings(
        tmp_path, bus_prefix, smtp.port, smtp_timeout_seconds=0.2, claim_timeout_seconds=0.5
    )
    async with notify_running(restart) as notify:
        [row] = await notify.runtime.store.find(NOTIFICATIONS, {})
        assert row["state"] == State.SENT.value
        assert row["data_sent_at"] is not None
        assert row["resent_after_crash"] == 0
        [sent] = await notify.outbox_events(SENT)
        assert sent["payload"]["attempts"] == 1
        await asyncio.sleep(1.2)  # the sweeper ran: nothing stale to send again
        assert len(smtp.handler.messages()) == 1
