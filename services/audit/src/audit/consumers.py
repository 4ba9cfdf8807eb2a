"""Audit's consumer queues (`QUEUES`, for the platform topology):

- `audit.journal`: every event on the bus (`#`), journaled exactly once.
- `audit.erasures`: retention's requests to shred subjects' payload keys (issue 9).
"""

from __future__ import annotations

from typing import Final

from audit.erasure import SubjectErasure
from audit.service import DEFAULT_BATCH_SIZE, Journal
from shared.contracts.envelope import Envelope
from shared.contracts.retention import SubjectKeysShredRequestedV1
from shared.messaging.consumer import Subscription

JOURNAL_QUEUE: Final = "audit.journal"
ERASURES_QUEUE: Final = "audit.erasures"

QUEUES: Final[dict[str, tuple[str, ...]]] = {
    JOURNAL_QUEUE: ("#",),
    ERASURES_QUEUE: (SubjectKeysShredRequestedV1.routing_key(),),
}


def journal_subscription(journal: Journal, *, prefetch: int = DEFAULT_BATCH_SIZE) -> Subscription:
    async def journal_event(envelope: Envelope) -> None:
        # Returns once the entry is committed, so the message is acked only then.
        await journal.append(envelope)

    # Many messages in flight so that they can wait together for one group commit; the journal
    # still appends them in arrival order through its single writer.
    return Subscription(JOURNAL_QUEUE, QUEUES[JOURNAL_QUEUE], journal_event, prefetch=prefetch)


def erasure_subscription(erasure: SubjectErasure) -> Subscription:
    async def shred_requested(envelope: Envelope) -> None:
        await erasure.on_shred_requested(envelope)

    # Few and rare requests, each holding the journal's lock: one at a time is enough.
    return Subscription(ERASURES_QUEUE, QUEUES[ERASURES_QUEUE], shred_requested, prefetch=1)
