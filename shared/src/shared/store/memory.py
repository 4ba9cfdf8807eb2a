"""An in-memory engine of the document store port, for unit tests and tools: the port's
semantics (versions, unique indexes, atomic transactions, the shared filter language, JSON
values only) without a database. It runs the same contract suite as SQLite and MongoDB.

One process, one dict: transactions are serialised by a lock (an outside reader waits for the
commit, which the contract allows) and restore a snapshot when they fail.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from shared.store.port import (
    ID,
    VERSION,
    Document,
    DuplicateKeyError,
    Filter,
    Index,
    SortKey,
    Transaction,
    VersionConflictError,
    validate_filter,
)

Data = dict[str, dict[str, Document]]


def _json(value: object) -> None:
    """Refuse what the other engines cannot store (datetimes, sets, NaN…)."""
    json.dumps(value, allow_nan=False)


def _value(document: Document, path: str) -> Any:
    current: Any = document
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _comparable(value: object, operand: object) -> bool:
    """Numbers compare with numbers and text with text, as in the other engines."""
    numbers = (int, float)
    if isinstance(value, bool) or isinstance(operand, bool):
        return False
    if isinstance(value, numbers) and isinstance(operand, numbers):
        return True
    return isinstance(value, str) and isinstance(operand, str)


def _matches(document: Document, where: Filter | None) -> bool:
    for field, condition in (where or {}).items():
        value = _value(document, field)
        if isinstance(condition, Mapping):
            for operator, operand in condition.items():
                if operator == "$in":
                    if value not in list(operand):
                        return False
                elif operator == "$ne":
                    if value == operand:
                        return False
                else:
                    if not _comparable(value, operand):
                        return False
                    ok = {
                        "$gt": value > operand,
                        "$gte": value >= operand,
                        "$lt": value < operand,
                        "$lte": value <= operand,
                    }[operator]
                    if not ok:
                        return False
        elif value != condition:
            return False
    return True


class _Operations:
    """The reads and writes of the port on one data dict (no locking)."""

    def __init__(self, data: Data, indexes: list[Index]) -> None:
        self.data = data
        self.indexes = indexes

    def _table(self, collection: str) -> dict[str, Document]:
        return self.data.setdefault(collection, {})

    def _check_unique(self, collection: str, document: Document) -> None:
        for index in self.indexes:
            if index.collection != collection or not index.unique:
                continue
            key = tuple(_value(document, f) for f in index.fields)
            if any(part is None for part in key):
                continue
            for other in self._table(collection).values():
                if (
                    other[ID] != document[ID]
                    and tuple(_value(other, f) for f in index.fields) == key
                ):
                    raise DuplicateKeyError(f"duplicate key on {index.name}")

    async def get(self, collection: str, doc_id: str) -> Document | None:
        found = self._table(collection).get(doc_id)
        return copy.deepcopy(found) if found is not None else None

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        validate_filter(where)
        _json(where)
        rows = [d for d in self._table(collection).values() if _matches(d, where)]
        for field, direction in reversed(list(sort)):
            rows.sort(
                key=lambda d: (_value(d, field) is not None, _value(d, field) or 0),
                reverse=direction == -1,
            )
        return copy.deepcopy(rows[:limit] if limit is not None else rows)

    async def count(self, collection: str, where: Filter | None = None) -> int:
        return len(await self.find(collection, where))

    async def insert(self, collection: str, document: Document) -> Document:
        _json(document)
        table = self._table(collection)
        if document.get(ID) in table:
            raise DuplicateKeyError(f"duplicate _id in {collection}")
        stored = {**copy.deepcopy(document), VERSION: 1}
        self._check_unique(collection, stored)
        table[stored[ID]] = stored
        return copy.deepcopy(stored)

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        before = copy.deepcopy(self._table(collection))
        try:
            for document in documents:
                await self.insert(collection, document)
        except BaseException:
            self._table(collection).clear()
            self._table(collection).update(before)
            raise

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
        _json(document)
        table = self._table(collection)
        current = table.get(document[ID])
        if current is None or current[VERSION] != expected_version:
            raise VersionConflictError(f"{collection}/{document[ID]} changed")
        stored = {
            **{k: v for k, v in copy.deepcopy(document).items() if k != VERSION},
            VERSION: expected_version + 1,
        }
        self._check_unique(collection, stored)
        table[stored[ID]] = stored
        return copy.deepcopy(stored)

    async def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        validate_filter(where)
        _json(where)
        _json(dict(changes))
        table = self._table(collection)
        updated = [
            {**row, **copy.deepcopy(dict(changes)), VERSION: row[VERSION] + 1}
            for row in table.values()
            if _matches(row, where)
        ]
        before = copy.deepcopy(table)
        try:
            # All or nothing: a collision on any row leaves every row as it was.
            for row in updated:
                table[row[ID]] = row
            for row in updated:
                self._check_unique(collection, row)
        except DuplicateKeyError:
            table.clear()
            table.update(before)
            raise
        return len(updated)

    async def delete(
        self, collection: str, doc_id: str, *, expected_version: int | None = None
    ) -> bool:
        table = self._table(collection)
        current = table.get(doc_id)
        if current is None:
            return False
        if expected_version is not None and current[VERSION] != expected_version:
            raise VersionConflictError(f"{collection}/{doc_id} changed")
        del table[doc_id]
        return True


class MemoryStore:
    """`DocumentStore` in a dict. `share_with` opens another store on the same data (a
    "reopened" store, as the contract suite asks of every engine)."""

    def __init__(self, *, share_with: MemoryStore | None = None) -> None:
        if share_with is None:
            self.data: Data = {}
            self.indexes: list[Index] = []
            self._lock = asyncio.Lock()
        else:
            self.data = share_with.data
            self.indexes = share_with.indexes
            self._lock = share_with._lock
        self._ops = _Operations(self.data, self.indexes)

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def ensure_indexes(self, indexes: Sequence[Index]) -> None:
        self.indexes.extend(i for i in indexes if i not in self.indexes)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            snapshot = copy.deepcopy(self.data)
            try:
                yield self._ops
            except BaseException:
                self.data.clear()
                self.data.update(snapshot)
                raise

    # Outside a transaction each call is its own, after any transaction in progress commits.

    async def get(self, collection: str, doc_id: str) -> Document | None:
        async with self._lock:
            return await self._ops.get(collection, doc_id)

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        async with self._lock:
            return await self._ops.find(collection, where, sort=sort, limit=limit)

    async def count(self, collection: str, where: Filter | None = None) -> int:
        async with self._lock:
            return await self._ops.count(collection, where)

    async def insert(self, collection: str, document: Document) -> Document:
        async with self._lock:
            return await self._ops.insert(collection, document)

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        async with self._lock:
            await self._ops.insert_many(collection, documents)

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
        async with self._lock:
            return await self._ops.replace(collection, document, expected_version=expected_version)

    async def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        async with self._lock:
            return await self._ops.update(collection, where, changes)

    async def delete(
        self, collection: str, doc_id: str, *, expected_version: int | None = None
    ) -> bool:
        async with self._lock:
            return await self._ops.delete(collection, doc_id, expected_version=expected_version)
