"""A journal on a real SQLite store (MongoDB too where a test asks), with a manual clock, a KEK
file and a signing key in the test's temporary directory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from audit.context import Config
from audit.service import DEFAULT_BATCH_SIZE, INDEXES, Checkpoints, Journal, wire
from audit.vault import PayloadVault
from shared.clock import ManualClock
from shared.contracts.envelope import Envelope
from shared.crypto import KeyRing, LocalKeyFile, SigningKey, SigningKeyRing
from shared.ids import new_id
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore

START = datetime(2031, 2, 3, 9, 0, tzinfo=UTC)
ORIGIN = "securact.test/audit"
PERSON = "Jean Dupont"


@dataclass
class Audit:
    store: DocumentStore
    clock: ManualClock
    journal: Journal
    checkpoints: Checkpoints
    signer: SigningKeyRing
    outbox: Outbox
    vault: PayloadVault


def build_audit(
    store: DocumentStore,
    clock: ManualClock,
    tmp_path: Path,
    signer: SigningKeyRing,
    *,
    gap_delay: timedelta = timedelta(seconds=60),
    batch_size: int = DEFAULT_BATCH_SIZE,
    origin: str = ORIGIN,
) -> Audit:
    vault = PayloadVault(KeyRing(LocalKeyFile(tmp_path / "kek.json", clock)), clock)
    outbox = Outbox(store, clock)
    audit = wire(
        Config(origin, gap_delay=gap_delay, batch_size=batch_size),
        store=store,
        outbox=outbox,
        clock=clock,
        vault=vault,
        signer=signer,
    )
    return Audit(store, clock, audit.journal, audit.checkpoints, signer, outbox, vault)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def signer() -> SigningKeyRing:
    return SigningKeyRing(SigningKey.generate(ORIGIN))


@pytest.fixture
async def audit(
    sqlite_store: DocumentStore, clock: ManualClock, tmp_path: Path, signer: SigningKeyRing
) -> Audit:
    await sqlite_store.ensure_indexes(INDEXES)
    return build_audit(sqlite_store, clock, tmp_path, signer)


def event(
    clock: ManualClock,
    *,
    subject: str = "act:1",
    event_type: str = "delivery.act-served.v1",
    seq: int | None = None,
    actor: str = "office:7",
    payload: dict[str, Any] | None = None,
) -> Envelope:
    now = clock.now()
    return Envelope(
        event_id=new_id(now),
        type=event_type,
        schema_version=1,
        occurred_at=now - timedelta(seconds=1),
        producer=event_type.split(".")[0],
        producer_seq=seq,
        subject=subject,
        actor=actor,
        correlation_id="corr-1",
        payload=payload if payload is not None else {"recipient": PERSON, "pages": 3},
    )


async def fill(audit: Audit, count: int, *, first_seq: int = 1) -> list[Envelope]:
    made = []
    for n in range(count):
        envelope = event(audit.clock, subject=f"act:{n % 2}", seq=first_seq + n)
        assert await audit.journal.append(envelope)
        made.append(envelope)
        audit.clock.advance(timedelta(seconds=1))
    return made
