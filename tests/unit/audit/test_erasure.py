"""Audit's step of retention's erasure protocol on a real SQLite store: the subjects' payload
keys are shredded and the confirmation leaves through the outbox in the inbox's transaction;
the log, its roots and its proofs stay valid."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from audit import merkle
from audit.consumers import ERASURES_QUEUE, JOURNAL_QUEUE, QUEUES, erasure_subscription
from audit.domain import entry_leaf_hash
from audit.erasure import SubjectErasure
from audit.vault import PAYLOADS, SUBJECT_KEYS, PayloadState
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.retention import (
    ErasurePurpose,
    SubjectKeysShreddedV1,
    SubjectKeysShredRequestedV1,
)
from shared.events import Emitter
from shared.messaging.consumer import PermanentFailure
from shared.messaging.inbox import INBOX, Inbox
from shared.messaging.outbox import OUTBOX, Outbox
from shared.store.port import Transaction, to_iso
from tests.unit.audit.conftest import Audit, build_audit, event, fill

ERASURE_ID = "er-1"


def shred_request(audit: Audit, subjects: list[str], *, erasure_id: str = ERASURE_ID) -> Envelope:
    payload = SubjectKeysShredRequestedV1(
        erasure_id=erasure_id,
        purpose=ErasurePurpose.ACCOUNT_ERASURE,
        subjects=subjects,
        requested_at=audit.clock.now(),
    )
    return new_envelope(payload, subject="account:9", actor="service:retention", clock=audit.clock)


def erasure_of(audit: Audit, outbox: Outbox | None = None) -> SubjectErasure:
    outbox = outbox or audit.outbox
    inbox = Inbox(audit.store, ERASURES_QUEUE, audit.clock, transaction=outbox.transaction)
    return SubjectErasure(audit.journal, inbox, Emitter(outbox, audit.clock, "audit"))


class BrokenOutbox(Outbox):
    """An outbox that cannot take the confirmation."""

    async def add(self, tx: Transaction, envelope: Envelope) -> None:
        raise RuntimeError("outbox unavailable")


async def confirmations(audit: Audit) -> list[Envelope]:
    rows = await audit.store.find(OUTBOX, {}, sort=[("_id", 1)])
    envelopes = [Envelope.model_validate(row["envelope"]) for row in rows]
    return [e for e in envelopes if e.type == SubjectKeysShreddedV1.routing_key()]


async def test_a_shred_request_makes_the_subjects_payloads_unreadable_and_confirms(
    audit: Audit, tmp_path: Path
) -> None:
    await fill(audit, 6)  # act:0 and act:1, alternately
    await audit.checkpoints.sign_if_grown()
    head = await audit.journal.head()
    proofs = {i: await audit.journal.inclusion_proof(i, head.size) for i in range(head.size)}
    request = shred_request(audit, ["act:1", "account:9", "act:1"])

    assert await erasure_of(audit).on_shred_requested(request) is True

    (confirmation,) = await confirmations(audit)
    confirmed = SubjectKeysShreddedV1.model_validate(confirmation.payload)
    assert confirmed.erasure_id == ERASURE_ID
    assert confirmed.subjects == ["act:1", "account:9"]
    assert confirmed.shredded_at == audit.clock.now()
    assert confirmation.causation_id == request.event_id
    assert confirmation.correlation_id == request.correlation_id
    assert confirmation.subject == f"erasure:{ERASURE_ID}"
    # The log is untouched: same root, and every proof computed before still verifies.
    assert await audit.journal.head() == head
    assert await audit.journal.root_at(head.size) == head.root
    for index, proof in proofs.items():
        entry = await audit.journal.entry(index)
        assert entry is not None
        assert merkle.verify_inclusion(
            index, head.size, entry_leaf_hash(entry), proof.path, head.root
        )
    # Unreadable for the shredded subject, even to a process that never cached its key;
    # the other subject is unaffected.
    restarted = build_audit(audit.store, audit.clock, tmp_path, audit.signer)
    for entry in await audit.journal.entries():
        expected = PayloadState.SHREDDED if entry["subject"] == "act:1" else PayloadState.AVAILABLE
        assert (await audit.journal.payload(entry)).state is expected
        assert (await restarted.journal.payload(entry)).state is expected
    # A subject never journaled is tombstoned: a later event about it keeps no payload.
    late = event(audit.clock, subject="account:9")
    assert await audit.journal.append(late)
    assert await audit.store.get(PAYLOADS, late.event_id) is None


async def test_a_redelivered_request_is_dropped_without_a_second_confirmation(
    audit: Audit,
) -> None:
    await fill(audit, 2)
    erasure = erasure_of(audit)
    request = shred_request(audit, ["act:1"])

    assert await erasure.on_shred_requested(request) is True
    assert await erasure.on_shred_requested(request) is False

    assert len(await confirmations(audit)) == 1
    assert await audit.store.count(INBOX) == 1


async def test_a_new_request_for_subjects_already_shredded_still_confirms(audit: Audit) -> None:
    await fill(audit, 2)
    erasure = erasure_of(audit)
    first_shred = audit.clock.now()
    assert await erasure.on_shred_requested(shred_request(audit, ["act:1"]))
    audit.clock.advance(timedelta(hours=1))

    # Retention asking again (e.g. after its restart) for the same erasure.
    assert await erasure.on_shred_requested(shred_request(audit, ["act:1"]))

    first, second = await confirmations(audit)
    assert first.payload["erasure_id"] == second.payload["erasure_id"] == ERASURE_ID
    assert second.payload["subjects"] == ["act:1"]
    tombstone = await audit.store.get(SUBJECT_KEYS, "act:1")
    assert tombstone is not None
    assert tombstone["wrapped"] is None
    # The tombstone keeps the instant the key was actually destroyed.
    assert tombstone["shredded_at"] == to_iso(first_shred)


async def test_when_the_confirmation_cannot_be_written_nothing_is_shredded(
    audit: Audit,
) -> None:
    await fill(audit, 2)

    failing = erasure_of(audit, BrokenOutbox(audit.store, audit.clock))
    request = shred_request(audit, ["act:1"])

    with pytest.raises(RuntimeError):
        await failing.on_shred_requested(request)

    # One transaction: the key, the inbox key and the confirmation, or none of them.
    assert not await audit.journal.is_shredded("act:1")
    assert await audit.store.count(INBOX) == 0
    entry = (await audit.journal.entries(subject="act:1"))[0]
    assert (await audit.journal.payload(entry)).state is PayloadState.AVAILABLE
    # The redelivery then does the whole step.
    assert await erasure_of(audit).on_shred_requested(request) is True
    assert await audit.journal.is_shredded("act:1")
    assert len(await confirmations(audit)) == 1


async def test_an_event_of_another_type_on_the_erasure_queue_is_rejected(audit: Audit) -> None:
    with pytest.raises(PermanentFailure):
        await erasure_of(audit).on_shred_requested(event(audit.clock))
    assert await audit.store.count(INBOX) == 0


async def test_shredding_inside_a_transaction_requires_the_journal_lock(audit: Audit) -> None:
    async with audit.store.transaction() as tx:
        with pytest.raises(RuntimeError):
            await audit.journal.shred_subjects(tx, ["act:1"])


async def test_audit_queues_bind_the_journal_to_everything_and_erasures_to_the_request() -> None:
    assert QUEUES == {
        JOURNAL_QUEUE: ("#",),
        ERASURES_QUEUE: ("retention.subject-keys-shred-requested.v1",),
    }


async def test_the_erasure_subscription_shreds_what_it_receives(audit: Audit) -> None:
    await fill(audit, 2)
    subscription = erasure_subscription(erasure_of(audit))
    assert (subscription.queue, subscription.bindings) == (
        ERASURES_QUEUE,
        QUEUES[ERASURES_QUEUE],
    )

    await subscription.handler(shred_request(audit, ["act:0"]))

    assert await audit.journal.is_shredded("act:0")
    assert not await audit.journal.is_shredded("act:1")
