"""What a journal entry is and which bytes its Merkle leaf commits to (pure, no I/O).

A leaf is the RFC 8785 canonical JSON of the event's non-personal envelope fields and a salted
SHA-256 commitment of its payload. The payload (and the envelope fields that may name a person:
actor, correlation and causation ids) is kept apart, encrypted under its subject's key; the salt
travels inside that ciphertext, so once the key is shredded nobody can test a guessed payload
against the commitment, while every leaf, root and proof stays as it was.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from audit import merkle
from shared.canonical import canonical_json
from shared.contracts.envelope import Envelope
from shared.store.port import to_iso

SALT_SIZE: Final = 32
# The fields a leaf commits to, in the stored entry; the leaf is their canonical JSON.
LEAF_FIELDS: Final = (
    "index",
    "event_id",
    "type",
    "schema_version",
    "producer",
    "producer_seq",
    "subject",
    "occurred_at",
    "journaled_at",
    "payload_commitment",
)


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_SIZE)


def payload_commitment(salt: bytes, payload: Mapping[str, Any]) -> str:
    """`SHA-256(salt || RFC 8785 canonical JSON of the payload)`, hex."""
    return hashlib.sha256(salt + canonical_json(dict(payload))).hexdigest()


def build_entry(
    envelope: Envelope, *, index: int, journaled_at: datetime, commitment: str
) -> dict[str, Any]:
    """The stored entry of `envelope` at `index`: exactly the leaf's fields."""
    return {
        "index": index,
        "event_id": envelope.event_id,
        "type": envelope.type,
        "schema_version": envelope.schema_version,
        "producer": envelope.producer,
        "producer_seq": envelope.producer_seq,
        "subject": envelope.subject,
        "occurred_at": to_iso(envelope.occurred_at),
        "journaled_at": to_iso(journaled_at),
        "payload_commitment": commitment,
    }


def leaf_data(entry: Mapping[str, Any]) -> bytes:
    """The leaf bytes of an entry (KeyError if a leaf field is missing)."""
    return canonical_json({name: entry[name] for name in LEAF_FIELDS})


def entry_leaf_hash(entry: Mapping[str, Any]) -> bytes:
    """RFC 6962 leaf hash of an entry."""
    return merkle.leaf_hash(leaf_data(entry))


def sealed_record(envelope: Envelope, salt: bytes) -> bytes:
    """The plaintext that gets encrypted under the subject key: the payload, its salt and the
    envelope fields kept out of the leaf."""
    return canonical_json(
        {
            "salt": salt.hex(),
            "payload": envelope.payload,
            "actor": envelope.actor,
            "correlation_id": envelope.correlation_id,
            "causation_id": envelope.causation_id,
        }
    )


# Payload fields naming the party a subject belongs to. A recipient is known by their account
# id (their token's `sub`): delivery says `recipient_account_id`, identity and consent
# `account_id`.
_PARTY_FIELDS: Final = (
    ("office_id", "office"),
    ("recipient_id", "recipient"),
    ("recipient_account_id", "recipient"),
    ("account_id", "recipient"),
)


def parties_of(envelope: Envelope) -> set[str]:
    """The offices and recipients an event shows its subject belongs to (who may read its
    payloads): an `office:`/`recipient:`/`account:` actor, and the party fields above."""
    parties: set[str] = set()
    if envelope.actor.startswith(("office:", "recipient:")):
        parties.add(envelope.actor)
    elif envelope.actor.startswith("account:"):
        parties.add(f"recipient:{envelope.actor.removeprefix('account:')}")
    for field, kind in _PARTY_FIELDS:
        value = envelope.payload.get(field)
        if isinstance(value, str) and value:
            parties.add(f"{kind}:{value}")
    return parties
