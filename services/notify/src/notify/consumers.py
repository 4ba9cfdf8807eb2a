"""Notify's bus queues: `notify.urgent` for everything transactional and `notify.bulk` for
CGU notices and notices to users (maintenance, breach), so ten thousand notices waiting in one
queue never sit in front of an act; and `notify.retention` for retention's purge requests
(contacts forgotten, history scrubbed).

The urgent queue (and the webhooks') is consumed in batches (`shared.messaging.batch`): the
events that arrived together are taken in one store transaction, with their inbox keys (exactly
once per event and consumer, so per (event, channel, address)), and acknowledged with one ack.
The bulk queue stays one event per transaction: taken in batches, a run of ten thousand notices
floods the store with queued notices at once and the acts' e-mails waited seconds behind them
(`test_bulk_cgu_notices_do_not_delay_act_notifications`)."""

from __future__ import annotations

from collections.abc import Sequence

from notify.contacts import PURGE_REQUESTS
from notify.notices import NOTICE_EVENTS
from notify.planning import BULK_EVENTS, URGENT_EVENTS
from notify.service import Notify
from notify.webhooks.events import SOURCES as WEBHOOK_SOURCES
from notify.webhooks.service import QUEUE as WEBHOOKS_QUEUE
from shared.contracts.envelope import Envelope
from shared.messaging.batch import BatchSubscription
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


# Events taken in one transaction at most; twice as many in flight, so that the next batch
# arrives while one is committed.
INTAKE_BATCH = 64


def intake_subscriptions(notify: Notify) -> list[BatchSubscription]:
    def batches(queue: str) -> BatchSubscription:
        async def take(envelopes: Sequence[Envelope]) -> None:
            await notify.intake.take_many(envelopes, consumer=queue)

        return BatchSubscription(
            queue, QUEUES[queue], take, prefetch=2 * INTAKE_BATCH, max_batch=INTAKE_BATCH
        )

    return [batches(URGENT_QUEUE)]


def subscriptions(notify: Notify) -> list[Subscription]:
    async def take_notice(envelope: Envelope) -> None:
        if envelope.type in NOTICE_EVENTS:
            await notify.notices.take(envelope, consumer=BULK_QUEUE)
        else:
            await notify.intake.take(envelope, consumer=BULK_QUEUE)

    async def purge(envelope: Envelope) -> None:
        await notify.contacts.purge_on_request(envelope, consumer=RETENTION_QUEUE)

    return [
        Subscription(BULK_QUEUE, QUEUES[BULK_QUEUE], take_notice, prefetch=32),
        Subscription(RETENTION_QUEUE, PURGE_REQUESTS, purge, prefetch=8),
    ]
