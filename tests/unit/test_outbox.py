"""Transactional outbox and its relay (DESIGN §4) on the embedded SQLite store.

The sink is a recording fake; time is a ManualClock, so leases and purges move only when a test
says so. Only `run()` uses real (short) sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import ManualClock
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.platform import DeliveryStartedV1
from shared.messaging.outbox import (
    OUTBOX,
    OUTBOX_STATE,
    Outbox,
    OutboxRelay,
    RelayPolicy,
)
from shared.store.port import DocumentStore, from_iso

START = datetime(2031, 5, 6, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=15)
POLICY = RelayPolicy(batch_size=256, lease_duration=LEASE, keep_sent_for=timedelta(hours=1))

_current_trace: ContextVar[str | None] = ContextVar("current_trace", default=None)


class RecordingSink:
    """An EventSink that records what it publishes, and fails while `down` or `fail_next`."""

    def __init__(self) -> None:
        self.progress = asyncio.Event()
        self.published: list[Envelope] = []
        self.traces: list[str | None] = []
        self.attempts = 0
        self.down = False
        self.fail_next = 0

    async def publish(
        self, envelope: Envelope, *, headers: Mapping[str, str] | None = None
    ) -> None:
        self.attempts += 1
        self.progress.set()
        await asyncio.sleep(0)
        if self.down:
            raise ConnectionError("broker unreachable")
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("publish not confirmed")
        self.published.append(envelope)
        self.traces.append(_current_trace.get())
        self.progress.set()

    @property
    def seqs(self) -> list[int | None]:
        return [envelope.producer_seq for envelope in self.published]


@contextlib.contextmanager
def recording_context(carrier: Mapping[str, str]) -> Iterator[None]:
    token = _current_trace.set(carrier.get("traceparent"))
    try:
        yield
    finally:
        _current_trace.reset(token)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def store(sqlite_store: DocumentStore) -> DocumentStore:
    await sqlite_store.ensure_indexes(OutboxRelay.indexes())
    return sqlite_store


def make_envelope(clock: ManualClock, n: int = 0) -> Envelope:
    return new_envelope(
        DeliveryStartedV1(service="delivery", instance_id=f"i-{n}", release="1"),
        subject=f"act:{n}",
        actor="service:delivery",
        clock=clock,
    )


def make_relay(
    store: DocumentStore,
    sink: RecordingSink,
    clock: ManualClock,
    *,
    owner: str = "replica-a",
    policy: RelayPolicy = POLICY,
) -> OutboxRelay:
    return OutboxRelay(
        store,
        sink,
        clock,
        owner=owner,
        wakeup=asyncio.Event(),
        policy=policy,
        publish_context=recording_context,
    )


async def add_events(outbox: Outbox, clock: ManualClock, count: int) -> list[Envelope]:
    made = []
    for n in range(count):
        envelope = make_envelope(clock, n)
        async with outbox.transaction() as tx:
            await outbox.add(tx, envelope)
        made.append(envelope)
    return made


async def failing_use_case(outbox: Outbox, envelope: Envelope) -> None:
    """Writes state and an event, then fails before the transaction ends."""
    async with outbox.transaction() as tx:
        await tx.insert("acts", {"_id": "act-1", "state": "served"})
        await outbox.add(tx, envelope)
        raise RuntimeError("use case failed")


async def unsent(store: DocumentStore) -> int:
    return await store.count(OUTBOX, {"sent": False})


# --- Outbox -----------------------------------------------------------------------------------


async def test_event_and_state_change_commit_together(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    envelope = make_envelope(clock)
    async with outbox.transaction() as tx:
        await tx.insert("acts", {"_id": "act-1", "state": "served"})
        await outbox.add(tx, envelope)
    row = await store.get(OUTBOX, envelope.event_id)
    assert row is not None
    assert row["sent"] is False
    assert row["seq"] is None
    assert Envelope.model_validate(row["envelope"]) == envelope
    assert await store.get("acts", "act-1") is not None


async def test_events_of_a_rolled_back_transaction_are_not_stored(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    with pytest.raises(RuntimeError, match="use case failed"):
        await failing_use_case(outbox, make_envelope(clock))
    assert await store.count(OUTBOX) == 0
    assert await store.get("acts", "act-1") is None


async def test_pending_is_set_after_commit_only(store: DocumentStore, clock: ManualClock) -> None:
    outbox = Outbox(store, clock)
    with pytest.raises(RuntimeError):
        await failing_use_case(outbox, make_envelope(clock))
    assert not outbox.pending.is_set()
    async with outbox.transaction() as tx:
        await outbox.add(tx, make_envelope(clock))
        assert not outbox.pending.is_set()  # the relay must not look before the commit
    assert outbox.pending.is_set()


async def test_publish_alone_stores_one_event_and_wakes_the_relay(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    envelope = make_envelope(clock)
    await outbox.publish_alone(envelope)
    assert await unsent(store) == 1
    assert outbox.pending.is_set()


async def test_trace_carrier_is_stored_and_handed_to_the_publish_context(
    store: DocumentStore, clock: ManualClock
) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    outbox = Outbox(store, clock, trace_carrier=lambda: {"traceparent": traceparent})
    envelope = make_envelope(clock)
    async with outbox.transaction() as tx:
        await outbox.add(tx, envelope)
    row = await store.get(OUTBOX, envelope.event_id)
    assert row is not None
    assert row["trace"] == {"traceparent": traceparent}

    sink = RecordingSink()
    await make_relay(store, sink, clock).relay_once()
    # The sink ran inside the context the relay built from the stored carrier.
    assert sink.traces == [traceparent]


async def test_rows_without_trace_get_an_empty_carrier(
    store: DocumentStore, clock: ManualClock
) -> None:
    await add_events(Outbox(store, clock), clock, 1)
    sink = RecordingSink()
    await make_relay(store, sink, clock).relay_once()
    assert sink.traces == [None]


# --- relay: order, sequence, marking sent ---------------------------------------------------


async def test_relay_publishes_in_id_order_with_contiguous_seq_and_marks_sent(
    store: DocumentStore, clock: ManualClock
) -> None:
    events = await add_events(Outbox(store, clock), clock, 5)
    sink = RecordingSink()
    relay = make_relay(store, sink, clock)

    assert await relay.relay_once() == 5
    assert [e.event_id for e in sink.published] == sorted(e.event_id for e in events)
    assert [e.event_id for e in sink.published] == [e.event_id for e in events]
    assert sink.seqs == [1, 2, 3, 4, 5]
    assert await unsent(store) == 0
    rows = await store.find(OUTBOX, sort=[("_id", 1)])
    assert [row["seq"] for row in rows] == [1, 2, 3, 4, 5]
    assert all(row["sent_at"] == "2031-05-06T08:00:00.000000Z" for row in rows)

    assert await relay.relay_once() == 0
    assert len(sink.published) == 5


async def test_relay_works_through_batches_and_the_sequence_continues(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    await add_events(outbox, clock, 5)
    sink = RecordingSink()
    relay = make_relay(store, sink, clock, policy=RelayPolicy(batch_size=2))
    assert [await relay.relay_once() for _ in range(4)] == [2, 2, 1, 0]
    await add_events(outbox, clock, 2)
    assert await relay.relay_once() == 2
    assert sink.seqs == [1, 2, 3, 4, 5, 6, 7]


async def test_published_envelope_is_the_stored_one_plus_its_seq(
    store: DocumentStore, clock: ManualClock
) -> None:
    (event,) = await add_events(Outbox(store, clock), clock, 1)
    sink = RecordingSink()
    await make_relay(store, sink, clock).relay_once()
    assert sink.published == [event.with_seq(1)]


async def test_failed_publication_leaves_rows_pending_and_keeps_their_seq(
    store: DocumentStore, clock: ManualClock
) -> None:
    events = await add_events(Outbox(store, clock), clock, 3)
    sink = RecordingSink()
    relay = make_relay(store, sink, clock)

    sink.down = True
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await relay.relay_once()
    assert await unsent(store) == 3
    assert sink.published == []

    sink.down = False
    assert await relay.relay_once() == 3
    assert sink.seqs == [1, 2, 3]
    assert [e.event_id for e in sink.published] == [e.event_id for e in events]
    assert await unsent(store) == 0


class StuckSink:
    """A broker that accepts the connection and never confirms."""

    def __init__(self) -> None:
        self.attempts = 0

    async def publish(
        self, envelope: Envelope, *, headers: Mapping[str, str] | None = None
    ) -> None:
        self.attempts += 1
        await asyncio.Event().wait()


async def test_a_batch_stuck_on_the_broker_gives_up_within_half_the_lease(
    store: DocumentStore, clock: ManualClock
) -> None:
    await add_events(Outbox(store, clock), clock, 3)
    sink = StuckSink()
    relay = OutboxRelay(
        store,
        sink,
        clock,
        owner="relay-a",
        wakeup=asyncio.Event(),
        policy=RelayPolicy(lease_duration=timedelta(milliseconds=200)),
    )
    # Without the bound this would wait forever (the test's own timeout would fail it).
    with pytest.raises(TimeoutError):
        await relay.relay_once()
    assert sink.attempts == 3
    assert await unsent(store) == 3


async def test_a_partly_failed_batch_is_republished_with_the_same_numbers(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    await add_events(outbox, clock, 4)
    sink = RecordingSink()
    relay = make_relay(store, sink, clock)

    sink.fail_next = 1
    with pytest.raises(ConnectionError):
        await relay.relay_once()
    assert await unsent(store) == 4
    assert await relay.relay_once() == 4
    await add_events(outbox, clock, 1)
    assert await relay.relay_once() == 1

    # Duplicates are allowed (the inbox absorbs them); renumbering and gaps are not.
    numbers: dict[str, set[int | None]] = {}
    for envelope in sink.published:
        numbers.setdefault(envelope.event_id, set()).add(envelope.producer_seq)
    assert all(len(seqs) == 1 for seqs in numbers.values())
    assert sorted(seq or 0 for seqs in numbers.values() for seq in seqs) == [1, 2, 3, 4, 5]


async def test_sequence_survives_a_restart_of_the_relay(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    sink = RecordingSink()
    await add_events(outbox, clock, 2)
    first = make_relay(store, sink, clock, owner="process-1")
    await first.relay_once()
    await first.release_lease()
    await add_events(outbox, clock, 2)
    assert await make_relay(store, sink, clock, owner="process-2").relay_once() == 2
    assert sink.seqs == [1, 2, 3, 4]


# --- relay: lease between replicas ---------------------------------------------------------


async def test_only_the_lease_holder_publishes(store: DocumentStore, clock: ManualClock) -> None:
    outbox = Outbox(store, clock)
    sink_a, sink_b = RecordingSink(), RecordingSink()
    relay_a = make_relay(store, sink_a, clock, owner="replica-a")
    relay_b = make_relay(store, sink_b, clock, owner="replica-b")

    await add_events(outbox, clock, 2)
    assert await relay_a.relay_once() == 2
    await add_events(outbox, clock, 2)
    assert await relay_b.relay_once() == 0
    assert sink_b.published == []
    assert await unsent(store) == 2

    clock.advance(LEASE - timedelta(seconds=1))
    assert await relay_b.relay_once() == 0
    assert await relay_a.relay_once() == 2
    assert sink_a.seqs == [1, 2, 3, 4]


async def test_the_holder_renews_its_lease_each_round(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    sink_a, sink_b = RecordingSink(), RecordingSink()
    relay_a = make_relay(store, sink_a, clock, owner="replica-a")
    relay_b = make_relay(store, sink_b, clock, owner="replica-b")
    assert await relay_a.relay_once() == 0  # takes the lease even with nothing to send
    for _ in range(3):
        clock.advance(LEASE * 2 / 3)
        assert await relay_a.relay_once() == 0
    await add_events(outbox, clock, 1)
    clock.advance(LEASE * 2 / 3)
    assert await relay_b.relay_once() == 0
    assert sink_b.published == []


async def test_the_holder_rewrites_its_lease_only_once_a_quarter_of_it_has_passed(
    store: DocumentStore, clock: ManualClock
) -> None:
    relay = make_relay(store, RecordingSink(), clock, owner="replica-a")
    assert await relay.relay_once() == 0
    taken = await store.get(OUTBOX_STATE, "relay-lease")
    clock.advance(LEASE / 5)
    assert await relay.relay_once() == 0
    assert await store.get(OUTBOX_STATE, "relay-lease") == taken  # not rewritten
    clock.advance(LEASE / 10)
    assert await relay.relay_once() == 0
    renewed = await store.get(OUTBOX_STATE, "relay-lease")
    assert renewed is not None
    assert taken is not None
    assert renewed["_version"] == taken["_version"] + 1
    assert from_iso(renewed["until"]) == clock.now() + LEASE


async def test_another_replica_takes_over_when_the_lease_expires(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    sink_a, sink_b = RecordingSink(), RecordingSink()
    relay_a = make_relay(store, sink_a, clock, owner="replica-a")
    relay_b = make_relay(store, sink_b, clock, owner="replica-b")

    await add_events(outbox, clock, 2)
    await relay_a.relay_once()
    await add_events(outbox, clock, 3)
    clock.advance(LEASE + timedelta(milliseconds=1))  # replica-a went silent
    assert await relay_b.relay_once() == 3
    assert sink_b.seqs == [3, 4, 5]
    # replica-a comes back: it no longer holds the lease.
    await add_events(outbox, clock, 1)
    assert await relay_a.relay_once() == 0
    assert await relay_b.relay_once() == 1
    assert sink_a.seqs == [1, 2]
    assert sink_b.seqs == [3, 4, 5, 6]


async def test_rows_numbered_by_a_failed_holder_keep_their_numbers_after_takeover(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    sink_a, sink_b = RecordingSink(), RecordingSink()
    relay_a = make_relay(store, sink_a, clock, owner="replica-a")
    relay_b = make_relay(store, sink_b, clock, owner="replica-b")
    await add_events(outbox, clock, 3)
    sink_a.down = True
    with pytest.raises(ConnectionError):
        await relay_a.relay_once()
    clock.advance(LEASE * 2)
    await add_events(outbox, clock, 1)
    assert await relay_b.relay_once() == 4
    assert sink_b.seqs == [1, 2, 3, 4]


async def test_released_lease_lets_another_replica_take_over_at_once(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    sink_a, sink_b = RecordingSink(), RecordingSink()
    relay_a = make_relay(store, sink_a, clock, owner="replica-a")
    relay_b = make_relay(store, sink_b, clock, owner="replica-b")
    await add_events(outbox, clock, 1)
    await relay_a.relay_once()
    await add_events(outbox, clock, 1)
    await relay_a.release_lease()
    assert await store.get(OUTBOX_STATE, "relay-lease") is None
    assert await relay_b.relay_once() == 1
    assert sink_b.seqs == [2]


async def test_releasing_a_lease_held_by_another_replica_does_nothing(
    store: DocumentStore, clock: ManualClock
) -> None:
    relay_a = make_relay(store, RecordingSink(), clock, owner="replica-a")
    relay_b = make_relay(store, RecordingSink(), clock, owner="replica-b")
    await relay_a.relay_once()
    await relay_b.release_lease()
    lease = await store.get(OUTBOX_STATE, "relay-lease")
    assert lease is not None
    assert lease["owner"] == "replica-a"


async def test_concurrent_replicas_never_publish_a_row_twice_nor_skip_a_number(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    sinks = [RecordingSink() for _ in range(3)]
    relays = [make_relay(store, s, clock, owner=f"replica-{i}") for i, s in enumerate(sinks)]
    for _ in range(3):
        await add_events(outbox, clock, 4)
        await asyncio.gather(*(relay.relay_once() for relay in relays))
    published = [envelope for sink in sinks for envelope in sink.published]
    assert sorted(e.producer_seq or 0 for e in published) == list(range(1, 13))
    assert len({e.event_id for e in published}) == 12
    assert sum(1 for sink in sinks if sink.published) == 1


# --- relay: purge --------------------------------------------------------------------------


async def test_purge_removes_only_rows_sent_longer_ago_than_keep_sent_for(
    store: DocumentStore, clock: ManualClock
) -> None:
    outbox = Outbox(store, clock)
    sink = RecordingSink()
    relay = make_relay(store, sink, clock)
    (old,) = await add_events(outbox, clock, 1)
    assert await relay.relay_once() == 1

    clock.advance(POLICY.keep_sent_for + timedelta(minutes=1))
    (recent,) = await add_events(outbox, clock, 1)
    assert await relay.relay_once() == 1
    clock.advance(timedelta(minutes=1))
    assert await relay.relay_once() == 0  # idle round: purges

    assert await store.get(OUTBOX, old.event_id) is None
    assert await store.get(OUTBOX, recent.event_id) is not None
    # The counter does not depend on the rows kept: numbering goes on after a purge.
    await add_events(outbox, clock, 1)
    assert await relay.relay_once() == 1
    assert sink.seqs == [1, 2, 3]


async def test_purge_never_removes_unsent_rows(store: DocumentStore, clock: ManualClock) -> None:
    outbox = Outbox(store, clock)
    sink = RecordingSink()
    relay = make_relay(store, sink, clock)
    await add_events(outbox, clock, 2)
    sink.down = True
    with pytest.raises(ConnectionError):
        await relay.relay_once()
    clock.advance(POLICY.keep_sent_for * 10)
    sink.down = False
    assert await relay.relay_once() == 2
    assert sink.seqs == [1, 2]


# --- relay: run loop -----------------------------------------------------------------------


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.progress = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.progress.set()

    def pauses(self) -> list[float]:
        """The backoff pauses the relay announced, in seconds."""
        found = []
        for record in self.records:
            assert isinstance(record.args, tuple)
            pause = record.args[1]
            assert isinstance(pause, float)
            found.append(pause)
        return found


@pytest.fixture
def relay_log() -> Iterator[ListHandler]:
    logger = logging.getLogger("shared.messaging.outbox")
    handler = ListHandler()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def wait_until(
    condition: Callable[[], bool], progress: asyncio.Event, seconds: float = 5.0
) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            progress.clear()
            await progress.wait()


async def test_run_backs_off_exponentially_with_jitter_then_recovers(
    store: DocumentStore, clock: ManualClock, relay_log: ListHandler
) -> None:
    outbox = Outbox(store, clock)
    await add_events(outbox, clock, 2)
    sink = RecordingSink()
    sink.down = True
    policy = RelayPolicy(
        first_backoff=timedelta(milliseconds=10),
        max_backoff=timedelta(milliseconds=40),
        poll_interval=timedelta(seconds=60),
    )
    relay = OutboxRelay(store, sink, clock, owner="a", wakeup=outbox.pending, policy=policy)
    task = asyncio.create_task(relay.run())
    try:
        await wait_until(lambda: len(relay_log.records) >= 6, relay_log.progress)
        pauses = relay_log.pauses()[:6]
        for pause, step in zip(pauses, [0.01, 0.02, 0.04, 0.04, 0.04, 0.04], strict=True):
            assert step / 2 - 1e-9 <= pause <= step + 1e-9
        assert len(set(pauses)) > 1  # jittered, not a fixed schedule
        assert await unsent(store) == 2

        sink.down = False
        await wait_until(lambda: len(sink.published) == 2, sink.progress)
        logged = len(relay_log.records)
        # Idle now: a new commit wakes the relay long before the 60 s poll.
        await add_events(outbox, clock, 1)
        await wait_until(lambda: len(sink.published) == 3, sink.progress, seconds=2.0)
        assert sink.seqs == [1, 2, 3]
        assert len(relay_log.records) == logged
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert task.cancelled()


async def test_relay_stops_when_cancelled_as_its_wakeup_is_set(sqlite_store: DocumentStore) -> None:
    """Cancelling the relay while work is signalled must stop it (shutdown must not hang)."""
    for _ in range(50):
        wakeup = asyncio.Event()
        relay = OutboxRelay(
            sqlite_store,
            RecordingSink(),
            ManualClock(datetime(2030, 1, 1, tzinfo=UTC)),
            owner="a",
            wakeup=wakeup,
            policy=RelayPolicy(poll_interval=timedelta(seconds=30)),
        )
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(0.01)
        wakeup.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 2)
