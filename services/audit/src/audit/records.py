"""Audit's collections, their keys and indexes (audit's own store; see `audit.repository`).

- `journal`: one entry per event, `_id` = zero-padded index (exactly the leaf's fields).
- `journal_nodes`: the hash of every complete subtree `(level, index)`, written once when it
  completes (the leaf at level 0, then on average one parent per append). Any proof is then
  a single batched read of O(log n) nodes, whatever the tree size; the alternative, tiles
  (C2SP tlog-tiles), would need partial tiles rewritten on every append and buys nothing for
  a log that is not served as static files.
- `journal_state/tree`: the size and the compact range (O(log n) hashes), with which the
  writer appends and resumes exactly after a restart.
- `journal_payloads`, `journal_subject_keys`: see `audit.vault`.
- `journal_producers`: per producer sequence tracking (see `audit.gaps`).
- `journal_checkpoints`: every signed checkpoint, `_id` = zero-padded size, kept forever.
"""

from __future__ import annotations

from typing import Final

from audit import merkle
from shared.store.port import Index

JOURNAL: Final = "journal"
NODES: Final = "journal_nodes"
STATE: Final = "journal_state"
TREE: Final = "tree"
CHECKPOINTS: Final = "journal_checkpoints"
PRODUCERS: Final = "journal_producers"
SUBJECT_KEYS: Final = "journal_subject_keys"
PAYLOADS: Final = "journal_payloads"
INDEXES = (
    Index(JOURNAL, ("event_id",), unique=True),
    Index(JOURNAL, ("index",), unique=True),
    Index(JOURNAL, ("subject", "index")),
    Index(PRODUCERS, ("gap_since",)),
)
MAX_PAGE = 1000


def entry_key(index: int) -> str:
    # Zero-padded so that the primary key sorts in journal order.
    return f"{index:012d}"


def node_key(node: merkle.NodeId) -> str:
    level, index = node
    return f"{level:02d}.{index:012d}"


def checkpoint_key(size: int) -> str:
    return f"{size:012d}"
