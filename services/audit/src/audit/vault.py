"""Payloads kept apart from the log, encrypted under one data key per subject (DESIGN §4, §6).

Each subject (`act:<id>`, `service:<name>`, ...) gets a random 256-bit DEK the first time an
event about it is journaled; the DEK is stored wrapped by the KEK ring, beside the subject's
owners. Each payload is sealed with AES-256-GCM under that DEK, with the event id as associated
data, so a ciphertext moved to another entry does not open; the entry's readers are stored
beside it and sealed inside it (who reads what: `audit.domain`). A subject key document with
`parties` instead of owners (gathered from every event, lookups included) is not trusted: the
subject is founded again by its next event naming a party.

A payload that does not open (tampered ciphertext, wrap, readers or commitment) is reported as
`corrupt`, never raised: the entry is still served.

Shredding a subject destroys its wrapped DEK and leaves a tombstone: every payload of the
subject becomes unrecoverable (its salt is inside the ciphertext, so the leaf's commitment can
no longer be tested against a guess), later payloads of the subject are not kept at all, and the
Merkle log is untouched.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import ValidationError

from audit.domain import EntryReaders, new_owners, payload_commitment
from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.crypto import DataKey, IntegrityError, KeyNotFoundError, KeyRing, WrappedDek
from shared.store.port import (
    DocumentReader,
    DocumentStore,
    Transaction,
    to_iso,
    version_of,
    without_meta,
)

log = logging.getLogger(__name__)

SUBJECT_KEYS: Final = "journal_subject_keys"
PAYLOADS: Final = "journal_payloads"
NONCE_SIZE: Final = 12
KEY_CACHE_SIZE: Final = 1024


class PayloadState(StrEnum):
    AVAILABLE = "available"
    SHREDDED = "shredded"
    ABSENT = "absent"
    WITHHELD = "withheld"
    """Not shown to this caller (the vault itself never answers it)."""
    CORRUPT = "corrupt"
    """Kept, but fails its integrity check: it does not decrypt, or its readers or its
    commitment do not match."""


@dataclass(frozen=True)
class OpenedPayload:
    state: PayloadState
    record: dict[str, Any] | None = None
    """payload, salt (hex), actor, correlation_id, causation_id: when available."""
    problem: str | None = None
    """Why it is corrupt (for operators and `securact-audit verify`; names no personal data)."""


@dataclass(frozen=True)
class StoredPayload:
    """What the store holds of one entry's payload, read before deciding who sees it."""

    entry: dict[str, Any]
    key_document: dict[str, Any] | None
    sealed: dict[str, Any] | None

    @property
    def shredded(self) -> bool:
        return self.key_document is not None and self.key_document.get("wrapped") is None

    @property
    def owners(self) -> frozenset[str]:
        if self.key_document is None:
            return frozenset()
        return frozenset(self.key_document.get("owners", []))

    def readers(self) -> frozenset[str]:
        """The offices and recipients who may read this entry's payload now; none for an entry
        journaled before readers were kept (safer to refuse than to guess)."""
        if self.sealed is None or self.shredded:
            return frozenset()
        readers = EntryReaders.from_document(self.sealed)
        return frozenset() if readers is None else readers.allowed(self.owners)


@dataclass(frozen=True)
class Sealable:
    """An envelope, the plaintext kept of it (`audit.domain.sealed_record`) and its readers."""

    envelope: Envelope
    record: bytes
    readers: EntryReaders


def _sealed_document(key: DataKey, item: Sealable) -> dict[str, Any]:
    nonce = secrets.token_bytes(NONCE_SIZE)
    # The event id as associated data: a ciphertext moved to another entry does not open.
    event_id = item.envelope.event_id
    ciphertext = AESGCM(key.material).encrypt(nonce, item.record, event_id.encode("utf-8"))
    return {
        "_id": event_id,
        "subject": item.envelope.subject,
        "dek_id": key.dek_id.hex(),
        "nonce": base64.b64encode(nonce).decode("ascii"),
        "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
        **item.readers.to_document(),
    }


def subject_object_id(subject: str) -> str:
    # What the wrapped DEK is bound to: a wrap moved to another subject does not unwrap.
    return f"audit-subject:{subject}"


class PayloadVault:
    """Seals, opens and shreds payloads; keeps a bounded cache of unwrapped subject keys."""

    def __init__(self, keyring: KeyRing, clock: Clock) -> None:
        self._keyring = keyring
        self._clock = clock
        self._keys: OrderedDict[str, DataKey] = OrderedDict()

    async def seal(self, tx: Transaction, sealable: Sequence[Sealable]) -> list[bool]:
        """Store each payload encrypted under its subject's key, with its readers, in `tx`; one
        read of the subjects' keys for the whole batch, one write per subject whose key or
        owners change. For each item, False if its subject is shredded (the payload is not
        kept)."""
        subjects = list(dict.fromkeys(item.envelope.subject for item in sealable))
        found = await tx.find(SUBJECT_KEYS, {"_id": {"$in": subjects}})
        documents = {str(document["_id"]): document for document in found}
        # Owners grow in journal order, event by event of the batch.
        owners = {
            subject: frozenset(documents[subject].get("owners", []))
            if subject in documents
            else frozenset()
            for subject in subjects
        }
        for item in sealable:
            subject = item.envelope.subject
            owners[subject] |= new_owners(item.envelope, owners[subject])
        keys = {
            subject: await self._subject_key(tx, subject, documents.get(subject), owners[subject])
            for subject in subjects
        }
        kept: list[bool] = []
        sealed: list[dict[str, Any]] = []
        for item in sealable:
            key = keys[item.envelope.subject]
            kept.append(key is not None)
            if key is not None:
                sealed.append(_sealed_document(key, item))
        await tx.insert_many(PAYLOADS, sealed)
        return kept

    async def _subject_key(
        self,
        tx: Transaction,
        subject: str,
        document: dict[str, Any] | None,
        owners: frozenset[str],
    ) -> DataKey | None:
        if document is None:
            key, wrapped = await self._keyring.new_data_key(subject_object_id(subject))
            await tx.insert(
                SUBJECT_KEYS,
                {
                    "_id": subject,
                    "wrapped": wrapped.model_dump(mode="json"),
                    "owners": sorted(owners),
                    "created_at": to_iso(self._clock.now()),
                    "shredded_at": None,
                },
            )
            self._remember(subject, key)
            return key
        if document.get("wrapped") is None:
            # Shredded, perhaps by another replica: forget the key material this one cached.
            self._keys.pop(subject, None)
            return None
        if owners != frozenset(document.get("owners", [])):
            changed = without_meta(document)
            # Parties gathered by earlier builds (lookups included) are dropped, not trusted.
            changed.pop("parties", None)
            changed["owners"] = sorted(owners)
            await tx.replace(SUBJECT_KEYS, changed, expected_version=version_of(document))
            document = changed
        return await self._unwrapped(subject, document)

    async def _unwrapped(self, subject: str, document: dict[str, Any]) -> DataKey:
        cached = self._keys.get(subject)
        if cached is not None:
            self._keys.move_to_end(subject)
            return cached
        try:
            wrapped = WrappedDek.model_validate(document["wrapped"])
        except ValidationError:
            raise IntegrityError(f"wrapped key of {subject} is malformed") from None
        key = await self._keyring.unwrap(wrapped, subject_object_id(subject))
        self._remember(subject, key)
        return key

    def _remember(self, subject: str, key: DataKey) -> None:
        self._keys[subject] = key
        if len(self._keys) > KEY_CACHE_SIZE:
            self._keys.popitem(last=False)

    async def owners(self, reader: DocumentReader, subject: str) -> frozenset[str]:
        """Who the subject belongs to (empty once shredded)."""
        document = await reader.get(SUBJECT_KEYS, subject)
        return frozenset(document.get("owners", [])) if document else frozenset()

    async def stored(self, reader: DocumentReader, entry: dict[str, Any]) -> StoredPayload:
        """The subject's key document and the sealed payload of `entry` (two reads, nothing
        decrypted): enough to tell who may read it before opening it."""
        key_document = await reader.get(SUBJECT_KEYS, str(entry["subject"]))
        sealed = await reader.get(PAYLOADS, str(entry["event_id"]))
        return StoredPayload(entry, key_document, sealed)

    async def open(self, reader: DocumentReader, entry: dict[str, Any]) -> OpenedPayload:
        """Decrypt the payload of a journal entry and check it against the leaf's commitment."""
        return await self.open_stored(await self.stored(reader, entry))

    async def open_stored(self, stored: StoredPayload) -> OpenedPayload:
        """Decrypt a payload read with `stored`; `corrupt` (with the reason) if the ciphertext,
        its wrapped key, its readers or the commitment does not verify."""
        entry = stored.entry
        subject = str(entry["subject"])
        key_document, sealed = stored.key_document, stored.sealed
        if stored.shredded:
            self._keys.pop(subject, None)
            return OpenedPayload(PayloadState.SHREDDED)
        if sealed is None or key_document is None:
            return OpenedPayload(PayloadState.ABSENT)
        try:
            return self._verified(await self._unwrapped(subject, key_document), entry, sealed)
        except (IntegrityError, KeyNotFoundError) as error:
            log.warning("payload of entry %s is corrupt: %s", entry.get("index"), error)
            return OpenedPayload(PayloadState.CORRUPT, problem=str(error))

    @staticmethod
    def _verified(key: DataKey, entry: dict[str, Any], sealed: dict[str, Any]) -> OpenedPayload:
        event_id = str(entry["event_id"])
        if sealed.get("dek_id") != key.dek_id.hex():
            raise IntegrityError(f"payload of {event_id} is under another key")
        try:
            plaintext = AESGCM(key.material).decrypt(
                base64.b64decode(sealed["nonce"]),
                base64.b64decode(sealed["ciphertext"]),
                event_id.encode("utf-8"),
            )
        except (InvalidTag, KeyError, TypeError, ValueError):
            raise IntegrityError(f"payload of {event_id} does not decrypt") from None
        try:
            record: dict[str, Any] = json.loads(plaintext)
            salt = bytes.fromhex(record["salt"])
            commitment = payload_commitment(salt, record["payload"])
        except (KeyError, TypeError, ValueError):
            raise IntegrityError(f"payload of {event_id} is malformed") from None
        if commitment != entry["payload_commitment"]:
            raise IntegrityError(f"payload of {event_id} does not match its commitment")
        # Readers stored beside the ciphertext must be the sealed ones (a record sealed before
        # readers were kept has none on either side).
        if EntryReaders.from_document(record) != EntryReaders.from_document(sealed):
            raise IntegrityError(f"readers of {event_id} do not match the sealed ones")
        return OpenedPayload(PayloadState.AVAILABLE, record)

    async def shred(self, store: DocumentStore, subject: str) -> bool:
        """Destroy the subject's key (leaving a tombstone) in a transaction of its own; True if
        a key was destroyed."""
        async with store.transaction() as tx:
            return await self.shred_in(tx, subject)

    async def shred_in(self, tx: Transaction, subject: str) -> bool:
        """Destroy the subject's key in `tx`, leaving a tombstone; True if a key was destroyed.

        Idempotent: a subject already shredded is left as it is (its tombstone keeps the instant
        of the first destruction); a subject never seen gets a tombstone at once, so that no
        later event about it is ever sealed.
        """
        self._keys.pop(subject, None)
        now = to_iso(self._clock.now())
        document = await tx.get(SUBJECT_KEYS, subject)
        tombstone: dict[str, Any] = {"_id": subject, "wrapped": None, "owners": []}
        if document is None:
            await tx.insert(SUBJECT_KEYS, {**tombstone, "created_at": now, "shredded_at": now})
            destroyed = False
        elif document.get("wrapped") is None:
            destroyed = False
        else:
            await tx.replace(
                SUBJECT_KEYS,
                {
                    **tombstone,
                    "created_at": document.get("created_at", now),
                    "shredded_at": now,
                },
                expected_version=version_of(document),
            )
            destroyed = True
        log.info("subject key shredded (destroyed=%s)", destroyed)
        return destroyed
