"""Proof documents at rest: each file encrypted under its own DEK while it streams in, the
ciphertext in S3 under `proofs/`, the wrapped DEK in consent's store (never in the object), and
crypto-shredding on purge (DESIGN §6, R-proofs, R-encrypt). The mechanics are the kernel's
`EncryptedObjects`; this module adds what a proof is: a complete PDF, JPEG or PNG by content
(the kernel's `shared.documents`, as strict as delivery's replies), and its part.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from shared.clock import Clock
from shared.crypto import KeyRing, WrappedDek
from shared.documents import DocumentInspector, MediaType
from shared.store.port import DocumentStore, Transaction
from shared.vault import EncryptedObjects, ObjectPort, StoredObject

PROOF_KEYS: Final = "proof_keys"
PROOFS_PREFIX: Final = "proofs"


@dataclass(frozen=True)
class UploadedProof:
    """A proof file stored encrypted; its wrapped DEK still has to be committed."""

    proof_id: str
    part: str
    media_type: MediaType
    stored: StoredObject

    @property
    def size(self) -> int:
        return self.stored.size

    @property
    def sha256(self) -> str:
        return self.stored.sha256


async def _after(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def object_key(proof_id: str) -> str:
    return f"{PROOFS_PREFIX}/{proof_id}"


class ProofVault:
    """Encrypts, stores, reads back and shreds proof documents."""

    def __init__(
        self, objects: ObjectPort, keys: KeyRing, store: DocumentStore, clock: Clock
    ) -> None:
        self._objects = EncryptedObjects(
            objects, keys, store, clock, prefix=PROOFS_PREFIX, keys_collection=PROOF_KEYS
        )

    async def upload(
        self, proof_id: str, part: str, chunks: AsyncIterator[bytes], *, limit: int
    ) -> UploadedProof:
        """Stream one file into S3, encrypted for `proof_id`, checking its content (a complete
        PDF, JPEG or PNG) and its size as it passes. On any refusal the upload is aborted
        and nothing readable is stored; `ContentError` or `TooLargeError` propagates."""
        inspector = DocumentInspector()
        stored = await self._objects.upload(proof_id, chunks, limit=limit, inspector=inspector)
        return UploadedProof(proof_id, part, inspector.finish(), stored)

    async def keep_key(self, tx: Transaction, uploaded: UploadedProof) -> None:
        """Commit the wrapped DEK with the declaration (same transaction)."""
        await self._objects.keep(tx, uploaded.stored)

    async def discard(self, proof_ids: list[str]) -> None:
        """Delete objects of an upload that was refused (their keys were never kept)."""
        await self._objects.discard(proof_ids)

    async def open(self, proof_id: str) -> AsyncIterator[bytes]:
        """The verified plaintext of a proof, chunk by chunk (IntegrityError on tampering).

        The key is unwrapped, the object opened and its first chunk read before this returns,
        so a missing key (`LookupError`) or an unavailable object store (`ObjectStoreError`)
        raises here, while an HTTP answer can still say so, not once a 200 has started."""
        chunks = await self._objects.open(proof_id)
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            first = b""
        return _after(first, chunks)

    async def sweep(self, older_than: timedelta) -> int:
        """Remove uploads that never committed (the process died mid-declaration)."""
        return await self._objects.sweep(older_than)

    # The two ports of `shared.crypto.crypto_shred`.

    async def destroy_wrapped_key(self, object_id: str) -> WrappedDek | None:
        return await self._objects.destroy_wrapped_key(object_id)

    async def delete_object(self, object_id: str) -> None:
        await self._objects.delete_object(object_id)
