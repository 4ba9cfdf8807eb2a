"""Journaling: each event appended exactly once to the Merkle log, in groups (group commit).

Each caller hands its envelope to the writer and waits; the writer takes up to `batch_size`
waiting envelopes, in arrival order, and journals them in ONE transaction (entries, tree nodes,
compact range, sealed payloads, producer tracking), then answers every caller. A caller's
answer (and so the message's ack) never precedes the commit of its entry. This is the hot path
(`bench/journal_bench.py`): the per-message work is the caller's, before any transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext

from audit import merkle
from audit.context import Context
from audit.domain import (
    EntryReaders,
    JournalEntry,
    build_entry,
    entry_leaf_hash,
    new_salt,
    payload_commitment,
    sealed_record,
)
from audit.gaps import Arrival
from audit.repository import Entries, Tree
from audit.sequences import Observed, ProducerTracking
from audit.vault import Sealable
from shared.contracts.envelope import Envelope
from shared.messaging.batch import consumed_span
from shared.store.port import Transaction
from shared.telemetry import span

log = logging.getLogger(__name__)


class JournalStateError(RuntimeError):
    """The stored journal and its tree state disagree: the service must not start."""


class JournalBatchError(Exception):
    """The batch holding the envelope was rolled back (its cause attached): nothing of it was
    written, and every message of it is retried."""


class JournalWriterStoppedError(Exception):
    """The writer was stopped before it answered: the message is retried (and dropped as a
    duplicate if its entry was committed after all)."""


@dataclass(frozen=True)
class _Waiting:
    """An envelope handed to the writer, what it contributes (computed by its caller, before
    any transaction), and the future its handler awaits."""

    envelope: Envelope
    commitment: str
    record: bytes
    readers: EntryReaders
    journaled: asyncio.Future[bool]
    cause: SpanContext
    """The span of the handler that waits (the group commit links to it)."""


@dataclass
class _BatchOutcome:
    results: list[bool]
    duplicates: int = 0
    arrivals: list[Observed] = field(default_factory=list)


def _fail(waiting: Iterable[_Waiting], cause: Exception | None) -> None:
    for item in waiting:
        if not item.journaled.done():
            # One exception per caller: a single instance re-raised by every handler of the
            # batch would grow its traceback with each of them.
            if cause is None:
                error: Exception = JournalWriterStoppedError("the journal writer was stopped")
            else:
                error = JournalBatchError(f"journal batch failed: {type(cause).__name__}")
                error.__cause__ = cause
            item.journaled.set_exception(error)


class JournalWriter:
    """The one writer of this process: appends in groups, under the context's lock."""

    def __init__(self, ctx: Context, tracking: ProducerTracking) -> None:
        self.ctx = ctx
        self._tracking = tracking
        self._waiting: deque[_Waiting] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._writing: list[_Waiting] = []

    async def append(self, envelope: Envelope) -> bool:
        """Journal `envelope` unless its event id already is; True if it was appended.

        Returns once the entry is committed: entry, tree nodes, compact range, sealed payload
        and producer tracking commit together (with the rest of its batch), so a crash leaves
        either all of them or none. Raises what made the batch fail: nothing of it was written.
        """
        (waiting,) = self._hand_over([envelope])
        return await waiting

    async def append_many(self, envelopes: Sequence[Envelope]) -> list[bool]:
        """`append` for each envelope, in order, waiting together (a consumer's batch): one
        flag per envelope; raises what made a batch fail once every one of them is answered."""
        answers = self._hand_over(envelopes)
        await asyncio.wait(answers)
        return [answer.result() for answer in answers]

    def _hand_over(self, envelopes: Sequence[Envelope]) -> list[asyncio.Future[bool]]:
        # The pure work is done here, by the caller, for all of them before any is handed
        # over: a payload that cannot be committed to fails its caller only, and the writer's
        # transaction stays short.
        loop = asyncio.get_running_loop()
        current = trace.get_current_span().get_span_context()
        prepared: list[_Waiting] = []
        for envelope in envelopes:
            salt = new_salt()
            readers = EntryReaders.of(envelope)
            prepared.append(
                _Waiting(
                    envelope,
                    payload_commitment(salt, envelope.payload),
                    sealed_record(envelope, salt, readers),
                    readers,
                    loop.create_future(),
                    # The consumer's span of its message, when a batch consumer carried it.
                    consumed_span(envelope.event_id) or current,
                )
            )
        self._waiting.extend(prepared)
        # The writer runs while envelopes wait and ends when none do: no task to manage.
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="audit-journal-writer")
        return [waiting.journaled for waiting in prepared]

    async def drain(self) -> None:
        """Wait until every envelope handed to the writer so far is answered (at shutdown,
        before the store closes; envelopes handed over later are not waited for)."""
        pending = [w.journaled for w in (*self._writing, *self._waiting)]
        if pending:
            await asyncio.wait(pending)

    async def check_consistency(self) -> None:
        """Refuse to run on a store whose entries and tree state disagree (e.g. a journal
        written by an incompatible earlier build): appending would collide on every batch."""
        tree = await self.ctx.tree.state()
        stored = await self.ctx.entries.count()
        if stored != tree.size:
            raise JournalStateError(
                f"the journal holds {stored} entries but its tree state says {tree.size}: "
                "this store was not written by this journal; restore it or start a new one"
            )

    async def _write(self) -> None:
        while self._waiting:
            count = min(len(self._waiting), self.ctx.config.batch_size)
            batch = self._writing = [self._waiting.popleft() for _ in range(count)]
            try:
                async with self.ctx.lock:
                    # One commit for many acts: a trace of its own, linked to each handler's.
                    # (once per handler: a consumer's batch hands many envelopes over at once)
                    causes = {w.cause.span_id: w.cause for w in batch if w.cause.is_valid}
                    links = [Link(cause) for cause in causes.values()]
                    with span("journal group commit", root=True, links=links) as commit:
                        commit.set_attribute("securact.batch.size", count)
                        outcome = await self._append_batch(batch)
            except asyncio.CancelledError:
                # Perhaps committed, perhaps not: a redelivery is dropped as a duplicate.
                _fail(batch, None)
                _fail(self._waiting, None)
                self._waiting.clear()
                raise
            except Exception as error:
                # Rolled back: nothing of the batch was written, every message of it is retried.
                log.warning("journal batch of %d failed (%s)", count, type(error).__name__)
                _fail(batch, error)
                continue
            self._record(outcome)
            for waiting, appended in zip(batch, outcome.results, strict=True):
                if not waiting.journaled.done():  # its handler may have been cancelled
                    waiting.journaled.set_result(appended)

    def _record(self, outcome: _BatchOutcome) -> None:
        stats = self.ctx.stats
        for _ in range(outcome.results.count(True)):
            stats.count("appended")
        for _ in range(outcome.duplicates):
            stats.count("duplicates")
        for producer, arrival, seq in outcome.arrivals:
            if arrival is Arrival.LATE:
                stats.count("late_arrivals", {"producer": producer})
            elif arrival is Arrival.REPEATED:
                stats.count("repeated_sequences", {"producer": producer})
                log.warning("%s reused producer_seq %d under another event id", producer, seq)

    async def _append_batch(self, batch: Sequence[_Waiting]) -> _BatchOutcome:
        """Journal the batch in arrival order in one transaction, dropping every event id
        already journaled or seen earlier in the batch."""
        now = self.ctx.clock.now()
        outcome = _BatchOutcome(results=[False] * len(batch))
        async with self.ctx.store.transaction() as tx:
            # One read finds the duplicates of the whole batch.
            ids = list(dict.fromkeys(item.envelope.event_id for item in batch))
            seen = await Entries.journaled(tx, ids)
            fresh: list[_Waiting] = []
            for position, item in enumerate(batch):
                if item.envelope.event_id in seen:
                    outcome.duplicates += 1
                    log.info("duplicate %s dropped", item.envelope.event_id)
                    continue
                seen.add(item.envelope.event_id)
                outcome.results[position] = True
                fresh.append(item)
            if not fresh:
                return outcome
            outcome.arrivals = await self._commit(tx, fresh, now)
        return outcome

    async def _commit(
        self, tx: Transaction, fresh: Sequence[_Waiting], now: datetime
    ) -> list[Observed]:
        """Entries, nodes, payloads, tracking and tree state of the fresh envelopes, in `tx`."""
        state = await self.ctx.tree.state(tx)
        tree = state.compact()
        entries: list[JournalEntry] = []
        nodes: list[tuple[merkle.NodeId, bytes]] = []
        for item in fresh:
            entry = build_entry(
                item.envelope, index=tree.size, journaled_at=now, commitment=item.commitment
            )
            entries.append(entry)
            nodes.extend(tree.append(entry_leaf_hash(entry)))
        await Entries.add(tx, entries)
        await Tree.add_nodes(tx, nodes)
        await self.ctx.vault.seal(
            tx, [Sealable(item.envelope, item.record, item.readers) for item in fresh]
        )
        arrivals = await self._tracking.track(tx, [item.envelope for item in fresh], now)
        await Tree.save_state(tx, tree, state)
        return arrivals
