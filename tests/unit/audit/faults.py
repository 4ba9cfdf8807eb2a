"""A real document store whose transactions are counted and can be made to wait before their
commit or to fail on a chosen insert: what the group-commit tests need to observe batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from shared.store.port import (
    Document,
    DocumentStore,
    StoreUnavailableError,
    Transaction,
)
from tests.support.store_wrappers import DelegatingStore, DelegatingTransaction

InsertRule = Callable[[str, Document], bool]


class FaultyStore(DelegatingStore):
    """Delegates to `store`; `fail_insert` (one shot) makes the transaction that inserts such a
    document fail, `hold_commit` keeps every transaction open until it is set."""

    def __init__(self, inner: DocumentStore) -> None:
        super().__init__(inner)
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
    async def transaction(self) -> AsyncIterator[Transaction]:  # type: ignore[override]
        recording: _RecordingTransaction | None = None
        try:
            async with self.store.transaction() as tx:
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


class _RecordingTransaction(DelegatingTransaction):
    def __init__(self, inner: Transaction, store: FaultyStore) -> None:
        super().__init__(inner)
        self._store = store
        self.journaled: list[str] = []

    async def insert(self, collection: str, document: Document) -> Document:
        self._store._check(collection, document)
        if collection == "journal":
            self.journaled.append(str(document["event_id"]))
        return await self.inner.insert(collection, document)

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        for document in documents:
            self._store._check(collection, document)
            if collection == "journal":
                self.journaled.append(str(document["event_id"]))
        await self.inner.insert_many(collection, documents)
