"""Audit's step of retention's erasure protocol (issue 9): shred the payload keys of the subjects
retention names, then confirm with `audit.subject-keys-shredded.v1`.

The inbox key, the tombstones and the confirmation (through the outbox) commit in ONE
transaction: a crash leaves all of them or none, and a redelivered request is dropped by the
inbox, its confirmation being already on its way. A new request for subjects already shredded
(retention asking again after a restart) shreds nothing more and still confirms. Entries, roots
and proofs are untouched: only the payloads become unreadable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from audit.service import Journal
from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.contracts.registry import decode_payload
from shared.contracts.retention import SubjectKeysShreddedV1, SubjectKeysShredRequestedV1
from shared.messaging.consumer import PermanentFailure
from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox
from shared.store.port import Transaction

log = logging.getLogger(__name__)

ConfirmationFactory = Callable[[SubjectKeysShreddedV1, Envelope], Envelope]
"""Wraps the confirmation for publication, as a consequence of the request envelope."""


def confirmation_subject(erasure_id: str) -> str:
    # Not the erased account's subject: its key is shredded by this very step, and the
    # confirmation's payload (ids only) must stay readable in the journal as evidence.
    return f"erasure:{erasure_id}"


class SubjectErasure:
    """Shreds what retention asks, once per request event, and confirms each request."""

    def __init__(
        self,
        journal: Journal,
        inbox: Inbox,
        outbox: Outbox,
        clock: Clock,
        confirmation: ConfirmationFactory,
    ) -> None:
        self._journal = journal
        self._inbox = inbox
        self._outbox = outbox
        self._clock = clock
        self._confirmation = confirmation

    async def on_shred_requested(self, envelope: Envelope) -> bool:
        """Shred the request's subjects and confirm, with the inbox key, in one transaction;
        False for a request already processed (nothing is done again)."""
        if envelope.type != SubjectKeysShredRequestedV1.routing_key():
            raise PermanentFailure(f"{envelope.type} is not a shred request")
        request = decode_payload(envelope, SubjectKeysShredRequestedV1)
        subjects = list(dict.fromkeys(request.subjects))

        async def shred_and_confirm(tx: Transaction) -> None:
            destroyed = await self._journal.shred_subjects(tx, subjects)
            confirmed = SubjectKeysShreddedV1(
                erasure_id=request.erasure_id, subjects=subjects, shredded_at=self._clock.now()
            )
            await self._outbox.add(tx, self._confirmation(confirmed, envelope))
            log.info(
                "erasure %s: %d subject key(s) destroyed, %d already shredded",
                request.erasure_id,
                len(destroyed),
                len(subjects) - len(destroyed),
            )

        # The lock before the transaction, as the journal's writer takes them.
        async with self._journal.exclusive():
            processed = await self._inbox.process(envelope, shred_and_confirm)
        if not processed:
            log.info("shred request %s already processed", envelope.event_id)
        return processed
