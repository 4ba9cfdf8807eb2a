"""C2SP tlog-cosignature (`cosignature/v1`, Ed25519): a witness's timestamped statement that a
checkpoint is the largest consistent tree it has seen for that log (https://c2sp.org/tlog-cosignature).

A cosignature is a signed-note signature line::

    — <witness name> base64(key id (4) || timestamp (8, big-endian) || Ed25519 signature (64))

over the message ``cosignature/v1\\ntime <timestamp>\\n<checkpoint note body>``. The key id is
``SHA-256(name || "\\n" || 0x04 || public key)[:4]`` and a witness's verifier key is written
``<name>+<key id>+base64(0x04 || public key)`` (0x04: the cosignature/v1 type, so a log key
and a witness key never verify each other's lines).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.crypto import IntegrityError
from shared.crypto.signing import SIGNATURE_LINE_PREFIX

ALG_COSIGNATURE_V1: Final = 0x04
HEADER: Final = "cosignature/v1"
_PRIVATE_PREFIX: Final = "PRIVATE+KEY+"
_MAX_TIMESTAMP: Final = 2**63 - 1


def _check_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise ValueError("a key name is non-empty, without '+' or whitespace")


def cosigner_key_hash(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public_key
    ).digest()[:4]


def signed_message(body: str, timestamp: int) -> bytes:
    """What a cosignature signs: the header, the time line and the checkpoint body."""
    if not body.endswith("\n"):
        raise ValueError("a checkpoint body ends with a newline")
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise ValueError("a cosignature timestamp is a u63")
    return f"{HEADER}\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class CosignerVerifier:
    """A witness's public key (cosignature/v1)."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")

    @property
    def key_hash(self) -> bytes:
        return cosigner_key_hash(self.name, self.public_key)

    def to_string(self) -> str:
        encoded = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{encoded}"

    @classmethod
    def from_string(cls, vkey: str) -> CosignerVerifier:
        """Parse a witness verifier key; rejects another key type or a hash that does not match."""
        try:
            name, hash_hex, encoded = vkey.strip().split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise ValueError("malformed witness verifier key") from exc
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise ValueError("not a cosignature/v1 (Ed25519) verifier key")
        key = cls(name, raw[1:])
        if len(hash_hex) != 8 or key.key_hash.hex() != hash_hex.lower():
            raise ValueError("witness verifier key hash does not match its key")
        return key

    def verify(self, body: str, line: str) -> int:
        """The timestamp of `line`, this key's cosignature of the checkpoint `body`;
        IntegrityError if it is not one."""
        name, blob = _parse_line(line)
        if name != self.name or blob[:4] != self.key_hash:
            raise IntegrityError(f"not a cosignature by {self.name}")
        if len(blob) != 4 + 8 + 64:
            raise IntegrityError(f"malformed cosignature by {self.name}")
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        if timestamp > _MAX_TIMESTAMP:
            raise IntegrityError(f"cosignature by {self.name} has an invalid timestamp")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                blob[12:], signed_message(body, timestamp)
            )
        except (InvalidSignature, ValueError):
            raise IntegrityError(f"invalid cosignature by {self.name}") from None
        return int(timestamp)


@dataclass(frozen=True, repr=False)
class CosignerKey:
    """A witness's private key. Its seed never appears in `repr` or logs."""

    name: str
    private_key: Ed25519PrivateKey = field(compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)

    @classmethod
    def generate(cls, name: str) -> CosignerKey:
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def verifier(self) -> CosignerVerifier:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return CosignerVerifier(self.name, raw)

    def to_private_string(self) -> str:
        seed = self.private_key.private_bytes_raw()
        encoded = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + seed).decode()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.verifier.key_hash.hex()}+{encoded}"

    @classmethod
    def from_private_string(cls, skey: str) -> CosignerKey:
        if not skey.startswith(_PRIVATE_PREFIX):
            raise ValueError("not a private key string")
        try:
            name, hash_hex, encoded = skey.strip()[len(_PRIVATE_PREFIX) :].split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise ValueError("malformed private witness key") from exc
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise ValueError("not a cosignature/v1 private key")
        key = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if key.verifier.key_hash.hex() != hash_hex.lower():
            raise ValueError("private witness key hash does not match its key")
        return key

    def cosign(self, body: str, timestamp: int) -> str:
        """The cosignature line (with its newline) of the checkpoint `body` at `timestamp`."""
        signature = self.private_key.sign(signed_message(body, timestamp))
        blob = self.verifier.key_hash + struct.pack(">Q", timestamp) + signature
        return f"{SIGNATURE_LINE_PREFIX}{self.name} {base64.b64encode(blob).decode()}\n"

    def __repr__(self) -> str:
        return f"CosignerKey(name={self.name!r}, key_id={self.verifier.key_hash.hex()})"


def _parse_line(line: str) -> tuple[str, bytes]:
    line = line.rstrip("\n")
    if not line.startswith(SIGNATURE_LINE_PREFIX):
        raise IntegrityError("malformed signature line")
    try:
        name, encoded = line[len(SIGNATURE_LINE_PREFIX) :].split(" ")
        blob = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise IntegrityError("malformed signature line") from None
    if len(blob) < 5:
        raise IntegrityError("malformed signature line")
    return name, blob


@dataclass(frozen=True)
class Cosignature:
    witness: CosignerVerifier
    timestamp: int
    line: str


def split_note(note: str) -> tuple[str, list[str]]:
    """A signed note's body (with its final newline) and its signature lines."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise IntegrityError("malformed signed note")
    return note[: split + 1], [f"{line}\n" for line in note[split + 2 :].splitlines()]


def verify_cosignatures(note: str, witnesses: Iterable[CosignerVerifier]) -> list[Cosignature]:
    """The valid cosignatures in a signed note by the given witnesses.

    As a note verifier does: lines by other keys (the log's own, unknown witnesses) are skipped,
    but a line that claims a known witness's name and key id and does not verify fails the
    whole note (IntegrityError): a tampered cosignature is never silently dropped.
    """
    body, lines = split_note(note)
    known = {(w.name, w.key_hash): w for w in witnesses}
    found: list[Cosignature] = []
    for line in lines:
        name, blob = _parse_line(line)
        witness = known.get((name, blob[:4]))
        if witness is not None:
            found.append(Cosignature(witness, witness.verify(body, line), line))
    return found


def add_cosignatures(note: str, lines: Iterable[str]) -> str:
    """The note with cosignature lines appended (each once, after the existing signatures)."""
    _, existing = split_note(note)
    extra = [line if line.endswith("\n") else f"{line}\n" for line in lines]
    return note + "".join(line for line in dict.fromkeys(extra) if line not in existing)
