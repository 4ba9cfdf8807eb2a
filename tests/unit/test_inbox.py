"""Idempotent consumption (DESIGN §4): the inbox key commits with the effect, or not at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from shared.clock import ManualClock
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.platform import DeliveryStartedV1
from shared.messaging.inbox import INBOX, INBOX_INDEXES, Inbox
from shared.messaging.outbox import OUTBOX, Outbox
from shared.store.port import DocumentStore, DuplicateKeyError, Transaction

NOW = datetime(2031, 9, 1, 12, 0, tzinfo=UTC)
EFFECTS = "effects"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def store(sqlite_store: DocumentStore) -> DocumentStore:
    await sqlite_store.ensure_indexes(INBOX_INDEXES)
    return sqlite_store


def make_envelope(clock: ManualClock, n: int = 0) -> Envelope:
    return new_envelope(
        DeliveryStartedV1(service="delivery", instance_id=f"i-{n}", release="1"),
        subject=f"act:{n}",
        actor="service:delivery",
        clock=clock,
    )


class CountingEffect:
    """Writes one effect document per call, in the inbox's transaction."""

    def __init__(self, name: str = "effect", *, fail_times: int = 0) -> None:
        self.name = name
        self.calls = 0
        self.fail_times = fail_times

    async def __call__(self, tx: Transaction) -> None:
        self.calls += 1
        await tx.insert(EFFECTS, {"_id": f"{self.name}-{self.calls}"})
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("handler failed")


async def test_effect_is_applied_once_and_a_duplicate_is_skipped(
    store: DocumentStore, clock: ManualClock
) -> None:
    inbox = Inbox(store, "notify.acts", clock)
    envelope = make_envelope(clock)
    effect = CountingEffect()

    assert await inbox.process(envelope, effect) is True
    assert await inbox.process(envelope, effect) is False
    assert await inbox.process(envelope.with_seq(1), effect) is False  # a relay republication

    assert effect.calls == 1
    assert await store.count(EFFECTS) == 1
    (key,) = await store.find(INBOX)
    assert key["consumer"] == "notify.acts"
    assert key["event_id"] == envelope.event_id
    assert key["received_at"] == "2031-09-01T12:00:00.000000Z"


async def test_distinct_events_each_apply_their_effect(
    store: DocumentStore, clock: ManualClock
) -> None:
    inbox = Inbox(store, "notify.acts", clock)
    effect = CountingEffect()
    for n in range(3):
        assert await inbox.process(make_envelope(clock, n), effect) is True
    assert effect.calls == 3
    assert await store.count(EFFECTS) == 3


async def test_each_consumer_applies_the_same_event_once(
    store: DocumentStore, clock: ManualClock
) -> None:
    envelope = make_envelope(clock)
    notify, retention = CountingEffect("notify"), CountingEffect("retention")
    assert await Inbox(store, "notify.acts", clock).process(envelope, notify) is True
    assert await Inbox(store, "retention.acts", clock).process(envelope, retention) is True
    assert await Inbox(store, "notify.acts", clock).process(envelope, notify) is False
    assert (notify.calls, retention.calls) == (1, 1)


async def test_a_failing_effect_rolls_back_the_key_so_a_retry_applies_it(
    store: DocumentStore, clock: ManualClock
) -> None:
    inbox = Inbox(store, "notify.acts", clock)
    envelope = make_envelope(clock)
    effect = CountingEffect(fail_times=1)

    with pytest.raises(RuntimeError, match="handler failed"):
        await inbox.process(envelope, effect)
    assert await store.count(INBOX) == 0
    assert await store.count(EFFECTS) == 0

    assert await inbox.process(envelope, effect) is True
    assert effect.calls == 2
    assert await store.count(EFFECTS) == 1
    assert await store.count(INBOX) == 1


async def test_a_duplicate_key_raised_by_the_effect_is_not_taken_for_a_duplicate_event(
    store: DocumentStore, clock: ManualClock
) -> None:
    await store.insert(EFFECTS, {"_id": "taken"})
    inbox = Inbox(store, "notify.acts", clock)
    envelope = make_envelope(clock)

    async def colliding(tx: Transaction) -> None:
        await tx.insert(EFFECTS, {"_id": "taken"})

    with pytest.raises(DuplicateKeyError):
        await inbox.process(envelope, colliding)
    # The event was not marked processed: a fixed handler gets another chance.
    assert await store.count(INBOX) == 0
    assert await inbox.process(envelope, CountingEffect()) is True


async def test_events_emitted_by_an_effect_are_stored_once_and_wake_the_relay(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    inbox = Inbox(store, "notify.acts", clock, transaction=outbox.transaction)
    cause = make_envelope(clock)
    consequence = make_envelope(clock, 1)

    async def emit(tx: Transaction) -> None:
        await outbox.add(tx, consequence)

    assert await inbox.process(cause, emit) is True
    assert outbox.pending.is_set()
    outbox.pending.clear()
    assert await inbox.process(cause, emit) is False
    assert await store.count(OUTBOX) == 1
    # A skipped duplicate commits nothing, so there is no new work for the relay.
    assert not outbox.pending.is_set()


class CountingEffectOf:
    """A batch's effect: one effect document per event, in the batch's transaction."""

    def __init__(self, *, fail_on: str | None = None) -> None:
        self.seen: list[str] = []
        self.fail_on = fail_on

    async def __call__(self, tx: Transaction, envelope: Envelope) -> None:
        self.seen.append(envelope.event_id)
        await tx.insert(EFFECTS, {"_id": f"{envelope.event_id}-{len(self.seen)}"})
        if envelope.event_id == self.fail_on:
            raise RuntimeError("handler failed")


async def test_a_batch_applies_each_new_event_once_and_skips_the_duplicates(
    store: DocumentStore, clock: ManualClock
) -> None:
    inbox = Inbox(store, "notify.acts", clock)
    first, second, third = (make_envelope(clock, n) for n in range(3))
    assert await inbox.process(first, CountingEffect())  # delivered before the batch

    effect = CountingEffectOf()
    flags = await inbox.process_many([first, second, third, second], effect)

    assert flags == [False, True, True, False]
    assert effect.seen == [second.event_id, third.event_id]
    assert await store.count(INBOX) == 3
    assert await store.count(EFFECTS) == 3


async def test_a_failing_effect_in_a_batch_writes_nothing_of_it(
    store: DocumentStore, clock: ManualClock
) -> None:
    inbox = Inbox(store, "notify.acts", clock)
    first, second = make_envelope(clock, 1), make_envelope(clock, 2)

    with pytest.raises(RuntimeError):
        await inbox.process_many([first, second], CountingEffectOf(fail_on=second.event_id))
    assert await store.count(INBOX) == 0
    assert await store.count(EFFECTS) == 0

    assert await inbox.process_many([first, second], CountingEffectOf()) == [True, True]


async def test_a_key_written_by_another_consumer_after_the_read_leaves_each_event_to_itself(
    store: DocumentStore, clock: ManualClock
) -> None:
    first, second = make_envelope(clock, 1), make_envelope(clock, 2)
    assert await Inbox(store, "notify.acts", clock).process(second, CountingEffect("other"))

    @asynccontextmanager
    async def blind() -> AsyncIterator[Transaction]:
        """Transactions whose reads miss every key (as if written after the read)."""
        async with store.transaction() as tx:
            yield cast(Transaction, _BlindReads(tx))

    effect = CountingEffectOf()
    flags = await Inbox(store, "notify.acts", clock, transaction=blind).process_many(
        [first, second], effect
    )

    assert flags == [True, False]
    assert await store.count(INBOX) == 2
    assert await store.count(EFFECTS) == 2  # `other`'s, and `first`'s once (rolled back once)


class _BlindReads:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def find(self, *_args: Any, **_kwargs: Any) -> list[Any]:
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)
