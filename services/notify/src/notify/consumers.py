"""Notify's bus queues: `notify.urgent` for everything transactional and `notify.bulk` for
CGU notices and notices to users (maintenance, breach), so ten thousand notices waiting in one
queue never sit in front of an act; and
`notify.retention` for retention's purge requests (contacts forgotten, history scrubbed)."""

from __future__ import annotations

from notify.contacts import PURGE_REQUESTS
from notify.notices import NOTICE_EVENTS
from notify.planning import BULK_EVENTS, URGENT_EVENTS
from notify.service import Notify
from notify.webhooks.events import SOURCES as WEBHOOK_SOURCES
from notify.webhooks.service import QUEUE as WEBHOOKS_QUEUE
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import Subscription

URGENT_QUEUE = "notify.urgent"
BULK_QUEUE = "notify.bulk"
RETENTION_QUEUE = "notify.retention"
QUEUES: dict[str, tuple[str, ...]] = {
    URGENT_QUEUE: URGENT_EVENTS,
    BULK_QUEUE: (*BULK_EVENTS, *NOTICE_EVENTS),
    RETENTION_QUEUE: PURGE_REQUESTS,
    # The offices' webhooks (`notify.webhooks`), a table of its own.
    WEBHOOKS_QUEUE: tuple(contract.routing_key() for contract in WEBHOOK_SOURCES),
}


def subscriptions(notify: Notify) -> list[Subscription]:
    def handler(queue: str) -> Subscription:
        async def take(envelope: Envelope) -> None:
            if envelope.type in NOTICE_EVENTS:
                await notify.notices.take(envelope, consumer=queue)
            else:
                await notify.intake.take(envelope, consumer=queue)

        return Subscription(queue, QUEUES[queue], take, prefetch=32)

    async def purge(envelope: Envelope) -> None:
        await notify.contacts.purge_on_request(envelope, consumer=RETENTION_QUEUE)

    return [
        handler(URGENT_QUEUE),
        handler(BULK_QUEUE),
        Subscription(RETENTION_QUEUE, PURGE_REQUESTS, purge, prefetch=8),
    ]
