"""The CGU notice fan-out on SQLite with a few thousand accounts: batches of N accounts per
transaction, resumable after a crash (between or inside a batch), exactly one notice per
account even with two workers at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from identity.domain import AccountStatus
from identity.records import ACCOUNTS, FANOUTS, INDEXES, iso
from identity.service import Identity
from identity.tokens import KEY_NAME, TokenIssuer, TokenKey, TokenKeys
from shared.clock import ManualClock
from shared.contracts.envelope import Envelope
from shared.contracts.identity import AccountRole
from shared.crypto.signing import SigningKey
from shared.messaging.inbox import INBOX_INDEXES
from shared.messaging.outbox import OUTBOX, Outbox, OutboxRelay
from shared.store.port import DocumentStore, Transaction
from tests.fixtures.stores import StoreFactory
from tests.unit.identity.support import START, cheap_settings

RECIPIENTS = 3000
BATCH = 400
NOTICE = "identity.terms-notice-issued.v1"
TEXT = "# Conditions générales, version 2\n\nTexte modifié.\n"


class CrashingOutbox(Outbox):
    """An outbox whose `crash_after`-th event fails, as a process dying mid-transaction."""

    def __init__(self, store: DocumentStore, clock: ManualClock, crash_after: int) -> None:
        super().__init__(store, clock)
        self._left = crash_after

    async def add(self, tx: Transaction, envelope: Envelope) -> None:
        self._left -= 1
        if self._left == 0:
            raise RuntimeError("crash in the middle of a batch")
        await super().add(tx, envelope)


def identity_on(
    store: DocumentStore, clock: ManualClock, tmp: Path, outbox: Outbox | None = None
) -> Identity:
    settings = cheap_settings(tmp, kek_file=tmp / "kek.json", terms_notice_batch_size=BATCH)
    keys = TokenKeys([TokenKey(SigningKey.generate(KEY_NAME), START - timedelta(days=1))])
    issuer = TokenIssuer(
        keys, clock, issuer=settings.issuer, audiences=("identity",), ttl=timedelta(minutes=10)
    )
    return Identity(store, outbox or Outbox(store, clock), clock, settings, issuer)


async def populated(factory: StoreFactory, clock: ManualClock, tmp: Path) -> DocumentStore:
    """A store with RECIPIENTS active recipients, plus accounts that must not be warned."""
    store = await factory()
    await store.ensure_indexes((*OutboxRelay.indexes(), *INBOX_INDEXES, *INDEXES))
    await identity_on(store, clock, tmp).start()
    now = iso(clock.now())

    def account(number: int, **fields: Any) -> dict[str, Any]:
        return {
            "_id": f"acc-{number:06d}",
            "identifier": f"ID{number:06d}",
            "role": AccountRole.RECIPIENT.value,
            "status": AccountStatus.ACTIVE.value,
            "email": f"r{number}@example.org",
            "activated_at": now,
            **fields,
        }

    async with store.transaction() as tx:
        for number in range(RECIPIENTS):
            await tx.insert(ACCOUNTS, account(number))
        await tx.insert(ACCOUNTS, account(900_001, status=AccountStatus.PENDING_ACTIVATION.value))
        await tx.insert(ACCOUNTS, account(900_002, status=AccountStatus.TERMINATED.value))
        await tx.insert(ACCOUNTS, account(900_003, role=AccountRole.OPERATOR.value))
    return store


async def publish(identity: Identity, clock: ManualClock) -> None:
    await identity.terms.publish(TEXT, clock.now() + timedelta(days=40), operator="op")
    # Activated after the publication: not among those warned by this one.
    async with identity.ctx.store.transaction() as tx:
        await tx.insert(
            ACCOUNTS,
            {
                "_id": "acc-000000-late",
                "identifier": "LATE",
                "role": AccountRole.RECIPIENT.value,
                "status": AccountStatus.ACTIVE.value,
                "email": "late@example.org",
                "activated_at": iso(clock.now() + timedelta(seconds=1)),
            },
        )


async def notices_per_account(store: DocumentStore) -> Counter[str]:
    rows = await store.find(OUTBOX)
    return Counter(
        row["envelope"]["payload"]["account_id"]
        for row in rows
        if row["envelope"]["type"] == NOTICE
    )


def expected_accounts() -> set[str]:
    return {f"acc-{number:06d}" for number in range(RECIPIENTS)}


async def test_notices_are_written_in_batches_and_resume_after_a_restart(
    sqlite_store_factory: StoreFactory, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    store = await populated(sqlite_store_factory, clock, tmp_path)
    first = identity_on(store, clock, tmp_path)
    await publish(first, clock)
    assert await notices_per_account(store) == Counter()

    assert await first.terms.fan_out_notices(max_batches=3) == 3 * BATCH
    [job] = await store.find(FANOUTS)
    assert (job["status"], job["issued"]) == ("pending", 3 * BATCH)

    # The process dies here; another one, on the same database, finishes the job.
    restarted = identity_on(await sqlite_store_factory(), clock, tmp_path)
    assert await restarted.terms.fan_out_notices() == RECIPIENTS - 3 * BATCH

    counts = await notices_per_account(store)
    assert set(counts) == expected_accounts()
    assert set(counts.values()) == {1}
    [job] = await store.find(FANOUTS)
    assert (job["status"], job["issued"]) == ("done", RECIPIENTS)
    assert await restarted.terms.fan_out_notices() == 0


async def test_a_crash_inside_a_batch_writes_none_of_it_and_the_rerun_completes(
    sqlite_store_factory: StoreFactory, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    store = await populated(sqlite_store_factory, clock, tmp_path)
    await publish(identity_on(store, clock, tmp_path), clock)
    crashing = identity_on(
        store, clock, tmp_path, outbox=CrashingOutbox(store, clock, BATCH + BATCH // 2)
    )

    try:
        await crashing.terms.fan_out_notices()
    except RuntimeError:
        pass
    else:
        raise AssertionError("the fan-out should have crashed")
    counts = await notices_per_account(store)
    assert sum(counts.values()) == BATCH  # the first batch committed, the second not at all
    [job] = await store.find(FANOUTS)
    assert (job["cursor"], job["issued"]) == (f"acc-{BATCH - 1:06d}", BATCH)

    await identity_on(store, clock, tmp_path).terms.fan_out_notices()
    counts = await notices_per_account(store)
    assert set(counts) == expected_accounts()
    assert set(counts.values()) == {1}


async def test_two_workers_at_once_still_write_one_notice_per_account(
    sqlite_store_factory: StoreFactory, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    store = await populated(sqlite_store_factory, clock, tmp_path)
    await publish(identity_on(store, clock, tmp_path), clock)
    workers = [
        identity_on(store, clock, tmp_path),
        identity_on(await sqlite_store_factory(), clock, tmp_path),
    ]

    written = await asyncio.gather(*(w.terms.fan_out_notices() for w in workers))

    assert sum(written) == RECIPIENTS
    counts = await notices_per_account(store)
    assert set(counts) == expected_accounts()
    assert set(counts.values()) == {1}
