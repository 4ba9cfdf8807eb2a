from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.crypto import streaming
from shared.crypto.errors import IntegrityError, StreamNotFinishedError
from shared.crypto.streaming import DataKey, ciphertext_size, decrypt_stream, encrypt_stream
from tests.unit.crypto.streams import (
    PRELUDE,
    chunks,
    collect,
    decrypt,
    decrypt_until_error,
    encrypt,
    split_segments,
)

OBJECT_ID = "act-0001"
FIRST = streaming.FIRST_SEGMENT_PLAINTEXT
FULL = streaming.SEGMENT_PLAINTEXT
# Four segments: enough to drop, swap and duplicate the ones in the middle.
FOUR_SEGMENTS = random.Random(4).randbytes(FIRST + 2 * FULL + 1_000)

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def key() -> DataKey:
    return DataKey.generate()


@pytest.fixture(scope="module")
async def four_segment_ciphertext(key: DataKey) -> bytes:
    ciphertext = await encrypt(FOUR_SEGMENTS, key, OBJECT_ID)
    assert len(split_segments(ciphertext)[1]) == 4
    return ciphertext


async def assert_rejected(ciphertext: bytes, key: DataKey, object_id: str = OBJECT_ID) -> None:
    yielded, error = await decrypt_until_error(ciphertext, key, object_id)
    assert isinstance(error, IntegrityError)
    # What came out before the error is verified plaintext of leading segments, nothing else.
    assert FOUR_SEGMENTS.startswith(b"".join(yielded)) or yielded == []


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    size=st.one_of(
        st.integers(0, 3 * MIB),
        st.integers(MIB, 3 * MIB),
        st.sampled_from([0, 1, FIRST - 1, FIRST, FIRST + 1, FIRST + FULL, FIRST + 2 * FULL + 1]),
    ),
    seed=st.integers(0, 2**32),
    plain_chunks=st.lists(st.integers(1, 200_000), min_size=1, max_size=8),
    cipher_chunks=st.lists(st.integers(1, 200_000), min_size=1, max_size=8),
)
async def test_any_size_and_chunking_round_trips_with_matching_digest(
    key: DataKey, size: int, seed: int, plain_chunks: list[int], cipher_chunks: list[int]
) -> None:
    data = random.Random(seed).randbytes(size)
    encrypting = encrypt_stream(chunks(data, plain_chunks), key, OBJECT_ID)
    ciphertext = await collect(encrypting)
    decrypting = decrypt_stream(chunks(ciphertext, cipher_chunks), key, OBJECT_ID)

    assert await collect(decrypting) == data
    assert len(ciphertext) == ciphertext_size(size)
    assert encrypting.plaintext_sha256 == hashlib.sha256(data).digest()
    assert decrypting.plaintext_sha256 == encrypting.plaintext_sha256
    assert encrypting.plaintext_size == decrypting.plaintext_size == size


@settings(max_examples=150, deadline=None)
@given(position=st.integers(0, len(FOUR_SEGMENTS) + 4 * 16 + PRELUDE - 1), flip=st.integers(1, 255))
async def test_any_flipped_ciphertext_byte_fails_with_integrity_error(
    key: DataKey, four_segment_ciphertext: bytes, position: int, flip: int
) -> None:
    tampered = bytearray(four_segment_ciphertext)
    tampered[position] ^= flip
    await assert_rejected(bytes(tampered), key)


async def test_every_header_byte_is_authenticated(key: DataKey) -> None:
    ciphertext = await encrypt(b"short act", key, OBJECT_ID)
    for position in range(PRELUDE):
        tampered = bytearray(ciphertext)
        tampered[position] ^= 0x01
        yielded, error = await decrypt_until_error(bytes(tampered), key, OBJECT_ID)
        assert isinstance(error, IntegrityError), position
        assert yielded == []


async def test_tampered_segment_yields_only_the_verified_segments_before_it(
    key: DataKey, four_segment_ciphertext: bytes
) -> None:
    prelude, segments = split_segments(four_segment_ciphertext)
    segments[2] = segments[2][:100] + bytes([segments[2][100] ^ 0x80]) + segments[2][101:]

    yielded, error = await decrypt_until_error(prelude + b"".join(segments), key, OBJECT_ID)

    assert isinstance(error, IntegrityError)
    assert b"".join(yielded) == FOUR_SEGMENTS[: FIRST + FULL]


async def test_dropping_the_last_segment_fails(
    key: DataKey, four_segment_ciphertext: bytes
) -> None:
    prelude, segments = split_segments(four_segment_ciphertext)
    await assert_rejected(prelude + b"".join(segments[:-1]), key)


async def test_dropping_a_middle_segment_fails(
    key: DataKey, four_segment_ciphertext: bytes
) -> None:
    prelude, segments = split_segments(four_segment_ciphertext)
    await assert_rejected(prelude + segments[0] + segments[2] + segments[3], key)


async def test_reordering_segments_fails(key: DataKey, four_segment_ciphertext: bytes) -> None:
    prelude, segments = split_segments(four_segment_ciphertext)
    await assert_rejected(prelude + segments[0] + segments[2] + segments[1] + segments[3], key)


async def test_duplicating_a_segment_fails(key: DataKey, four_segment_ciphertext: bytes) -> None:
    prelude, segments = split_segments(four_segment_ciphertext)
    await assert_rejected(prelude + b"".join(segments[:2]) + b"".join(segments[1:]), key)


async def test_appending_bytes_or_a_segment_fails(
    key: DataKey, four_segment_ciphertext: bytes
) -> None:
    _, segments = split_segments(four_segment_ciphertext)
    await assert_rejected(four_segment_ciphertext + b"\x00", key)
    await assert_rejected(four_segment_ciphertext + segments[1], key)


@pytest.mark.parametrize("cut", [0, 1, PRELUDE - 1, PRELUDE, PRELUDE + 15, PRELUDE + 16, -16, -1])
async def test_truncated_stream_fails_with_integrity_error(
    key: DataKey, four_segment_ciphertext: bytes, cut: int
) -> None:
    await assert_rejected(four_segment_ciphertext[:cut], key)


async def test_truncation_at_a_segment_boundary_fails(
    key: DataKey, four_segment_ciphertext: bytes
) -> None:
    prelude, segments = split_segments(four_segment_ciphertext)
    for kept in range(1, len(segments)):
        await assert_rejected(prelude + b"".join(segments[:kept]), key)


async def test_wrong_key_fails(four_segment_ciphertext: bytes) -> None:
    await assert_rejected(four_segment_ciphertext, DataKey.generate())


async def test_right_key_id_with_wrong_material_fails(
    key: DataKey, four_segment_ciphertext: bytes
) -> None:
    impostor = DataKey(key.dek_id, DataKey.generate().material)
    await assert_rejected(four_segment_ciphertext, impostor)


async def test_ciphertext_bound_to_another_object_fails(
    key: DataKey, four_segment_ciphertext: bytes
) -> None:
    await assert_rejected(four_segment_ciphertext, key, object_id="act-0002")


async def test_header_of_another_object_spliced_in_fails(
    key: DataKey, four_segment_ciphertext: bytes
) -> None:
    # Rebind the header to another object id: the segment keys depend on it, so tags break.
    other_header = streaming.stream_header(key, "act-0002")
    spliced = other_header + four_segment_ciphertext[streaming.OBJECT_HEADER_SIZE :]
    await assert_rejected(spliced, key, object_id="act-0002")


async def test_empty_plaintext_still_produces_an_authenticated_final_segment(key: DataKey) -> None:
    ciphertext = await encrypt(b"", key, OBJECT_ID)
    assert len(ciphertext) == PRELUDE + streaming.TAG_SIZE
    assert await decrypt(ciphertext, key, OBJECT_ID) == b""
    await assert_rejected(ciphertext[:PRELUDE], key)


async def test_two_encryptions_of_the_same_plaintext_differ(key: DataKey) -> None:
    assert await encrypt(b"same", key, OBJECT_ID) != await encrypt(b"same", key, OBJECT_ID)


async def test_digest_is_unavailable_until_the_stream_is_consumed(key: DataKey) -> None:
    stream = encrypt_stream(chunks(b"abc"), key, OBJECT_ID)
    with pytest.raises(StreamNotFinishedError):
        _ = stream.plaintext_sha256
    iterator = aiter(stream)
    await anext(iterator)
    with pytest.raises(StreamNotFinishedError):
        _ = stream.plaintext_size
    async for _ in iterator:
        pass
    assert stream.plaintext_sha256 == hashlib.sha256(b"abc").digest()


async def test_digest_of_a_rejected_stream_is_never_available(
    key: DataKey, four_segment_ciphertext: bytes
) -> None:
    stream = decrypt_stream(chunks(four_segment_ciphertext[:-1]), key, OBJECT_ID)
    with pytest.raises(IntegrityError):
        await collect(stream)
    with pytest.raises(StreamNotFinishedError):
        _ = stream.plaintext_sha256


async def test_encryption_streams_without_reading_the_whole_source(key: DataKey) -> None:
    pulled = 0

    async def source() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(64):  # 4 MiB in 64 KiB chunks
            pulled += 1
            yield bytes(65_536)

    stream = aiter(encrypt_stream(source(), key, OBJECT_ID))
    await anext(stream)  # the header
    await anext(stream)  # the first segment
    assert pulled <= 2
    async for _ in stream:
        pass
    assert pulled == 64


async def test_a_stream_can_be_iterated_only_once(key: DataKey) -> None:
    stream = encrypt_stream(chunks(b"x"), key, OBJECT_ID)
    await collect(stream)
    with pytest.raises(RuntimeError):
        aiter(stream)


def test_data_key_repr_hides_the_key_material() -> None:
    key = DataKey.generate()
    assert key.material.hex() not in repr(key)
    assert key.dek_id.hex() in repr(key)
