"""Small secrets sealed at rest under a service's key ring (DESIGN §6): a value a copy of the
database must not give away but the service must read back (a webhook signing secret, a TOTP
secret, a link's token until it is fetched).

Each value gets its own DEK (`KeyRing.new_data_key`, wrapped by the KEK with the value's object
id as associated data) and is AES-256-GCM under that DEK with associated data naming the
domain, the object id and the DEK id: a sealed value copied onto another record does not open.

Stored form: `{"format": <format>, "dek": {<WrappedDek>}, "nonce": b64, "ciphertext": b64}`.
"""

from __future__ import annotations

import base64
import json
import secrets
import struct
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from typing_extensions import TypedDict  # pydantic reads it on Python < 3.12

from shared.crypto.errors import IntegrityError
from shared.crypto.keyring import KeyRing, WrappedDek

_NONCE_SIZE: Final = 12


class SealedValue(TypedDict):
    """A secret as stored: its wrapped DEK, the nonce and the ciphertext (base64)."""

    format: str
    dek: dict[str, object]
    nonce: str
    ciphertext: str


class Sealer:
    """Seals and opens short secrets of one kind (`format`, `domain`) with per-value DEKs."""

    def __init__(self, keyring: KeyRing, *, format: str, domain: bytes) -> None:
        self._keyring = keyring
        self.format = format
        self._domain = domain

    def _associated_data(self, object_id: str, dek_id: bytes) -> bytes:
        oid = object_id.encode("utf-8")
        return self._domain + struct.pack(">I", len(oid)) + oid + dek_id

    def is_sealed(self, stored: Any) -> bool:
        return isinstance(stored, dict) and stored.get("format") == self.format

    async def seal(self, plaintext: str, object_id: str) -> SealedValue:
        key, wrapped = await self._keyring.new_data_key(object_id)
        nonce = secrets.token_bytes(_NONCE_SIZE)
        ciphertext = AESGCM(key.material).encrypt(
            nonce, plaintext.encode("utf-8"), self._associated_data(object_id, key.dek_id)
        )
        return SealedValue(
            format=self.format,
            dek=json.loads(wrapped.model_dump_json()),
            nonce=base64.b64encode(nonce).decode("ascii"),
            ciphertext=base64.b64encode(ciphertext).decode("ascii"),
        )

    async def open(self, stored: Any, object_id: str) -> str:
        """The plaintext (`IntegrityError` if the value was moved, altered or is no sealed
        value of this kind)."""
        if not self.is_sealed(stored):
            raise IntegrityError("unknown sealed value format")
        wrapped = WrappedDek.model_validate_json(json.dumps(stored["dek"]))
        key = await self._keyring.unwrap(wrapped, object_id)
        try:
            plaintext = AESGCM(key.material).decrypt(
                base64.b64decode(stored["nonce"]),
                base64.b64decode(stored["ciphertext"]),
                self._associated_data(object_id, key.dek_id),
            )
        except InvalidTag:
            raise IntegrityError("sealed value does not open under its object id") from None
        return plaintext.decode("utf-8")
