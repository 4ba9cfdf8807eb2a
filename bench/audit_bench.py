"""Audit benchmark: Merkle proofs served from the store of a journal of 1 000 000 entries.

The tree is built in memory with the journal's own `CompactRange` (random leaf hashes: the
leaves' content does not matter to proof cost) and its complete-subtree nodes are bulk-loaded
into a SQLite file in exactly the layout the store port writes (`journal_nodes`, one JSON
document per node), which takes seconds instead of the hours a million real appends would.
Proofs are then produced by the very functions the API calls, through the store port.

`run()` returns:
- `entries`, `nodes`: the tree;
- `build_s`: building the tree and loading its nodes;
- `inclusion_proof_ms_mean`, `_p50`, `_p99`, `_max`: one inclusion proof at the full size
  (plan, one batched node read, fold), over random indices (target: < 5 ms);
- `consistency_proof_ms_mean`, `_p99`: one consistency proof between random sizes;
- `proofs_verified_ok`: 1.0 when every proof measured verified against the tree's root.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from audit import merkle
from audit.proofs import consistency_proof, inclusion_proof, tree_root
from audit.records import NODES, node_key
from shared.store.sqlite import SqliteStore

ENTRIES = 1_000_000
SAMPLES = 2_000


def build_tree(path: Path, entries: int) -> tuple[merkle.CompactRange, int]:
    """Build the tree and bulk-load every complete subtree into `path`."""
    tree = merkle.CompactRange()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f'CREATE TABLE "{NODES}" (id TEXT PRIMARY KEY, doc TEXT NOT NULL)')
        rows: list[tuple[str, str]] = []
        count = 0
        for _ in range(entries):
            for node, digest in tree.append(secrets.token_bytes(32)):
                key = node_key(node)
                rows.append((key, json.dumps({"_id": key, "hash": digest.hex(), "_version": 1})))
            if len(rows) >= 100_000:
                db.executemany(f'INSERT INTO "{NODES}" VALUES (?, ?)', rows)  # noqa: S608
                count += len(rows)
                rows.clear()
        db.executemany(f'INSERT INTO "{NODES}" VALUES (?, ?)', rows)  # noqa: S608
        count += len(rows)
    return tree, count


def _ms(samples: list[float]) -> list[float]:
    return sorted(s * 1000 for s in samples)


async def _measure(path: Path, tree: merkle.CompactRange, samples: int) -> dict[str, float]:
    store = SqliteStore(path)
    await store.connect()
    rng = random.Random(6962)
    size = tree.size
    root = tree.root()
    ok = True
    try:
        for index in range(0, size, max(1, size // 50)):  # warm the page cache evenly
            await inclusion_proof(store, index, size)
        inclusion: list[float] = []
        for _ in range(samples):
            index = rng.randrange(size)
            started = time.perf_counter()
            proof = await inclusion_proof(store, index, size)
            inclusion.append(time.perf_counter() - started)
            ok &= merkle.verify_inclusion(index, size, proof.leaf_hash, proof.path, root)
        consistency: list[float] = []
        for _ in range(samples // 4):
            first = rng.randrange(1, size)
            started = time.perf_counter()
            proof_path = await consistency_proof(store, first, size)
            consistency.append(time.perf_counter() - started)
            old_root = await tree_root(store, first)
            ok &= merkle.verify_consistency(first, size, old_root, root, proof_path)
    finally:
        await store.close()
    inc, con = _ms(inclusion), _ms(consistency)
    return {
        "inclusion_proof_ms_mean": statistics.fmean(inc),
        "inclusion_proof_ms_p50": inc[len(inc) // 2],
        "inclusion_proof_ms_p99": inc[int(len(inc) * 0.99)],
        "inclusion_proof_ms_max": inc[-1],
        "consistency_proof_ms_mean": statistics.fmean(con),
        "consistency_proof_ms_p99": con[int(len(con) * 0.99)],
        "proofs_verified_ok": 1.0 if ok else 0.0,
    }


def run(entries: int = ENTRIES, samples: int = SAMPLES) -> dict[str, float]:
    """Build a tree of `entries` leaves in a temporary SQLite store and time its proofs."""
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as workdir:
        path = Path(workdir) / "audit.sqlite3"
        started = time.perf_counter()
        tree, nodes = build_tree(path, entries)
        build_s = time.perf_counter() - started
        measured = asyncio.run(_measure(path, tree, samples))
    return {"entries": float(entries), "nodes": float(nodes), "build_s": build_s, **measured}


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:28} {value:12.3f}")
