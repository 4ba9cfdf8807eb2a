"""Audit use cases: journal each event exactly once into the Merkle log, sign checkpoints,
serve entries and proofs, watch producer sequences, shred a subject's payloads.

Storage layout (audit's own store; appends commit in batches, each ONE transaction):

- `journal`: one entry per event, `_id` = zero-padded index (exactly the leaf's fields).
- `journal_nodes`: the hash of every complete subtree `(level, index)`, written once when it
  completes (the leaf at level 0, then on average one parent per append). Any proof is then
  a single batched read of O(log n) nodes, whatever the tree size; the alternative, tiles
  (C2SP tlog-tiles), would need partial tiles rewritten on every append and buys nothing for
  a log that is not served as static files.
- `journal_state/tree`: the size and the compact range (O(log n) hashes), with which the
  writer appends and resumes exactly after a restart.
- `journal_payloads`, `journal_subject_keys`: see `audit.vault`.
- `journal_producers`: per producer sequence tracking (see `audit.gaps`).
- `journal_checkpoints`: every signed checkpoint, `_id` = zero-padded size, kept forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, cast

from opentelemetry import metrics, trace
from opentelemetry.trace import Link, SpanContext

from audit import merkle
from audit.checkpoint import Checkpoint, Receipt, open_checkpoint
from audit.domain import (
    EntryReaders,
    build_entry,
    entry_leaf_hash,
    leaf_data,
    new_salt,
    payload_commitment,
    sealed_record,
)
from audit.gaps import Arrival, ProducerSequence
from audit.vault import SUBJECT_KEYS, OpenedPayload, PayloadVault, Sealable, StoredPayload
from shared.clock import Clock
from shared.contracts.audit import GapDetectedV1
from shared.contracts.envelope import Envelope
from shared.crypto import IntegrityError, SigningKeyRing
from shared.events import Emitter
from shared.metrics import instruments
from shared.store.port import (
    DocumentReader,
    DocumentStore,
    DuplicateKeyError,
    Index,
    Transaction,
    from_iso,
    to_iso,
    version_of,
)
from shared.telemetry import OUTCOME, span

log = logging.getLogger(__name__)

JOURNAL: Final = "journal"
NODES: Final = "journal_nodes"
STATE: Final = "journal_state"
TREE: Final = "tree"
CHECKPOINTS: Final = "journal_checkpoints"
PRODUCERS: Final = "journal_producers"
INDEXES = (
    Index(JOURNAL, ("event_id",), unique=True),
    Index(JOURNAL, ("index",), unique=True),
    Index(JOURNAL, ("subject", "index")),
    Index(PRODUCERS, ("gap_since",)),
)
MAX_PAGE = 1000
# Envelopes journaled per transaction at most (group commit); see Journal.
DEFAULT_BATCH_SIZE = 256


def entry_key(index: int) -> str:
    # Zero-padded so that the primary key sorts in journal order.
    return f"{index:012d}"


def node_key(node: merkle.NodeId) -> str:
    level, index = node
    return f"{level:02d}.{index:012d}"


def checkpoint_key(size: int) -> str:
    return f"{size:012d}"


class JournalStateError(RuntimeError):
    """The stored journal and its tree state disagree: the service must not start."""


class JournalBatchError(Exception):
    """The batch holding the envelope was rolled back (its cause attached): nothing of it was
    written, and every message of it is retried."""


class JournalWriterStoppedError(Exception):
    """The writer was stopped before it answered: the message is retried (and dropped as a
    duplicate if its entry was committed after all)."""


class JournalCorruptError(Exception):
    """The store lacks a node or holds one that does not fit: `securact-audit verify`."""


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    path: list[bytes]


@dataclass(frozen=True)
class StoredCheckpoint:
    checkpoint: Checkpoint
    note: str
    signed_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.checkpoint.size,
            "root": self.checkpoint.root.hex(),
            "note": self.note,
            "signed_at": self.signed_at,
        }


@dataclass
class JournalStats:
    """Counters of this process, served at /v1/stats and mirrored as OpenTelemetry metrics."""

    appended: int = 0
    duplicates: int = 0
    gaps_detected: int = 0
    late_arrivals: int = 0
    repeated_sequences: int = 0
    checkpoints_signed: int = 0
    checkpoints_refused: int = 0
    _meter: metrics.Meter = field(default_factory=lambda: metrics.get_meter("audit.journal"))

    def __post_init__(self) -> None:
        self._counters = {
            name: self._meter.create_counter(f"audit.{name}")
            for name in (
                "appended",
                "duplicates",
                "gaps_detected",
                "late_arrivals",
                "repeated_sequences",
                "checkpoints_signed",
                "checkpoints_refused",
            )
        }

    def count(self, name: str, attributes: dict[str, str] | None = None) -> None:
        setattr(self, name, getattr(self, name) + 1)
        self._counters[name].add(1, attributes or {})

    def to_json(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in self._counters}


def _compact(state: dict[str, Any] | None) -> merkle.CompactRange:
    if state is None:
        return merkle.CompactRange()
    return merkle.CompactRange(int(state["size"]), [bytes.fromhex(h) for h in state["frontier"]])


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


def public_entry(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if not k.startswith("_")}


async def read_nodes(
    reader: DocumentReader, nodes: Iterable[merkle.NodeId]
) -> dict[merkle.NodeId, bytes]:
    """The hashes of `nodes`, in one query; JournalCorruptError if one is missing."""
    wanted = {node_key(node): node for node in nodes}
    if not wanted:
        return {}
    found = await reader.find(NODES, {"_id": {"$in": list(wanted)}})
    hashes = {wanted[doc["_id"]]: bytes.fromhex(doc["hash"]) for doc in found}
    if len(hashes) != len(wanted):
        missing = sorted(set(wanted.values()) - set(hashes))
        raise JournalCorruptError(f"tree nodes missing: {missing[:3]}")
    return hashes


async def tree_root(reader: DocumentReader, size: int) -> bytes:
    """`MTH` of the first `size` leaves from the stored nodes."""
    nodes = merkle.subtree_nodes(0, size)
    hashes = await read_nodes(reader, nodes)
    return merkle.fold([hashes[node] for node in nodes])


async def inclusion_proof(reader: DocumentReader, index: int, size: int) -> InclusionProof:
    """The audit path of entry `index` in the tree of `size`: one batched read."""
    plan = merkle.inclusion_plan(index, size)
    leaf = (0, index)
    hashes = await read_nodes(reader, merkle.plan_nodes(plan) | {leaf})
    return InclusionProof(index, size, hashes[leaf], merkle.resolve(plan, hashes))


async def consistency_proof(reader: DocumentReader, first: int, second: int) -> list[bytes]:
    plan = merkle.consistency_plan(first, second)
    return merkle.resolve(plan, await read_nodes(reader, merkle.plan_nodes(plan)))


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
    arrivals: list[tuple[str, Arrival, int]] = field(default_factory=list)


class Journal:
    """The append-only Merkle log in audit's store, with one writer per process.

    Appends are committed in groups (group commit): each caller hands its envelope to the
    writer and waits; the writer takes up to `batch_size` waiting envelopes, in arrival order,
    and journals them in ONE transaction, then answers every caller. A caller's answer (and so
    the message's ack) never precedes the commit of its entry. Batches, gap declarations and
    shredding are serialised by a lock; across processes the tree state document's version
    makes a second writer fail instead of forking the tree.
    """

    def __init__(
        self,
        store: DocumentStore,
        clock: Clock,
        vault: PayloadVault,
        events: Emitter,
        *,
        gap_delay: timedelta = timedelta(seconds=60),
        batch_size: int = DEFAULT_BATCH_SIZE,
        stats: JournalStats | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("a batch holds at least one envelope")
        self._store = store
        self._clock = clock
        self._vault = vault
        self._events = events
        self._gap_delay = gap_delay
        self._batch_size = batch_size
        self._lock = asyncio.Lock()
        self._waiting: deque[_Waiting] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._writing: list[_Waiting] = []
        self.stats = stats or JournalStats()

    # -- writing -----------------------------------------------------------------------------

    async def append(self, envelope: Envelope) -> bool:
        """Journal `envelope` unless its event id already is; True if it was appended.

        Returns once the entry is committed: entry, tree nodes, compact range, sealed payload
        and producer tracking commit together (with the rest of its batch), so a crash leaves
        either all of them or none. Raises what made the batch fail: nothing of it was written.
        """
        # The pure work is done here, by the caller: a payload that cannot be committed to
        # fails its own message only, and the writer's transaction stays short.
        salt = new_salt()
        commitment = payload_commitment(salt, envelope.payload)
        readers = EntryReaders.of(envelope)
        record = sealed_record(envelope, salt, readers)
        journaled: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        cause = trace.get_current_span().get_span_context()
        self._waiting.append(_Waiting(envelope, commitment, record, readers, journaled, cause))
        # The writer runs while envelopes wait and ends when none do: no task to manage.
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="audit-journal-writer")
        return await journaled

    async def drain(self) -> None:
        """Wait until every envelope handed to the writer so far is answered (at shutdown,
        before the store closes; envelopes handed over later are not waited for)."""
        pending = [w.journaled for w in (*self._writing, *self._waiting)]
        if pending:
            await asyncio.wait(pending)

    async def _write(self) -> None:
        while self._waiting:
            count = min(len(self._waiting), self._batch_size)
            batch = self._writing = [self._waiting.popleft() for _ in range(count)]
            try:
                async with self._lock:
                    # One commit for many acts: a trace of its own, linked to each handler's.
                    links = [Link(w.cause) for w in batch if w.cause.is_valid]
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
        for _ in range(outcome.results.count(True)):
            self.stats.count("appended")
        for _ in range(outcome.duplicates):
            self.stats.count("duplicates")
        for producer, arrival, seq in outcome.arrivals:
            if arrival is Arrival.LATE:
                self.stats.count("late_arrivals", {"producer": producer})
            elif arrival is Arrival.REPEATED:
                self.stats.count("repeated_sequences", {"producer": producer})
                log.warning("%s reused producer_seq %d under another event id", producer, seq)

    async def _append_batch(self, batch: Sequence[_Waiting]) -> _BatchOutcome:
        """Journal the batch in arrival order in one transaction, dropping every event id
        already journaled or seen earlier in the batch."""
        now = self._clock.now()
        outcome = _BatchOutcome(results=[False] * len(batch))
        async with self._store.transaction() as tx:
            # One read finds the duplicates of the whole batch.
            ids = list(dict.fromkeys(item.envelope.event_id for item in batch))
            seen = {
                str(document["event_id"])
                for document in await tx.find(JOURNAL, {"event_id": {"$in": ids}})
            }
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
            state = await tx.get(STATE, TREE)
            tree = _compact(state)
            entries: list[dict[str, Any]] = []
            nodes: list[dict[str, Any]] = []
            for item in fresh:
                entry = build_entry(
                    item.envelope, index=tree.size, journaled_at=now, commitment=item.commitment
                )
                entries.append({"_id": entry_key(tree.size), **entry})
                nodes.extend(
                    {"_id": node_key(node), "hash": digest.hex()}
                    for node, digest in tree.append(entry_leaf_hash(entry))
                )
            # One round trip per collection; the unique event id index still guards against
            # another process's writer.
            await tx.insert_many(JOURNAL, entries)
            await tx.insert_many(NODES, nodes)
            await self._vault.seal(
                tx, [Sealable(item.envelope, item.record, item.readers) for item in fresh]
            )
            outcome.arrivals = await self._track(tx, [item.envelope for item in fresh], now)
            frontier = [h.hex() for h in tree.frontier]
            document = {"_id": TREE, "size": tree.size, "frontier": frontier}
            if state is None:
                await tx.insert(STATE, document)
            else:
                await tx.replace(STATE, document, expected_version=version_of(state))
        return outcome

    async def _track(
        self, tx: Transaction, envelopes: Sequence[Envelope], now: datetime
    ) -> list[tuple[str, Arrival, int]]:
        """Observe every producer sequence of the batch: one read, one write per producer."""
        sequenced = [e for e in envelopes if e.producer_seq is not None]
        if not sequenced:
            return []
        producers = list(dict.fromkeys(e.producer for e in sequenced))
        found = await tx.find(PRODUCERS, {"_id": {"$in": producers}})
        documents = {str(document["_id"]): document for document in found}
        trackers = {
            producer: ProducerSequence.from_document(documents[producer])
            if producer in documents
            else ProducerSequence(producer)
            for producer in producers
        }
        arrivals = []
        for envelope in sequenced:
            seq = cast(int, envelope.producer_seq)
            arrival = trackers[envelope.producer].observe(seq, now)
            arrivals.append((envelope.producer, arrival, seq))
        for producer, tracker in trackers.items():
            await _save_tracker(tx, documents.get(producer), tracker)
        return arrivals

    async def check_gaps(self) -> int:
        """Declare every gap older than the delay: one `audit.gap-detected.v1` each, through
        the outbox, in the same write that moves tracking past it (never declared twice)."""
        declared = 0
        async with self._lock:
            open_gaps = await self._store.find(PRODUCERS, {"gap_since": {"$ne": None}})
            for document in open_gaps:
                tracker = ProducerSequence.from_document(document)
                now = self._clock.now()
                gap = tracker.overdue(now, self._gap_delay)
                if gap is None:
                    continue
                event = GapDetectedV1(
                    source_producer=gap.producer,
                    expected_seq=gap.expected_seq,
                    first_seen_seq=gap.first_seen_seq,
                    detected_at=now,
                )
                tracker.declare(gap, now)
                async with self._events.outbox.transaction() as tx:
                    await _save_tracker(tx, document, tracker)
                    await self._events.emit(tx, event, subject=f"producer:{gap.producer}")
                declared += 1
                self.stats.count("gaps_detected", {"producer": gap.producer})
                instruments().journal_gaps.add(1, {"securact.producer": gap.producer})
                log.warning(
                    "gap in %s: producer_seq %d..%d never arrived",
                    gap.producer,
                    gap.expected_seq,
                    gap.first_seen_seq - 1,
                )
        return declared

    async def shred_subject(self, subject: str) -> bool:
        """Make every payload of `subject` unrecoverable for good (retention's use case);
        entries, roots and proofs are unaffected. True if a key was destroyed."""
        async with self._lock:
            return await self._vault.shred(self._store, subject)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Hold the writer's lock: no batch of this process seals a payload meanwhile. Open the
        transaction of `shred_subjects` inside it (never the other way round: the writer takes
        the lock, then its transaction)."""
        async with self._lock:
            yield

    async def shred_subjects(self, tx: Transaction, subjects: Sequence[str]) -> list[str]:
        """Destroy the payload keys of `subjects` in `tx`, which the caller opened inside
        `exclusive()`; the subjects whose key was destroyed now (those already shredded, or
        never journaled, get or keep a tombstone). Entries, roots and proofs are unaffected."""
        if not self._lock.locked():
            raise RuntimeError("shred_subjects runs inside Journal.exclusive()")
        destroyed: list[str] = []
        for subject in dict.fromkeys(subjects):
            if await self._vault.shred_in(tx, subject):
                destroyed.append(subject)
        return destroyed

    async def check_consistency(self) -> None:
        """Refuse to run on a store whose entries and tree state disagree (e.g. a journal
        written by an incompatible earlier build): appending would collide on every batch."""
        tree = _compact(await self._store.get(STATE, TREE))
        stored = await self._store.count(JOURNAL)
        if stored != tree.size:
            raise JournalStateError(
                f"the journal holds {stored} entries but its tree state says {tree.size}: "
                "this store was not written by this journal; restore it or start a new one"
            )

    # -- reading -----------------------------------------------------------------------------

    async def head(self) -> TreeHead:
        tree = _compact(await self._store.get(STATE, TREE))
        return TreeHead(tree.size, tree.root())

    async def entry(self, index: int) -> dict[str, Any] | None:
        document = await self._store.get(JOURNAL, entry_key(index))
        return public_entry(document) if document else None

    async def entries(
        self,
        *,
        subject: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        after: int = -1,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Entries in journal order after `after`, filtered by exact subject, type and event id
        (the unique index on event ids serves a receipt's lookup)."""
        where: dict[str, Any] = {"index": {"$gt": after}}
        if subject is not None:
            where["subject"] = subject
        if event_id is not None:
            where["event_id"] = event_id
        if event_type is not None:
            where["type"] = event_type
        found = await self._store.find(
            JOURNAL, where, sort=[("index", 1)], limit=min(limit, MAX_PAGE)
        )
        return [public_entry(doc) for doc in found]

    async def payload(self, entry: dict[str, Any]) -> OpenedPayload:
        return await self._vault.open(self._store, entry)

    async def stored_payload(self, entry: dict[str, Any]) -> StoredPayload:
        """What is kept of the entry's payload and who may read it, nothing decrypted."""
        return await self._vault.stored(self._store, entry)

    async def open_payload(self, stored: StoredPayload) -> OpenedPayload:
        return await self._vault.open_stored(stored)

    async def owners(self, subject: str) -> frozenset[str]:
        return await self._vault.owners(self._store, subject)

    async def is_shredded(self, subject: str) -> bool:
        document = await self._store.get(SUBJECT_KEYS, subject)
        return document is not None and document.get("wrapped") is None

    async def inclusion_proof(self, index: int, size: int) -> InclusionProof:
        """The audit path of entry `index` in the tree of `size` (index < size <= tree size)."""
        return await inclusion_proof(self._store, index, size)

    async def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return await consistency_proof(self._store, first, second)

    async def root_at(self, size: int) -> bytes:
        return await tree_root(self._store, size)


async def _save_tracker(
    tx: Transaction, current: dict[str, Any] | None, tracker: ProducerSequence
) -> None:
    document = {"_id": tracker.producer, **tracker.to_document()}
    if current is None:
        await tx.insert(PRODUCERS, document)
    else:
        await tx.replace(PRODUCERS, document, expected_version=version_of(current))


class Checkpoints:
    """Signs checkpoints of the journal and serves them; never stores two inconsistent ones."""

    def __init__(
        self,
        store: DocumentStore,
        clock: Clock,
        journal: Journal,
        signer: SigningKeyRing,
        origin: str,
    ) -> None:
        self._store = store
        self._clock = clock
        self._journal = journal
        self._signer = signer
        self.origin = origin

    def verifier_keys(self) -> list[str]:
        return self._signer.verifier_keys()

    async def latest(self) -> StoredCheckpoint | None:
        found = await self._store.find(CHECKPOINTS, sort=[("_id", -1)], limit=1)
        return self._stored(found[0]) if found else None

    async def latest_signed_at(self) -> datetime | None:
        """When the latest checkpoint was signed (its note unread: for metrics)."""
        found = await self._store.find(CHECKPOINTS, sort=[("_id", -1)], limit=1)
        return from_iso(str(found[0]["signed_at"])) if found else None

    async def since(self, from_size: int, limit: int) -> list[StoredCheckpoint]:
        found = await self._store.find(
            CHECKPOINTS,
            {"_id": {"$gte": checkpoint_key(from_size)}},
            sort=[("_id", 1)],
            limit=min(limit, MAX_PAGE),
        )
        return [self._stored(doc) for doc in found]

    def _stored(self, document: dict[str, Any]) -> StoredCheckpoint:
        # The root served is the one the signature covers, not a copy beside it.
        note = str(document["note"])
        checkpoint = open_checkpoint(note, self._signer.published, origin=self.origin)
        if checkpoint.size != int(document["size"]):
            raise IntegrityError(f"checkpoint {document['_id']} does not match its note")
        return StoredCheckpoint(checkpoint, note, str(document["signed_at"]))

    async def sign_if_grown(self) -> StoredCheckpoint | None:
        """Sign a checkpoint of the current tree if it grew since the last one, after proving
        the new tree extends the last signed one; None if nothing was signed."""
        with span("checkpoint signing", root=True) as signing:
            signed = await self._sign_if_grown()
            signing.set_attribute(OUTCOME, "signed" if signed else "unchanged")
            return signed

    async def _sign_if_grown(self) -> StoredCheckpoint | None:
        head = await self._journal.head()
        latest = await self.latest()
        if latest is not None and head.size <= latest.checkpoint.size:
            if head.size < latest.checkpoint.size:
                self._journal.stats.count("checkpoints_refused")
                log.error(
                    "journal has %d entries but checkpoint %d was signed: entries lost",
                    head.size,
                    latest.checkpoint.size,
                )
            return None
        if not await self._extends(latest, head):
            self._journal.stats.count("checkpoints_refused")
            return None
        checkpoint = Checkpoint(self.origin, head.size, head.root)
        # Off the event loop: with the key in an HSM a signature is a device round trip.
        note = await self._signer.sign_note_async(checkpoint.body())
        signed_at = to_iso(self._clock.now())
        try:
            await self._store.insert(
                CHECKPOINTS,
                {
                    "_id": checkpoint_key(head.size),
                    "size": head.size,
                    "root": head.root.hex(),
                    "note": note,
                    "signed_at": signed_at,
                    "key_id": self._signer.active.key_id,
                },
            )
        except DuplicateKeyError:
            return None  # another signer got there first, with the same tree
        self._journal.stats.count("checkpoints_signed")
        return StoredCheckpoint(checkpoint, note, signed_at)

    async def _extends(self, latest: StoredCheckpoint | None, head: TreeHead) -> bool:
        try:
            if await self._journal.root_at(head.size) != head.root:
                log.error("stored tree nodes disagree with the compact range at %d", head.size)
                return False
            if latest is None or latest.checkpoint.size == 0:
                return True
            old = latest.checkpoint
            proof = await self._journal.consistency_proof(old.size, head.size)
        except JournalCorruptError:
            log.exception("cannot prove the tree extends the last checkpoint")
            return False
        if not merkle.verify_consistency(old.size, head.size, old.root, head.root, proof):
            log.error("tree of %d is NOT consistent with checkpoint %d", head.size, old.size)
            return False
        return True

    async def receipt(self, index: int) -> Receipt | None:
        """The tlog-proof of entry `index` under the latest checkpoint; None if no checkpoint
        covers it yet."""
        latest = await self.latest()
        entry = await self._journal.entry(index)
        if latest is None or entry is None or index >= latest.checkpoint.size:
            return None
        proof = await self._journal.inclusion_proof(index, latest.checkpoint.size)
        return Receipt(index, tuple(proof.path), latest.note, extra=leaf_data(entry))
