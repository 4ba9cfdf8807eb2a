"""What a witness checks, pure: the add-checkpoint request body, the checkpoint it carries and
the RFC 6962 consistency proof between two tree heads.

The consistency verifier is written here, independently of the log's own code (audit's
`merkle`), from RFC 9162 §2.1.4.2: a witness that shared the log's verifier would share its bugs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

HASH_SIZE: Final = 32
MAX_PROOF_LINES: Final = 63
_DECIMAL: Final = re.compile(r"^(0|[1-9][0-9]*)$")


class MalformedError(ValueError):
    """The request is not an add-checkpoint body, or its checkpoint is not one (400)."""


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedError("invalid base64") from None


def _decimal(text: str) -> int:
    if not _DECIMAL.match(text):
        raise MalformedError("not a decimal without leading zeroes")
    return int(text)


@dataclass(frozen=True)
class TreeHead:
    origin: str
    size: int
    root: bytes


def parse_checkpoint_body(body: str) -> TreeHead:
    """The origin, size and root of a checkpoint note body (extension lines allowed)."""
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[0]:
        raise MalformedError("a checkpoint has an origin, a size and a root line")
    root = _b64(lines[2])
    if len(root) != HASH_SIZE:
        raise MalformedError("a checkpoint root is a SHA-256 hash")
    return TreeHead(lines[0], _decimal(lines[1]), root)


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: tuple[bytes, ...]
    note: str


def parse_add_checkpoint(text: str) -> AddCheckpoint:
    """`old <size>\\n`, proof lines, an empty line, then the signed checkpoint note."""
    head, separator, note = text.partition("\n\n")
    if not separator or not note:
        raise MalformedError("the request ends with a checkpoint after an empty line")
    lines = head.split("\n")
    if not lines[0].startswith("old "):
        raise MalformedError("the request starts with an old size line")
    old_size = _decimal(lines[0][len("old ") :])
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise MalformedError(f"more than {MAX_PROOF_LINES} proof lines")
    proof = tuple(_b64(line) for line in lines[1:])
    if any(len(h) != HASH_SIZE for h in proof):
        raise MalformedError("proof lines are SHA-256 hashes")
    return AddCheckpoint(old_size, proof, note)


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def consistent(size1: int, root1: bytes, size2: int, root2: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: whether `proof` shows the tree (size2, root2) extends (size1, root1).
    Callers handle size1 == 0 (nothing to prove) and size1 == size2 (equal roots)."""
    if not 0 < size1 < size2 or not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2
