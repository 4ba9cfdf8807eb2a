"""Wrappers around a real document store that let a test watch or disturb some calls: every
port call passes through unchanged unless a subclass overrides it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from shared.store.port import Document, DocumentStore, Filter, Index, SortKey, Transaction


class DelegatingTransaction:
    """The reads and writes of the port, passed to `inner`."""

    def __init__(self, inner: Transaction) -> None:
        self.inner = inner

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


class DelegatingStore(DelegatingTransaction):
    """A whole `DocumentStore` passed to `store` (lifecycle and transactions included)."""

    def __init__(self, store: DocumentStore) -> None:
        super().__init__(store)
        self.store = store

    async def connect(self) -> None:
        await self.store.connect()

    async def close(self) -> None:
        await self.store.close()

    async def ping(self) -> None:
        await self.store.ping()

    async def ensure_indexes(self, indexes: Sequence[Index]) -> None:
        await self.store.ensure_indexes(indexes)

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        return self.store.transaction()
