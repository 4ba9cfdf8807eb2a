"""Audit's composition root: `wire` builds every use case on one `Context` from the
configuration and the ports, without I/O (nothing connects until the app's lifespan starts).
The app factory (`audit.main`), the benchmarks and the unit tests' harness all use it.

| use case | module |
|---|---|
| journal each event exactly once, in groups (group commit) | `audit.journaling` |
| producer sequences, gaps declared once | `audit.sequences` |
| the tree's head, roots and proofs | `audit.proofs` |
| sign checkpoints, serve them | `audit.checkpoints` |
| proofs and receipts as served, up to the latest checkpoint | `audit.receipts` |
| entries, and their payloads for whoever may read them | `audit.reads` |
| shred a subject's payload key | `audit.shredding` (over the bus: `audit.erasure`) |

Storage layout: `audit.records`; typed records and their repositories: `audit.repository`.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.checkpoints import Checkpoints as Checkpoints
from audit.checkpoints import StoredCheckpoint as StoredCheckpoint
from audit.context import DEFAULT_BATCH_SIZE as DEFAULT_BATCH_SIZE
from audit.context import Config, Context
from audit.context import JournalStats as JournalStats
from audit.journal import Journal as Journal
from audit.journaling import JournalBatchError as JournalBatchError
from audit.journaling import JournalStateError as JournalStateError
from audit.journaling import JournalWriterStoppedError as JournalWriterStoppedError
from audit.proofs import InclusionProof as InclusionProof
from audit.proofs import TreeHead as TreeHead
from audit.proofs import consistency_proof as consistency_proof
from audit.proofs import inclusion_proof as inclusion_proof
from audit.proofs import tree_root as tree_root
from audit.receipts import Receipts
from audit.records import CHECKPOINTS as CHECKPOINTS
from audit.records import INDEXES as INDEXES
from audit.records import JOURNAL as JOURNAL
from audit.records import MAX_PAGE as MAX_PAGE
from audit.records import NODES as NODES
from audit.records import PRODUCERS as PRODUCERS
from audit.records import STATE as STATE
from audit.records import TREE as TREE
from audit.records import checkpoint_key as checkpoint_key
from audit.records import entry_key as entry_key
from audit.records import node_key as node_key
from audit.repository import JournalCorruptError as JournalCorruptError
from audit.repository import read_nodes as read_nodes
from audit.vault import PayloadVault
from shared.clock import Clock
from shared.crypto import SigningKeyRing
from shared.events import Emitter
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore

SERVICE = "audit"


@dataclass(frozen=True)
class Audit:
    """Every use case of audit, sharing one context."""

    ctx: Context
    journal: Journal
    checkpoints: Checkpoints
    receipts: Receipts


def wire(
    config: Config,
    *,
    store: DocumentStore,
    outbox: Outbox,
    clock: Clock,
    vault: PayloadVault,
    signer: SigningKeyRing,
    service: str = SERVICE,
) -> Audit:
    """Audit's use cases on these ports (no I/O here)."""
    ctx = Context(
        store=store,
        clock=clock,
        events=Emitter(outbox, clock, service),
        vault=vault,
        signer=signer,
        config=config,
    )
    journal = Journal(ctx)
    checkpoints = Checkpoints(ctx, journal.proofs)
    return Audit(ctx, journal, checkpoints, Receipts(journal.reads, journal.proofs, checkpoints))
