"""The journal's pure rules: what an entry holds and how entries chain (no I/O here).

Each entry keeps the envelope's non-personal fields and a digest of the payload; its hash covers
the previous entry's hash and the entry's RFC 8785 canonical JSON. Changing, removing or
reordering any entry breaks every hash after it. The payload's digest, not the payload, is
chained, so a payload can later be shredded without breaking the chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import rfc8785

from shared.contracts.envelope import Envelope
from shared.store.port import to_iso

GENESIS_HASH = "00" * 32
# The fields the hash covers, in the stored entry; everything else is bookkeeping.
CHAINED_FIELDS = (
    "index",
    "event_id",
    "type",
    "schema_version",
    "producer",
    "producer_seq",
    "subject",
    "actor",
    "correlation_id",
    "causation_id",
    "occurred_at",
    "journaled_at",
    "payload_sha256",
    "prev_hash",
)


def payload_digest(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(dict(payload))).hexdigest()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical JSON of the chained fields."""
    chained = {name: entry[name] for name in CHAINED_FIELDS}
    return hashlib.sha256(bytes.fromhex(entry["prev_hash"]) + rfc8785.dumps(chained)).hexdigest()


def build_entry(
    envelope: Envelope, *, index: int, prev_hash: str, journaled_at: datetime
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "index": index,
        "event_id": envelope.event_id,
        "type": envelope.type,
        "schema_version": envelope.schema_version,
        "producer": envelope.producer,
        "producer_seq": envelope.producer_seq,
        "subject": envelope.subject,
        "actor": envelope.actor,
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "occurred_at": to_iso(envelope.occurred_at),
        "journaled_at": to_iso(journaled_at),
        "payload_sha256": payload_digest(envelope.payload),
        "prev_hash": prev_hash,
    }
    entry["entry_hash"] = entry_hash(entry)
    return entry


class ChainCheck:
    """Walks the journal from index 0 in index order, one entry at a time (bounded memory)."""

    def __init__(self) -> None:
        self.checked = 0
        self.last_hash = GENESIS_HASH

    def accepts(self, entry: Mapping[str, Any]) -> bool:
        """Whether `entry` is the intact next link; the walk stops at the first that is not."""
        try:
            intact = bool(
                entry["index"] == self.checked
                and entry["prev_hash"] == self.last_hash
                and entry_hash(entry) == entry["entry_hash"]
            )
        except (KeyError, TypeError, ValueError):
            return False  # a field removed or mangled in storage
        if intact:
            self.checked += 1
            self.last_hash = str(entry["entry_hash"])
        return intact


def first_broken_link(entries: Iterable[Mapping[str, Any]]) -> int | None:
    """The index of the first entry whose hash or link does not verify, None if all do.

    `entries` must be the journal from index 0, in index order.
    """
    check = ChainCheck()
    for entry in entries:
        if not check.accepts(entry):
            return check.checked
    return None
