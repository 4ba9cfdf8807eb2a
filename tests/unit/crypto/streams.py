"""Helpers for the crypto tests: async sources and the segment layout of a ciphertext."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence

from shared.crypto import streaming
from shared.crypto.streaming import DataKey, decrypt_stream, encrypt_stream

PRELUDE = streaming.OBJECT_HEADER_SIZE + streaming.TINK_HEADER_SIZE


async def chunks(data: bytes, sizes: Sequence[int] = (65_536,)) -> AsyncIterator[bytes]:
    """`data` cut into chunks of the given sizes, cycling through them."""
    pos = 0
    index = 0
    while pos < len(data):
        size = max(1, sizes[index % len(sizes)])
        yield data[pos : pos + size]
        pos += size
        index += 1


async def collect(stream: AsyncIterable[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def encrypt(data: bytes, key: DataKey, object_id: str) -> bytes:
    return await collect(encrypt_stream(chunks(data), key, object_id))


async def decrypt(ciphertext: bytes, key: DataKey, object_id: str) -> bytes:
    return await collect(decrypt_stream(chunks(ciphertext, (4_096,)), key, object_id))


async def decrypt_until_error(
    ciphertext: bytes, key: DataKey, object_id: str
) -> tuple[list[bytes], BaseException | None]:
    """Everything the decrypting stream yielded, and the error that ended it (if any)."""
    yielded: list[bytes] = []
    try:
        async for piece in decrypt_stream(chunks(ciphertext, (10_000,)), key, object_id):
            yielded.append(piece)
    except Exception as exc:
        return yielded, exc
    return yielded, None


def split_segments(ciphertext: bytes) -> tuple[bytes, list[bytes]]:
    """(prelude, segments) of a ciphertext, following the wire format's fixed segment sizes."""
    prelude, body = ciphertext[:PRELUDE], ciphertext[PRELUDE:]
    segments = [body[: streaming.FIRST_SEGMENT_CIPHERTEXT]]
    body = body[streaming.FIRST_SEGMENT_CIPHERTEXT :]
    while body:
        segments.append(body[: streaming.SEGMENT_SIZE])
        body = body[streaming.SEGMENT_SIZE :]
    return prelude, segments
