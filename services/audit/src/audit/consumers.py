"""Audit's consumer queues (`QUEUES`, for the platform topology):

- `audit.journal.v2`: every event on the bus (`#`), journaled exactly once (the journal's own
  group commit, not an inbox: the journal's event-id index is its idempotence). A
  single-active-consumer queue (`shared.messaging.topology.SINGLE_ACTIVE_CONSUMER`): with two
  replicas of audit the broker delivers to one of them, the other takes over when it goes, so
  the Merkle tree has one writer at a time.
- `audit.erasures`: retention's requests to shred subjects' payload keys, a handler table
  (`audit.erasure.ERASURES`).
"""

from __future__ import annotations

from typing import Final

from audit.context import DEFAULT_BATCH_SIZE
from audit.erasure import ERASURES, SubjectErasure
from audit.erasure import ERASURES_QUEUE as ERASURES_QUEUE
from audit.journal import Journal
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import Subscription
from shared.messaging.handlers import queues

JOURNAL_QUEUE: Final = "audit.journal.v2"

QUEUES: Final[dict[str, tuple[str, ...]]] = {JOURNAL_QUEUE: ("#",), **queues((ERASURES,))}


def journal_subscription(journal: Journal, *, prefetch: int = DEFAULT_BATCH_SIZE) -> Subscription:
    append = journal.writer.append  # the hot path: straight to the writer

    async def journal_event(envelope: Envelope) -> None:
        # Returns once the entry is committed, so the message is acked only then.
        await append(envelope)

    # Many messages in flight so that they can wait together for one group commit; the journal
    # still appends them in arrival order through its single writer.
    return Subscription(JOURNAL_QUEUE, QUEUES[JOURNAL_QUEUE], journal_event, prefetch=prefetch)


def erasure_subscription(erasure: SubjectErasure) -> Subscription:
    async def shred_requested(envelope: Envelope) -> None:
        await erasure.on_shred_requested(envelope)

    return Subscription(
        ERASURES_QUEUE, ERASURES.bindings, shred_requested, prefetch=ERASURES.prefetch
    )
