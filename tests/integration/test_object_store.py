"""The object store against a real SeaweedFS: streaming, atomicity of puts, errors, memory."""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from minio import Minio

from shared.objects import (
    MIN_PART_SIZE,
    ObjectNotFoundError,
    ObjectStore,
    ObjectStoreConfig,
    ObjectStoreUnavailableError,
)
from tests.fixtures.seaweed import S3Server, random_bucket_name

MiB = 1024 * 1024


class ProducerFailedError(Exception):
    pass


async def chunked(
    data: bytes, rng: random.Random, max_chunk: int = 300 * 1024
) -> AsyncIterator[bytes]:
    """`data` in random-sized chunks, yielding to the loop between them like a network source."""
    position = 0
    while position < len(data):
        size = rng.randint(1, max_chunk)
        yield data[position : position + size]
        position += size
        await asyncio.sleep(0)


async def failing_after(data: bytes, fail_at: int) -> AsyncIterator[bytes]:
    step = 256 * 1024
    for position in range(0, fail_at, step):
        yield data[position : min(position + step, fail_at)]
    raise ProducerFailedError("source broke")


async def read_all(store: ObjectStore, key: str) -> bytes:
    out = bytearray()
    async with await store.get(key) as body:
        async for chunk in body:
            out += chunk
    return bytes(out)


def pending_uploads(server: S3Server, bucket: str, key: str) -> list[str]:
    """Multipart uploads still open for `key` (minio has no public call for this)."""
    client = Minio(
        server.endpoint, server.access_key, server.secret_key, secure=False, region=server.region
    )
    result = client._list_multipart_uploads(bucket, prefix=key)
    return [str(upload.upload_id) for upload in result.uploads]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "size",
    [0, 1, 1000, MIN_PART_SIZE, MIN_PART_SIZE + 1, 12 * MiB],
    ids=["empty", "one-byte", "small", "exactly-one-part", "part-plus-one", "multipart-12MiB"],
)
async def test_streamed_put_then_get_returns_identical_bytes(
    object_store: ObjectStore, size: int
) -> None:
    rng = random.Random(size)
    data = rng.randbytes(size)
    key = f"acts/{size}.bin"

    result = await object_store.put(key, chunked(data, rng))

    assert result.size == size
    assert (await object_store.stat(key)).size == size
    assert await read_all(object_store, key) == data


async def test_stat_reports_content_type_and_metadata(object_store: ObjectStore) -> None:
    rng = random.Random(1)
    await object_store.put(
        "doc.pdf",
        chunked(b"%PDF-1.7 ...", rng),
        content_type="application/pdf",
        metadata={"act-id": "a-123"},
    )

    info = await object_store.stat("doc.pdf")

    assert info.content_type == "application/pdf"
    assert {k.lower(): v for k, v in info.metadata.items()} == {"act-id": "a-123"}
    assert info.etag


async def test_deleted_object_is_not_found_and_delete_is_idempotent(
    object_store: ObjectStore,
) -> None:
    await object_store.put("gone", chunked(b"bye", random.Random(2)))
    assert await object_store.exists("gone")

    await object_store.delete("gone")
    await object_store.delete("gone")

    assert not await object_store.exists("gone")
    with pytest.raises(ObjectNotFoundError):
        await object_store.get("gone")
    with pytest.raises(ObjectNotFoundError):
        await object_store.stat("gone")


@pytest.mark.parametrize(
    "fail_at", [1000, 7 * MiB], ids=["before-first-part", "after-a-part-was-uploaded"]
)
async def test_producer_failure_leaves_no_object_and_no_open_upload(
    object_store: ObjectStore, s3_server: S3Server, fail_at: int
) -> None:
    data = random.Random(3).randbytes(fail_at)

    with pytest.raises(ProducerFailedError):
        await object_store.put("broken", failing_after(data, fail_at))

    assert not await object_store.exists("broken")
    assert pending_uploads(s3_server, object_store.bucket, "broken") == []


async def test_failed_replacement_keeps_the_previous_object(object_store: ObjectStore) -> None:
    rng = random.Random(4)
    original = rng.randbytes(1000)
    await object_store.put("act", chunked(original, rng))

    with pytest.raises(ProducerFailedError):
        await object_store.put("act", failing_after(rng.randbytes(7 * MiB), 7 * MiB))

    assert await read_all(object_store, "act") == original


async def test_cancelled_put_leaves_no_object_and_no_open_upload(
    object_store: ObjectStore, s3_server: S3Server
) -> None:
    handed_over = asyncio.Event()

    async def stalls_after_a_part() -> AsyncIterator[bytes]:
        for _ in range(7):
            yield bytes(MiB)
        handed_over.set()
        await asyncio.Event().wait()
        yield b"never"

    put = asyncio.create_task(object_store.put("cancelled", stalls_after_a_part()))
    await asyncio.wait_for(handed_over.wait(), timeout=30)
    await asyncio.sleep(0.5)  # let minio create the multipart upload and send part 1
    put.cancel()
    with pytest.raises(asyncio.CancelledError):
        await put

    assert not await object_store.exists("cancelled")
    assert pending_uploads(s3_server, object_store.bucket, "cancelled") == []


async def test_consumer_stopping_early_releases_the_stream(object_store: ObjectStore) -> None:
    rng = random.Random(5)
    data = rng.randbytes(2 * MiB)
    await object_store.put("big", chunked(data, rng))

    for _ in range(15):  # more abandoned bodies than the pool holds connections
        async with await object_store.get("big", chunk_size=1024) as body:
            first = await anext(body)
        assert first == data[:1024]
        assert await anext(body, None) is None

    assert await read_all(object_store, "big") == data


async def test_cancelled_reader_does_not_break_the_store(object_store: ObjectStore) -> None:
    rng = random.Random(6)
    data = rng.randbytes(3 * MiB)
    await object_store.put("read-me", chunked(data, rng))
    started = asyncio.Event()

    async def slow_reader() -> None:
        async with await object_store.get("read-me", chunk_size=4096) as body:
            async for _ in body:
                started.set()
                await asyncio.sleep(0.01)

    reader = asyncio.create_task(slow_reader())
    await started.wait()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader

    assert await read_all(object_store, "read-me") == data


async def test_many_concurrent_copies_between_objects_complete(object_store: ObjectStore) -> None:
    # More streaming puts than the loop's default executor has threads, each fed by a get that
    # needs a thread too: puts parked in that executor would deadlock here.
    rng = random.Random(9)
    data = rng.randbytes(256 * 1024)
    await object_store.put("source", chunked(data, rng))

    async def copy(index: int) -> None:
        async with await object_store.get("source", chunk_size=16 * 1024) as body:
            await object_store.put(f"copy-{index}", body)

    await asyncio.wait_for(asyncio.gather(*(copy(i) for i in range(40))), timeout=60)

    assert await read_all(object_store, "copy-39") == data


async def test_ensure_bucket_is_idempotent_and_ping_succeeds(object_store: ObjectStore) -> None:
    await object_store.ensure_bucket()
    await object_store.ping()


async def test_ping_reports_a_missing_bucket(s3_server: S3Server) -> None:
    store = ObjectStore(s3_server.config(random_bucket_name()))

    with pytest.raises(ObjectStoreUnavailableError, match="does not exist"):
        await store.ping()


async def test_unreachable_endpoint_fails_fast_without_leaking_secrets() -> None:
    config = ObjectStoreConfig(
        endpoint=f"127.0.0.1:{closed_port()}",
        access_key="AKIA-NOT-TO-LEAK",
        secret_key="very-secret-key-not-to-leak",
        bucket="whatever",
        connect_timeout=0.5,
        read_timeout=0.5,
        retries=1,
    )
    store = ObjectStore(config)

    started = time.monotonic()
    with pytest.raises(ObjectStoreUnavailableError) as ping_error:
        await store.ping()
    with pytest.raises(ObjectStoreUnavailableError) as get_error:
        await store.get("k")
    with pytest.raises(ObjectStoreUnavailableError) as put_error:
        await store.put("k", chunked(b"data", random.Random(7)))
    elapsed = time.monotonic() - started

    assert elapsed < 5
    for error in (ping_error.value, get_error.value, put_error.value):
        assert "very-secret-key-not-to-leak" not in str(error)
        assert "AKIA-NOT-TO-LEAK" not in str(error)
        assert "very-secret-key-not-to-leak" not in repr(error)
    assert "very-secret-key-not-to-leak" not in repr(config)


async def test_wrong_credentials_are_unavailable_without_leaking_secrets(
    object_store: ObjectStore, s3_server: S3Server
) -> None:
    intruder = ObjectStore(
        replace(s3_server.config(object_store.bucket), secret_key="wrong-secret-not-to-leak")
    )

    with pytest.raises(ObjectStoreUnavailableError) as error:
        await intruder.stat("anything")

    assert "wrong-secret-not-to-leak" not in str(error.value)
    with pytest.raises(ObjectStoreUnavailableError):
        await intruder.ping()


async def test_streaming_64_mib_keeps_memory_far_below_the_object_size(
    object_store: ObjectStore,
) -> None:
    size = 64 * MiB
    chunk = 64 * 1024
    block = random.Random(8).randbytes(chunk)
    expected = hashlib.sha256()

    async def generated() -> AsyncIterator[bytes]:
        for index in range(size // chunk):
            # A fresh object each time, as a real producer (decryptor, socket) would make.
            piece = index.to_bytes(8, "big") + block[8:]
            expected.update(piece)
            yield piece
            await asyncio.sleep(0)

    tracemalloc.start()
    try:
        result = await object_store.put("huge", generated())
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        actual = hashlib.sha256()
        async with await object_store.get("huge") as body:
            async for piece in body:
                actual.update(piece)
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.size == size
    assert actual.digest() == expected.digest()
    assert put_peak < 4 * MIN_PART_SIZE, f"put peak {put_peak / MiB:.1f} MiB"
    assert get_peak < 2 * MiB, f"get peak {get_peak / MiB:.1f} MiB"


@pytest.mark.parametrize("unsigned", [True, False], ids=["unsigned-payload", "signed-sha256"])
async def test_payloads_signed_or_not_are_stored_whole(s3_server: S3Server, unsigned: bool) -> None:
    # UNSIGNED-PAYLOAD (the default) spares a SHA-256 pass over every body; the store must
    # still accept both forms, single PUT and multipart alike.
    store = ObjectStore(replace(s3_server.config(random_bucket_name()), unsigned_payload=unsigned))
    await store.ensure_bucket()
    try:
        rng = random.Random(11)
        for key, size in (("small", 1000), ("multipart", 2 * MIN_PART_SIZE + 7)):
            data = rng.randbytes(size)
            result = await store.put(key, chunked(data, rng))
            assert result.size == size
            assert await read_all(store, key) == data
    finally:
        await store.close()
