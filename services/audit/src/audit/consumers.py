"""Audit listens to every event on the bus (`#`)."""

from __future__ import annotations

from audit.service import Journal
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import Subscription
from shared.messaging.topology import PLATFORM_QUEUES

JOURNAL_QUEUE = "audit.journal"


def journal_subscription(journal: Journal) -> Subscription:
    async def journal_event(envelope: Envelope) -> None:
        await journal.append(envelope)

    # One message at a time: the journal is appended in arrival order by a single writer.
    return Subscription(JOURNAL_QUEUE, PLATFORM_QUEUES[JOURNAL_QUEUE], journal_event, prefetch=1)
