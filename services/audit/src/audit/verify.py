"""Full verification of a journal store (`securact-audit verify`): trust nothing stored but
the checkpoints' signatures.

1. Every checkpoint note must verify under a known key, for this log's origin, and match the
   size it is stored under.
2. The tree is rebuilt from the entries alone (leaf = canonical JSON of the entry's fields), in
   index order with O(log n) memory; at each checkpoint's size the rebuilt root must equal the
   signed root, which makes successive checkpoints consistent by construction. Each pair of
   successive checkpoints is also checked with a consistency proof served from the stored
   nodes, as any client would.
3. Each entry's leaf hash must equal the stored level-0 node: an entry edited after it was
   checkpointed is named exactly; a forgery that also rewrote the nodes is still caught by the
   signed roots, at the first index after the last checkpoint it agrees with.
4. Entries must be contiguous from 0 and reach the last checkpoint's size (deleting the last
   entries is caught here), and the stored tree state must match the rebuilt tree.
5. Each producer's `producer_seq` must be contiguous from 1 with no number used twice.
6. With the payload vault (the KEK), every payload still readable (its subject not shredded)
   must be kept, decrypt, carry the readers stored beside it and match its entry's salted
   commitment: each failing entry is named by its index. Two batched reads per page.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audit import merkle
from audit.checkpoint import Checkpoint, open_checkpoint
from audit.domain import entry_leaf_hash
from audit.proofs import consistency_proof
from audit.records import CHECKPOINTS, JOURNAL, STATE, TREE, entry_key, node_key
from audit.repository import (
    JournalCorruptError,
    Payloads,
    SubjectKeys,
    public_entry,
    read_nodes,
)
from audit.vault import PayloadState, PayloadVault, StoredPayload
from shared.crypto import IntegrityError, VerifierKey
from shared.store.port import DocumentReader


@dataclass(frozen=True)
class Finding:
    index: int
    reason: str


@dataclass
class VerificationReport:
    entries: int = 0
    checkpoints: int = 0
    payloads_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_broken_index(self) -> int | None:
        return min((f.index for f in self.findings), default=None)

    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.index, default=None)

    def add(self, index: int, reason: str) -> None:
        self.findings.append(Finding(index, reason))


async def verify_journal(
    reader: DocumentReader,
    verifiers: Iterable[VerifierKey],
    *,
    origin: str | None = None,
    batch: int = 1000,
    vault: PayloadVault | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerificationReport:
    """Check the whole journal as described in the module docstring (payloads only with
    `vault`); `progress(entries checked so far)` after each batch."""
    report = VerificationReport()
    keys = list(verifiers)
    checkpoints = await _checkpoints(reader, keys, origin, report)
    report.checkpoints = len(checkpoints)
    await _successive_consistency(reader, checkpoints, report)

    pending = list(checkpoints)
    previous_size = 0
    # The first edited leaf since the last matching checkpoint: where a root mismatch starts.
    suspect: int | None = None
    roots_diverged = False
    tree = merkle.CompactRange()
    seqs: dict[str, dict[int, int]] = defaultdict(dict)
    stop = False
    while not stop:
        page = await reader.find(
            JOURNAL, {"_id": {"$gte": entry_key(tree.size)}}, sort=[("_id", 1)], limit=batch
        )
        stored_leaves = await _stored_leaves(reader, tree.size, len(page))
        if vault is not None:
            await _check_payloads(reader, vault, page, report)
        for document in page:
            index = tree.size
            if document.get("_id") != entry_key(index) or document.get("index") != index:
                report.add(index, "entry missing or out of place")
                stop = True
                break
            try:
                leaf = entry_leaf_hash(document)
            except (KeyError, TypeError, ValueError):
                report.add(index, "entry fields missing or malformed")
                stop = True
                break
            if stored_leaves.get(index) != leaf:
                report.add(index, "entry does not match its leaf in the tree")
                suspect = index if suspect is None else suspect
            _note_sequence(document, index, seqs, report)
            tree.append(leaf)
            while pending and pending[0].size == tree.size:
                checkpoint = pending.pop(0)
                if tree.root() != checkpoint.root and not roots_diverged:
                    # Only the first divergence is news: every later root inherits it.
                    roots_diverged = True
                    report.add(
                        previous_size if suspect is None else suspect,
                        f"rebuilt root differs from signed checkpoint {checkpoint.size}",
                    )
                elif tree.root() == checkpoint.root:
                    suspect = None
                previous_size = checkpoint.size
        if progress is not None:
            progress(tree.size)
        if len(page) < batch:
            break
    report.entries = tree.size
    if pending and pending[0].size > tree.size and not stop:
        report.add(tree.size, f"checkpoint {pending[-1].size} signed but only {tree.size} entries")
    await _check_state(reader, tree, report)
    _check_sequences(seqs, report)
    return report


async def _check_payloads(
    reader: DocumentReader,
    vault: PayloadVault,
    page: Sequence[Mapping[str, Any]],
    report: VerificationReport,
) -> None:
    entries = [public_entry(d) for d in page if isinstance(d.get("index"), int) and "event_id" in d]
    if not entries:
        return
    subjects = list(dict.fromkeys(str(d.get("subject")) for d in entries))
    event_ids = [str(d["event_id"]) for d in entries]
    keys = await SubjectKeys(reader).of(subjects)
    sealed = await Payloads(reader).of(event_ids)
    for entry in entries:
        stored = StoredPayload(
            entry, keys.get(str(entry.get("subject"))), sealed.get(str(entry["event_id"]))
        )
        if stored.shredded:
            continue
        if stored.key is None or stored.sealed is None:
            # Only a shredded subject's payloads go unkept: this one was lost or deleted.
            report.add(int(entry["index"]), "payload missing")
            continue
        opened = await vault.open_stored(stored)
        report.payloads_checked += 1
        if opened.state is PayloadState.CORRUPT:
            report.add(int(entry["index"]), f"payload corrupt: {opened.problem}")


async def _checkpoints(
    reader: DocumentReader,
    keys: list[VerifierKey],
    origin: str | None,
    report: VerificationReport,
) -> list[Checkpoint]:
    found = await reader.find(CHECKPOINTS, sort=[("_id", 1)])
    checkpoints: list[Checkpoint] = []
    for document in found:
        try:
            checkpoint = open_checkpoint(str(document["note"]), keys, origin=origin)
        except (IntegrityError, KeyError) as error:
            report.add(int(document.get("size", 0)), f"checkpoint signature invalid: {error}")
            continue
        if checkpoint.size != int(document.get("size", -1)):
            report.add(checkpoint.size, "checkpoint stored under another size")
            continue
        checkpoints.append(checkpoint)
    return checkpoints


async def _successive_consistency(
    reader: DocumentReader, checkpoints: list[Checkpoint], report: VerificationReport
) -> None:
    for older, newer in itertools.pairwise(checkpoints):
        if older.size == 0:
            continue
        try:
            proof = await consistency_proof(reader, older.size, newer.size)
        except JournalCorruptError:
            report.add(older.size, f"tree nodes missing between {older.size} and {newer.size}")
            continue
        if not merkle.verify_consistency(older.size, newer.size, older.root, newer.root, proof):
            report.add(older.size, f"checkpoints {older.size} and {newer.size} are not consistent")


async def _stored_leaves(reader: DocumentReader, start: int, count: int) -> dict[int, bytes]:
    if count == 0:
        return {}
    found = await reader.find(
        "journal_nodes",
        {"_id": {"$gte": node_key((0, start)), "$lt": node_key((0, start + count))}},
    )
    leaves: dict[int, bytes] = {}
    for document in found:
        index = int(str(document["_id"]).split(".")[1])
        leaves[index] = bytes.fromhex(document["hash"])
    return leaves


def _note_sequence(
    document: dict[str, object],
    index: int,
    seqs: dict[str, dict[int, int]],
    report: VerificationReport,
) -> None:
    seq = document.get("producer_seq")
    if not isinstance(seq, int):
        return
    producer = str(document.get("producer"))
    seen = seqs[producer]
    if seq in seen:
        report.add(index, f"{producer} producer_seq {seq} already used at index {seen[seq]}")
    else:
        seen[seq] = index


def _check_sequences(seqs: dict[str, dict[int, int]], report: VerificationReport) -> None:
    for producer, seen in seqs.items():
        expected = 1
        for seq in sorted(seen):
            if seq > expected:
                report.add(
                    seen[seq],
                    f"{producer} producer_seq {expected}..{seq - 1} missing before this entry",
                )
            expected = seq + 1


async def _check_state(
    reader: DocumentReader, tree: merkle.CompactRange, report: VerificationReport
) -> None:
    state = await reader.get(STATE, TREE)
    stored_size = int(state["size"]) if state else 0
    if stored_size != tree.size:
        report.add(min(stored_size, tree.size), f"tree state says {stored_size} entries")
        return
    try:
        stored_root = await read_nodes(reader, merkle.subtree_nodes(0, tree.size))
    except JournalCorruptError:
        report.add(tree.size, "tree nodes of the current root are missing")
        return
    ordered = [stored_root[node] for node in merkle.subtree_nodes(0, tree.size)]
    if merkle.fold(ordered) != tree.root():
        report.add(tree.size, "stored tree nodes disagree with the entries")
