"""Audit's step of retention's erasure protocol: shred the payload keys of the subjects
retention names, then confirm with `audit.subject-keys-shredded.v1`.

The inbox key, the tombstones and the confirmation (through the outbox) commit in one
transaction, under the journal's lock: a crash leaves all of them or none, and a redelivered
request is dropped by the inbox. A new request for subjects already shredded shreds nothing
more and still confirms. Entries, roots and proofs are untouched: only payloads become
unreadable.
"""

from __future__ import annotations

import logging
from typing import Final

from audit.journal import Journal
from shared.contracts.envelope import Envelope
from shared.contracts.retention import SubjectKeysShreddedV1, SubjectKeysShredRequestedV1
from shared.events import Emitter
from shared.messaging.handlers import HandlerTable, on
from shared.messaging.inbox import Inbox
from shared.store.port import Transaction

log = logging.getLogger(__name__)

ERASURES_QUEUE: Final = "audit.erasures"


def confirmation_subject(erasure_id: str) -> str:
    # Not the erased account's subject: its key is shredded by this very step, and the
    # confirmation's payload (ids only) must stay readable in the journal as evidence.
    return f"erasure:{erasure_id}"


class SubjectErasure:
    """Shreds what retention asks, once per request event, and confirms each request."""

    def __init__(self, journal: Journal, inbox: Inbox, events: Emitter) -> None:
        self.journal = journal
        self._inbox = inbox
        self._events = events

    async def shred(
        self, tx: Transaction, request: SubjectKeysShredRequestedV1, envelope: Envelope
    ) -> None:
        """Shred the request's subjects and confirm, in the inbox transaction (under
        `Journal.exclusive()`)."""
        subjects = list(dict.fromkeys(request.subjects))
        destroyed = await self.journal.shred_subjects(tx, subjects)
        confirmed = SubjectKeysShreddedV1(
            erasure_id=request.erasure_id,
            subjects=subjects,
            shredded_at=self._events.clock.now(),
        )
        await self._events.emit(
            tx,
            confirmed,
            subject=confirmation_subject(request.erasure_id),
            causation=envelope,
        )
        log.info(
            "erasure %s: %d subject key(s) destroyed, %d already shredded",
            request.erasure_id,
            len(destroyed),
            len(subjects) - len(destroyed),
        )

    async def on_shred_requested(self, envelope: Envelope) -> bool:
        """Apply one request as the consumer does; False for a request already processed."""
        processed = await ERASURES.apply(
            self, self._inbox, envelope, exclusive=self.journal.exclusive
        )
        if not processed:
            log.info("shred request %s already processed", envelope.event_id)
        return processed


async def _shred(
    erasure: SubjectErasure,
    tx: Transaction,
    request: SubjectKeysShredRequestedV1,
    envelope: Envelope,
) -> None:
    await erasure.shred(tx, request, envelope)


# Few and rare requests, each holding the journal's lock: one at a time is enough.
ERASURES: Final = HandlerTable[SubjectErasure](
    ERASURES_QUEUE, (on(SubjectKeysShredRequestedV1, _shred),), prefetch=1
)
