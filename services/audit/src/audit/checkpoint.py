"""Checkpoints (C2SP tlog-checkpoint) and receipts (C2SP tlog-proof): text formats and their
offline verification. Pure: signing keys and verifier keys are passed in.

Checkpoint body (https://c2sp.org/tlog-checkpoint), signed as a C2SP signed note::

    <origin>\\n<tree size, decimal>\\n<base64 root hash>\\n

Receipt (https://c2sp.org/tlog-proof), what `GET /v1/receipts/{index}` serves::

    c2sp.org/tlog-proof@v1
    extra <base64 of the leaf: the entry's RFC 8785 canonical JSON>
    index <zero-based index, decimal>
    <base64 proof hash, leaf's sibling first>   (zero or more lines)
    <empty line>
    <the signed checkpoint note, verbatim>

The `extra` line is the spec's optional opaque data; we carry the leaf in it so that a receipt
alone shows which event it proves. It is not trusted: the verifier hashes it and checks the
inclusion proof against the signed root.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from audit import merkle
from shared.crypto import IntegrityError, VerifierKey, open_note, sign_note
from shared.crypto.signing import SIGNATURE_LINE_PREFIX, Signer

RECEIPT_HEADER: Final = "c2sp.org/tlog-proof@v1"
_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")


class FormatError(ValueError):
    """A checkpoint or receipt is not in its format."""


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError("invalid base64") from None


def _decimal(text: str) -> int:
    if not _DECIMAL.match(text):
        raise FormatError(f"not a decimal without leading zeroes: {text[:20]!r}")
    return int(text)


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size and its root hash."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        """The note text that gets signed."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint note text (extension lines are ignored, as the spec allows)."""
        if not body.endswith("\n"):
            raise FormatError("a checkpoint ends with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3 or not lines[0]:
            raise FormatError("a checkpoint has an origin, a size and a root line")
        root = _b64decode(lines[2])
        if len(root) != merkle.HASH_SIZE:
            raise FormatError("a checkpoint root is a SHA-256 hash")
        return cls(lines[0], _decimal(lines[1]), root)

    def sign(self, keys: Sequence[Signer]) -> str:
        """The signed note of this checkpoint."""
        return sign_note(self.body(), keys)


def add_checkpoint_request(old_size: int, proof: Sequence[bytes], note: str) -> str:
    """The body of a C2SP tlog-witness `add-checkpoint` call: the size the witness last
    cosigned, the consistency proof from it, an empty line, then the signed note."""
    lines = [f"old {old_size}", *(base64.b64encode(h).decode("ascii") for h in proof)]
    return "\n".join(lines) + "\n\n" + note


def log_signed_note(note: str, keys: Iterable[VerifierKey]) -> str:
    """The note with only the log's signature lines (by these keys' names): what a checkpoint's
    timestamp covers, once cosignature lines were appended to it."""
    names = {key.name for key in keys}
    split = note.rfind("\n\n")
    if split < 0:
        raise FormatError("not a signed note")
    lines = note[split + 2 :].splitlines(keepends=True)
    kept = [line for line in lines if line[len(SIGNATURE_LINE_PREFIX) :].split(" ")[0] in names]
    return note[: split + 2] + "".join(kept)


def open_checkpoint(
    note: str, verifiers: Iterable[VerifierKey], *, origin: str | None = None
) -> Checkpoint:
    """The checkpoint of a signed note, once a known key's signature verified; IntegrityError
    otherwise (or when it is not the expected log's)."""
    opened = open_note(note, verifiers)
    try:
        checkpoint = Checkpoint.parse(opened.text)
    except FormatError as error:
        raise IntegrityError(f"not a checkpoint: {error}") from None
    if origin is not None and checkpoint.origin != origin:
        raise IntegrityError(f"checkpoint of another log ({checkpoint.origin!r})")
    return checkpoint


@dataclass(frozen=True)
class Receipt:
    """A C2SP tlog-proof: an entry's index, its inclusion proof and a signed checkpoint."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None

    def to_text(self) -> str:
        lines = [RECEIPT_HEADER]
        if self.extra is not None:
            lines.append(f"extra {base64.b64encode(self.extra).decode('ascii')}")
        lines.append(f"index {self.index}")
        lines.extend(base64.b64encode(h).decode("ascii") for h in self.proof)
        return "\n".join(lines) + "\n\n" + self.checkpoint_note

    @classmethod
    def parse(cls, text: str) -> Receipt:
        head, separator, note = text.partition("\n\n")
        if not separator or not note:
            raise FormatError("a receipt ends with its checkpoint after an empty line")
        lines = head.split("\n")
        if lines[0] != RECEIPT_HEADER:
            raise FormatError(f"a receipt starts with {RECEIPT_HEADER}")
        position = 1
        extra = None
        if len(lines) > position and lines[position].startswith("extra "):
            extra = _b64decode(lines[position][len("extra ") :])
            position += 1
        if len(lines) <= position or not lines[position].startswith("index "):
            raise FormatError("a receipt names its index")
        index = _decimal(lines[position][len("index ") :])
        proof = tuple(_b64decode(line) for line in lines[position + 1 :])
        if any(len(h) != merkle.HASH_SIZE for h in proof):
            raise FormatError("proof lines are SHA-256 hashes")
        return cls(index, proof, note, extra)


@dataclass(frozen=True)
class VerifiedReceipt:
    index: int
    checkpoint: Checkpoint
    leaf_hash: bytes
    entry: dict[str, object] | None
    """The leaf's fields when the receipt carries the leaf (or it was given)."""


def verify_receipt(
    text: str,
    verifiers: Iterable[VerifierKey],
    *,
    origin: str | None = None,
    leaf: bytes | None = None,
) -> VerifiedReceipt:
    """Check a receipt offline: the checkpoint's signature, then the entry's inclusion in it.

    The leaf comes from `leaf` if given, else from the receipt's `extra` line. Raises
    IntegrityError (or FormatError) on any failure.
    """
    receipt = Receipt.parse(text)
    checkpoint = open_checkpoint(receipt.checkpoint_note, verifiers, origin=origin)
    data = leaf if leaf is not None else receipt.extra
    if data is None:
        raise FormatError("the receipt carries no leaf: give it separately")
    if leaf is not None and receipt.extra is not None and receipt.extra != leaf:
        raise IntegrityError("the receipt is for another entry than the given leaf")
    leaf_hash = merkle.leaf_hash(data)
    if not merkle.verify_inclusion(
        receipt.index, checkpoint.size, leaf_hash, receipt.proof, checkpoint.root
    ):
        raise IntegrityError(
            f"entry {receipt.index} is not included in the checkpoint of size {checkpoint.size}"
        )
    entry = _leaf_fields(data)
    if entry is not None and entry.get("index") != receipt.index:
        raise IntegrityError("the leaf names another index than the receipt")
    return VerifiedReceipt(receipt.index, checkpoint, leaf_hash, entry)


def _leaf_fields(data: bytes) -> dict[str, object] | None:
    try:
        decoded = json.loads(data)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None
