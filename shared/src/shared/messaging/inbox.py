"""Idempotent consumption (DESIGN §4): the inbox key is written with the effect.

`(consumer, event_id)` is inserted under a unique key in the same transaction as the handler's
writes; a redelivered event collides on the key, the transaction rolls back, and the event is
acknowledged without a second effect. There is no check-then-insert window.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.store.port import DocumentStore, DuplicateKeyError, Index, Transaction, to_iso

INBOX = "inbox"
INBOX_INDEXES = (Index(INBOX, ("consumer", "event_id"), unique=True),)

Effect = Callable[[Transaction], Awaitable[None]]
TransactionFactory = Callable[[], AbstractAsyncContextManager[Transaction]]


class _AlreadyProcessed(Exception):  # noqa: N818 - control flow, never escapes this module
    pass


class Inbox:
    """Runs each event's effect at most once per consumer."""

    def __init__(
        self,
        store: DocumentStore,
        consumer: str,
        clock: Clock,
        *,
        transaction: TransactionFactory | None = None,
    ) -> None:
        # Pass `Outbox.transaction` when the effect also emits events, so the relay wakes.
        self._transaction = transaction or store.transaction
        self._consumer = consumer
        self._clock = clock

    async def process(self, envelope: Envelope, effect: Effect) -> bool:
        """Apply `effect` with the inbox key in one transaction. False for a duplicate."""
        try:
            async with self._transaction() as tx:
                try:
                    await tx.insert(
                        INBOX,
                        {
                            "_id": f"{self._consumer}:{envelope.event_id}",
                            "consumer": self._consumer,
                            "event_id": envelope.event_id,
                            "received_at": to_iso(self._clock.now()),
                        },
                    )
                except DuplicateKeyError:
                    raise _AlreadyProcessed from None
                await effect(tx)
        except _AlreadyProcessed:
            return False
        return True
