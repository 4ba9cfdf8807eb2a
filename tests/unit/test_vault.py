"""The kernel's encrypted object vault on a real SQLite store with a recording in-memory object
store: round trip, size and content refusals, orphans, shredding, and the malware-scan tee."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.clock import ManualClock
from shared.crypto import IntegrityError, KeyRing, LocalKeyFile
from shared.malware import NoScanner, ScanOutcome, ScanVerdict
from shared.objects import ObjectNotFoundError, ObjectStoreUnavailableError
from shared.store.port import DocumentStore
from shared.vault import (
    PENDING_INDEX,
    PENDING_OBJECTS,
    EncryptedObjects,
    ScanRefusedError,
    TooLargeError,
)

START = datetime(2031, 4, 8, 8, 0, tzinfo=UTC)
KEYS = "doc_keys"


class RecordingObjects:
    """An object store in memory that records every call; `fail_put_after` makes a put fail
    once it has read that many chunks (an S3 outage mid-upload)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_put_after: int | None = None

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> object:
        self.calls.append(("put", key))
        data = bytearray()
        count = 0
        async for chunk in chunks:
            data += chunk
            count += 1
            if self.fail_put_after is not None and count >= self.fail_put_after:
                raise ObjectStoreUnavailableError("unreachable during put")
        self.objects[key] = bytes(data)
        return key

    async def get(self, key: str) -> AsyncIterator[bytes]:
        self.calls.append(("get", key))
        if key not in self.objects:
            raise ObjectNotFoundError(key)
        data = self.objects[key]

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), 5000):
                yield data[start : start + 5000]

        return chunks()

    async def delete(self, key: str) -> None:
        self.calls.append(("delete", key))
        self.objects.pop(key, None)


class CountingInspector:
    """Accepts anything but an empty file or one starting with `BAD`."""

    def __init__(self) -> None:
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        if self.size == 0 and chunk.startswith(b"BAD"):
            raise ValueError("refused content")
        self.size += len(chunk)

    def finish(self) -> None:
        if self.size == 0:
            raise ValueError("empty")


class RecordingScanner:
    """Reads the stream (up to `read_limit` chunks) and answers `outcome`."""

    def __init__(self, outcome: ScanOutcome, *, read_limit: int | None = None) -> None:
        self.outcome = outcome
        self.read_limit = read_limit
        self.seen = bytearray()

    @property
    def name(self) -> str:
        return "recording"

    async def scan(self, chunks: AsyncIterable[bytes]) -> ScanVerdict:
        count = 0
        async for chunk in chunks:
            self.seen += chunk
            count += 1
            if self.read_limit is not None and count >= self.read_limit:
                break
        signature = "Test.Signature" if self.outcome is ScanOutcome.INFECTED else None
        return ScanVerdict(self.outcome, self.name, len(self.seen), signature=signature)

    async def ping(self) -> None:
        return None


async def stream(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def read(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


BODY = [bytes([n]) * 70_000 for n in range(1, 8)]
PLAIN = b"".join(BODY)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def vault(
    sqlite_store: DocumentStore, clock: ManualClock, tmp_path: Path
) -> EncryptedObjects:
    await sqlite_store.ensure_indexes([PENDING_INDEX])
    return EncryptedObjects(
        RecordingObjects(),
        KeyRing(LocalKeyFile(tmp_path / "kek.json", clock)),
        sqlite_store,
        clock,
        prefix="docs",
        keys_collection=KEYS,
    )


def objects_of(vault: EncryptedObjects) -> RecordingObjects:
    recorded = vault._objects
    assert isinstance(recorded, RecordingObjects)
    return recorded


async def kept(vault: EncryptedObjects, store: DocumentStore, object_id: str) -> None:
    stored = await vault.upload(
        object_id, stream(BODY), limit=len(PLAIN), inspector=CountingInspector()
    )
    async with store.transaction() as tx:
        await vault.keep(tx, stored)


async def test_kept_upload_reads_back_its_plaintext_and_is_encrypted_at_rest(
    vault: EncryptedObjects, sqlite_store: DocumentStore
) -> None:
    stored = await vault.upload(
        "doc-1", stream(BODY), limit=len(PLAIN), inspector=CountingInspector()
    )
    assert (stored.key, stored.size) == ("docs/doc-1", len(PLAIN))
    assert stored.sha256 == hashlib.sha256(PLAIN).hexdigest()
    assert stored.verdict is None
    ciphertext = objects_of(vault).objects["docs/doc-1"]
    assert bytes([1]) * 64 not in ciphertext
    async with sqlite_store.transaction() as tx:
        await vault.keep(tx, stored)
    assert await sqlite_store.get(PENDING_OBJECTS, "doc-1") is None
    assert await read(await vault.open("doc-1")) == PLAIN


async def test_upload_without_kept_key_cannot_be_opened(vault: EncryptedObjects) -> None:
    await vault.upload("doc-1", stream(BODY), limit=len(PLAIN), inspector=CountingInspector())
    with pytest.raises(LookupError):
        await vault.open("doc-1")


async def test_one_byte_over_the_limit_is_refused_and_nothing_is_left(
    vault: EncryptedObjects, sqlite_store: DocumentStore
) -> None:
    with pytest.raises(TooLargeError) as refused:
        await vault.upload(
            "doc-1", stream(BODY), limit=len(PLAIN) - 1, inspector=CountingInspector()
        )
    assert refused.value.limit == len(PLAIN) - 1
    assert objects_of(vault).objects == {}
    assert await sqlite_store.get(PENDING_OBJECTS, "doc-1") is None


async def test_inspector_refusal_propagates_and_removes_the_object(
    vault: EncryptedObjects,
) -> None:
    with pytest.raises(ValueError, match="refused content"):
        await vault.upload(
            "doc-1", stream([b"BAD", *BODY]), limit=10**7, inspector=CountingInspector()
        )
    assert ("delete", "docs/doc-1") in objects_of(vault).calls


async def test_object_store_failure_mid_upload_propagates_and_cleans_up(
    vault: EncryptedObjects, sqlite_store: DocumentStore
) -> None:
    objects_of(vault).fail_put_after = 2
    with pytest.raises(ObjectStoreUnavailableError):
        await vault.upload("doc-1", stream(BODY), limit=10**7, inspector=CountingInspector())
    assert await sqlite_store.get(PENDING_OBJECTS, "doc-1") is None
    assert await sqlite_store.get(KEYS, "doc-1") is None


async def test_sweep_removes_only_old_uncommitted_uploads(
    vault: EncryptedObjects, sqlite_store: DocumentStore, clock: ManualClock
) -> None:
    await vault.upload("orphan", stream(BODY), limit=10**7, inspector=CountingInspector())
    await kept(vault, sqlite_store, "kept")
    assert await vault.sweep(timedelta(hours=1)) == 0
    clock.advance(timedelta(hours=2))
    assert await vault.sweep(timedelta(hours=1)) == 1
    assert set(objects_of(vault).objects) == {"docs/kept"}
    assert await read(await vault.open("kept")) == PLAIN


async def test_shredding_the_key_makes_a_saved_ciphertext_useless(
    vault: EncryptedObjects, sqlite_store: DocumentStore
) -> None:
    await kept(vault, sqlite_store, "doc-1")
    old_copy = objects_of(vault).objects["docs/doc-1"]
    assert await vault.destroy_wrapped_key("doc-1") is not None
    assert await vault.destroy_wrapped_key("doc-1") is None
    objects_of(vault).objects["docs/doc-1"] = old_copy
    with pytest.raises(LookupError):
        await vault.open("doc-1")
    await vault.delete_object("doc-1")
    assert "docs/doc-1" not in objects_of(vault).objects


async def test_tampered_ciphertext_fails_to_decrypt(
    vault: EncryptedObjects, sqlite_store: DocumentStore
) -> None:
    await kept(vault, sqlite_store, "doc-1")
    recorded = objects_of(vault)
    recorded.objects["docs/doc-1"] = recorded.objects["docs/doc-1"][:-100]
    with pytest.raises(IntegrityError):
        await read(await vault.open("doc-1"))


async def test_scanner_sees_every_plaintext_byte_and_clean_upload_carries_its_verdict(
    vault: EncryptedObjects,
) -> None:
    scanner = RecordingScanner(ScanOutcome.CLEAN)
    stored = await vault.upload(
        "doc-1", stream(BODY), limit=10**7, inspector=CountingInspector(), scanner=scanner
    )
    assert bytes(scanner.seen) == PLAIN
    assert stored.verdict is not None
    assert stored.verdict.is_clean


async def test_infected_upload_is_refused_and_its_object_removed(
    vault: EncryptedObjects, sqlite_store: DocumentStore
) -> None:
    scanner = RecordingScanner(ScanOutcome.INFECTED)
    with pytest.raises(ScanRefusedError) as refused:
        await vault.upload(
            "doc-1", stream(BODY), limit=10**7, inspector=CountingInspector(), scanner=scanner
        )
    assert refused.value.verdict.signature == "Test.Signature"
    assert objects_of(vault).objects == {}
    assert await sqlite_store.get(PENDING_OBJECTS, "doc-1") is None


async def test_scanner_that_stops_reading_early_does_not_block_the_upload(
    vault: EncryptedObjects,
) -> None:
    scanner = RecordingScanner(ScanOutcome.TOO_LARGE, read_limit=1)
    many = [bytes([n % 250]) * 1000 for n in range(200)]
    with pytest.raises(ScanRefusedError) as refused:
        await vault.upload(
            "doc-1", stream(many), limit=10**7, inspector=CountingInspector(), scanner=scanner
        )
    assert refused.value.verdict.outcome is ScanOutcome.TOO_LARGE
    assert objects_of(vault).objects == {}


async def test_no_scanner_configured_records_not_scanned(vault: EncryptedObjects) -> None:
    stored = await vault.upload(
        "doc-1", stream(BODY), limit=10**7, inspector=CountingInspector(), scanner=NoScanner()
    )
    assert stored.verdict is not None
    assert stored.verdict.outcome is ScanOutcome.NOT_SCANNED
