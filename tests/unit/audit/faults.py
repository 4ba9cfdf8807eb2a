"""A real document store whose transactions are counted and can be made to wait before their
commit or to fail on a chosen insert: what the group-commit tests need to observe batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from shared.store.port import (
    Document,
    DocumentStore,
    Filter,
    Index,
    SortKey,
    StoreUnavailableError,
    Transaction,
)

InsertRule = Callable[[str, Document], bool]


class FaultyStore:
    """Delegates to `inner`; `fail_insert` (one shot) makes the transaction that inserts such a
    document fail, `hold_commit` keeps every transaction open until it is set."""

    def __init__(self, inner: DocumentStore) -> None:
        self.inner = inner
        self.committed = 0
        self.rolled_back = 0
        self.fail_insert: InsertRule | None = None
        self.failed_inserts: list[tuple[str, Document]] = []
        self.hold_commit: asyncio.Event | None = None
        self.holding = asyncio.Event()
        # The event ids each transaction journaled, committed or rolled back.
        self.batch_event_ids: list[list[str]] = []
        self.rolled_back_event_ids: list[list[str]] = []

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        recording: _RecordingTransaction | None = None
        try:
            async with self.inner.transaction() as tx:
                recording = _RecordingTransaction(tx, self)
                yield recording
                if self.hold_commit is not None:
                    self.holding.set()
                    await self.hold_commit.wait()
        except BaseException:
            self.rolled_back += 1
            if recording is not None:
                self.rolled_back_event_ids.append(recording.journaled)
            raise
        self.committed += 1
        self.batch_event_ids.append(recording.journaled)

    def _check(self, collection: str, document: Document) -> None:
        rule = self.fail_insert
        if rule is not None and rule(collection, document):
            self.fail_insert = None
            self.failed_inserts.append((collection, document))
            raise StoreUnavailableError("injected failure")

    async def connect(self) -> None:
        await self.inner.connect()

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> None:
        await self.inner.ping()

    async def ensure_indexes(self, indexes: Sequence[Index]) -> None:
        await self.inner.ensure_indexes(indexes)

    async def get(self, collection: str, doc_id: str) -> Document | None:
        return await self.inner.get(collection, doc_id)

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        return await self.inner.find(collection, where, sort=sort, limit=limit)

    async def count(self, collection: str, where: Filter | None = None) -> int:
        return await self.inner.count(collection, where)

    async def insert(self, collection: str, document: Document) -> Document:
        return await self.inner.insert(collection, document)

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        await self.inner.insert_many(collection, documents)

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
        return await self.inner.replace(collection, document, expected_version=expected_version)

    async def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        return await self.inner.update(collection, where, changes)

    async def delete(
        self, collection: str, doc_id: str, *, expected_version: int | None = None
    ) -> bool:
        return await self.inner.delete(collection, doc_id, expected_version=expected_version)


class _RecordingTransaction:
    def __init__(self, inner: Transaction, store: FaultyStore) -> None:
        self._inner = inner
        self._store = store
        self.journaled: list[str] = []

    async def get(self, collection: str, doc_id: str) -> Document | None:
        return await self._inner.get(collection, doc_id)

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        return await self._inner.find(collection, where, sort=sort, limit=limit)

    async def count(self, collection: str, where: Filter | None = None) -> int:
        return await self._inner.count(collection, where)

    async def insert(self, collection: str, document: Document) -> Document:
        self._store._check(collection, document)
        if collection == "journal":
            self.journaled.append(str(document["event_id"]))
        return await self._inner.insert(collection, document)

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        for document in documents:
            self._store._check(collection, document)
            if collection == "journal":
                self.journaled.append(str(document["event_id"]))
        await self._inner.insert_many(collection, documents)

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
        return await self._inner.replace(collection, document, expected_version=expected_version)

    async def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        return await self._inner.update(collection, where, changes)

    async def delete(
        self, collection: str, doc_id: str, *, expected_version: int | None = None
    ) -> bool:
        return await self._inner.delete(collection, doc_id, expected_version=expected_version)
