"""Consumers as handler tables: one queue, and for each contract class it receives, its handler.

The table is the consumer's whole definition: its queue's bindings are the routing keys of its
contracts (so the topology cannot bind what nobody handles), and the kernel does the rest —
decodes the payload as its contract, runs the handler with the inbox key in one transaction
(a redelivery changes nothing twice), and dead-letters a type the table does not bind.

Handlers receive the service's use cases (`deps`, given when the queue is subscribed), the
transaction, the decoded payload and its envelope (for its event id, its instant, causation).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.registry import contract_for
from shared.messaging.batch import BatchSubscription
from shared.messaging.consumer import PermanentFailure, Subscription
from shared.messaging.inbox import Inbox
from shared.store.port import Transaction

D = TypeVar("D")
P = TypeVar("P", bound=EventPayload)

DEFAULT_PREFETCH: Final = 32

AnyHandler = Callable[[D, Transaction, Any, Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Binding(Generic[D]):
    """One row of a table: a contract class and what handles it."""

    contract: type[EventPayload]
    handler: AnyHandler[D]


def on(
    contract: type[P], handler: Callable[[D, Transaction, P, Envelope], Awaitable[None]]
) -> Binding[D]:
    """A row, typed: `handler` receives `contract`'s payload."""
    return Binding(contract, handler)


@dataclass(frozen=True)
class HandlerTable(Generic[D]):
    """A consumer queue `<service>.<purpose>` and the handler of each contract it receives."""

    queue: str
    rows: tuple[Binding[D], ...]
    prefetch: int = DEFAULT_PREFETCH
    _by_contract: dict[type[EventPayload], AnyHandler[D]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_contract: dict[type[EventPayload], AnyHandler[D]] = {}
        for row in self.rows:
            if row.contract in by_contract:
                raise ValueError(f"{self.queue}: {row.contract.__name__} is bound twice")
            by_contract[row.contract] = row.handler
        object.__setattr__(self, "_by_contract", by_contract)

    @property
    def contracts(self) -> tuple[type[EventPayload], ...]:
        return tuple(self._by_contract)

    @property
    def bindings(self) -> tuple[str, ...]:
        """The queue's routing keys: exactly the table's contracts."""
        return tuple(contract.routing_key() for contract in self._by_contract)

    def decode(self, envelope: Envelope) -> tuple[EventPayload, AnyHandler[D]]:
        """The payload as its contract and its handler. An unregistered type
        (`UnknownEventTypeError`), a malformed payload (`ValidationError`) or a type this table
        does not bind (`PermanentFailure`) is dead-lettered by the consumer, never retried."""
        contract = contract_for(envelope.type)
        handler = self._by_contract.get(contract)
        if handler is None:
            raise PermanentFailure(f"{envelope.type} is not bound to {self.queue}")
        return contract.model_validate(envelope.payload), handler

    async def apply(
        self,
        deps: D,
        inbox: Inbox,
        envelope: Envelope,
        *,
        exclusive: Callable[[], AbstractAsyncContextManager[object]] | None = None,
    ) -> bool:
        """Run the event's handler with its inbox key in one transaction; False for an event
        this consumer already applied. `exclusive` is entered around the transaction (a lock
        its writes need)."""
        payload, handler = self.decode(envelope)

        async def effect(tx: Transaction) -> None:
            await handler(deps, tx, payload, envelope)

        if exclusive is None:
            return await inbox.process(envelope, effect)
        async with exclusive():
            return await inbox.process(envelope, effect)

    def subscription(
        self,
        deps: D,
        inbox: Inbox,
        *,
        exclusive: Callable[[], AbstractAsyncContextManager[object]] | None = None,
        processed: Callable[[Envelope], None] | None = None,
        prefetch: int | None = None,
    ) -> Subscription:
        """The queue's subscription: each event `apply`d; `processed` is told of each event
        applied for the first time, after commit."""

        async def handle(envelope: Envelope) -> None:
            if await self.apply(deps, inbox, envelope, exclusive=exclusive) and processed:
                processed(envelope)

        return Subscription(self.queue, self.bindings, handle, prefetch=prefetch or self.prefetch)

    def batch_subscription(
        self,
        deps: D,
        inbox: Inbox,
        *,
        processed: Callable[[Envelope], None] | None = None,
        max_batch: int | None = None,
    ) -> BatchSubscription:
        """The queue consumed in batches (`shared.messaging.batch`): the events of a batch
        decoded, then applied in ONE transaction with their inbox keys (`Inbox.process_many`).
        An event that cannot be decoded or applied fails the batch, which the consumer then
        hands over event by event (the bad one alone is retried or dead-lettered)."""
        size = max_batch or self.prefetch

        async def handle(envelopes: Sequence[Envelope]) -> None:
            decoded = {envelope.event_id: self.decode(envelope) for envelope in envelopes}

            async def effect(tx: Transaction, envelope: Envelope) -> None:
                payload, handler = decoded[envelope.event_id]
                await handler(deps, tx, payload, envelope)

            done = await inbox.process_many(envelopes, effect)
            if processed is not None:
                for envelope, first in zip(envelopes, done, strict=True):
                    if first:
                        processed(envelope)

        return BatchSubscription(
            self.queue, self.bindings, handle, prefetch=2 * size, max_batch=size
        )


def queues(tables: Iterable[HandlerTable[Any]]) -> dict[str, tuple[str, ...]]:
    """Queue name → bindings, for the platform topology."""
    found: dict[str, tuple[str, ...]] = {}
    for table in tables:
        if table.queue in found:
            raise ValueError(f"{table.queue} has two tables")
        found[table.queue] = table.bindings
    return found
