"""Audit's records on the store port, one small repository each: reads parse into typed records,
writes carry the version read (`replace` at `expected_version`), so that a second writer fails
instead of overwriting. Write methods take the transaction they belong to; read methods read
the store unless given a transaction (or any reader) to read in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, cast

from audit import merkle
from audit.domain import EntryReaders, JournalEntry
from audit.gaps import ProducerSequence
from audit.records import (
    CHECKPOINTS,
    JOURNAL,
    MAX_PAGE,
    NODES,
    PAYLOADS,
    PRODUCERS,
    STATE,
    SUBJECT_KEYS,
    TREE,
    checkpoint_key,
    entry_key,
    node_key,
)
from shared.store.port import ID, VERSION, DocumentReader, DocumentWriter, version_of


class JournalCorruptError(Exception):
    """The store lacks a node or holds one that does not fit: `securact-audit verify`."""


def _version(document: Mapping[str, Any]) -> int | None:
    return version_of(document) if VERSION in document else None


# -- entries -------------------------------------------------------------------------------


def public_entry(document: Mapping[str, Any]) -> JournalEntry:
    """The entry of a stored document: its fields without the store's (`_id`, `_version`)."""
    return cast(JournalEntry, {k: v for k, v in document.items() if not k.startswith("_")})


class Entries:
    """The journal's entries, in journal order."""

    def __init__(self, store: DocumentReader) -> None:
        self._store = store

    async def get(self, index: int) -> JournalEntry | None:
        document = await self._store.get(JOURNAL, entry_key(index))
        return public_entry(document) if document else None

    async def page(
        self,
        *,
        subject: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        after: int = -1,
        limit: int = 100,
    ) -> list[JournalEntry]:
        """Entries after `after`, filtered by exact subject, type and event id (the unique
        index on event ids serves a receipt's lookup)."""
        where: dict[str, object] = {"index": {"$gt": after}}
        if subject is not None:
            where["subject"] = subject
        if event_id is not None:
            where["event_id"] = event_id
        if event_type is not None:
            where["type"] = event_type
        found = await self._store.find(
            JOURNAL, where, sort=[("index", 1)], limit=min(limit, MAX_PAGE)
        )
        return [public_entry(document) for document in found]

    async def count(self) -> int:
        return await self._store.count(JOURNAL)

    @staticmethod
    async def journaled(reader: DocumentReader, event_ids: list[str]) -> set[str]:
        """Which of `event_ids` are journaled already: one read."""
        found = await reader.find(JOURNAL, {"event_id": {"$in": event_ids}})
        return {str(document["event_id"]) for document in found}

    @staticmethod
    async def add(tx: DocumentWriter, entries: Sequence[JournalEntry]) -> None:
        # One round trip; the unique event id index still guards against another writer.
        await tx.insert_many(JOURNAL, [{ID: entry_key(e["index"]), **e} for e in entries])


# -- the tree: its nodes and its compact range ----------------------------------------------


@dataclass(frozen=True)
class TreeState:
    """The tree's size and compact range as stored (`version` None: never stored)."""

    size: int = 0
    frontier: tuple[bytes, ...] = ()
    version: int | None = None

    def compact(self) -> merkle.CompactRange:
        return merkle.CompactRange(self.size, list(self.frontier))


class Tree:
    """The stored subtree hashes and the compact range the writer resumes from."""

    def __init__(self, store: DocumentReader) -> None:
        self._store = store

    async def state(self, reader: DocumentReader | None = None) -> TreeState:
        document = await (reader or self._store).get(STATE, TREE)
        if document is None:
            return TreeState()
        frontier = tuple(bytes.fromhex(h) for h in document["frontier"])
        return TreeState(int(document["size"]), frontier, _version(document))

    @staticmethod
    async def save_state(tx: DocumentWriter, tree: merkle.CompactRange, read: TreeState) -> None:
        """Store `tree` over the state `read` (its version guards against another writer)."""
        document = {ID: TREE, "size": tree.size, "frontier": [h.hex() for h in tree.frontier]}
        if read.version is None:
            await tx.insert(STATE, document)
        else:
            await tx.replace(STATE, document, expected_version=read.version)

    @staticmethod
    async def add_nodes(tx: DocumentWriter, nodes: Iterable[tuple[merkle.NodeId, bytes]]) -> None:
        await tx.insert_many(
            NODES, [{ID: node_key(node), "hash": digest.hex()} for node, digest in nodes]
        )

    async def nodes(
        self, nodes: Iterable[merkle.NodeId], reader: DocumentReader | None = None
    ) -> dict[merkle.NodeId, bytes]:
        return await read_nodes(reader or self._store, nodes)


async def read_nodes(
    reader: DocumentReader, nodes: Iterable[merkle.NodeId]
) -> dict[merkle.NodeId, bytes]:
    """The hashes of `nodes`, in one query; JournalCorruptError if one is missing."""
    wanted = {node_key(node): node for node in nodes}
    if not wanted:
        return {}
    found = await reader.find(NODES, {ID: {"$in": list(wanted)}})
    hashes = {wanted[doc[ID]]: bytes.fromhex(doc["hash"]) for doc in found}
    if len(hashes) != len(wanted):
        missing = sorted(set(wanted.values()) - set(hashes))
        raise JournalCorruptError(f"tree nodes missing: {missing[:3]}")
    return hashes


# -- checkpoints ---------------------------------------------------------------------------


class CheckpointDocument(TypedDict):
    """A signed checkpoint as stored (`_id` is `checkpoint_key(size)`)."""

    size: int
    root: str
    note: str
    signed_at: str
    key_id: str


@dataclass(frozen=True)
class CheckpointRecord:
    """A stored checkpoint, before its note is opened (`audit.checkpoints` checks it)."""

    key: str
    size: int
    note: str
    signed_at: str

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> CheckpointRecord:
        return cls(
            str(document[ID]),
            int(document["size"]),
            str(document["note"]),
            str(document["signed_at"]),
        )


class CheckpointLog:
    """Every signed checkpoint, kept forever, in size order."""

    def __init__(self, store: DocumentReader) -> None:
        self._store = store

    async def latest(self) -> CheckpointRecord | None:
        found = await self._store.find(CHECKPOINTS, sort=[(ID, -1)], limit=1)
        return CheckpointRecord.of(found[0]) if found else None

    async def since(self, from_size: int, limit: int) -> list[CheckpointRecord]:
        found = await self._store.find(
            CHECKPOINTS,
            {ID: {"$gte": checkpoint_key(from_size)}},
            sort=[(ID, 1)],
            limit=min(limit, MAX_PAGE),
        )
        return [CheckpointRecord.of(document) for document in found]

    @staticmethod
    async def add(writer: DocumentWriter, checkpoint: CheckpointDocument) -> None:
        """DuplicateKeyError if a checkpoint of that size is stored already."""
        await writer.insert(CHECKPOINTS, {ID: checkpoint_key(checkpoint["size"]), **checkpoint})


# -- producer sequences --------------------------------------------------------------------


class Producers:
    """Each producer's sequence tracking (`audit.gaps`)."""

    def __init__(self, store: DocumentReader) -> None:
        self._store = store

    @staticmethod
    async def of(reader: DocumentReader, producers: list[str]) -> dict[str, ProducerSequence]:
        """The tracking of each of `producers`, a new one for a producer never seen."""
        found = await reader.find(PRODUCERS, {ID: {"$in": producers}})
        stored = {str(d[ID]): ProducerSequence.from_document(d) for d in found}
        return {p: stored.get(p) or ProducerSequence(p) for p in producers}

    async def with_open_gap(self) -> list[ProducerSequence]:
        found = await self._store.find(PRODUCERS, {"gap_since": {"$ne": None}})
        return [ProducerSequence.from_document(document) for document in found]

    @staticmethod
    async def save(tx: DocumentWriter, tracker: ProducerSequence) -> None:
        document = {ID: tracker.producer, **tracker.to_document()}
        if tracker.version is None:
            await tx.insert(PRODUCERS, document)
        else:
            await tx.replace(PRODUCERS, document, expected_version=tracker.version)


# -- subject keys and sealed payloads ------------------------------------------------------


@dataclass(frozen=True)
class SubjectKey:
    """A subject's wrapped data key and owners; `wrapped` None is a shredded subject's
    tombstone. `wrapped` stays as stored until it is unwrapped (a malformed one is corrupt)."""

    subject: str
    wrapped: object
    owners: frozenset[str] = frozenset()
    created_at: str | None = None
    shredded_at: str | None = None
    version: int | None = None

    @property
    def shredded(self) -> bool:
        return self.wrapped is None

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> SubjectKey:
        # A document of earlier builds has `parties` (not trusted) and no owners: it is read
        # without owners, and its next save drops them.
        return cls(
            str(document[ID]),
            document.get("wrapped"),
            frozenset(document.get("owners", [])),
            document.get("created_at"),
            document.get("shredded_at"),
            _version(document),
        )

    def document(self) -> dict[str, object]:
        return {
            ID: self.subject,
            "wrapped": self.wrapped,
            "owners": sorted(self.owners),
            "created_at": self.created_at,
            "shredded_at": self.shredded_at,
        }


class SubjectKeys:
    def __init__(self, store: DocumentReader) -> None:
        self._store = store

    async def get(self, subject: str, reader: DocumentReader | None = None) -> SubjectKey | None:
        document = await (reader or self._store).get(SUBJECT_KEYS, subject)
        return SubjectKey.of(document) if document else None

    async def of(
        self, subjects: list[str], reader: DocumentReader | None = None
    ) -> dict[str, SubjectKey]:
        found = await (reader or self._store).find(SUBJECT_KEYS, {ID: {"$in": subjects}})
        return {str(document[ID]): SubjectKey.of(document) for document in found}

    @staticmethod
    async def add(tx: DocumentWriter, key: SubjectKey) -> None:
        await tx.insert(SUBJECT_KEYS, key.document())

    @staticmethod
    async def save(tx: DocumentWriter, key: SubjectKey) -> None:
        assert key.version is not None, "a new subject key is added, not saved"
        await tx.replace(SUBJECT_KEYS, key.document(), expected_version=key.version)


@dataclass(frozen=True)
class SealedPayload:
    """One entry's payload as stored: its ciphertext under its subject's key, with the entry's
    readers beside it (None: kept before readers were, or malformed). Fields that are not
    text as stored are None (the payload then does not decrypt)."""

    event_id: str
    dek_id: str | None
    nonce: str | None
    ciphertext: str | None
    readers: EntryReaders | None

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> SealedPayload:
        return cls(
            str(document[ID]),
            _text(document.get("dek_id")),
            _text(document.get("nonce")),
            _text(document.get("ciphertext")),
            EntryReaders.from_document(document),
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class Payloads:
    def __init__(self, store: DocumentReader) -> None:
        self._store = store

    async def get(
        self, event_id: str, reader: DocumentReader | None = None
    ) -> SealedPayload | None:
        document = await (reader or self._store).get(PAYLOADS, event_id)
        return SealedPayload.of(document) if document else None

    async def of(
        self, event_ids: list[str], reader: DocumentReader | None = None
    ) -> dict[str, SealedPayload]:
        found = await (reader or self._store).find(PAYLOADS, {ID: {"$in": event_ids}})
        return {str(document[ID]): SealedPayload.of(document) for document in found}

    @staticmethod
    async def add(tx: DocumentWriter, sealed: Sequence[dict[str, object]]) -> None:
        await tx.insert_many(PAYLOADS, sealed)
