"""SQLite engine of the document store port: the embedded default (one WAL file per service).

Each collection is a table `(id TEXT PRIMARY KEY, doc TEXT)` holding the JSON document; secondary
indexes are expression indexes on `json_extract`. One connection serves the process and an
asyncio lock serialises its use, so a transaction never sees another task's uncommitted writes;
SQLite has a single writer anyway, and WAL lets other processes read meanwhile.

Threads: a statement on a local WAL file takes microseconds, far less than a hop to a worker
thread and back, so statements run on the event loop; only what may wait runs on the store's
one worker thread: taking the write lock when another process holds it (`busy_timeout`), and
committing (the WAL append, and a checkpoint now and then). A transaction therefore costs one
thread hop, its COMMIT, whatever its number of statements; a single write outside a
transaction is one hop too. On the loop the connection never waits for a lock (busy timeout 0):
a statement that finds the database busy is run again on the worker thread, which waits.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from shared.store.port import (
    ID,
    VERSION,
    Document,
    DuplicateKeyError,
    Filter,
    Index,
    SortKey,
    StoreUnavailableError,
    Transaction,
    VersionConflictError,
    validate_filter,
)

_T = TypeVar("_T")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_SQL_OPERATORS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<=", "$ne": "IS NOT"}
_SQLITE_BUSY = 5
_BUSY_TIMEOUT_MS = 5000


def _table(collection: str) -> str:
    if not _NAME.match(collection) or "." in collection:
        raise ValueError(f"invalid collection name {collection!r}")
    return f'"{collection}"'


def _path(field: str) -> str:
    if not _NAME.match(field):
        raise ValueError(f"invalid field name {field!r}")
    return f"json_extract(doc, '$.{field}')"


def _sql_value(value: Any) -> Any:
    # json_extract yields SQL scalars; nested values come back as JSON text.
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if value is not None and not isinstance(value, str | int | float):
        # sqlite3 would adapt a datetime to its own text form and silently match nothing.
        raise TypeError(f"filter operands are JSON values, not {type(value).__name__}")
    return value


def _where(where: Filter | None) -> tuple[str, list[Any]]:
    validate_filter(where)
    clauses: list[str] = []
    params: list[Any] = []
    for field, condition in (where or {}).items():
        column = "id" if field == ID else _path(field)
        if isinstance(condition, Mapping):
            for operator, value in condition.items():
                if operator == "$in":
                    values = [v for v in value if v is not None]
                    options = [f"{column} IN ({', '.join('?' * len(values))})"] if values else []
                    if len(values) < len(list(value)):
                        # NULL never equals anything in SQL; None means null or missing.
                        options.append(f"{column} IS NULL")
                    clauses.append(f"({' OR '.join(options)})" if options else "0")
                    params.extend(_sql_value(v) for v in values)
                else:
                    clauses.append(f"{column} {_SQL_OPERATORS[operator]} ?")
                    params.append(_sql_value(value))
                    if operator != "$ne":
                        clauses.append(f"{column} IS NOT NULL")
        elif condition is None:
            clauses.append(f"{column} IS NULL")
        else:
            # `=` (not `IS`) lets SQLite use the partial `IS NOT NULL` indexes.
            clauses.append(f"{column} = ?")
            params.append(_sql_value(condition))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _order(sort: Sequence[SortKey]) -> str:
    if not sort:
        return " ORDER BY rowid"
    parts = [f"{'id' if f == ID else _path(f)} {'ASC' if d == 1 else 'DESC'}" for f, d in sort]
    return " ORDER BY " + ", ".join(parts)


def _dump(document: Document) -> tuple[str, str]:
    doc_id = document.get(ID)
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError("documents need a non-empty string _id")
    return doc_id, json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _field(name: str) -> str:
    if not _NAME.match(name) or "." in name:
        raise ValueError(f"update sets top-level fields only, not {name!r}")
    return name


def _busy(error: sqlite3.OperationalError) -> bool:
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) == _SQLITE_BUSY


def _retrieve(future: asyncio.Future[Any]) -> None:
    # A cancelled caller no longer awaits its call: its outcome must not be reported unseen.
    if not future.cancelled():
        future.exception()


class _Operations:
    """The port's reads and writes as plain calls on one connection (no awaiting): the store
    runs them on the loop or on its worker thread, always holding its lock."""

    def __init__(self, connection: sqlite3.Connection, known_tables: set[str]) -> None:
        self.db = connection
        self._known = known_tables

    def ensure_table(self, collection: str) -> str:
        table = _table(collection)
        if collection not in self._known:
            self.db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)"
            )
            self._known.add(collection)
        return table

    def get(self, collection: str, doc_id: str) -> Document | None:
        table = self.ensure_table(collection)
        row = self.db.execute(f"SELECT doc FROM {table} WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def find(
        self,
        collection: str,
        where: Filter | None = None,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        table = self.ensure_table(collection)
        clause, params = _where(where)
        sql = f"SELECT doc FROM {table}{clause}{_order(sort)}"
        if limit is not None:
            if limit < 0:
                raise ValueError("limit cannot be negative")
            sql += " LIMIT ?"
            params.append(int(limit))
        return [dict(json.loads(row[0])) for row in self.db.execute(sql, params).fetchall()]

    def count(self, collection: str, where: Filter | None = None) -> int:
        table = self.ensure_table(collection)
        clause, params = _where(where)
        row = self.db.execute(f"SELECT COUNT(*) FROM {table}{clause}", params).fetchone()
        return 0 if row is None else int(row[0])

    def insert(self, collection: str, document: Document) -> Document:
        table = self.ensure_table(collection)
        stored = {**document, VERSION: 1}
        doc_id, text = _dump(stored)
        try:
            self.db.execute(f"INSERT INTO {table} (id, doc) VALUES (?, ?)", (doc_id, text))
        except sqlite3.IntegrityError as error:
            raise DuplicateKeyError(f"duplicate key in {collection}") from error
        return stored

    def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        table = self.ensure_table(collection)
        rows = [_dump({**document, VERSION: 1}) for document in documents]
        if not rows:
            return
        try:
            self.db.executemany(f"INSERT INTO {table} (id, doc) VALUES (?, ?)", rows)
        except sqlite3.IntegrityError as error:
            raise DuplicateKeyError(f"duplicate key in {collection}") from error

    def replace(self, collection: str, document: Document, expected_version: int) -> Document:
        table = self.ensure_table(collection)
        stored = {**document, VERSION: expected_version + 1}
        doc_id, text = _dump(stored)
        try:
            cursor = self.db.execute(
                f"UPDATE {table} SET doc = ? WHERE id = ? AND {_path(VERSION)} = ?",
                (text, doc_id, expected_version),
            )
        except sqlite3.IntegrityError as error:
            raise DuplicateKeyError(f"duplicate key in {collection}") from error
        if cursor.rowcount != 1:
            raise VersionConflictError(f"{collection}/{doc_id} is not at v{expected_version}")
        return stored

    def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        table = self.ensure_table(collection)
        if ID in changes or VERSION in changes:
            raise ValueError("update cannot change _id or _version")
        clause, params = _where(where)
        assignments = "".join(f"'$.{_field(name)}', json(?), " for name in changes)
        values = [
            json.dumps(v, separators=(",", ":"), ensure_ascii=False) for v in changes.values()
        ]
        sql = (
            f"UPDATE {table} SET doc = json_set(doc, {assignments}"
            f"'$.{VERSION}', {_path(VERSION)} + 1){clause}"
        )
        try:
            return self.db.execute(sql, [*values, *params]).rowcount
        except sqlite3.IntegrityError as error:
            raise DuplicateKeyError(f"duplicate key in {collection}") from error

    def delete(self, collection: str, doc_id: str, expected_version: int | None = None) -> bool:
        table = self.ensure_table(collection)
        if expected_version is None:
            cursor = self.db.execute(f"DELETE FROM {table} WHERE id = ?", (doc_id,))
            return cursor.rowcount == 1
        cursor = self.db.execute(
            f"DELETE FROM {table} WHERE id = ? AND {_path(VERSION)} = ?",
            (doc_id, expected_version),
        )
        if cursor.rowcount == 1:
            return True
        if self.get(collection, doc_id) is not None:
            raise VersionConflictError(f"{collection}/{doc_id} is not at v{expected_version}")
        return False

    def commit(self) -> None:
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise


class _SqliteTransaction:
    """`Transaction` inside `SqliteStore.transaction()`: every statement runs on the loop."""

    def __init__(self, store: SqliteStore, ops: _Operations) -> None:
        self._store = store
        self._ops = ops

    async def get(self, collection: str, doc_id: str) -> Document | None:
        return await self._store._inline(partial(self._ops.get, collection, doc_id))

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        return await self._store._inline(partial(self._ops.find, collection, where, sort, limit))

    async def count(self, collection: str, where: Filter | None = None) -> int:
        return await self._store._inline(partial(self._ops.count, collection, where))

    async def insert(self, collection: str, document: Document) -> Document:
        return await self._store._inline(partial(self._ops.insert, collection, document))

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        await self._store._inline(partial(self._ops.insert_many, collection, documents))

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
        call = partial(self._ops.replace, collection, document, expected_version)
        return await self._store._inline(call)

    async def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        return await self._store._inline(partial(self._ops.update, collection, where, changes))

    async def delete(
        self, collection: str, doc_id: str, *, expected_version: int | None = None
    ) -> bool:
        call = partial(self._ops.delete, collection, doc_id, expected_version)
        return await self._store._inline(call)


class SqliteStore:
    """`DocumentStore` on one SQLite file in WAL mode."""

    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        self._path = path
        self._synchronous = synchronous
        self._db: sqlite3.Connection | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._lock = asyncio.Lock()
        self._known: set[str] = set()
        # The worker's last call: a cancelled caller leaves it running on the connection.
        self._running: asyncio.Future[Any] | None = None

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a process crash; FULL also survives power loss.
            db.execute(f"PRAGMA synchronous={self._synchronous}")
            db.execute("PRAGMA busy_timeout=0")
            db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error:
            db.close()
            raise
        return db

    async def connect(self) -> None:
        if self._db is not None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        worker = ThreadPoolExecutor(1, thread_name_prefix=f"sqlite-{self._path.stem}")
        try:
            db = await asyncio.get_running_loop().run_in_executor(worker, self._open)
        except sqlite3.Error as error:
            worker.shutdown(wait=False)
            raise StoreUnavailableError(f"cannot open {self._path.name}") from error
        self._db, self._worker = db, worker

    async def close(self) -> None:
        async with self._lock:
            await self._settle()
            db, worker = self._db, self._worker
            self._db, self._worker = None, None
            self._known.clear()
            if db is not None and worker is not None:
                await asyncio.get_running_loop().run_in_executor(worker, db.close)
                worker.shutdown(wait=False)

    def _ops(self) -> _Operations:
        if self._db is None:
            raise StoreUnavailableError("store is not connected")
        return _Operations(self._db, self._known)

    async def _settle(self) -> None:
        """Wait for a worker call whose caller was cancelled: it still uses the connection.
        Called first under the lock, where no transaction is open: one left open is a BEGIN
        whose caller was cancelled while it waited for the write lock."""
        running = self._running
        if running is not None and not running.done():
            await asyncio.wait({running})
        if self._db is not None and self._db.in_transaction:
            self._db.execute("ROLLBACK")

    async def _waiting(self, call: Callable[[], _T]) -> _T:
        """Run `call` on the worker thread, where it may wait for the write lock."""
        db, worker = self._db, self._worker
        if db is None or worker is None:
            raise StoreUnavailableError("store is not connected")

        def patient() -> _T:
            db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            try:
                return call()
            finally:
                db.execute("PRAGMA busy_timeout=0")

        running = asyncio.get_running_loop().run_in_executor(worker, patient)
        running.add_done_callback(_retrieve)
        self._running = running
        # Shielded: the connection is the worker's until the call returns (see `_settle`).
        return await asyncio.shield(running)

    async def _inline(self, call: Callable[[], _T]) -> _T:
        """Run `call` on the loop; if the database is busy, on the worker, waiting for it."""
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
        return await self._waiting(call)

    async def ping(self) -> None:
        async with self._lock:
            await self._settle()
            ops = self._ops()
            try:
                await self._waiting(lambda: ops.db.execute("SELECT 1").fetchall())
            except sqlite3.Error as error:
                raise StoreUnavailableError("sqlite does not answer") from error

    async def ensure_indexes(self, indexes: Sequence[Index]) -> None:
        async with self._lock:
            await self._settle()
            ops = self._ops()

            def create() -> None:
                for index in indexes:
                    table = ops.ensure_table(index.collection)
                    columns = ", ".join(_path(f) for f in index.fields)
                    unique = "UNIQUE " if index.unique else ""
                    # Partial index: documents lacking the fields are not indexed (as MongoDB).
                    present = " AND ".join(f"{_path(f)} IS NOT NULL" for f in index.fields)
                    ops.db.execute(
                        f'CREATE {unique}INDEX IF NOT EXISTS "{index.name}" ON {table} '
                        f"({columns}) WHERE {present}"
                    )

            await self._waiting(create)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            await self._settle()
            ops = self._ops()
            await self._inline(partial(ops.db.execute, "BEGIN IMMEDIATE"))
            try:
                yield _SqliteTransaction(self, ops)
            except BaseException:
                if ops.db.in_transaction:
                    ops.db.execute("ROLLBACK")
                # Tables created inside the rolled-back transaction are gone too.
                self._known.clear()
                raise
            try:
                await self._waiting(ops.commit)
            except sqlite3.Error:
                self._known.clear()
                raise

    async def _read(self, call: Callable[[_Operations], _T]) -> _T:
        async with self._lock:
            await self._settle()
            return await self._inline(partial(call, self._ops()))

    async def _write(self, call: Callable[[_Operations], _T]) -> _T:
        # Alone, a write is its own transaction: it takes the lock and commits on the worker.
        async with self._lock:
            await self._settle()
            return await self._waiting(partial(call, self._ops()))

    async def get(self, collection: str, doc_id: str) -> Document | None:
        return await self._read(lambda ops: ops.get(collection, doc_id))

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        return await self._read(lambda ops: ops.find(collection, where, sort, limit))

    async def count(self, collection: str, where: Filter | None = None) -> int:
        return await self._read(lambda ops: ops.count(collection, where))

    async def insert(self, collection: str, document: Document) -> Document:
        return await self._write(lambda ops: ops.insert(collection, document))

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        # Alone, it is its own transaction: all rows or none.
        async with self.transaction() as tx:
            await tx.insert_many(collection, documents)

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
        return await self._write(lambda ops: ops.replace(collection, document, expected_version))

    async def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        return await self._write(lambda ops: ops.update(collection, where, changes))

    async def delete(
        self, collection: str, doc_id: str, *, expected_version: int | None = None
    ) -> bool:
        return await self._write(lambda ops: ops.delete(collection, doc_id, expected_version))
