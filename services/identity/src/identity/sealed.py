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

from typing import Any, Final

from shared.crypto import KeyRing
from shared.crypto.sealed import SealedValue, Sealer

__all__ = [
    "SEALED_FORMAT",
    "SealedValue",
    "SecretSealer",
    "is_sealed",
    "link_object_id",
    "totp_object_id",
]

SEALED_FORMAT: Final = "securact-ng/identity-sealed/v1"
_DOMAIN: Final = b"securact-ng identity sealed value v1"


def totp_object_id(account_id: str) -> str:
    """The object id a TOTP secret is sealed under (pending and confirmed alike: confirming
    moves the sealed value as is)."""
    return f"identity/accounts/{account_id}/totp"


def link_object_id(link_id: str) -> str:
    """The object id a link's token is sealed under."""
    return f"identity/links/{link_id}"


def is_sealed(stored: Any) -> bool:
    return isinstance(stored, dict) and stored.get("format") == SEALED_FORMAT


class SecretSealer:
    """Identity's sealed values (the kernel's `Sealer`), reading legacy plain strings too."""

    def __init__(self, keyring: KeyRing) -> None:
        self._sealer = Sealer(keyring, format=SEALED_FORMAT, domain=_DOMAIN)

    async def seal(self, plaintext: str, object_id: str) -> SealedValue:
        return await self._sealer.seal(plaintext, object_id)

    async def open(self, stored: Any, object_id: str) -> str | None:
        """The plaintext of a stored value: None when nothing is stored, a legacy plain string
        as is, a sealed value decrypted (`IntegrityError` if it was moved or altered)."""
        if stored is None or stored == "":
            return None
        if isinstance(stored, str):
            return stored
        return await self._sealer.open(stored, object_id)
