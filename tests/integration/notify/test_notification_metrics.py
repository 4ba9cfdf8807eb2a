"""Notifications sent and failed per channel, and the latency from the act served to the
relay's acceptance, exported by notify against a real SMTP server and the real RabbitMQ."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.clock import SystemClock
from shared.contracts.notify import NotificationFailedV1, NotificationSentV1
from tests.fixtures.metrics import MetricsProbe
from tests.integration.notify.support import SmtpServer, notify_running, notify_settings
from tests.support.services import eventually
from tests.unit.notify import events

SENT = NotificationSentV1.routing_key()
FAILED = NotificationFailedV1.routing_key()


def _uuid7_now() -> str:
    ms = int(SystemClock().now().timestamp() * 1000)
    value = ms << 80 | 0x7 << 76 | secrets.randbits(12) << 64 | 0b10 << 62 | secrets.randbits(62)
    return str(uuid.UUID(int=value))


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_a_notice_accepted_after_a_retry_is_sent_once_with_its_latency(
    tmp_path: Path, bus_prefix: str, smtp: SmtpServer, metrics_probe: MetricsProbe
) -> None:
    smtp.handler.data_script.append("451 4.3.0 Try again later")
    served = events.act_served(SystemClock())
    # Its id dated now: ids made earlier in this process on a clock set ahead (other tests)
    # would date later ones in the future, the ids being monotonic within a process.
    served = served.model_copy(update={"event_id": _uuid7_now()})
    async with notify_running(notify_settings(tmp_path, bus_prefix, smtp.port)) as notify:
        await notify.publish(served)

        async def recorded() -> bool:
            return len(await notify.outbox_events(SENT)) == 1

        await eventually(recorded)
        exported = await metrics_probe.collect()
    email = {"securact__notification__channel": "email"}
    assert exported.value("securact.notifications.sent", **email) == 1
    assert exported.value("securact.notifications.failed") == 0
    [latency] = [
        p
        for p in exported["securact.notifications.latency"]
        if p.attributes
        == {
            "securact.notification.channel": "email",
            "securact.event.type": events.act_served(SystemClock()).type,
        }
    ]
    assert latency.value == 1
    assert latency.total is not None
    # At least the retry's wait, within the test's patience.
    assert 0 < latency.total < 30


async def test_a_refused_notice_is_counted_as_a_permanent_failure(
    tmp_path: Path, bus_prefix: str, smtp: SmtpServer, metrics_probe: MetricsProbe
) -> None:
    smtp.handler.rcpt_script.append("550 5.1.1 <jean.dupont@example.fr>: Recipient unknown")
    async with notify_running(notify_settings(tmp_path, bus_prefix, smtp.port)) as notify:
        await notify.publish(events.act_served(SystemClock()))

        async def failed() -> bool:
            return len(await notify.outbox_events(FAILED)) == 1

        await eventually(failed)
        exported = await metrics_probe.collect()
    assert (
        exported.value(
            "securact.notifications.failed",
            securact__notification__channel="email",
            error__type="permanent",
        )
        == 1
    )
    assert exported.value("securact.notifications.sent") == 0
    assert exported["securact.notifications.latency"] == []
    attributes = {
        str(v) for p in exported["securact.notifications.failed"] for v in p.attributes.values()
    }
    assert not any("jean.dupont" in v or "550" in v for v in attributes)
