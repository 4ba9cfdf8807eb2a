"""Proof documents at rest: each file encrypted under its own DEK while it streams in, the
ciphertext in S3, the wrapped DEK in consent's store (never in the object), and crypto-shredding
on purge (DESIGN §6, R-proofs, R-encrypt).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from consent.domain import ContentInspector, MediaType
from shared.crypto import KeyRing, WrappedDek, decrypt_stream, encrypt_stream
from shared.store.port import DocumentStore, Transaction

log = logging.getLogger(__name__)

PROOF_KEYS: Final = "proof_keys"
CIPHERTEXT_TYPE: Final = "application/octet-stream"


class ProofTooLargeError(Exception):
    """A file exceeds the size limit: the upload stops at that byte (413)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"a proof file may not exceed {limit} bytes")


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


@dataclass(frozen=True)
class UploadedProof:
    """A proof file stored encrypted; its wrapped DEK still has to be committed."""

    proof_id: str
    part: str
    media_type: MediaType
    size: int
    sha256: str
    wrapped: WrappedDek


def object_key(proof_id: str) -> str:
    return f"proofs/{proof_id}"


class ProofVault:
    """Encrypts, stores, reads back and shreds proof documents."""

    def __init__(self, objects: ObjectPort, keys: KeyRing, store: DocumentStore) -> None:
        self._objects = objects
        self._keys = keys
        self._store = store

    async def upload(
        self, proof_id: str, part: str, chunks: AsyncIterator[bytes], *, limit: int
    ) -> UploadedProof:
        """Stream one file into S3, encrypted for `proof_id`, checking its content (PDF, JPEG
        or PNG by magic bytes) and its size as it passes. On any refusal the upload is aborted
        and nothing is stored; `ContentError` or `ProofTooLargeError` propagates."""
        inspector = ContentInspector()

        async def checked() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                inspector.feed(chunk)
                if inspector.size > limit:
                    raise ProofTooLargeError(limit)
                yield chunk
            inspector.finish()

        key, wrapped = await self._keys.new_data_key(proof_id)
        encrypted = encrypt_stream(checked(), key, proof_id)
        await self._objects.put(
            object_key(proof_id), aiter(encrypted), content_type=CIPHERTEXT_TYPE
        )
        media_type = inspector.finish()
        return UploadedProof(
            proof_id,
            part,
            media_type,
            encrypted.plaintext_size,
            encrypted.plaintext_sha256.hex(),
            wrapped,
        )

    async def keep_key(self, tx: Transaction, uploaded: UploadedProof) -> None:
        """Commit the wrapped DEK with the declaration (same transaction)."""
        await tx.insert(
            PROOF_KEYS,
            {"_id": uploaded.proof_id, "wrapped": uploaded.wrapped.model_dump(mode="json")},
        )

    async def discard(self, proof_ids: list[str]) -> None:
        """Delete objects of an upload that was refused (their keys were never kept)."""
        for proof_id in proof_ids:
            try:
                await self._objects.delete(object_key(proof_id))
            except Exception as error:
                # Unreadable anyway: its DEK only ever existed in this process's memory.
                log.warning("orphan proof object %s not deleted: %s", proof_id, error)

    async def read(self, proof_id: str) -> AsyncIterator[bytes]:
        """The verified plaintext of a proof, chunk by chunk (IntegrityError on tampering)."""
        document = await self._store.get(PROOF_KEYS, proof_id)
        if document is None:
            raise LookupError(f"no key for proof {proof_id}")
        key = await self._keys.unwrap(WrappedDek.model_validate(document["wrapped"]), proof_id)
        ciphertext = await self._objects.get(object_key(proof_id))
        async for chunk in decrypt_stream(ciphertext, key, proof_id):
            yield chunk

    # The two ports of `shared.crypto.crypto_shred`.

    async def destroy_wrapped_key(self, object_id: str) -> WrappedDek | None:
        document = await self._store.get(PROOF_KEYS, object_id)
        if document is None:
            return None
        await self._store.delete(PROOF_KEYS, object_id)
        return WrappedDek.model_validate(document["wrapped"])

    async def delete_object(self, object_id: str) -> None:
        await self._objects.delete(object_key(object_id))
