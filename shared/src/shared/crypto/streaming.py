"""Streaming authenticated encryption of acts, replies and proof documents (DESIGN §6).

Wire format of an encrypted object::

    object header (53 bytes, authenticated)
        magic "SCTA" | format version 0x01 | DEK id (16 bytes) | SHA-256 object binding (32 bytes)
    Tink AES-GCM-HKDF streaming ciphertext, associated data = the object header
        header length 0x28 | salt (32 bytes) | nonce prefix (7 bytes)
        segments of 64 KiB of ciphertext (the first one shorter by the 40-byte Tink header),
        each AES-256-GCM with nonce = prefix || u32 big-endian segment number || last-segment byte

The segment key is HKDF-SHA256(DEK, salt, info = object header), so a changed header, a wrong
key or another object's id changes every tag. The nonce carries the segment number and the
last-segment flag, so dropping, reordering, duplicating, appending or truncating segments fails.
The Tink part is byte-for-byte Tink's format: Tink decrypts it given the DEK as an
AesGcmHkdfStreamingKey (64 KiB segments) and the object header as associated data.

Memory stays bounded by about two segments plus the caller's largest input chunk, and the
plaintext SHA-256 is computed in the same pass.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.crypto.errors import IntegrityError, StreamNotFinishedError

MAGIC: Final = b"SCTA"
FORMAT_VERSION: Final = 1
DEK_SIZE: Final = 32
DEK_ID_SIZE: Final = 16
OBJECT_HEADER_SIZE: Final = len(MAGIC) + 1 + DEK_ID_SIZE + 32

SEGMENT_SIZE: Final = 64 * 1024
TAG_SIZE: Final = 16
NONCE_PREFIX_SIZE: Final = 7
SALT_SIZE: Final = DEK_SIZE
TINK_HEADER_SIZE: Final = 1 + SALT_SIZE + NONCE_PREFIX_SIZE
FIRST_SEGMENT_CIPHERTEXT: Final = SEGMENT_SIZE - TINK_HEADER_SIZE
FIRST_SEGMENT_PLAINTEXT: Final = FIRST_SEGMENT_CIPHERTEXT - TAG_SIZE
SEGMENT_PLAINTEXT: Final = SEGMENT_SIZE - TAG_SIZE

_OBJECT_BINDING_DOMAIN: Final = b"securact-ng object id\x00"
_MAX_SEGMENTS: Final = 2**32


@dataclass(frozen=True, repr=False)
class DataKey:
    """A per-object data encryption key (DEK) with its public id.

    The id travels in the object header and beside the wrapped key, so a wrong key is detected
    before any segment is tried. The material never appears in `repr` or logs.
    """

    dek_id: bytes
    material: bytes = field(compare=False)

    def __post_init__(self) -> None:
        if len(self.dek_id) != DEK_ID_SIZE or len(self.material) != DEK_SIZE:
            raise ValueError("a DEK is a 16-byte id and 32 bytes of key material")

    @classmethod
    def generate(cls) -> DataKey:
        """A fresh random 256-bit DEK with a random id."""
        return cls(secrets.token_bytes(DEK_ID_SIZE), secrets.token_bytes(DEK_SIZE))

    def __repr__(self) -> str:
        return f"DataKey(dek_id={self.dek_id.hex()})"


def object_binding(object_id: str) -> bytes:
    """The 32-byte digest that binds a ciphertext to its object id."""
    return hashlib.sha256(_OBJECT_BINDING_DOMAIN + object_id.encode("utf-8")).digest()


def stream_header(key: DataKey, object_id: str) -> bytes:
    """The authenticated object header for this key and object.

    It is also the associated data of the Tink part, which is what lets Tink itself decrypt our
    objects (and us decrypt Tink's) given the DEK.
    """
    return MAGIC + bytes([FORMAT_VERSION]) + key.dek_id + object_binding(object_id)


def ciphertext_size(plaintext_size: int) -> int:
    """The exact encrypted size of a plaintext of this size (for uploads with a known length)."""
    if plaintext_size < 0:
        raise ValueError("negative size")
    fixed = OBJECT_HEADER_SIZE + TINK_HEADER_SIZE
    if plaintext_size <= FIRST_SEGMENT_PLAINTEXT:
        return fixed + plaintext_size + TAG_SIZE
    rest = plaintext_size - FIRST_SEGMENT_PLAINTEXT
    segments = 1 + -(-rest // SEGMENT_PLAINTEXT)
    return fixed + plaintext_size + segments * TAG_SIZE


def _segment_cipher(key: DataKey, header: bytes, salt: bytes) -> AESGCM:
    segment_key = HKDF(algorithm=hashes.SHA256(), length=DEK_SIZE, salt=salt, info=header).derive(
        key.material
    )
    return AESGCM(segment_key)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= _MAX_SEGMENTS:
        raise IntegrityError("too many segments")
    return prefix + struct.pack(">IB", index, 1 if last else 0)


class _Digesting:
    """Common state: plaintext digest and size, readable once the stream is exhausted."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._plaintext_size = 0
        self._done = False

    @property
    def finished(self) -> bool:
        return self._done

    @property
    def plaintext_sha256(self) -> bytes:
        """SHA-256 of the whole plaintext; available once the stream was fully consumed."""
        if not self._done:
            raise StreamNotFinishedError("the stream has not been fully consumed")
        return self._sha256.digest()

    @property
    def plaintext_size(self) -> int:
        """Plaintext size in bytes; available once the stream was fully consumed."""
        if not self._done:
            raise StreamNotFinishedError("the stream has not been fully consumed")
        return self._plaintext_size


class EncryptingStream(_Digesting):
    """Async iterator of ciphertext chunks for a plaintext async iterable of any chunking.

    Iterate it once; then `plaintext_sha256` and `plaintext_size` describe what was encrypted.
    """

    def __init__(self, plaintext: AsyncIterable[bytes], key: DataKey, object_id: str) -> None:
        super().__init__()
        self._source = plaintext
        self._key = key
        self._object_id = object_id
        self._started = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started:
            raise RuntimeError("an encrypting stream can be iterated only once")
        self._started = True
        return self._run()

    async def _run(self) -> AsyncIterator[bytes]:
        header = stream_header(self._key, self._object_id)
        salt = secrets.token_bytes(SALT_SIZE)
        prefix = secrets.token_bytes(NONCE_PREFIX_SIZE)
        cipher = _segment_cipher(self._key, header, salt)
        yield header + bytes([TINK_HEADER_SIZE]) + salt + prefix

        index = 0
        capacity = FIRST_SEGMENT_PLAINTEXT
        pending = bytearray()
        async for chunk in self._source:
            self._sha256.update(chunk)
            self._plaintext_size += len(chunk)
            view = memoryview(chunk)
            pos = 0
            # A full segment is sealed only once a further byte exists: the last segment must
            # carry the last-segment flag, and it may be full (Tink does the same).
            while len(view) - pos > capacity - len(pending):
                take = capacity - len(pending)
                pending += view[pos : pos + take]
                pos += take
                yield cipher.encrypt(_nonce(prefix, index, False), pending, None)
                pending.clear()
                index += 1
                capacity = SEGMENT_PLAINTEXT
            pending += view[pos:]
        yield cipher.encrypt(_nonce(prefix, index, True), pending, None)
        self._done = True


class DecryptingStream(_Digesting):
    """Async iterator of verified plaintext chunks for a ciphertext async iterable.

    Each yielded chunk is one segment whose tag has verified; any tampering, wrong key or wrong
    object id raises `IntegrityError`, at the latest when the ciphertext ends (a missing final
    segment is detected there). A consumer must therefore treat the plaintext as valid only once
    iteration completed without error, e.g. an HTTP response streaming it must be aborted, not
    ended cleanly, on the error.
    """

    def __init__(self, ciphertext: AsyncIterable[bytes], key: DataKey, object_id: str) -> None:
        super().__init__()
        self._source = ciphertext
        self._key = key
        self._object_id = object_id
        self._started = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started:
            raise RuntimeError("a decrypting stream can be iterated only once")
        self._started = True
        return self._run()

    def _open(
        self, cipher: AESGCM, prefix: bytes, index: int, last: bool, data: bytearray
    ) -> bytes:
        try:
            plaintext = cipher.decrypt(_nonce(prefix, index, last), data, None)
        except InvalidTag:
            raise IntegrityError("ciphertext segment does not verify") from None
        self._sha256.update(plaintext)
        self._plaintext_size += len(plaintext)
        return plaintext

    async def _run(self) -> AsyncIterator[bytes]:
        expected_header = stream_header(self._key, self._object_id)
        prelude_size = OBJECT_HEADER_SIZE + TINK_HEADER_SIZE
        pending = bytearray()
        cipher: AESGCM | None = None
        prefix = b""
        index = 0
        capacity = FIRST_SEGMENT_CIPHERTEXT
        async for chunk in self._source:
            view = memoryview(chunk)
            pos = 0
            if cipher is None:
                take = min(len(view), prelude_size - len(pending))
                pending += view[:take]
                pos = take
                if len(pending) < prelude_size:
                    continue
                cipher, prefix = self._parse_prelude(bytes(pending), expected_header)
                pending.clear()
            # Like encryption: a full segment is final unless more ciphertext follows it.
            while len(view) - pos > capacity - len(pending):
                take = capacity - len(pending)
                pending += view[pos : pos + take]
                pos += take
                yield self._open(cipher, prefix, index, False, pending)
                pending.clear()
                index += 1
                capacity = SEGMENT_SIZE
            pending += view[pos:]
        if cipher is None:
            raise IntegrityError("ciphertext shorter than its header")
        if len(pending) < TAG_SIZE:
            raise IntegrityError("ciphertext truncated")
        final = self._open(cipher, prefix, index, True, pending)
        self._done = True
        if final:
            yield final

    def _parse_prelude(self, prelude: bytes, expected_header: bytes) -> tuple[AESGCM, bytes]:
        header = prelude[:OBJECT_HEADER_SIZE]
        tink = prelude[OBJECT_HEADER_SIZE:]
        # Constant-time comparison: the header is public, but the habit costs nothing.
        if not hmac.compare_digest(header, expected_header) or tink[0] != TINK_HEADER_SIZE:
            raise IntegrityError("header does not match this key and object")
        salt = tink[1 : 1 + SALT_SIZE]
        prefix = tink[1 + SALT_SIZE :]
        return _segment_cipher(self._key, header, salt), prefix


def encrypt_stream(
    plaintext: AsyncIterable[bytes], key: DataKey, object_id: str
) -> EncryptingStream:
    """Encrypt `plaintext` (any chunking) for `object_id`; iterate the result for ciphertext."""
    return EncryptingStream(plaintext, key, object_id)


def decrypt_stream(
    ciphertext: AsyncIterable[bytes], key: DataKey, object_id: str
) -> DecryptingStream:
    """Decrypt and verify `ciphertext` of `object_id`; iterate the result for plaintext."""
    return DecryptingStream(ciphertext, key, object_id)
