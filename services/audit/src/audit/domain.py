"""What a journal entry is and which bytes its Merkle leaf commits to (pure, no I/O).

A leaf is the RFC 8785 canonical JSON of the event's non-personal envelope fields and a salted
SHA-256 commitment of its payload. The payload (and the envelope fields that may name a person:
actor, correlation and causation ids) is kept apart, encrypted under its subject's key; the salt
travels inside that ciphertext, so once the key is shredded nobody can test a guessed payload
against the commitment, while every leaf, root and proof stays as it was.

Who may read a payload is decided per entry, never per subject (operators read every payload):

- An entry's own readers are the parties its event names (`event_parties`): an `office:`,
  `recipient:` or `account:` actor and the party fields of its payload. They are fixed when it
  is journaled, kept beside the ciphertext and sealed inside it (`EntryReaders`).
- A subject's owners are the parties named by its founding event (the first one, consultations
  aside, to name any party: a declaration's registering office, an act's office and person, an
  account's person) and those named later by an event of a platform actor (`service:`,
  `operator:`) or of an owner. They read the subject's entries, including those journaled
  before they became owners (the person whose account is linked to a declaration after its
  registration reads that registration).
- A consultation (`CONSULTATIONS`: a registry lookup) is private to its consulter: it adds no
  owner, even to the subject it arrived on, and the subject's owners do not read it. An event
  whose office or recipient actor is not an owner adds no owner either: it is readable by its
  own parties and the owners only.
- An entry journaled before readers were kept has none: offices and recipients are refused its
  payload (it is `withheld`), the operator still reads it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import JsonValue
from typing_extensions import TypedDict

from audit import merkle
from shared.canonical import canonical_json
from shared.contracts.consent import RegistryConsultedV1
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


class JournalEntry(TypedDict):
    """A journal entry as stored and served: exactly the leaf's fields (`LEAF_FIELDS`)."""

    index: int
    event_id: str
    type: str
    schema_version: int
    producer: str
    producer_seq: int | None
    subject: str
    occurred_at: str
    journaled_at: str
    payload_commitment: str


class ReadersDocument(TypedDict):
    """An entry's readers as kept beside its ciphertext and sealed inside it."""

    readers: list[str]
    owners_read: bool


class SealedRecord(TypedDict, total=False):
    """The plaintext sealed under the subject key (`sealed_record`); `readers` and
    `owners_read` are absent from records sealed before readers were kept."""

    salt: str
    payload: dict[str, JsonValue]
    actor: str
    correlation_id: str | None
    causation_id: str | None
    readers: list[str]
    owners_read: bool


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_SIZE)


def payload_commitment(salt: bytes, payload: Mapping[str, Any]) -> str:
    """`SHA-256(salt || RFC 8785 canonical JSON of the payload)`, hex."""
    return hashlib.sha256(salt + canonical_json(dict(payload))).hexdigest()


def build_entry(
    envelope: Envelope, *, index: int, journaled_at: datetime, commitment: str
) -> JournalEntry:
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


def sealed_record(envelope: Envelope, salt: bytes, readers: EntryReaders) -> bytes:
    """The plaintext that gets encrypted under the subject key: the payload, its salt, the
    envelope fields kept out of the leaf and the entry's readers (sealed so that readers edited
    beside the ciphertext are caught when it is opened)."""
    return canonical_json(
        {
            "salt": salt.hex(),
            "payload": envelope.payload,
            "actor": envelope.actor,
            "correlation_id": envelope.correlation_id,
            "causation_id": envelope.causation_id,
            **readers.to_document(),
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


# Events that consult a subject without being part of it: private to their consulter.
CONSULTATIONS: Final = frozenset({RegistryConsultedV1.routing_key()})
# Actors whose events may name new owners of a subject (besides its founder and its owners).
PLATFORM_ACTORS: Final = ("service:", "operator:")


def event_parties(envelope: Envelope) -> frozenset[str]:
    """The offices and recipients an event names: an `office:`/`recipient:`/`account:` actor,
    and the party fields above."""
    parties: set[str] = set()
    if envelope.actor.startswith(("office:", "recipient:")):
        parties.add(envelope.actor)
    elif envelope.actor.startswith("account:"):
        parties.add(f"recipient:{envelope.actor.removeprefix('account:')}")
    for field, kind in _PARTY_FIELDS:
        value = envelope.payload.get(field)
        if isinstance(value, str) and value:
            parties.add(f"{kind}:{value}")
    return frozenset(parties)


def actor_party(actor: str) -> str:
    """The party an actor is, in the form `event_parties` names it."""
    if actor.startswith("account:"):
        return f"recipient:{actor.removeprefix('account:')}"
    return actor


@dataclass(frozen=True)
class EntryReaders:
    """Who, besides operators, may read one entry's payload: the parties its event names, and
    the subject's owners unless the event is a consultation."""

    parties: frozenset[str]
    owners_read: bool

    @classmethod
    def of(cls, envelope: Envelope) -> EntryReaders:
        return cls(event_parties(envelope), envelope.type not in CONSULTATIONS)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> EntryReaders | None:
        """The readers kept in `document` (sealed record or stored payload); None if it was
        written before readers were kept, or holds them malformed."""
        parties = document.get("readers")
        owners_read = document.get("owners_read")
        if not isinstance(parties, list) or not isinstance(owners_read, bool):
            return None
        if not all(isinstance(party, str) for party in parties):
            return None
        return cls(frozenset(parties), owners_read)

    def to_document(self) -> ReadersDocument:
        return {"readers": sorted(self.parties), "owners_read": self.owners_read}

    def allowed(self, owners: frozenset[str]) -> frozenset[str]:
        """Everyone who may read the entry, given its subject's owners now."""
        return self.parties | owners if self.owners_read else self.parties


def new_owners(envelope: Envelope, owners: frozenset[str]) -> frozenset[str]:
    """The owners `envelope` adds to its subject, which has `owners` so far (none: the event
    founds it if it names a party). See the module docstring."""
    if envelope.type in CONSULTATIONS:
        return frozenset()
    actor = envelope.actor
    if not owners or actor.startswith(PLATFORM_ACTORS) or actor_party(actor) in owners:
        return event_parties(envelope) - owners
    return frozenset()
