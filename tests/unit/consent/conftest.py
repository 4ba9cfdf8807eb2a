"""Consent wired by its composition root on a real SQLite store, with a manual clock, a KEK file
in the test's directory and an in-memory recording object store; `registry` reads it back as
the store holds it (`tests.consent_probe`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from consent.consumers import identity_handler
from consent.context import Config
from consent.declarations import Office
from consent.domain import DeclarationInput
from consent.lookup import LookupLimits
from consent.proofs import ProofVault, UploadedProof
from consent.repository import INDEXES
from consent.service import Consent, wire
from shared.clock import ManualClock
from shared.contracts.envelope import Envelope, EventPayload, new_envelope
from shared.crypto import KeyRing, LocalKeyFile
from shared.ids import new_id
from shared.messaging.inbox import INBOX_INDEXES, Inbox
from shared.messaging.outbox import OUTBOX, Outbox
from shared.store.port import DocumentStore
from tests.consent_probe import RegistryProbe
from tests.unit.consent.support import NATURAL_FILES, MemoryObjects, natural_declaration

# 10:00 in Paris on Thursday 10 April 2031.
START = datetime(2031, 4, 10, 8, 0, tzinfo=UTC)
TODAY = date(2031, 4, 10)
PEPPER = b"unit-test-pepper"


@dataclass
class Harness:
    store: DocumentStore
    clock: ManualClock
    objects: MemoryObjects
    vault: ProofVault
    outbox: Outbox
    consent: Consent
    registry: RegistryProbe

    def inbox(self) -> Inbox:
        return Inbox(
            self.store, "consent.identity", self.clock, transaction=self.outbox.transaction
        )

    async def upload(self, files: Mapping[str, tuple[str, bytes]]) -> dict[str, UploadedProof]:
        uploads = {}
        for part, (_name, content) in files.items():

            async def chunks(data: bytes = content) -> AsyncIterator[bytes]:
                yield data

            uploads[part] = await self.vault.upload(
                new_id(self.clock.now()), part, chunks(), limit=1024 * 1024
            )
        return uploads

    async def register(
        self,
        declaration: dict[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes]] = NATURAL_FILES,
        office: str = "etude-1",
    ) -> dict[str, Any]:
        parsed = DeclarationInput.model_validate(declaration or natural_declaration(TODAY))
        return await self.registry.register(
            Office(office, f"client-{office}"), parsed, await self.upload(files)
        )

    async def events(self, event_type: str | None = None) -> list[Envelope]:
        rows = await self.store.find(OUTBOX, sort=[("_id", 1)])
        envelopes = [Envelope.model_validate(row["envelope"]) for row in rows]
        return [e for e in envelopes if event_type is None or e.type == event_type]

    def identity_event(self, payload: EventPayload, subject: str = "account:x") -> Envelope:
        return new_envelope(payload, subject=subject, actor="service:identity", clock=self.clock)

    async def consume(self, envelope: Envelope) -> bool:
        """Hand an identity event to consent's consumer, as the bus would; True if it
        emitted an event."""
        subscription = identity_handler(self.consent.lifecycle, self.inbox())
        before = len(await self.events())
        await subscription.handler(envelope)
        return len(await self.events()) > before

    async def deliver(self, payload: EventPayload) -> bool:
        return await self.consume(self.identity_event(payload))


def build(
    store: DocumentStore,
    clock: ManualClock,
    tmp_path: Path,
    lookup_limits: LookupLimits | None = None,
) -> Harness:
    objects = MemoryObjects()
    outbox = Outbox(store, clock)
    config = Config(pepper=PEPPER, lookup_limits=lookup_limits or LookupLimits())
    keys = KeyRing(LocalKeyFile(tmp_path / "kek.json", clock))
    consent = wire(config, store=store, outbox=outbox, clock=clock, objects=objects, keys=keys)
    vault = consent.ctx.vault
    return Harness(store, clock, objects, vault, outbox, consent, RegistryProbe(consent))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def harness(sqlite_store: DocumentStore, clock: ManualClock, tmp_path: Path) -> Harness:
    await sqlite_store.ensure_indexes([*INDEXES, *INBOX_INDEXES])
    return build(sqlite_store, clock, tmp_path)
