"""Encrypted objects at rest (DESIGN §6, R-encrypt): each document streams once through its
checks, its SHA-256 and its encryption under its own DEK into S3 — and, when a malware scanner
is given, through the scanner at the same time. The wrapped DEK lives only in the owning
service's store, written by `keep` in the transaction that records the document: until then
the object is unreadable, and an upload that never commits is an orphan that `sweep` removes.

Used by consent (proof documents) and delivery (acts, judge's leaves, replies); each passes
its own object-key prefix and key collection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Protocol

from shared.clock import Clock
from shared.crypto import KeyRing, WrappedDek, decrypt_stream, encrypt_stream
from shared.malware import MalwareScanner, ScanOutcome, ScanVerdict
from shared.store.port import DocumentStore, Index, Transaction, to_iso

log = logging.getLogger(__name__)

PENDING_OBJECTS: Final = "pending_objects"
CIPHERTEXT_TYPE: Final = "application/octet-stream"
PENDING_INDEX: Final = Index(PENDING_OBJECTS, ("since",))
"""The index `sweep` needs; add it to the owning service's indexes."""

_SCAN_QUEUE_CHUNKS: Final = 4
ACCEPTED_VERDICTS: Final = frozenset({ScanOutcome.CLEAN, ScanOutcome.NOT_SCANNED})


class TooLargeError(Exception):
    """A document exceeds its size limit: the upload stops at that byte (413)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the document may not exceed {limit} bytes")


class ScanRefusedError(Exception):
    """The scanner did not pass the document (infected, too large for it, or its own error):
    the object was removed before its key could be kept. `verdict` says why."""

    def __init__(self, verdict: ScanVerdict) -> None:
        self.verdict = verdict
        super().__init__(f"scan verdict {verdict.outcome}")


class ObjectPort(Protocol):
    """What the vault needs from the object store (`shared.objects.ObjectStore`)."""

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str = ...,
        metadata: Mapping[str, str] | None = ...,
    ) -> object: ...

    async def get(self, key: str) -> AsyncIterator[bytes]: ...

    async def delete(self, key: str) -> None: ...


class ChunkInspector(Protocol):
    """Checks a document's content as it passes; raises its own error to refuse it."""

    @property
    def size(self) -> int: ...

    def feed(self, chunk: bytes) -> None: ...

    def finish(self) -> object: ...


@dataclass(frozen=True)
class StoredObject:
    """A document stored encrypted; its wrapped DEK still has to be kept (`keep`)."""

    object_id: str
    key: str
    size: int
    sha256: str
    wrapped: WrappedDek
    verdict: ScanVerdict | None = None


class EncryptedObjects:
    """Encrypts into S3, reads back, shreds, and forgets uploads that never committed.

    `prefix` names the objects (`<prefix>/<object_id>`); `keys_collection` is where the
    wrapped DEKs are kept in `store`; `PENDING_OBJECTS` tracks uploads until they commit.
    """

    def __init__(
        self,
        objects: ObjectPort,
        keys: KeyRing,
        store: DocumentStore,
        clock: Clock,
        *,
        prefix: str,
        keys_collection: str,
    ) -> None:
        self._objects = objects
        self._keys = keys
        self._store = store
        self._clock = clock
        self._prefix = prefix
        self.keys_collection = keys_collection

    def object_key(self, object_id: str) -> str:
        return f"{self._prefix}/{object_id}"

    async def upload(
        self,
        object_id: str,
        chunks: AsyncIterator[bytes],
        *,
        limit: int,
        inspector: ChunkInspector,
        scanner: MalwareScanner | None = None,
    ) -> StoredObject:
        """Stream one document into S3, encrypted for `object_id`, feeding `inspector` and
        counting bytes as they pass, and — when a `scanner` is given — tee-ing the same
        plaintext to it (a few chunks of buffer, never the whole file).

        On a refusal (`TooLargeError`, the inspector's error), an S3 failure, a scanner that
        cannot be reached, or a verdict other than clean / not scanned (`ScanRefusedError`)
        the object is removed and the error propagates; the pending row left behind if even
        that fails lets the sweeper remove it later. The DEK is never stored before `keep`."""

        async def checked(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
            async for chunk in source:
                if inspector.size + len(chunk) > limit:
                    raise TooLargeError(limit)
                inspector.feed(chunk)
                yield chunk
            inspector.finish()

        key = self.object_key(object_id)
        # Written first: if this process dies mid-upload the sweeper still finds the object.
        await self._store.insert(
            PENDING_OBJECTS,
            {
                "_id": object_id,
                "key": key,
                "keys": self.keys_collection,
                "since": to_iso(self._clock.now()),
            },
        )
        dek, wrapped = await self._keys.new_data_key(object_id)
        tee = _ScanTee(scanner) if scanner is not None else None
        source = checked(chunks) if tee is None else tee.feeding(checked(chunks))
        encrypted = encrypt_stream(source, dek, object_id)
        verdict: ScanVerdict | None = None
        try:
            await self._objects.put(key, aiter(encrypted), content_type=CIPHERTEXT_TYPE)
            if tee is not None:
                verdict = await tee.verdict()
                if verdict.outcome not in ACCEPTED_VERDICTS:
                    raise ScanRefusedError(verdict)
        except BaseException:
            if tee is not None:
                await tee.cancel()
            await self.discard([object_id])
            raise
        return StoredObject(
            object_id,
            key,
            encrypted.plaintext_size,
            encrypted.plaintext_sha256.hex(),
            wrapped,
            verdict,
        )

    async def keep(self, tx: Transaction, stored: StoredObject) -> None:
        """Commit the wrapped DEK with the record of the document (same transaction): the
        object becomes readable and stops being an orphan."""
        await tx.insert(
            self.keys_collection,
            {"_id": stored.object_id, "wrapped": stored.wrapped.model_dump(mode="json")},
        )
        await tx.delete(PENDING_OBJECTS, stored.object_id)

    async def discard(self, object_ids: list[str]) -> None:
        """Delete objects whose keys were never kept; a failure is left to the sweeper."""
        for object_id in object_ids:
            try:
                await self._objects.delete(self.object_key(object_id))
                await self._store.delete(PENDING_OBJECTS, object_id)
            except Exception as error:
                # Unreadable anyway: its DEK only ever existed in this process's memory.
                log.warning("orphan object %s left for the sweeper (%s)", object_id, type(error))

    async def open(self, object_id: str) -> AsyncIterator[bytes]:
        """The verified plaintext, chunk by chunk (`IntegrityError` on tampering). The key is
        unwrapped and the object opened before this returns, so a missing key (`LookupError`)
        or an S3 failure raises here, not mid-stream."""
        document = await self._store.get(self.keys_collection, object_id)
        if document is None:
            raise LookupError(f"no key for object {object_id}")
        dek = await self._keys.unwrap(WrappedDek.model_validate(document["wrapped"]), object_id)
        ciphertext = await self._objects.get(self.object_key(object_id))
        return aiter(decrypt_stream(ciphertext, dek, object_id))

    async def sweep(self, older_than: timedelta) -> int:
        """Remove this vault's uploads that never committed and are older than `older_than`
        (several vaults of one service share the pending collection)."""
        cutoff = to_iso(self._clock.now() - older_than)
        rows = await self._store.find(
            PENDING_OBJECTS,
            {"since": {"$lt": cutoff}, "keys": self.keys_collection},
            sort=[("since", 1)],
            limit=500,
        )
        removed = 0
        for row in rows:
            if await self._store.get(self.keys_collection, row["_id"]) is not None:
                await self._store.delete(PENDING_OBJECTS, row["_id"])
                continue
            await self._objects.delete(row["key"])
            await self._store.delete(PENDING_OBJECTS, row["_id"])
            removed += 1
        if removed:
            log.info("removed %d orphan upload(s)", removed)
        return removed

    # The two ports of `shared.crypto.crypto_shred`.

    async def destroy_wrapped_key(self, object_id: str) -> WrappedDek | None:
        """Delete and return the wrapped DEK of `object_id` (None if already gone)."""
        document = await self._store.get(self.keys_collection, object_id)
        if document is None:
            return None
        await self._store.delete(self.keys_collection, object_id)
        return WrappedDek.model_validate(document["wrapped"])

    async def delete_object(self, object_id: str) -> None:
        """Delete the ciphertext (absent is fine)."""
        await self._objects.delete(self.object_key(object_id))


class _ScanTee:
    """Hands every chunk that goes to S3 to the scanner too, through a small bounded queue.

    The scanner runs as a task reading the queue; a scanner that stops reading early (it
    answered already, e.g. `not_scanned` or `too_large`) no longer receives chunks, so the
    upload never waits on it. The verdict is awaited once the upload has read everything."""

    def __init__(self, scanner: MalwareScanner) -> None:
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=_SCAN_QUEUE_CHUNKS)
        self._task = asyncio.create_task(scanner.scan(self._drain()))

    async def _drain(self) -> AsyncIterator[bytes]:
        while (chunk := await self._queue.get()) is not None:
            yield chunk

    async def _hand(self, item: bytes | None) -> None:
        if self._task.done():
            return
        if not self._queue.full():
            self._queue.put_nowait(item)
            return
        put = asyncio.ensure_future(self._queue.put(item))
        await asyncio.wait({put, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await put

    async def feeding(self, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in source:
            await self._hand(chunk)
            yield chunk
        await self._hand(None)

    async def verdict(self) -> ScanVerdict:
        return await self._task

    async def cancel(self) -> None:
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await self._task
