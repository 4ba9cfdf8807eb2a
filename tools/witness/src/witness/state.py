"""The witness's only state: per log (origin), the last checkpoint it cosigned, in a SQLite file.

The check of the old size against the stored one and the write of the new checkpoint happen in
one `BEGIN IMMEDIATE` transaction (the spec's atomicity: a slow request for a smaller tree must
not roll the record back after a larger one was cosigned), with `synchronous=FULL` so a
cosignature is never returned for a record the disk does not hold.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from witness.tlog import TreeHead

T = TypeVar("T")


@dataclass(frozen=True)
class Recorded:
    size: int
    root: bytes
    note: str


class WitnessState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS logs ("
            " origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,"
            " note TEXT NOT NULL)"
        )

    def latest(self, origin: str) -> Recorded | None:
        row = self._db.execute(
            "SELECT size, root, note FROM logs WHERE origin = ?", (origin,)
        ).fetchone()
        return Recorded(int(row[0]), bytes(row[1]), str(row[2])) if row else None

    def advance(self, origin: str, decide: Callable[[Recorded | None], T]) -> T:
        """Run `decide` on the stored record and, if it returns normally, store the checkpoint
        it was deciding on (`decide` raises to refuse). All in one write transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = decide(self.latest(origin))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return result

    def record(self, head: TreeHead, note: str) -> None:
        """Inside `advance`'s `decide` only."""
        self._db.execute(
            "INSERT INTO logs (origin, size, root, note) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(origin) DO UPDATE SET size = excluded.size, root = excluded.root,"
            " note = excluded.note",
            (head.origin, head.size, head.root, note),
        )

    def close(self) -> None:
        self._db.close()
