"""Audit listens to every event on the bus (`#`)."""

from __future__ import annotations

from audit.service import DEFAULT_BATCH_SIZE, Journal
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import Subscription
from shared.messaging.topology import PLATFORM_QUEUES

JOURNAL_QUEUE = "audit.journal"


def journal_subscription(journal: Journal, *, prefetch: int = DEFAULT_BATCH_SIZE) -> Subscription:
    async def journal_event(envelope: Envelope) -> None:
        # Returns once the entry is committed, so the message is acked only then.
        await journal.append(envelope)

    # Many messages in flight so that they can wait together for one group commit; the journal
    # still appends them in arrival order through its single writer.
    return Subscription(
        JOURNAL_QUEUE, PLATFORM_QUEUES[JOURNAL_QUEUE], journal_event, prefetch=prefetch
    )
