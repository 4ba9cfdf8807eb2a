"""Per-object data keys wrapped by versioned key-encryption keys (DESIGN §6).

Every object gets its own random 256-bit DEK. The DEK is wrapped (encrypted) by a KEK held in a
`KekSource`, with the object id as associated data, and the resulting `WrappedDek` is returned to
the calling service, which keeps it in its own store, never inside the object. Rotating the KEK
adds a version; `KeyRing.rewrap` moves stored wrapped DEKs to it without touching the objects, and
old versions keep unwrapping until they are retired.
"""

from __future__ import annotations

import logging
import struct
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from shared.crypto.errors import KeyNotFoundError
from shared.crypto.streaming import DEK_ID_SIZE, DataKey

logger = logging.getLogger(__name__)

_WRAP_DOMAIN = b"securact-ng wrapped dek v1"


class KekSource(Protocol):
    """Port to the key-encryption keys: a local key file in dev, an HSM (`Pkcs11KekSource`),
    a KMS or Vault in production.

    The KEK material never has to leave the source: the ring only asks it to wrap and unwrap
    32-byte DEKs under associated data. Adapter notes for production sources:

    - Vault Transit (aes256-gcm96 key): `wrap` = `POST transit/encrypt/<key_id>` with
      `associated_data`; the version is the `vault:v<N>:` prefix of the answer; `unwrap` =
      `transit/decrypt`; `rotate` = `transit/keys/<key_id>/rotate`; `retire` raises
      `min_decryption_version`.
    - AWS/GCP KMS: `wrap`/`unwrap` = Encrypt/Decrypt with the associated data as encryption
      context (AWS) or additional authenticated data (GCP); the version is the key version the
      service reports (GCP) or a local counter of rotations (AWS rotates transparently).

    Every method is async because real sources are network calls. Failures to verify raise
    `IntegrityError`; unknown or retired versions raise `KeyNotFoundError`.
    """

    @property
    def key_id(self) -> str:
        """Stable name of the KEK (all versions share it)."""
        ...

    async def current_version(self) -> int:
        """The version new wraps use."""
        ...

    async def wrap(self, plaintext: bytes, associated_data: bytes) -> tuple[int, bytes]:
        """Encrypt `plaintext` under the current version; returns (version, ciphertext)."""
        ...

    async def unwrap(self, version: int, ciphertext: bytes, associated_data: bytes) -> bytes:
        """Decrypt a wrap made under `version`."""
        ...

    async def rotate(self) -> int:
        """Create a new current version and return it; older versions still unwrap."""
        ...

    async def retire(self, version: int) -> None:
        """Make `version` unable to unwrap (after every DEK was rewrapped away from it)."""
        ...

    async def versions(self) -> dict[int, bool]:
        """Every version the source holds, each with whether it is retired (empty: none yet;
        nothing is created)."""
        ...


class WrappedDek(BaseModel):
    """A DEK as the owning service stores it: safe to persist, useless without the KEK.

    `model_dump(mode="json")` gives a JSON document (bytes as base64) for the document store.
    """

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    kek_id: str
    kek_version: int = Field(ge=1)
    dek_id: bytes = Field(min_length=DEK_ID_SIZE, max_length=DEK_ID_SIZE)
    ciphertext: bytes

    def to_bytes(self) -> bytes:
        """Compact serialisation (JSON) for stores that keep opaque bytes."""
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> WrappedDek:
        """Inverse of `to_bytes`."""
        return cls.model_validate_json(data)


def wrap_associated_data(object_id: str, dek_id: bytes) -> bytes:
    """Associated data of a wrap: binds the wrapped DEK to its object id and its DEK id."""
    oid = object_id.encode("utf-8")
    return _WRAP_DOMAIN + struct.pack(">I", len(oid)) + oid + dek_id


class KeyRing:
    """Creates, unwraps and rewraps per-object DEKs with one `KekSource`."""

    def __init__(self, source: KekSource) -> None:
        self._source = source

    async def new_data_key(self, object_id: str) -> tuple[DataKey, WrappedDek]:
        """A fresh DEK for `object_id` and its wrapped form to store beside the object's row."""
        key = DataKey.generate()
        version, ciphertext = await self._source.wrap(
            key.material, wrap_associated_data(object_id, key.dek_id)
        )
        wrapped = WrappedDek(
            kek_id=self._source.key_id,
            kek_version=version,
            dek_id=key.dek_id,
            ciphertext=ciphertext,
        )
        return key, wrapped

    async def unwrap(self, wrapped: WrappedDek, object_id: str) -> DataKey:
        """The DEK of `object_id`; `IntegrityError` if the wrap belongs to another object."""
        if wrapped.kek_id != self._source.key_id:
            raise KeyNotFoundError(f"wrapped by unknown KEK {wrapped.kek_id!r}")
        material = await self._source.unwrap(
            wrapped.kek_version,
            wrapped.ciphertext,
            wrap_associated_data(object_id, wrapped.dek_id),
        )
        return DataKey(wrapped.dek_id, material)

    async def needs_rewrap(self, wrapped: WrappedDek) -> bool:
        """True when `wrapped` is not under the current KEK version."""
        return wrapped.kek_version != await self._source.current_version()

    async def rewrap(self, wrapped: WrappedDek, object_id: str) -> WrappedDek:
        """The same DEK wrapped under the current KEK version (the object is untouched)."""
        if not await self.needs_rewrap(wrapped):
            return wrapped
        key = await self.unwrap(wrapped, object_id)
        version, ciphertext = await self._source.wrap(
            key.material, wrap_associated_data(object_id, key.dek_id)
        )
        logger.info(
            "rewrapped dek %s from kek version %s to %s",
            key.dek_id.hex(),
            wrapped.kek_version,
            version,
        )
        return WrappedDek(
            kek_id=self._source.key_id,
            kek_version=version,
            dek_id=key.dek_id,
            ciphertext=ciphertext,
        )
