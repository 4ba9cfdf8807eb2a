"""Consumer retries and dead letters, counted per queue on the real broker, with the reason's
kind only (never the fields or data it names)."""

from __future__ import annotations

from faststream.rabbit import RabbitBroker

from shared.messaging.bus import EventPublisher
from shared.messaging.topology import Topology
from tests.fixtures.metrics import MetricsProbe
from tests.integration.test_consumer_dead_letters import (
    FAST_RETRY,
    Recorder,
    _dead_letters,
    _event,
    _start,
    broker,
)
from tests.support.services import eventually

__all__ = ["broker"]  # the fixture, imported for these tests


async def test_retries_and_dead_letters_are_counted_per_queue(
    amqp_url: str, bus_prefix: str, broker: RabbitBroker, metrics_probe: MetricsProbe
) -> None:
    topology = Topology(bus_prefix)
    recorder = Recorder(poison_subject="test:poison")
    await _start(broker, topology, recorder)
    queue = topology.queue_name("notify.test")
    await broker.publish(b"{not json", exchange=topology.events, routing_key="notify.garbage.v1")
    unknown = _event(2).model_copy(update={"type": "other.thing-happened.v1"})
    await broker.publish(
        unknown.model_dump_json().encode(), exchange=topology.events, routing_key=unknown.type
    )
    await EventPublisher(broker, topology).publish(
        _event(0).model_copy(update={"subject": "test:poison"})
    )
    await EventPublisher(broker, topology).publish(_event(1))

    async def poison_given_up() -> bool:
        return recorder.attempts_on_poison == FAST_RETRY.max_attempts

    await eventually(poison_given_up, within=20)
    assert len(await _dead_letters(amqp_url, topology, "notify.test", expected=3)) == 3

    exported = await metrics_probe.collect()
    on_queue = {"messaging__destination__name": queue}
    # Attempts 1 and 2 were parked for a retry; the third gave up.
    assert exported.value("securact.messaging.retries", **on_queue) == FAST_RETRY.max_attempts - 1
    assert exported.value("securact.messaging.retries") == FAST_RETRY.max_attempts - 1
    dead = {
        p.attributes["error.type"]: p.value
        for p in exported["securact.messaging.dead_letters"]
        if p.attributes["messaging.destination.name"] == queue
    }
    assert dead == {"malformed": 1, "unknown_type": 1, "gave_up": 1}
    assert recorder.handled == ["test:1"]
