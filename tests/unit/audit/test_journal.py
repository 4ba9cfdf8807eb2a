"""The journal on a real store: exactly-once append into the Merkle log, payload sealing and
shredding, proofs from stored nodes, checkpoints, gap events, restart."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from audit import merkle
from audit.checkpoint import open_checkpoint
from audit.domain import LEAF_FIELDS, entry_leaf_hash, leaf_data, payload_commitment
from audit.gaps import ProducerSequence
from audit.service import (
    CHECKPOINTS,
    INDEXES,
    JOURNAL,
    NODES,
    PRODUCERS,
    entry_key,
    node_key,
)
from audit.vault import PAYLOADS, SUBJECT_KEYS, PayloadState
from shared.clock import ManualClock
from shared.contracts.audit import GapDetectedV1
from shared.contracts.consent import RegistryConsultedV1
from shared.crypto import SigningKeyRing
from shared.messaging.outbox import OUTBOX
from shared.store.port import DocumentStore
from tests.fixtures.stores import StoreFactory
from tests.unit.audit.conftest import ORIGIN, PERSON, Audit, build_audit, event, fill

# --- append ------------------------------------------------------------------------------


async def test_append_assigns_consecutive_indexes_in_arrival_order(audit: Audit) -> None:
    made = await fill(audit, 5)
    entries = await audit.journal.entries()
    assert [e["index"] for e in entries] == [0, 1, 2, 3, 4]
    assert [e["event_id"] for e in entries] == [m.event_id for m in made]
    head = await audit.journal.head()
    assert head.size == 5
    assert head.root == merkle.root_of([entry_leaf_hash(e) for e in entries])


async def test_an_entry_holds_exactly_the_non_personal_leaf_fields(audit: Audit) -> None:
    envelope = event(audit.clock, seq=42)
    audit.clock.advance(timedelta(seconds=30))
    await audit.journal.append(envelope)
    entry = await audit.journal.entry(0)
    assert entry is not None
    assert set(entry) == set(LEAF_FIELDS)
    assert entry["producer_seq"] == 42
    assert entry["occurred_at"] == "2031-02-03T08:59:59.000000Z"
    assert entry["journaled_at"] == "2031-02-03T09:00:30.000000Z"
    assert PERSON not in json.dumps(entry)
    assert "office:7" not in json.dumps(entry)
    # The leaf is the RFC 8785 canonical JSON of those fields.
    assert leaf_data(entry).startswith(b'{"event_id":')


async def test_the_same_event_twice_is_journaled_once(audit: Audit) -> None:
    envelope = event(audit.clock, seq=1)
    assert await audit.journal.append(envelope) is True
    audit.clock.advance(timedelta(seconds=5))
    assert await audit.journal.append(envelope) is False
    # A relay republication carries the same event id: still a duplicate.
    assert await audit.journal.append(envelope.with_seq(9)) is False
    assert (await audit.journal.head()).size == 1
    assert await audit.store.count(JOURNAL) == 1
    assert await audit.store.count(NODES) == 1
    assert await audit.store.count(PAYLOADS) == 1
    assert audit.journal.stats.duplicates == 2


async def test_concurrent_appends_still_form_one_tree(audit: Audit) -> None:
    envelopes = [event(audit.clock, seq=n) for n in range(1, 21)]
    results = await asyncio.gather(*(audit.journal.append(e) for e in envelopes + envelopes[:5]))
    assert results.count(True) == 20
    entries = await audit.journal.entries()
    assert sorted(e["event_id"] for e in entries) == sorted(e.event_id for e in envelopes)
    head = await audit.journal.head()
    assert head.root == merkle.root_of([entry_leaf_hash(e) for e in entries])
    assert await audit.journal.root_at(20) == head.root


async def test_the_tree_resumes_exactly_after_reopening_the_store(
    sqlite_store_factory: StoreFactory, clock: ManualClock, tmp_path: Path, signer: SigningKeyRing
) -> None:
    first = await sqlite_store_factory()
    await first.ensure_indexes(INDEXES)
    await fill(build_audit(first, clock, tmp_path, signer), 3)
    await first.close()

    reopened = build_audit(await sqlite_store_factory(), clock, tmp_path, signer)
    assert (await reopened.journal.head()).size == 3
    await fill(reopened, 4, first_seq=4)
    entries = await reopened.journal.entries()
    assert [e["index"] for e in entries] == list(range(7))
    head = await reopened.journal.head()
    assert head.root == merkle.root_of([entry_leaf_hash(e) for e in entries])


async def test_appending_writes_each_complete_subtree_once(audit: Audit) -> None:
    await fill(audit, 8)
    # 8 leaves + 4 + 2 + 1 parents.
    assert await audit.store.count(NODES) == 15
    top = await audit.store.get(NODES, node_key((3, 0)))
    assert top is not None
    assert bytes.fromhex(top["hash"]) == (await audit.journal.head()).root


# --- payloads ----------------------------------------------------------------------------


async def test_the_payload_is_sealed_under_the_subject_key_and_matches_its_commitment(
    audit: Audit,
) -> None:
    envelope = event(audit.clock, payload={"recipient": PERSON, "address": "1 rue de la Paix"})
    await audit.journal.append(envelope)
    sealed = await audit.store.get(PAYLOADS, envelope.event_id)
    assert sealed is not None
    assert PERSON not in json.dumps(sealed)
    key = await audit.store.get(SUBJECT_KEYS, "act:1")
    assert key is not None
    assert key["owners"] == ["office:7"]

    entry = await audit.journal.entry(0)
    assert entry is not None
    opened = await audit.journal.payload(entry)
    assert opened.state is PayloadState.AVAILABLE
    assert opened.record is not None
    assert opened.record["payload"] == envelope.payload
    assert opened.record["actor"] == "office:7"
    salt = bytes.fromhex(opened.record["salt"])
    assert len(salt) == 32
    assert payload_commitment(salt, envelope.payload) == entry["payload_commitment"]


async def test_equal_payloads_get_different_commitments(audit: Audit) -> None:
    await audit.journal.append(event(audit.clock, payload={"n": 1}))
    await audit.journal.append(event(audit.clock, payload={"n": 1}))
    first, second = await audit.journal.entries()
    assert first["payload_commitment"] != second["payload_commitment"]


async def test_a_subject_has_one_key_and_learns_its_owners(audit: Audit) -> None:
    await audit.journal.append(event(audit.clock, actor="office:7"))
    await audit.journal.append(
        event(audit.clock, actor="service:delivery", payload={"recipient_id": "r-9"})
    )
    assert await audit.store.count(SUBJECT_KEYS) == 1
    assert await audit.journal.owners("act:1") == {"office:7", "recipient:r-9"}


async def test_a_lookup_journaled_first_does_not_keep_the_registering_office_from_owning(
    audit: Audit,
) -> None:
    lookup = RegistryConsultedV1.routing_key()
    await audit.journal.append(
        event(
            audit.clock,
            subject="declaration:d-1",
            event_type=lookup,
            actor="office:B",
            payload={"office_id": "B"},
        )
    )
    await audit.journal.append(
        event(audit.clock, subject="declaration:d-1", actor="office:A", payload={"n": 1})
    )
    assert await audit.journal.owners("declaration:d-1") == {"office:A"}


async def test_shredding_a_subject_makes_its_payloads_unrecoverable_and_proofs_still_valid(
    audit: Audit,
) -> None:
    await fill(audit, 6)
    await audit.checkpoints.sign_if_grown()
    root_before = (await audit.journal.head()).root

    assert await audit.journal.shred_subject("act:1") is True
    assert await audit.journal.shred_subject("act:1") is False

    for entry in await audit.journal.entries():
        opened = await audit.journal.payload(entry)
        expected = PayloadState.SHREDDED if entry["subject"] == "act:1" else PayloadState.AVAILABLE
        assert opened.state is expected
    key = await audit.store.get(SUBJECT_KEYS, "act:1")
    assert key is not None
    assert key["wrapped"] is None
    assert key["owners"] == []
    # Later events about the subject keep no payload at all.
    await audit.journal.append(event(audit.clock, subject="act:1", seq=7))
    late = await audit.journal.entry(6)
    assert late is not None
    assert await audit.store.get(PAYLOADS, late["event_id"]) is None
    # The log is untouched: same root, proofs still verify.
    assert await audit.journal.root_at(6) == root_before
    proof = await audit.journal.inclusion_proof(1, 6)
    second = await audit.journal.entry(1)
    assert second is not None
    assert merkle.verify_inclusion(1, 6, entry_leaf_hash(second), proof.path, root_before)


async def test_a_payload_moved_to_another_entry_does_not_open(audit: Audit) -> None:
    first, second, _ = await fill(audit, 3)
    moved = await audit.store.get(PAYLOADS, first.event_id)
    target = await audit.store.get(PAYLOADS, second.event_id)
    assert moved is not None
    assert target is not None
    version = int(target.pop("_version"))
    await audit.store.replace(
        PAYLOADS,
        {**target, "nonce": moved["nonce"], "ciphertext": moved["ciphertext"]},
        expected_version=version,
    )
    entry = await audit.journal.entry(1)
    assert entry is not None
    opened = await audit.journal.payload(entry)
    assert opened.state is PayloadState.CORRUPT
    assert opened.record is None


# --- proofs and checkpoints ----------------------------------------------------------------


async def test_proofs_from_the_store_equal_the_in_memory_tree(audit: Audit) -> None:
    await fill(audit, 13)
    leaves = [entry_leaf_hash(e) for e in await audit.journal.entries()]
    lookup = merkle.nodes_in_memory(leaves)
    for size in (1, 5, 8, 13):
        root = merkle.root_of(leaves[:size])
        assert await audit.journal.root_at(size) == root
        for index in range(size):
            proof = await audit.journal.inclusion_proof(index, size)
            expected = merkle.resolve(
                merkle.inclusion_plan(index, size),
                {n: lookup(n) for n in merkle.plan_nodes(merkle.inclusion_plan(index, size))},
            )
            assert proof.path == expected
            assert proof.leaf_hash == leaves[index]
            assert merkle.verify_inclusion(index, size, leaves[index], proof.path, root)
        for first in range(1, size + 1):
            consistency = await audit.journal.consistency_proof(first, size)
            assert merkle.verify_consistency(
                first, size, merkle.root_of(leaves[:first]), root, consistency
            )


async def test_a_checkpoint_is_signed_only_when_the_tree_grew(audit: Audit) -> None:
    await fill(audit, 3)
    signed = await audit.checkpoints.sign_if_grown()
    assert signed is not None
    assert signed.checkpoint.size == 3
    assert signed.note.startswith(f"{ORIGIN}\n3\n")
    opened = open_checkpoint(signed.note, audit.signer.published, origin=ORIGIN)
    assert opened.root == (await audit.journal.head()).root
    assert await audit.checkpoints.sign_if_grown() is None
    await fill(audit, 2, first_seq=4)
    again = await audit.checkpoints.sign_if_grown()
    assert again is not None
    assert again.checkpoint.size == 5
    assert [c.checkpoint.size for c in await audit.checkpoints.since(0, 10)] == [3, 5]
    assert [c.checkpoint.size for c in await audit.checkpoints.since(4, 10)] == [5]


async def test_no_checkpoint_is_signed_over_a_tree_inconsistent_with_the_last(
    audit: Audit,
) -> None:
    await fill(audit, 4)
    assert await audit.checkpoints.sign_if_grown() is not None
    await fill(audit, 2, first_seq=5)
    # Rewrite history: a node inside the signed tree now disagrees with the checkpoint.
    node = await audit.store.get(NODES, node_key((2, 0)))
    assert node is not None
    version = int(node.pop("_version"))
    await audit.store.replace(NODES, {**node, "hash": "00" * 32}, expected_version=version)
    assert await audit.checkpoints.sign_if_grown() is None
    assert audit.journal.stats.checkpoints_refused == 1
    assert await audit.store.count(CHECKPOINTS) == 1


async def test_the_receipt_names_the_entry_and_the_latest_checkpoint(audit: Audit) -> None:
    await fill(audit, 5)
    assert await audit.checkpoints.receipt(0) is None
    await audit.checkpoints.sign_if_grown()
    receipt = await audit.checkpoints.receipt(2)
    assert receipt is not None
    entry = await audit.journal.entry(2)
    assert entry is not None
    assert receipt.extra == leaf_data(entry)
    assert await audit.checkpoints.receipt(5) is None


# --- gaps ----------------------------------------------------------------------------------


async def test_an_overdue_gap_raises_one_event_through_the_outbox(audit: Audit) -> None:
    for seq in (1, 2, 5, 6):
        await audit.journal.append(event(audit.clock, seq=seq))
    assert await audit.journal.check_gaps() == 0
    audit.clock.advance(timedelta(seconds=61))
    assert await audit.journal.check_gaps() == 1
    assert await audit.journal.check_gaps() == 0
    audit.clock.advance(timedelta(minutes=10))
    assert await audit.journal.check_gaps() == 0

    rows = await audit.store.find(OUTBOX)
    assert len(rows) == 1
    envelope = rows[0]["envelope"]
    assert envelope["type"] == "audit.gap-detected.v1"
    assert envelope["subject"] == "producer:delivery"
    gap = GapDetectedV1.model_validate(envelope["payload"])
    assert (gap.source_producer, gap.expected_seq, gap.first_seen_seq) == ("delivery", 3, 5)
    assert audit.journal.stats.gaps_detected == 1
    tracker = await audit.store.get(PRODUCERS, "delivery")
    assert tracker is not None
    assert ProducerSequence.from_document(tracker).missing == [[3, 4]]


async def test_a_gap_that_closes_in_time_raises_nothing(audit: Audit) -> None:
    for seq in (1, 3, 4):
        await audit.journal.append(event(audit.clock, seq=seq))
    audit.clock.advance(timedelta(seconds=30))
    await audit.journal.append(event(audit.clock, seq=2))
    audit.clock.advance(timedelta(minutes=5))
    assert await audit.journal.check_gaps() == 0
    assert await audit.store.count(OUTBOX) == 0


async def test_events_without_a_producer_sequence_are_not_tracked(audit: Audit) -> None:
    await audit.journal.append(event(audit.clock, seq=None))
    assert await audit.store.count(PRODUCERS) == 0


async def test_entry_lookup_and_pages(audit: Audit) -> None:
    made = await fill(audit, 4)
    second = await audit.journal.entry(1)
    assert second is not None
    assert second["event_id"] == made[1].event_id
    assert await audit.journal.entry(4) is None
    assert [e["index"] for e in await audit.journal.entries(subject="act:1")] == [1, 3]
    assert [e["index"] for e in await audit.journal.entries(after=1, limit=1)] == [2]
    assert await audit.store.get(JOURNAL, entry_key(3)) is not None


async def test_the_store_has_no_payload_for_an_unknown_subject(
    audit: Audit, sqlite_store: DocumentStore
) -> None:
    await audit.journal.append(event(audit.clock))
    entry = await audit.journal.entry(0)
    assert entry is not None
    await sqlite_store.delete(PAYLOADS, entry["event_id"])
    assert (await audit.journal.payload(entry)).state is PayloadState.ABSENT


async def test_a_history_rewritten_consistently_in_the_store_is_still_refused(
    audit: Audit,
) -> None:
    await fill(audit, 4)
    assert await audit.checkpoints.sign_if_grown() is not None
    await fill(audit, 2, first_seq=5)

    async def overwrite(node: merkle.NodeId, digest: bytes) -> None:
        document = await audit.store.get(NODES, node_key(node))
        assert document is not None
        version = int(document.pop("_version"))
        await audit.store.replace(
            NODES, {**document, "hash": digest.hex()}, expected_version=version
        )

    async def stored(node: merkle.NodeId) -> bytes:
        document = await audit.store.get(NODES, node_key(node))
        assert document is not None
        return bytes.fromhex(document["hash"])

    # Forge leaf 0 and recompute every node above it and the compact range, as an operator
    # with write access to the database would.
    leaf = merkle.leaf_hash(b"forged")
    pair = merkle.node_hash(leaf, await stored((0, 1)))
    four = merkle.node_hash(pair, await stored((1, 1)))
    for node, digest in (((0, 0), leaf), ((1, 0), pair), ((2, 0), four)):
        await overwrite(node, digest)
    state = await audit.store.get("journal_state", "tree")
    assert state is not None
    version = int(state.pop("_version"))
    state["frontier"][0] = four.hex()
    await audit.store.replace("journal_state", state, expected_version=version)

    assert await audit.journal.root_at(6) == (await audit.journal.head()).root
    assert await audit.checkpoints.sign_if_grown() is None
    assert await audit.store.count(CHECKPOINTS) == 1
