"""An in-memory `DocumentStore` for unit tests: the port's semantics (versions, unique indexes,
atomic transactions, the filter language) without a database."""

from __future__ import annotations

import asyncio
import copy
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

_MISSING = object()


def _value(document: Document, path: str) -> Any:
    current: Any = document
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


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
                    if value is None:
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
    def __init__(self, data: dict[str, dict[str, Document]], indexes: list[Index]) -> None:
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
        except DuplicateKeyError:
            self._table(collection).clear()
            self._table(collection).update(before)
            raise

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
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
        rows = [d for d in self._table(collection).values() if _matches(d, where)]
        for row in rows:
            row.update(copy.deepcopy(dict(changes)))
            row[VERSION] += 1
        return len(rows)

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


class MemoryStore(_Operations):
    """`DocumentStore` in a dict; transactions snapshot and restore on error."""

    def __init__(self) -> None:
        super().__init__({}, [])
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def ensure_indexes(self, indexes: Sequence[Index]) -> None:
        self.indexes.extend(indexes)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            snapshot = copy.deepcopy(self.data)
            try:
                yield _Operations(self.data, self.indexes)
            except BaseException:
                self.data.clear()
                self.data.update(snapshot)
                raise
