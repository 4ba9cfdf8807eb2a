"""Services sign off the event loop: a signer as slow as an HSM round trip does not stop the
loop from serving other work while delivery signs evidence, audit signs a checkpoint and
retention signs a certificate."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from audit.service import INDEXES as AUDIT_INDEXES
from delivery.evidence import EvidenceSigner, EvidenceType
from retention.certificate import sign_certificate
from shared.clock import ManualClock
from shared.crypto import SigningKey, SigningKeyRing, VerifierKey
from shared.store.port import DocumentStore
from tests.unit.audit.conftest import ORIGIN, build_audit, fill

DEVICE_SECONDS = 0.3
INSTANT = datetime(2031, 4, 8, 8, 0, tzinfo=UTC)


class DeviceKey:
    """A signer that takes as long as a slow HSM and notes on which thread it ran."""

    def __init__(self, name: str) -> None:
        self._key = SigningKey.generate(name)
        self.threads: list[int] = []

    @property
    def name(self) -> str:
        return self._key.name

    @property
    def verifier(self) -> VerifierKey:
        return self._key.verifier

    @property
    def key_id(self) -> str:
        return self._key.key_id

    def sign(self, data: bytes) -> bytes:
        self.threads.append(threading.get_ident())
        threading.Event().wait(DEVICE_SECONDS)
        return self._key.sign(data)


async def ticks_during(work: Callable[[], Awaitable[object]]) -> int:
    """How many times the loop ran another task (every 10 ms) while `work` ran: about 30 per
    signature when the loop is free, none or one when a signature blocks it."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    running = asyncio.create_task(ticker())
    try:
        await work()
    finally:
        done.set()
        await running
    return ticks


async def test_delivery_signs_evidence_off_the_loop() -> None:
    key = DeviceKey("delivery")
    signer = EvidenceSigner(SigningKeyRing(key))

    async def sign() -> None:
        await signer.record(
            evidence_id="ev-1",
            kind=EvidenceType.SUBMISSION_ACCEPTANCE,
            act_id="act-1",
            act_sha256="0" * 64,
            instant=INSTANT,
            actors={},
        )

    assert await ticks_during(sign) >= 5
    assert threading.get_ident() not in key.threads


async def test_audit_signs_its_checkpoint_off_the_loop(
    sqlite_store: DocumentStore, tmp_path: Path
) -> None:
    key = DeviceKey(ORIGIN)
    await sqlite_store.ensure_indexes(AUDIT_INDEXES)
    audit = build_audit(sqlite_store, ManualClock(INSTANT), tmp_path, SigningKeyRing(key))
    await fill(audit, 3)

    assert await ticks_during(audit.checkpoints.sign_if_grown) >= 5
    assert key.threads
    assert threading.get_ident() not in key.threads


async def test_retention_signs_its_certificate_off_the_loop() -> None:
    key = DeviceKey("retention")
    document = {
        "format": "securact-ng/erasure-certificate/v1",
        "certificate_id": "cert-1",
        "issued_at": "2031-04-08T08:00:00.000000Z",
        "account_id": "acc-1",
        "declaration_id": "decl-1",
        "terminated_at": None,
        "erasure_due_at": "2031-06-08T22:00:00.000000Z",
        "acts": [],
        "steps": [],
        "audit_receipts": [],
        "missing_receipts": [],
    }

    async def sign() -> None:
        await sign_certificate(document, SigningKeyRing(key))  # type: ignore[arg-type]

    assert await ticks_during(sign) >= 5
    assert len(key.threads) == 2
    assert threading.get_ident() not in key.threads


async def test_a_key_in_memory_signs_on_the_loop_with_the_same_signature() -> None:
    # Its signature costs less CPU than a hop to a thread and back; Ed25519 is deterministic.
    key = SigningKey.generate("delivery")
    ring = SigningKeyRing(key)
    verifier = key.verifier
    called_from: list[int] = []
    private = key.private_key
    original = private.sign

    class Spy:
        def public_key(self) -> object:
            return private.public_key()

        def sign(self, data: bytes) -> bytes:
            called_from.append(threading.get_ident())
            return original(data)

    object.__setattr__(key, "private_key", Spy())
    detached = await ring.sign_async(b"evidence")
    assert called_from == [threading.get_ident()]
    assert detached.signature == original(b"evidence")
    assert verifier.verify(b"evidence", detached.signature)
