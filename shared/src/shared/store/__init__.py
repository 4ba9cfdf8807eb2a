"""Document store: the port, its engines, and the factory that picks one from a URL."""

from __future__ import annotations

from pathlib import Path

from shared.store.port import (
    DocumentStore,
    DuplicateKeyError,
    Index,
    StoreError,
    StoreUnavailableError,
    Transaction,
    VersionConflictError,
    from_iso,
    to_iso,
    version_of,
    without_meta,
)

__all__ = [
    "DocumentStore",
    "DuplicateKeyError",
    "Index",
    "StoreError",
    "StoreUnavailableError",
    "Transaction",
    "VersionConflictError",
    "from_iso",
    "open_store",
    "to_iso",
    "version_of",
    "without_meta",
]


def open_store(url: str, service: str) -> DocumentStore:
    """The engine a URL names: `sqlite:///path/file.sqlite3` or `mongodb://…` (one database per
    service, named `securact_<service>` unless the URL names one). Nothing connects here."""
    if url.startswith("sqlite:///"):
        from shared.store.sqlite import SqliteStore

        return SqliteStore(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from shared.store.mongodb import MongoStore

        return MongoStore(url, database=None if _names_database(url) else f"securact_{service}")
    raise ValueError("store_url must start with sqlite:/// or mongodb://")


def _names_database(url: str) -> bool:
    rest = url.split("://", 1)[1].split("?", 1)[0]
    return "/" in rest and bool(rest.split("/", 1)[1])
