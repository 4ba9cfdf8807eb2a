"""Idempotent consumption (DESIGN §4): the inbox key is written with the effect.

`(consumer, event_id)` is inserted under a unique key in the same transaction as the handler's
writes; a redelivered event collides on the key, the transaction rolls back, and the event is
acknowledged without a second effect. There is no check-then-insert window.

A batch consumer's events share one transaction (`process_many`): one read drops those whose
key is stored already, the others' keys and effects are written together. The unique key still
decides: if another consumer wrote one of the keys meanwhile, the whole transaction rolls back
and each event is processed again in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.store.port import ID, DocumentStore, DuplicateKeyError, Index, Transaction, to_iso

INBOX = "inbox"
INBOX_INDEXES = (Index(INBOX, ("consumer", "event_id"), unique=True),)

Effect = Callable[[Transaction], Awaitable[None]]
EffectOf = Callable[[Transaction, Envelope], Awaitable[None]]
"""The effect of one event of a batch, in the batch's transaction."""
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
                    await tx.insert(INBOX, self._key(envelope))
                except DuplicateKeyError:
                    raise _AlreadyProcessed from None
                await effect(tx)
        except _AlreadyProcessed:
            return False
        return True

    async def process_many(self, envelopes: Sequence[Envelope], effect: EffectOf) -> list[bool]:
        """`process` for each envelope, in order, in ONE transaction: one flag per envelope
        (False: a duplicate, nothing done). An effect that raises fails them all (nothing of
        the batch is written)."""
        if len(envelopes) == 1:
            return [await self.process(envelopes[0], _alone(effect, envelopes[0]))]
        try:
            async with self._transaction() as tx:
                keys = [self._key(envelope) for envelope in envelopes]
                found = await tx.find(INBOX, {ID: {"$in": [key[ID] for key in keys]}})
                seen = {str(document[ID]) for document in found}
                done: list[bool] = []
                for envelope, key in zip(envelopes, keys, strict=True):
                    if key[ID] in seen:  # delivered before, or twice in this batch
                        done.append(False)
                        continue
                    seen.add(str(key[ID]))
                    try:
                        await tx.insert(INBOX, key)
                    except DuplicateKeyError:
                        raise _AlreadyProcessed from None
                    await effect(tx, envelope)
                    done.append(True)
        except _AlreadyProcessed:
            # Written by another consumer since the read: one transaction per event decides.
            return [await self.process(e, _alone(effect, e)) for e in envelopes]
        return done

    def _key(self, envelope: Envelope) -> dict[str, object]:
        return {
            ID: f"{self._consumer}:{envelope.event_id}",
            "consumer": self._consumer,
            "event_id": envelope.event_id,
            "received_at": to_iso(self._clock.now()),
        }


def _alone(effect: EffectOf, envelope: Envelope) -> Effect:
    async def apply(tx: Transaction) -> None:
        await effect(tx, envelope)

    return apply
