"""Ed25519 platform signing keys: key ring, JWKS, C2SP signed notes (DESIGN §6).

Key ids follow C2SP signed-note: the key hash is the first 4 bytes of
SHA-256(name || "\\n" || 0x01 || public key), written as 8 hex digits. Public keys are published
both as a JWKS (`kty` OKP, `crv` Ed25519, `kid` = key id) and as signed-note verifier keys
`<name>+<hash>+<base64(0x01 || public key)>`. Every signature carries its key id, so verifiers
pick the key and rotated keys keep verifying what they signed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel, ConfigDict

from shared.clock import Clock
from shared.crypto.errors import ConfigurationError, IntegrityError, KeyNotFoundError
from shared.crypto.keyfile import create_private_json, read_private_json, replace_private_json
from shared.jsondoc import JsonObject

logger = logging.getLogger(__name__)

ALG_ED25519: Final = 0x01
SIGNATURE_LINE_PREFIX: Final = "\u2014 "
_PRIVATE_PREFIX: Final = "PRIVATE+KEY+"
SIGNING_FILE_FORMAT: Final = "securact-ng/signing-keys/v1"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _check_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise ValueError("a key name is non-empty, without '+' or whitespace")


def key_hash(name: str, public_key: bytes) -> bytes:
    """The C2SP signed-note key hash (4 bytes) of an Ed25519 key named `name`."""
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    ).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A public Ed25519 key with its name and key id."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.public_key)

    @property
    def key_id(self) -> str:
        """The key hash as 8 lowercase hex digits (also the JWK `kid`)."""
        return self.key_hash.hex()

    def to_string(self) -> str:
        """The C2SP verifier key string `<name>+<hash>+<base64(0x01 || key)>`."""
        encoded = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id}+{encoded}"

    @classmethod
    def from_string(cls, vkey: str) -> VerifierKey:
        """Parse a C2SP verifier key string; rejects a hash that does not match the key."""
        try:
            name, hash_hex, encoded = vkey.split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise ValueError("malformed verifier key") from exc
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise ValueError("not an Ed25519 verifier key")
        key = cls(name, raw[1:])
        if key.key_id != hash_hex.lower() or len(hash_hex) != 8:
            raise ValueError("verifier key hash does not match its key")
        return key

    def jwk(self) -> dict[str, str]:
        """The public key as an RFC 8037 JWK."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(self.public_key),
            "kid": self.key_id,
            "alg": "EdDSA",
            "use": "sig",
        }

    def verify(self, data: bytes, signature: bytes) -> bool:
        """True if `signature` is this key's Ed25519 signature of `data`."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, data)
        except InvalidSignature:
            return False
        return True


class Signer(Protocol):
    """A named Ed25519 private key: `SigningKey` in memory, or a key held by an HSM."""

    @property
    def name(self) -> str: ...

    @property
    def verifier(self) -> VerifierKey: ...

    @property
    def key_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True, repr=False)
class SigningKey:
    """A named Ed25519 private key. Its seed never appears in `repr` or logs."""

    name: str
    private_key: Ed25519PrivateKey = field(compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> SigningKey:
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_private_string(cls, skey: str) -> SigningKey:
        """Parse Go's `PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>` format."""
        if not skey.startswith(_PRIVATE_PREFIX):
            raise ValueError("not a private signing key string")
        try:
            name, hash_hex, encoded = skey[len(_PRIVATE_PREFIX) :].split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise ValueError("malformed private signing key") from exc
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise ValueError("not an Ed25519 private key")
        key = cls.from_seed(name, raw[1:])
        if key.verifier.key_id != hash_hex.lower():
            raise ValueError("private key hash does not match its key")
        return key

    def to_private_string(self) -> str:
        """Go's private key string; for key files only."""
        seed = self.private_key.private_bytes_raw()
        encoded = base64.b64encode(bytes([ALG_ED25519]) + seed).decode("ascii")
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id}+{encoded}"

    @property
    def verifier(self) -> VerifierKey:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return VerifierKey(self.name, raw)

    @property
    def key_id(self) -> str:
        return self.verifier.key_id

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    def __repr__(self) -> str:
        return f"SigningKey(name={self.name!r}, key_id={self.key_id})"


class DetachedSignature(BaseModel):
    """A signature of raw bytes with the id of the key that made it."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    kid: str
    signature: bytes


@dataclass(frozen=True)
class VerifiedNote:
    """An opened signed note: its text and which known keys signed it."""

    text: str
    verified_by: tuple[VerifierKey, ...]
    unverified_names: tuple[str, ...]


def sign_note(text: str, keys: Sequence[Signer]) -> str:
    """A C2SP signed note: `text` (ending in a newline), a blank line, one line per key."""
    if not text.endswith("\n"):
        raise ValueError("note text must end with a newline")
    if not keys:
        raise ValueError("a signed note needs at least one key")
    message = text.encode("utf-8")
    lines = []
    for key in keys:
        blob = base64.b64encode(key.verifier.key_hash + key.sign(message)).decode("ascii")
        lines.append(f"{SIGNATURE_LINE_PREFIX}{key.name} {blob}\n")
    return text + "\n" + "".join(lines)


def open_note(note: str, verifiers: Iterable[VerifierKey]) -> VerifiedNote:
    """Verify a C2SP signed note against known keys.

    As in Go's `note.Open`: signatures by unknown keys are ignored (their names are reported),
    a signature by a known key that does not verify fails the note, and at least one known key
    must have signed. Every failure raises `IntegrityError`.
    """
    known = {(v.name, v.key_hash): v for v in verifiers}
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise IntegrityError("malformed signed note")
    text = note[: split + 1]
    message = text.encode("utf-8")
    verified: list[VerifierKey] = []
    unknown: list[str] = []
    for line in note[split + 2 :].splitlines():
        if not line.startswith(SIGNATURE_LINE_PREFIX):
            raise IntegrityError("malformed signature line")
        try:
            name, encoded = line[len(SIGNATURE_LINE_PREFIX) :].split(" ")
            blob = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raise IntegrityError("malformed signature line") from None
        if len(blob) < 5:
            raise IntegrityError("malformed signature line")
        verifier = known.get((name, blob[:4]))
        if verifier is None:
            unknown.append(name)
            continue
        if not verifier.verify(message, blob[4:]):
            raise IntegrityError(f"invalid signature by {name}")
        verified.append(verifier)
    if not verified:
        raise IntegrityError("no signature by a known key")
    return VerifiedNote(text, tuple(verified), tuple(unknown))


class SigningKeyRing:
    """The platform's signing keys: one active key signs, every published key verifies.

    Rotation makes a new key active and keeps the old public key published, so what it signed
    stays verifiable; `retire` stops publishing a key (its signatures then fail to verify).
    """

    def __init__(self, active: Signer, published: Iterable[VerifierKey] = ()) -> None:
        self._active = active
        self._published: dict[str, VerifierKey] = {}
        for key in (*published, active.verifier):
            self._add(key)

    def _add(self, key: VerifierKey) -> None:
        existing = self._published.get(key.key_id)
        if existing is not None and existing != key:
            raise ValueError(f"key id {key.key_id} collides with another key")
        self._published[key.key_id] = key

    @property
    def active(self) -> Signer:
        return self._active

    @property
    def published(self) -> tuple[VerifierKey, ...]:
        return tuple(self._published.values())

    def rotate(self, new_key: Signer) -> None:
        """Sign with `new_key` from now on; the previous key stays published for verification."""
        self._add(new_key.verifier)
        self._active = new_key
        logger.info("signing key rotated to %s", new_key.key_id)

    def retire(self, key_id: str) -> None:
        """Stop publishing (and accepting) `key_id`; the active key cannot be retired."""
        if key_id == self._active.key_id:
            raise ValueError("the active signing key cannot be retired: rotate first")
        if self._published.pop(key_id, None) is None:
            raise KeyNotFoundError(f"no published signing key {key_id}")

    def verifier(self, key_id: str) -> VerifierKey:
        key = self._published.get(key_id)
        if key is None:
            raise KeyNotFoundError(f"no published signing key {key_id}")
        return key

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS document to serve at `/.well-known/jwks.json`."""
        return {"keys": [key.jwk() for key in self._published.values()]}

    def verifier_keys(self) -> list[str]:
        """The C2SP verifier key strings of every published key."""
        return [key.to_string() for key in self._published.values()]

    def sign(self, data: bytes) -> DetachedSignature:
        """Sign raw bytes with the active key."""
        return DetachedSignature(kid=self._active.key_id, signature=self._active.sign(data))

    async def sign_async(self, data: bytes) -> DetachedSignature:
        """`sign` off the event loop when the key is a device's (an HSM's signature is a round
        trip); a key in memory signs on the loop: its signature takes less CPU than the hop."""
        if isinstance(self._active, SigningKey):
            return self.sign(data)
        return await asyncio.to_thread(self.sign, data)

    def verify(self, data: bytes, signature: DetachedSignature) -> VerifierKey:
        """The key that made `signature` over `data`; `IntegrityError` if it does not verify."""
        key = self._published.get(signature.kid)
        if key is None or not key.verify(data, signature.signature):
            raise IntegrityError("signature does not verify")
        return key

    def sign_note(self, text: str) -> str:
        """A C2SP signed note of `text` by the active key."""
        return sign_note(text, [self._active])

    async def sign_note_async(self, text: str) -> str:
        """`sign_note` off the event loop when the key is a device's (see `sign_async`)."""
        if isinstance(self._active, SigningKey):
            return self.sign_note(text)
        return await asyncio.to_thread(self.sign_note, text)

    def open_note(self, note: str) -> VerifiedNote:
        """Verify a signed note against the published keys."""
        return open_note(note, self._published.values())


def load_or_create_signing_ring(path: Path, name: str, clock: Clock) -> SigningKeyRing:
    """The signing key ring kept in a private (0600) JSON file, created on first use.

    For dev and single-host deployments; a production deployment supplies its keys the same
    way from its secret store. The file lists every key (private strings, so retired keys can be
    reinstated) with the active one first.
    """
    if not path.exists():
        key = SigningKey.generate(name)
        document: JsonObject = {
            "format": SIGNING_FILE_FORMAT,
            "active": key.key_id,
            "keys": [{"skey": key.to_private_string(), "created_at": _iso(clock.now())}],
        }
        if create_private_json(path, document):
            logger.info("created signing key file with key %s", key.key_id)
    document = read_private_json(path)
    try:
        if document.get("format") != SIGNING_FILE_FORMAT:
            raise ConfigurationError(f"{path} is not a {SIGNING_FILE_FORMAT} file")
        keys = [SigningKey.from_private_string(item["skey"]) for item in document["keys"]]
        active_id = str(document["active"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"{path} is malformed") from exc
    by_id = {key.key_id: key for key in keys}
    if active_id not in by_id:
        raise ConfigurationError(f"{path} names an active key it does not hold")
    return SigningKeyRing(by_id[active_id], [key.verifier for key in keys])


def rotate_signing_file(path: Path, name: str, clock: Clock) -> SigningKeyRing:
    """Add a new active key to the signing key file and return the resulting ring."""
    ring = load_or_create_signing_ring(path, name, clock)
    document = read_private_json(path)
    new_key = SigningKey.generate(name)
    while new_key.key_id in {k.key_id for k in ring.published}:
        new_key = SigningKey.generate(name)
    document["keys"].append({"skey": new_key.to_private_string(), "created_at": _iso(clock.now())})
    document["active"] = new_key.key_id
    replace_private_json(path, document)
    ring.rotate(new_key)
    return ring


def _iso(instant: datetime) -> str:
    return instant.isoformat()
