"""Our streaming format against Google's Tink: each decrypts what the other encrypts.

The Tink part of an object is Tink's AES-GCM-HKDF streaming ciphertext with the object header as
associated data, so Tink opens it with the DEK as an AesGcmHkdfStreamingKey (HKDF-SHA256,
32-byte derived key, 64 KiB ciphertext segments).
"""

from __future__ import annotations

import io
import random

import pytest
from tink import proto_keyset_format, secret_key_access, streaming_aead
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2

from shared.crypto import streaming
from shared.crypto.errors import IntegrityError
from shared.crypto.streaming import DataKey, stream_header
from tests.unit.crypto.streams import decrypt, encrypt

OBJECT_ID = "act-interop"
FIRST = streaming.FIRST_SEGMENT_PLAINTEXT
FULL = streaming.SEGMENT_PLAINTEXT
SIZES = [0, 1, 4_096, FIRST - 1, FIRST, FIRST + 1, FIRST + FULL, FIRST + 3 * FULL + 7, 1_000_003]
TYPE_URL = "type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey"


class _KeepOpen(io.BytesIO):
    """Tink closes its destination; keep the bytes readable afterwards."""

    def close(self) -> None:
        pass


def tink_primitive(key: DataKey) -> streaming_aead.StreamingAead:
    streaming_aead.register()
    tink_key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(
        version=0,
        key_value=key.material,
        params=aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
            ciphertext_segment_size=streaming.SEGMENT_SIZE,
            derived_key_size=streaming.DEK_SIZE,
            hkdf_hash_type=common_pb2.SHA256,
        ),
    )
    keyset = tink_pb2.Keyset(
        primary_key_id=1,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url=TYPE_URL,
                    value=tink_key.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=1,
                output_prefix_type=tink_pb2.RAW,
            )
        ],
    )
    handle = proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
    return handle.primitive(streaming_aead.StreamingAead)


@pytest.mark.parametrize("size", SIZES)
async def test_tink_decrypts_what_we_encrypt(size: int) -> None:
    key = DataKey.generate()
    plaintext = random.Random(size).randbytes(size)
    ours = await encrypt(plaintext, key, OBJECT_ID)
    header = stream_header(key, OBJECT_ID)
    assert ours.startswith(header)

    with tink_primitive(key).new_decrypting_stream(io.BytesIO(ours[len(header) :]), header) as f:
        assert f.read() == plaintext


@pytest.mark.parametrize("size", SIZES)
async def test_we_decrypt_what_tink_encrypts(size: int) -> None:
    key = DataKey.generate()
    plaintext = random.Random(size).randbytes(size)
    header = stream_header(key, OBJECT_ID)
    sink = _KeepOpen()
    with tink_primitive(key).new_encrypting_stream(sink, header) as f:
        f.write(plaintext)

    assert await decrypt(header + sink.getvalue(), key, OBJECT_ID) == plaintext


async def test_tink_ciphertext_under_another_objects_header_is_rejected() -> None:
    key = DataKey.generate()
    sink = _KeepOpen()
    with tink_primitive(key).new_encrypting_stream(sink, stream_header(key, "act-a")) as f:
        f.write(b"acte")

    with pytest.raises(IntegrityError):
        await decrypt(stream_header(key, "act-b") + sink.getvalue(), key, "act-b")
