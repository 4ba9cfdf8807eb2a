"""Transactional outbox (DESIGN §4): events are stored with the state change, then relayed.

A service never publishes after a write. `Outbox.add` stores the envelope (and the W3C trace
context of the request that caused it) in the same transaction as the state change; the
`OutboxRelay` publishes pending rows with confirms, marks them sent, and backs off with jitter
while the broker is away. Only the holder of the relay lease publishes, so replicas of a service
never publish the same row concurrently; the holder also assigns `producer_seq`, which therefore
stays contiguous per producer whatever the number of replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.store.port import (
    Document,
    DocumentStore,
    DuplicateKeyError,
    Index,
    StoreError,
    Transaction,
    VersionConflictError,
    from_iso,
    to_iso,
)
from shared.telemetry import annotate_event

log = logging.getLogger(__name__)

OUTBOX = "outbox"
OUTBOX_STATE = "outbox_state"
LEASE_ID = "relay-lease"
SEQUENCE_ID = "producer-seq"
OUTBOX_INDEXES = (Index(OUTBOX, ("sent",)),)


class EventSink(Protocol):
    """Where the relay sends envelopes: the bus in production, a recorder in unit tests."""

    async def publish(
        self, envelope: Envelope, *, headers: Mapping[str, str] | None = None
    ) -> None: ...


TraceCarrier = Callable[[], dict[str, str]]


def _no_trace() -> dict[str, str]:
    return {}


class Outbox:
    """Writes events in the caller's transaction and wakes the relay after commit."""

    def __init__(
        self,
        store: DocumentStore,
        clock: Clock,
        *,
        trace_carrier: TraceCarrier = _no_trace,
    ) -> None:
        self._store = store
        self._clock = clock
        self._trace_carrier = trace_carrier
        self.pending = asyncio.Event()

    async def add(self, tx: Transaction, envelope: Envelope) -> None:
        """Store `envelope` for publication as part of `tx`."""
        await tx.insert(
            OUTBOX,
            {
                "_id": envelope.event_id,
                "envelope": envelope.model_dump(mode="json"),
                "trace": self._trace_carrier(),
                "created_at": to_iso(self._clock.now()),
                "sent": False,
                "seq": None,
            },
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """The store's transaction; on commit, tell the relay there is work."""
        async with self._store.transaction() as tx:
            yield tx
        self.pending.set()

    async def publish_alone(self, envelope: Envelope) -> None:
        """An event that changes no state of its own (e.g. a service start)."""
        async with self.transaction() as tx:
            await self.add(tx, envelope)

    async def backlog(self) -> tuple[int, float]:
        """How many events wait for the relay, and the oldest one's age in seconds (0 when
        none): two reads on the `sent` index, cheap enough for a metrics sampler."""
        waiting = await self._store.count(OUTBOX, {"sent": False})
        if waiting == 0:
            return 0, 0.0
        oldest = await self._store.find(OUTBOX, {"sent": False}, sort=[("_id", 1)], limit=1)
        if not oldest:
            return waiting, 0.0
        age = (self._clock.now() - from_iso(oldest[0]["created_at"])).total_seconds()
        return waiting, max(0.0, age)


@dataclass(frozen=True)
class RelayPolicy:
    batch_size: int = 256
    poll_interval: timedelta = timedelta(seconds=1)
    lease_duration: timedelta = timedelta(seconds=15)
    first_backoff: timedelta = timedelta(milliseconds=200)
    max_backoff: timedelta = timedelta(seconds=30)
    keep_sent_for: timedelta = timedelta(days=1)


PublishContext = Callable[[Mapping[str, str]], contextlib.AbstractContextManager[Any]]


def _no_context(_carrier: Mapping[str, str]) -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext()


class OutboxRelay:
    """Publishes pending outbox rows while it holds the relay lease."""

    def __init__(
        self,
        store: DocumentStore,
        sink: EventSink,
        clock: Clock,
        *,
        owner: str,
        wakeup: asyncio.Event,
        policy: RelayPolicy = RelayPolicy(),
        publish_context: PublishContext = _no_context,
    ) -> None:
        self._store = store
        self._sink = sink
        self._clock = clock
        self._owner = owner
        self._wakeup = wakeup
        self._policy = policy
        self._publish_context = publish_context
        # The holder renews its lease once less than three quarters of it is left.
        self._renew_below = policy.lease_duration * 3 / 4
        self._failures = 0
        self._last_purge: datetime | None = None

    @staticmethod
    def indexes() -> tuple[Index, ...]:
        return OUTBOX_INDEXES

    async def run(self) -> None:
        """Relay until cancelled."""
        while True:
            try:
                published = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._failures += 1
                pause = self._backoff()
                log.warning(
                    "outbox relay failed (%s); retrying in %.2fs",
                    type(error).__name__,
                    pause.total_seconds(),
                )
                await asyncio.sleep(pause.total_seconds())
                continue
            self._failures = 0
            if published == 0:
                await self._wait_for_work()

    async def _wait_for_work(self) -> None:
        # Not `asyncio.wait_for`: on Python 3.11 it can swallow a cancellation that arrives as
        # the event is set, and a relay that ignores cancellation hangs the service's shutdown.
        waiter = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait({waiter}, timeout=self._policy.poll_interval.total_seconds())
        finally:
            waiter.cancel()
        self._wakeup.clear()

    def _backoff(self) -> timedelta:
        step = min(
            self._policy.first_backoff * (1 << min(self._failures - 1, 16)),
            self._policy.max_backoff,
        )
        return step * (0.5 + random.random() / 2)

    async def relay_once(self) -> int:
        """Publish one batch if this relay holds the lease; returns how many were published."""
        if not await self._hold_lease():
            return 0
        self._wakeup.clear()
        rows = await self._store.find(
            OUTBOX, {"sent": False}, sort=[("_id", 1)], limit=self._policy.batch_size
        )
        if not rows:
            await self._purge_sent()
            return 0
        rows = await self._sequence(rows)
        # Within half the lease: a batch stuck on a blocked broker must not still be publishing
        # when another replica, seeing the lease expire, takes over and publishes it too.
        async with asyncio.timeout(self._policy.lease_duration.total_seconds() / 2):
            await asyncio.gather(*(self._publish(row) for row in rows))
        await self._store.update(
            OUTBOX,
            {"_id": {"$in": [row["_id"] for row in rows]}},
            {"sent": True, "sent_at": to_iso(self._clock.now())},
        )
        return len(rows)

    async def _publish(self, row: Mapping[str, Any]) -> None:
        envelope = Envelope.model_validate(row["envelope"]).with_seq(int(row["seq"]))
        with self._publish_context(row.get("trace") or {}):
            annotate_event(envelope.subject, envelope.type, envelope.payload)
            await self._sink.publish(envelope)

    async def _sequence(self, rows: list[Document]) -> list[Document]:
        """Give rows without a producer_seq the next numbers, atomically with the counter."""
        if all(row["seq"] is not None for row in rows):
            return rows
        async with self._store.transaction() as tx:
            counter = await tx.get(OUTBOX_STATE, SEQUENCE_ID)
            last = int(counter["last"]) if counter else 0
            for row in rows:
                if row["seq"] is None:
                    last += 1
                    changed = await tx.update(
                        OUTBOX, {"_id": row["_id"], "seq": None}, {"seq": last}
                    )
                    if changed != 1:
                        raise VersionConflictError("outbox row sequenced concurrently")
                    row["seq"] = last
            if counter is None:
                await tx.insert(OUTBOX_STATE, {"_id": SEQUENCE_ID, "last": last})
            else:
                await tx.replace(
                    OUTBOX_STATE,
                    {"_id": SEQUENCE_ID, "last": last},
                    expected_version=int(counter["_version"]),
                )
        return rows

    async def _hold_lease(self) -> bool:
        now = self._clock.now()
        until = to_iso(now + self._policy.lease_duration)
        lease = await self._store.get(OUTBOX_STATE, LEASE_ID)
        try:
            if lease is None:
                await self._store.insert(
                    OUTBOX_STATE, {"_id": LEASE_ID, "owner": self._owner, "until": until}
                )
                return True
            held_until = from_iso(lease["until"])
            if lease["owner"] != self._owner and held_until > now:
                return False
            if lease["owner"] == self._owner and held_until - now > self._renew_below:
                # Held for long enough still: a batch (bounded by half the lease) ends before
                # it expires. Not rewriting it each round spares a commit per round.
                return True
            await self._store.replace(
                OUTBOX_STATE,
                {"_id": LEASE_ID, "owner": self._owner, "until": until},
                expected_version=int(lease["_version"]),
            )
        except (DuplicateKeyError, VersionConflictError):
            return False  # another replica took it first
        return True

    async def release_lease(self) -> None:
        """Let another replica take over at once (graceful shutdown)."""
        lease = await self._store.get(OUTBOX_STATE, LEASE_ID)
        if lease is not None and lease["owner"] == self._owner:
            with contextlib.suppress(StoreError):
                await self._store.delete(
                    OUTBOX_STATE, LEASE_ID, expected_version=int(lease["_version"])
                )

    async def _purge_sent(self) -> None:
        """Drop rows published long ago: the outbox is a queue, not an archive (audit is)."""
        now = self._clock.now()
        if self._last_purge and now - self._last_purge < timedelta(minutes=10):
            return
        self._last_purge = now
        await purge_sent(self._store, now, self._policy.keep_sent_for)


async def purge_sent(store: DocumentStore, now: datetime, keep_sent_for: timedelta) -> int:
    """Delete (up to a thousand) rows sent more than `keep_sent_for` before `now`: a sent row
    still holds its event's payload, personal data included, until then. Returns how many."""
    cutoff = to_iso(now - keep_sent_for)
    old = await store.find(OUTBOX, {"sent": True, "sent_at": {"$lt": cutoff}}, limit=1000)
    for row in old:
        await store.delete(OUTBOX, row["_id"])
    return len(old)
