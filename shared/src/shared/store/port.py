"""The document store port: what every service needs from its database (DESIGN §5).

Two engines implement it behind one contract test suite: SQLite (embedded default) and MongoDB
(PyMongo's async API). Documents are JSON objects with a string `_id`; the store manages a
`_version` field for optimistic concurrency. Values are JSON types only: instants are stored as
fixed-width ISO-8601 UTC strings (`to_iso`) so that string order is time order in both engines.

Filters are a small, engine-neutral language: `{"field": value}` for equality (dotted paths reach
into sub-documents) or `{"field": {"$gt" | "$gte" | "$lt" | "$lte" | "$ne" | "$in": value}}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from shared.jsondoc import JsonObject

Document = JsonObject
"""What the store holds; repositories turn documents into typed aggregates."""
Filter = Mapping[str, Any]
SortKey = tuple[str, Literal[1, -1]]

ID = "_id"
VERSION = "_version"
COMPARISON_OPERATORS = frozenset({"$gt", "$gte", "$lt", "$lte", "$ne", "$in"})


class StoreError(Exception):
    """Base of every store failure a use case may handle."""


class DuplicateKeyError(StoreError):
    """A write collided with an existing `_id` or a unique index."""


class VersionConflictError(StoreError):
    """The document changed (or vanished) since the caller read it."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached."""


@dataclass(frozen=True)
class Index:
    """A secondary index; `unique` indexes ignore documents that lack the fields."""

    collection: str
    fields: tuple[str, ...]
    unique: bool = False

    @property
    def name(self) -> str:
        return "__".join((self.collection, *self.fields)).replace(".", "_")


class DocumentReader(Protocol):
    async def get(self, collection: str, doc_id: str) -> Document | None:
        """The document with that id, or None."""
        ...

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        """Documents matching `where`, in `sort` order, at most `limit`."""
        ...

    async def count(self, collection: str, where: Filter | None = None) -> int:
        """How many documents match `where`."""
        ...


class DocumentWriter(Protocol):
    async def insert(self, collection: str, document: Document) -> Document:
        """Insert a new document (version 1). DuplicateKeyError on `_id` or unique index."""
        ...

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        """Insert new documents (version 1) in one round trip; all or none: a duplicate key
        among them raises DuplicateKeyError and, inside a transaction, aborts it."""
        ...

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
        """Replace the whole document if it is still at `expected_version`; returns it at the
        new version. VersionConflictError otherwise."""
        ...

    async def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        """Set top-level `changes` on every matching document (bumping versions); returns how
        many changed. For bookkeeping that needs no read (marking outbox rows sent)."""
        ...

    async def delete(
        self, collection: str, doc_id: str, *, expected_version: int | None = None
    ) -> bool:
        """Delete one document; False if it did not exist. VersionConflictError if it exists at
        another version than `expected_version`."""
        ...


class Transaction(DocumentReader, DocumentWriter, Protocol):
    """An atomic unit of work: every write inside commits together or not at all."""


class DocumentStore(DocumentReader, DocumentWriter, Protocol):
    """A service's own database. Single operations outside `transaction()` are atomic alone."""

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StoreUnavailableError unless the database answers (readiness probe)."""
        ...

    async def ensure_indexes(self, indexes: Sequence[Index]) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Open an atomic unit of work; it commits on normal exit, rolls back on error."""
        ...


def without_meta(document: Mapping[str, Any]) -> Document:
    """A stored document's own fields, without the store's `_version`: what `replace` writes
    back (at `version_of(document)`). A copy: the document read is left as it was."""
    return {key: value for key, value in document.items() if key != VERSION}


def version_of(document: Mapping[str, Any]) -> int:
    """The version a document was read at (a `replace`'s `expected_version`)."""
    return int(document[VERSION])


def to_iso(instant: datetime) -> str:
    """Fixed-width UTC ISO-8601 (microseconds, `Z`): sorts as text in time order."""
    if instant.tzinfo is None:
        raise ValueError("naive datetimes are not stored: pass an aware instant")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    """Inverse of `to_iso`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def validate_filter(where: Filter | None) -> None:
    """Refuse operators the engines do not share, before any engine sees them."""
    for field, condition in (where or {}).items():
        if field.startswith("$"):
            raise ValueError(f"unsupported top-level operator {field!r}")
        if isinstance(condition, Mapping):
            unknown = set(condition) - COMPARISON_OPERATORS
            if unknown:
                raise ValueError(f"unsupported operators {sorted(unknown)} on {field!r}")
