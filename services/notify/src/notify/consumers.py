"""Notify's two bus queues: `notify.urgent` for everything transactional and `notify.bulk` for
CGU notices, so ten thousand notices waiting in one queue never sit in front of an act."""

from __future__ import annotations

from notify.intake import BULK_EVENTS, URGENT_EVENTS
from notify.service import Notifier
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import Subscription

URGENT_QUEUE = "notify.urgent"
BULK_QUEUE = "notify.bulk"
QUEUES: dict[str, tuple[str, ...]] = {URGENT_QUEUE: URGENT_EVENTS, BULK_QUEUE: BULK_EVENTS}


def subscriptions(notifier: Notifier) -> list[Subscription]:
    def handler(queue: str) -> Subscription:
        async def take(envelope: Envelope) -> None:
            await notifier.take(envelope, consumer=queue)

        return Subscription(queue, QUEUES[queue], take, prefetch=32)

    return [handler(URGENT_QUEUE), handler(BULK_QUEUE)]
