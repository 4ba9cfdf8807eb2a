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
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import ValidationError

from audit.domain import EntryReaders, JournalEntry, SealedRecord, new_owners, payload_commitment
from audit.records import PAYLOADS as PAYLOADS
from audit.records import SUBJECT_KEYS as SUBJECT_KEYS
from audit.repository import Payloads, SealedPayload, SubjectKey, SubjectKeys
from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.crypto import DataKey, IntegrityError, KeyNotFoundError, KeyRing, WrappedDek
from shared.store.port import ID, DocumentReader, DocumentStore, Transaction, to_iso

log = logging.getLogger(__name__)

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
    record: SealedRecord | None = None
    """payload, salt (hex), actor, correlation_id, causation_id: when available."""
    problem: str | None = None
    """Why it is corrupt (for operators and `securact-audit verify`; names no personal data)."""


@dataclass(frozen=True)
class StoredPayload:
    """What the store holds of one entry's payload, read before deciding who sees it."""

    entry: JournalEntry
    key: SubjectKey | None
    sealed: SealedPayload | None

    @property
    def shredded(self) -> bool:
        return self.key is not None and self.key.shredded

    @property
    def owners(self) -> frozenset[str]:
        return frozenset() if self.key is None else self.key.owners

    def readers(self) -> frozenset[str]:
        """The offices and recipients who may read this entry's payload now; none for an entry
        journaled before readers were kept (safer to refuse than to guess)."""
        if self.sealed is None or self.shredded or self.sealed.readers is None:
            return frozenset()
        return self.sealed.readers.allowed(self.owners)


@dataclass(frozen=True)
class Sealable:
    """An envelope, the plaintext kept of it (`audit.domain.sealed_record`) and its readers."""

    envelope: Envelope
    record: bytes
    readers: EntryReaders


def _sealed_document(key: DataKey, item: Sealable) -> dict[str, object]:
    nonce = secrets.token_bytes(NONCE_SIZE)
    # The event id as associated data: a ciphertext moved to another entry does not open.
    event_id = item.envelope.event_id
    ciphertext = AESGCM(key.material).encrypt(nonce, item.record, event_id.encode("utf-8"))
    return {
        ID: event_id,
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
        stored = await SubjectKeys(tx).of(subjects)
        # Owners grow in journal order, event by event of the batch.
        owners = {
            subject: stored[subject].owners if subject in stored else frozenset()
            for subject in subjects
        }
        for item in sealable:
            subject = item.envelope.subject
            owners[subject] |= new_owners(item.envelope, owners[subject])
        keys = {
            subject: await self._subject_key(tx, subject, stored.get(subject), owners[subject])
            for subject in subjects
        }
        kept: list[bool] = []
        sealed: list[dict[str, object]] = []
        for item in sealable:
            key = keys[item.envelope.subject]
            kept.append(key is not None)
            if key is not None:
                sealed.append(_sealed_document(key, item))
        await Payloads.add(tx, sealed)
        return kept

    async def _subject_key(
        self,
        tx: Transaction,
        subject: str,
        stored: SubjectKey | None,
        owners: frozenset[str],
    ) -> DataKey | None:
        if stored is None:
            key, wrapped = await self._keyring.new_data_key(subject_object_id(subject))
            created = to_iso(self._clock.now())
            await SubjectKeys.add(
                tx, SubjectKey(subject, wrapped.model_dump(mode="json"), owners, created)
            )
            self._remember(subject, key)
            return key
        if stored.shredded:
            # Shredded, perhaps by another replica: forget the key material this one cached.
            self._keys.pop(subject, None)
            return None
        if owners != stored.owners:
            # Parties gathered by earlier builds (lookups included) are dropped, not trusted.
            changed = SubjectKey(
                subject,
                stored.wrapped,
                owners,
                stored.created_at,
                stored.shredded_at,
                stored.version,
            )
            await SubjectKeys.save(tx, changed)
        return await self._unwrapped(stored)

    async def _unwrapped(self, stored: SubjectKey) -> DataKey:
        subject = stored.subject
        cached = self._keys.get(subject)
        if cached is not None:
            self._keys.move_to_end(subject)
            return cached
        try:
            wrapped = WrappedDek.model_validate(stored.wrapped)
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
        stored = await SubjectKeys(reader).get(subject)
        return stored.owners if stored else frozenset()

    async def stored(self, reader: DocumentReader, entry: JournalEntry) -> StoredPayload:
        """The subject's key and the sealed payload of `entry` (two reads, nothing
        decrypted): enough to tell who may read it before opening it."""
        key = await SubjectKeys(reader).get(str(entry["subject"]))
        sealed = await Payloads(reader).get(str(entry["event_id"]))
        return StoredPayload(entry, key, sealed)

    async def open(self, reader: DocumentReader, entry: JournalEntry) -> OpenedPayload:
        """Decrypt the payload of a journal entry and check it against the leaf's commitment."""
        return await self.open_stored(await self.stored(reader, entry))

    async def open_stored(self, stored: StoredPayload) -> OpenedPayload:
        """Decrypt a payload read with `stored`; `corrupt` (with the reason) if the ciphertext,
        its wrapped key, its readers or the commitment does not verify."""
        entry = stored.entry
        key, sealed = stored.key, stored.sealed
        if stored.shredded:
            self._keys.pop(str(entry["subject"]), None)
            return OpenedPayload(PayloadState.SHREDDED)
        if sealed is None or key is None:
            return OpenedPayload(PayloadState.ABSENT)
        try:
            return self._verified(await self._unwrapped(key), entry, sealed)
        except (IntegrityError, KeyNotFoundError) as error:
            log.warning("payload of entry %s is corrupt: %s", entry.get("index"), error)
            return OpenedPayload(PayloadState.CORRUPT, problem=str(error))

    @staticmethod
    def _verified(key: DataKey, entry: JournalEntry, sealed: SealedPayload) -> OpenedPayload:
        event_id = str(entry["event_id"])
        if sealed.dek_id != key.dek_id.hex():
            raise IntegrityError(f"payload of {event_id} is under another key")
        if sealed.nonce is None or sealed.ciphertext is None:
            raise IntegrityError(f"payload of {event_id} does not decrypt")
        try:
            plaintext = AESGCM(key.material).decrypt(
                base64.b64decode(sealed.nonce),
                base64.b64decode(sealed.ciphertext),
                event_id.encode("utf-8"),
            )
        except (InvalidTag, TypeError, ValueError):
            raise IntegrityError(f"payload of {event_id} does not decrypt") from None
        try:
            record: SealedRecord = json.loads(plaintext)
            salt = bytes.fromhex(record["salt"])
            commitment = payload_commitment(salt, record["payload"])
        except (KeyError, TypeError, ValueError):
            raise IntegrityError(f"payload of {event_id} is malformed") from None
        if commitment != entry["payload_commitment"]:
            raise IntegrityError(f"payload of {event_id} does not match its commitment")
        # Readers stored beside the ciphertext must be the sealed ones (a record sealed before
        # readers were kept has none on either side).
        if EntryReaders.from_document(record) != sealed.readers:
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
        stored = await SubjectKeys(tx).get(subject)
        if stored is None:
            await SubjectKeys.add(tx, SubjectKey(subject, None, frozenset(), now, now))
            destroyed = False
        elif stored.shredded:
            destroyed = False
        else:
            created = stored.created_at or now
            tombstone = SubjectKey(subject, None, frozenset(), created, now, stored.version)
            await SubjectKeys.save(tx, tombstone)
            destroyed = True
        log.info("subject key shredded (destroyed=%s)", destroyed)
        return destroyed
