"""SQLite engine of the document store port: the embedded default (one WAL file per service).

Each collection is a table `(id TEXT PRIMARY KEY, doc TEXT)` holding the JSON document; secondary
indexes are expression indexes on `json_extract`. One connection serves the process and an
asyncio lock serialises its use, so a transaction never sees another task's uncommitted writes;
SQLite has a single writer anyway, and WAL lets other processes read meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

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

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_SQL_OPERATORS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<=", "$ne": "IS NOT"}


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


class _SqliteOperations:
    """The port's reads and writes on one connection; callers hold the store's lock."""

    def __init__(self, connection: aiosqlite.Connection, known_tables: set[str]) -> None:
        self._db = connection
        self._known = known_tables

    async def _ensure_table(self, collection: str) -> str:
        table = _table(collection)
        if collection not in self._known:
            await self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)"
            )
            self._known.add(collection)
        return table

    async def get(self, collection: str, doc_id: str) -> Document | None:
        table = await self._ensure_table(collection)
        # execute_fetchall: one hop to aiosqlite's thread instead of three (execute, fetch,
        # close); reads are the hot path of every transaction.
        rows = await self._db.execute_fetchall(f"SELECT doc FROM {table} WHERE id = ?", (doc_id,))
        return next((dict(json.loads(row[0])) for row in rows), None)

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        table = await self._ensure_table(collection)
        clause, params = _where(where)
        sql = f"SELECT doc FROM {table}{clause}{_order(sort)}"
        if limit is not None:
            if limit < 0:
                raise ValueError("limit cannot be negative")
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = await self._db.execute_fetchall(sql, params)
        return [dict(json.loads(row[0])) for row in rows]

    async def count(self, collection: str, where: Filter | None = None) -> int:
        table = await self._ensure_table(collection)
        clause, params = _where(where)
        rows = await self._db.execute_fetchall(f"SELECT COUNT(*) FROM {table}{clause}", params)
        return next((int(row[0]) for row in rows), 0)

    async def insert(self, collection: str, document: Document) -> Document:
        table = await self._ensure_table(collection)
        stored = {**document, VERSION: 1}
        doc_id, text = _dump(stored)
        try:
            await self._db.execute(f"INSERT INTO {table} (id, doc) VALUES (?, ?)", (doc_id, text))
        except sqlite3.IntegrityError as error:
            raise DuplicateKeyError(f"duplicate key in {collection}") from error
        return stored

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        table = await self._ensure_table(collection)
        rows = [_dump({**document, VERSION: 1}) for document in documents]
        if not rows:
            return
        try:
            await self._db.executemany(f"INSERT INTO {table} (id, doc) VALUES (?, ?)", rows)
        except sqlite3.IntegrityError as error:
            raise DuplicateKeyError(f"duplicate key in {collection}") from error

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
        table = await self._ensure_table(collection)
        stored = {**document, VERSION: expected_version + 1}
        doc_id, text = _dump(stored)
        try:
            cursor = await self._db.execute(
                f"UPDATE {table} SET doc = ? WHERE id = ? AND {_path(VERSION)} = ?",
                (text, doc_id, expected_version),
            )
        except sqlite3.IntegrityError as error:
            raise DuplicateKeyError(f"duplicate key in {collection}") from error
        if cursor.rowcount != 1:
            raise VersionConflictError(f"{collection}/{doc_id} is not at v{expected_version}")
        return stored

    async def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        table = await self._ensure_table(collection)
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
            cursor = await self._db.execute(sql, [*values, *params])
        except sqlite3.IntegrityError as error:
            raise DuplicateKeyError(f"duplicate key in {collection}") from error
        return cursor.rowcount

    async def delete(
        self, collection: str, doc_id: str, *, expected_version: int | None = None
    ) -> bool:
        table = await self._ensure_table(collection)
        if expected_version is None:
            cursor = await self._db.execute(f"DELETE FROM {table} WHERE id = ?", (doc_id,))
            return cursor.rowcount == 1
        cursor = await self._db.execute(
            f"DELETE FROM {table} WHERE id = ? AND {_path(VERSION)} = ?",
            (doc_id, expected_version),
        )
        if cursor.rowcount == 1:
            return True
        if await self.get(collection, doc_id) is not None:
            raise VersionConflictError(f"{collection}/{doc_id} is not at v{expected_version}")
        return False


def _field(name: str) -> str:
    if not _NAME.match(name) or "." in name:
        raise ValueError(f"update sets top-level fields only, not {name!r}")
    return name


class SqliteStore:
    """`DocumentStore` on one SQLite file in WAL mode."""

    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        self._path = path
        self._synchronous = synchronous
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._known: set[str] = set()

    async def connect(self) -> None:
        if self._db is not None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = await aiosqlite.connect(self._path, isolation_level=None)
        except sqlite3.Error as error:
            raise StoreUnavailableError(f"cannot open {self._path.name}") from error
        await db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash; FULL also survives power loss.
        await db.execute(f"PRAGMA synchronous={self._synchronous}")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA foreign_keys=ON")
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            self._known.clear()
            await db.close()

    def _ops(self) -> _SqliteOperations:
        if self._db is None:
            raise StoreUnavailableError("store is not connected")
        return _SqliteOperations(self._db, self._known)

    async def ping(self) -> None:
        async with self._lock:
            try:
                await self._ops()._db.execute("SELECT 1")
            except sqlite3.Error as error:
                raise StoreUnavailableError("sqlite does not answer") from error

    async def ensure_indexes(self, indexes: Sequence[Index]) -> None:
        async with self._lock:
            ops = self._ops()
            for index in indexes:
                table = await ops._ensure_table(index.collection)
                columns = ", ".join(_path(f) for f in index.fields)
                unique = "UNIQUE " if index.unique else ""
                # Partial index: documents lacking the fields are not indexed (as in MongoDB).
                present = " AND ".join(f"{_path(f)} IS NOT NULL" for f in index.fields)
                await ops._db.execute(
                    f'CREATE {unique}INDEX IF NOT EXISTS "{index.name}" ON {table} ({columns})'
                    f" WHERE {present}"
                )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            ops = self._ops()
            await ops._db.execute("BEGIN IMMEDIATE")
            try:
                yield ops
            except BaseException:
                await ops._db.execute("ROLLBACK")
                # Tables created inside the rolled-back transaction are gone too.
                self._known.clear()
                raise
            await ops._db.execute("COMMIT")

    async def get(self, collection: str, doc_id: str) -> Document | None:
        async with self._lock:
            return await self._ops().get(collection, doc_id)

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        async with self._lock:
            return await self._ops().find(collection, where, sort=sort, limit=limit)

    async def count(self, collection: str, where: Filter | None = None) -> int:
        async with self._lock:
            return await self._ops().count(collection, where)

    async def insert(self, collection: str, document: Document) -> Document:
        async with self._lock:
            return await self._ops().insert(collection, document)

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        # Alone, it is its own transaction: all rows or none.
        async with self.transaction() as tx:
            await tx.insert_many(collection, documents)

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
        async with self._lock:
            return await self._ops().replace(
                collection, document, expected_version=expected_version
            )

    async def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        async with self._lock:
            return await self._ops().update(collection, where, changes)

    async def delete(
        self, collection: str, doc_id: str, *, expected_version: int | None = None
    ) -> bool:
        async with self._lock:
            return await self._ops().delete(collection, doc_id, expected_version=expected_version)
