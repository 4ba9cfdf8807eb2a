"""Acts at rest (DESIGN §6, R-encrypt): each document streams once through its checks, SHA-256
and encryption under its own DEK into S3. The wrapped DEK lives only in delivery's store, in
the transaction that records the act: until that commit the object is unreadable, and an
upload that never commits is an orphan that `OrphanSweeper` removes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Protocol

from shared.clock import Clock
from shared.crypto import KeyRing, WrappedDek, decrypt_stream, encrypt_stream
from shared.store.port import DocumentStore, Transaction, to_iso

log = logging.getLogger(__name__)

ACT_KEYS: Final = "act_keys"
PENDING_OBJECTS: Final = "pending_objects"
CIPHERTEXT_TYPE: Final = "application/octet-stream"


class TooLargeError(Exception):
    """A document exceeds its size limit: the upload stops at that byte (413)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the document may not exceed {limit} bytes")


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
    size: int

    def feed(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class StoredObject:
    """A document stored encrypted; its wrapped DEK still has to be committed."""

    object_id: str
    key: str
    size: int
    sha256: str
    wrapped: WrappedDek


def object_key(object_id: str) -> str:
    return f"acts/{object_id}"


class Vault:
    """Encrypts into S3, reads back, and forgets uncommitted uploads."""

    def __init__(
        self, objects: ObjectPort, keys: KeyRing, store: DocumentStore, clock: Clock
    ) -> None:
        self._objects = objects
        self._keys = keys
        self._store = store
        self._clock = clock

    async def upload(
        self,
        object_id: str,
        chunks: AsyncIterator[bytes],
        *,
        limit: int,
        inspector: ChunkInspector,
    ) -> StoredObject:
        """Stream one document into S3, encrypted for `object_id`, feeding `inspector` and
        counting bytes as they pass. On a refusal (`TooLargeError`, the inspector's error) or an
        S3 failure the upload is aborted and the error propagates; the pending row left behind
        lets the sweeper remove any object S3 kept anyway."""

        async def checked() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                if inspector.size + len(chunk) > limit:
                    raise TooLargeError(limit)
                inspector.feed(chunk)
                yield chunk
            inspector.finish()

        key = object_key(object_id)
        # Written first: if this process dies mid-upload the sweeper still finds the object.
        await self._store.insert(
            PENDING_OBJECTS, {"_id": object_id, "key": key, "since": to_iso(self._clock.now())}
        )
        dek, wrapped = await self._keys.new_data_key(object_id)
        encrypted = encrypt_stream(checked(), dek, object_id)
        try:
            await self._objects.put(key, aiter(encrypted), content_type=CIPHERTEXT_TYPE)
        except BaseException:
            await self.discard([object_id])
            raise
        return StoredObject(
            object_id,
            key,
            encrypted.plaintext_size,
            encrypted.plaintext_sha256.hex(),
            wrapped,
        )

    async def keep(self, tx: Transaction, stored: StoredObject) -> None:
        """Commit the wrapped DEK with the act (same transaction): the object becomes readable
        and stops being an orphan."""
        await tx.insert(
            ACT_KEYS,
            {"_id": stored.object_id, "wrapped": stored.wrapped.model_dump(mode="json")},
        )
        await tx.delete(PENDING_OBJECTS, stored.object_id)

    async def discard(self, object_ids: list[str]) -> None:
        """Delete objects whose keys were never kept; a failure is left to the sweeper."""
        for object_id in object_ids:
            try:
                await self._objects.delete(object_key(object_id))
                await self._store.delete(PENDING_OBJECTS, object_id)
            except Exception as error:
                # Unreadable anyway: its DEK only ever existed in this process's memory.
                log.warning("orphan object %s left for the sweeper (%s)", object_id, type(error))

    async def open(self, object_id: str) -> AsyncIterator[bytes]:
        """The verified plaintext, chunk by chunk. The key is unwrapped and the object opened
        before this returns, so a missing key or an S3 failure raises here, not mid-stream."""
        document = await self._store.get(ACT_KEYS, object_id)
        if document is None:
            raise LookupError(f"no key for object {object_id}")
        dek = await self._keys.unwrap(WrappedDek.model_validate(document["wrapped"]), object_id)
        ciphertext = await self._objects.get(object_key(object_id))
        return aiter(decrypt_stream(ciphertext, dek, object_id))

    async def sweep(self, older_than: timedelta) -> int:
        """Remove uploads that never committed and are older than `older_than`."""
        cutoff = to_iso(self._clock.now() - older_than)
        rows = await self._store.find(
            PENDING_OBJECTS, {"since": {"$lt": cutoff}}, sort=[("since", 1)], limit=500
        )
        removed = 0
        for row in rows:
            if await self._store.get(ACT_KEYS, row["_id"]) is not None:
                await self._store.delete(PENDING_OBJECTS, row["_id"])
                continue
            await self._objects.delete(row["key"])
            await self._store.delete(PENDING_OBJECTS, row["_id"])
            removed += 1
        if removed:
            log.info("removed %d orphan upload(s)", removed)
        return removed
