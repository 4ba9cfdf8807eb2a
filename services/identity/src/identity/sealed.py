"""Small secrets sealed at rest: TOTP secrets, and the token of an activation or reset link
until notify has fetched it, under the platform's key ring (DESIGN §6).

A TOTP secret is what an attacker needs to mint second-factor codes, so a copy of identity's
database must not give it away. Each sealed value gets its own random DEK (`KeyRing.new_data_key`,
wrapped by the KEK with the value's object id as associated data) and is an AES-256-GCM payload
under that DEK whose associated data names the same object id and the DEK id: a sealed value
copied onto another account does not open.

Stored form (a JSON sub-document of the account)::

    {"format": "securact-ng/identity-sealed/v1", "dek": {<WrappedDek>},
     "nonce": "<base64>", "ciphertext": "<base64>"}

Records written before sealing hold the secret as a plain string: `open` still reads them and
the use cases write them back sealed the next time they write the account (migration on read).
"""

from __future__ import annotations

import base64
import json
import secrets
import struct
from typing import Any, Final, TypedDict

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.crypto import IntegrityError, KeyRing, WrappedDek

SEALED_FORMAT: Final = "securact-ng/identity-sealed/v1"
_DOMAIN: Final = b"securact-ng identity sealed value v1"
_NONCE_SIZE: Final = 12


def totp_object_id(account_id: str) -> str:
    """The object id a TOTP secret is sealed under (pending and confirmed alike: confirming
    moves the sealed value as is)."""
    return f"identity/accounts/{account_id}/totp"


def link_object_id(link_id: str) -> str:
    """The object id a link's token is sealed under."""
    return f"identity/links/{link_id}"


def _associated_data(object_id: str, dek_id: bytes) -> bytes:
    oid = object_id.encode("utf-8")
    return _DOMAIN + struct.pack(">I", len(oid)) + oid + dek_id


class SealedValue(TypedDict):
    """A secret as stored: its wrapped DEK, the nonce and the ciphertext (base64)."""

    format: str
    dek: dict[str, object]
    nonce: str
    ciphertext: str


def is_sealed(stored: Any) -> bool:
    return isinstance(stored, dict) and stored.get("format") == SEALED_FORMAT


class SecretSealer:
    """Seals and opens short secrets with per-value DEKs from a `KeyRing`."""

    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring

    async def seal(self, plaintext: str, object_id: str) -> SealedValue:
        key, wrapped = await self._keyring.new_data_key(object_id)
        nonce = secrets.token_bytes(_NONCE_SIZE)
        ciphertext = AESGCM(key.material).encrypt(
            nonce, plaintext.encode("utf-8"), _associated_data(object_id, key.dek_id)
        )
        return SealedValue(
            format=SEALED_FORMAT,
            dek=json.loads(wrapped.model_dump_json()),
            nonce=base64.b64encode(nonce).decode("ascii"),
            ciphertext=base64.b64encode(ciphertext).decode("ascii"),
        )

    async def open(self, stored: Any, object_id: str) -> str | None:
        """The plaintext of a stored value: None when nothing is stored, a legacy plain string
        as is, a sealed value decrypted (`IntegrityError` if it was moved or altered)."""
        if stored is None or stored == "":
            return None
        if isinstance(stored, str):
            return stored
        if not is_sealed(stored):
            raise IntegrityError("unknown sealed value format")
        wrapped = WrappedDek.model_validate_json(json.dumps(stored["dek"]))
        key = await self._keyring.unwrap(wrapped, object_id)
        try:
            plaintext = AESGCM(key.material).decrypt(
                base64.b64decode(stored["nonce"]),
                base64.b64decode(stored["ciphertext"]),
                _associated_data(object_id, key.dek_id),
            )
        except InvalidTag:
            raise IntegrityError("sealed value does not open under its object id") from None
        return plaintext.decode("utf-8")
