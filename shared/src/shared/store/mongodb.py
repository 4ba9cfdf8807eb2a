"""MongoDB engine of the document store port, on PyMongo's async API (DESIGN §5).

One database per service. Transactions use client sessions, which MongoDB only offers on a
**replica set** (a single-node one is enough) or through `mongos`: `connect()` refuses a
standalone server with `TransactionsUnsupportedError` rather than failing on the first outbox
write. Needs MongoDB 4.4+ (collections created implicitly inside transactions).

Semantics kept identical to the SQLite engine, which the contract suite checks:
- documents and filter operands are JSON values only (instants are `to_iso` strings): anything
  else is refused with TypeError instead of being stored as a BSON type SQLite cannot hold;
- equality to None, `$ne` and `$in` treat a missing field as null (MongoDB's native rule);
- unique indexes ignore documents lacking one of their fields (`partialFilterExpression` with
  `$exists`). Unlike SQLite, MongoDB indexes an explicit null, so two documents holding null in a
  unique field collide: leave such fields out rather than storing null;
- `limit=0` returns nothing (MongoDB would read it as "no limit");
- a write that fails inside a transaction aborts it on the server, so the engine raises that
  same error again when the block tries to commit, even if the caller swallowed it;
- a write conflict between concurrent transactions (a `TransientTransactionError`) is a
  VersionConflictError: the caller retries its whole unit of work, as after a stale replace.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    OperationFailure,
    PyMongoError,
)
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from shared.store.port import (
    ID,
    VERSION,
    Document,
    DuplicateKeyError,
    Filter,
    Index,
    SortKey,
    StoreError,
    StoreUnavailableError,
    Transaction,
    VersionConflictError,
    validate_filter,
)

logger = logging.getLogger(__name__)

MongoSort = list[tuple[str, int]]

# Server error codes (src/mongo/base/error_codes.yml in the MongoDB sources).
_DUPLICATE_KEY = 11000
_WRITE_CONFLICT = 112
_ILLEGAL_OPERATION = 20
_INDEX_OPTIONS_CONFLICT = 85
_INDEX_KEY_SPECS_CONFLICT = 86

_SCALARS = (str, int, float, bool, type(None))


class TransactionsUnsupportedError(StoreError):
    """The server is a standalone mongod: transactions need a replica set or mongos."""


# --- Pure translation of the port's vocabulary (unit-tested without a server) -----------------


def check_field_path(field: str) -> None:
    """Refuse paths MongoDB would read as operators or that have empty segments."""
    if not field or field.startswith("$") or any(not part for part in field.split(".")):
        raise ValueError(f"invalid field path {field!r}")


def check_json_value(value: Any, where: str = "document") -> None:
    """Raise TypeError unless `value` is made only of JSON types (dict keys are strings)."""
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, list | tuple):
        for item in value:
            check_json_value(item, where)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys must be strings, not {type(key).__name__}")
            check_json_value(item, where)
        return
    raise TypeError(
        f"{where}: {type(value).__name__} is not a JSON type (store instants with to_iso)"
    )


def _scalar_operand(value: Any, field: str) -> Any:
    # Equality and ranges compare scalars only: array equality means "contains" in MongoDB and
    # has no SQLite counterpart.
    if not isinstance(value, _SCALARS):
        raise TypeError(f"filter on {field!r}: {type(value).__name__} is not a JSON scalar")
    return value


def translate_filter(where: Filter | None) -> dict[str, Any]:
    """The port's filter as a MongoDB query document (dotted paths are native)."""
    validate_filter(where)
    query: dict[str, Any] = {}
    for field, condition in (where or {}).items():
        check_field_path(field)
        if not isinstance(condition, Mapping):
            query[field] = _scalar_operand(condition, field)
            continue
        if not condition:
            raise ValueError(f"empty condition on {field!r}")
        operators: dict[str, Any] = {}
        for operator, operand in condition.items():
            if operator == "$in":
                if not isinstance(operand, list | tuple):
                    raise TypeError(f"$in on {field!r} needs a list, not {type(operand).__name__}")
                operators[operator] = [_scalar_operand(item, field) for item in operand]
            else:
                operators[operator] = _scalar_operand(operand, field)
        query[field] = operators
    return query


def translate_sort(sort: Sequence[SortKey]) -> MongoSort:
    """The port's sort keys as PyMongo (field, direction) pairs."""
    keys: MongoSort = []
    for field, direction in sort:
        check_field_path(field)
        if direction not in (1, -1):
            raise ValueError(f"sort direction on {field!r} must be 1 or -1, not {direction!r}")
        keys.append((field, pymongo.ASCENDING if direction == 1 else pymongo.DESCENDING))
    return keys


def index_spec(index: Index) -> tuple[MongoSort, dict[str, Any]]:
    """Keys and `create_index` options for a port index."""
    if not index.fields:
        raise ValueError(f"index on {index.collection!r} has no fields")
    for field in index.fields:
        check_field_path(field)
    keys: MongoSort = [(field, pymongo.ASCENDING) for field in index.fields]
    options: dict[str, Any] = {"name": index.name}
    if index.unique:
        options["unique"] = True
        # SQLite's unique expression indexes skip rows where a field is NULL (missing): only
        # documents that have every field take part in the constraint.
        options["partialFilterExpression"] = {field: {"$exists": True} for field in index.fields}
    return keys, options


def translate_error(exc: PyMongoError) -> StoreError:
    """The port's error for a driver error. Messages carry names, never key values."""
    if isinstance(exc, BulkWriteError):
        codes = {error.get("code") for error in (exc.details or {}).get("writeErrors", [])}
        if _DUPLICATE_KEY in codes:
            return DuplicateKeyError("duplicate key in a bulk insert")
    if isinstance(exc, OperationFailure) and exc.code == _DUPLICATE_KEY:
        pattern = (exc.details or {}).get("keyPattern") or {}
        fields = ", ".join(str(field) for field in pattern) or "unknown index"
        return DuplicateKeyError(f"duplicate key on ({fields})")
    if isinstance(exc, ConnectionFailure) or exc.timeout:
        return StoreUnavailableError(f"MongoDB unavailable: {type(exc).__name__}")
    if isinstance(exc, OperationFailure):
        if exc.code == _WRITE_CONFLICT or exc.has_error_label("TransientTransactionError"):
            return VersionConflictError(
                f"concurrent transaction conflict (code {exc.code}): retry the unit of work"
            )
        if exc.code == _ILLEGAL_OPERATION and "replica set" in str(exc):
            return TransactionsUnsupportedError("MongoDB transactions need a replica set or mongos")
        if exc.code in (_INDEX_OPTIONS_CONFLICT, _INDEX_KEY_SPECS_CONFLICT):
            return StoreError(
                f"an index of that name exists with another definition (code {exc.code}): "
                "drop it to change it"
            )
        return StoreError(f"MongoDB operation failed (code {exc.code})")
    return StoreError(f"MongoDB error: {type(exc).__name__}")


def _new_document(document: Mapping[str, Any], version: int) -> Document:
    doc_id = document.get(ID)
    if not isinstance(doc_id, str):
        raise ValueError(f"documents need a string {ID!r}")
    check_json_value(document)
    stored = dict(document)
    stored[VERSION] = version
    return stored


def _check_changes(changes: Mapping[str, Any]) -> None:
    for key in changes:
        if key in (ID, VERSION) or "." in key:
            raise ValueError(f"changes may only name top-level fields other than ids: {key!r}")
        check_field_path(key)
    check_json_value(changes, "update")


def select_database(
    client: AsyncMongoClient[Document], name: str | None
) -> AsyncDatabase[Document]:
    """The named database, else the URL's; ConfigurationError if neither names one."""
    # get_default_database(name) would prefer the URL's name over an explicit one.
    return client.get_database(name) if name else client.get_default_database()


# --- The engine ---------------------------------------------------------------------------------


class _Operations:
    """Reads and writes on one database, optionally bound to a transaction's session."""

    def __init__(
        self, database: AsyncDatabase[Document], session: AsyncClientSession | None = None
    ) -> None:
        self._database = database
        self._session = session

    @property
    def database(self) -> AsyncDatabase[Document]:
        return self._database

    def collection(self, name: str) -> AsyncCollection[Document]:
        return self._database.get_collection(name)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except PyMongoError as exc:
            raise self._failed(translate_error(exc)) from exc

    def _failed(self, error: StoreError) -> StoreError:
        return error

    async def get(self, collection: str, doc_id: str) -> Document | None:
        with self._translated():
            return await self.collection(collection).find_one({ID: doc_id}, session=self._session)

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        query = translate_filter(where)
        keys = translate_sort(sort)
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        if limit == 0:
            return []
        with self._translated():
            cursor = self.collection(collection).find(
                query, sort=keys or None, limit=limit or 0, session=self._session
            )
            return await cursor.to_list()

    async def count(self, collection: str, where: Filter | None = None) -> int:
        query = translate_filter(where)
        with self._translated():
            return await self.collection(collection).count_documents(query, session=self._session)

    async def insert(self, collection: str, document: Document) -> Document:
        stored = _new_document(document, 1)
        with self._translated():
            await self.collection(collection).insert_one(stored, session=self._session)
        return stored

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        stored = [_new_document(document, 1) for document in documents]
        if not stored:
            return
        with self._translated():
            await self.collection(collection).insert_many(
                stored, ordered=True, session=self._session
            )

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
        stored = _new_document(document, expected_version + 1)
        with self._translated():
            result = await self.collection(collection).replace_one(
                {ID: stored[ID], VERSION: expected_version}, stored, session=self._session
            )
        if result.matched_count == 0:
            raise VersionConflictError(
                f"{collection}/{stored[ID]} is no longer at version {expected_version}"
            )
        return stored

    async def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        query = translate_filter(where)
        _check_changes(changes)
        operation: dict[str, Any] = {"$inc": {VERSION: 1}}
        if changes:
            operation["$set"] = dict(changes)
        with self._translated():
            result = await self.collection(collection).update_many(
                query, operation, session=self._session
            )
        return result.matched_count

    async def delete(
        self, collection: str, doc_id: str, *, expected_version: int | None = None
    ) -> bool:
        target: dict[str, Any] = {ID: doc_id}
        if expected_version is not None:
            target[VERSION] = expected_version
        with self._translated():
            result = await self.collection(collection).delete_one(target, session=self._session)
            if result.deleted_count == 1:
                return True
            if expected_version is None:
                return False
            current = await self.collection(collection).find_one(
                {ID: doc_id}, projection={VERSION: True}, session=self._session
            )
        if current is None:
            return False
        raise VersionConflictError(
            f"{collection}/{doc_id} is at version {current.get(VERSION)}, not {expected_version}"
        )


class MongoTransaction(_Operations):
    """The operations of one `MongoStore.transaction()` block, bound to its session.

    Do not run its operations concurrently (`asyncio.gather`): a session is sequential.
    """

    def __init__(self, database: AsyncDatabase[Document], session: AsyncClientSession) -> None:
        super().__init__(database, session)
        self._doomed: StoreError | None = None

    def _failed(self, error: StoreError) -> StoreError:
        # The server has already aborted the transaction: remember why, so that committing
        # reports the real cause rather than "NoSuchTransaction".
        self._doomed = error
        return error

    @contextmanager
    def _translated(self) -> Iterator[None]:
        if self._doomed is not None:
            raise self._doomed
        with super()._translated():
            yield

    def raise_if_doomed(self) -> None:
        if self._doomed is not None:
            raise self._doomed


class MongoStore:
    """The document store on MongoDB. `database` defaults to the one named in the URL."""

    def __init__(
        self,
        url: str,
        database: str | None = None,
        *,
        server_selection_timeout: float = 5.0,
        ping_timeout: float = 2.0,
    ) -> None:
        self._url = url
        self._database_name = database
        self._server_selection_timeout = server_selection_timeout
        self._ping_timeout = ping_timeout
        self._client: AsyncMongoClient[Document] | None = None
        self._operations: _Operations | None = None

    @property
    def database_name(self) -> str | None:
        return self._operations.database.name if self._operations else self._database_name

    async def connect(self) -> None:
        """Open the client and check the server supports transactions (replica set/mongos)."""
        if self._client is not None:
            return
        client: AsyncMongoClient[Document] = AsyncMongoClient(
            self._url,
            serverSelectionTimeoutMS=max(1, int(self._server_selection_timeout * 1000)),
            tz_aware=False,
        )
        try:
            database = select_database(client, self._database_name)
            hello = await client.admin.command("hello")
        except ConfigurationError as exc:
            await client.close()
            raise ValueError("no database: name one in the URL or pass `database`") from exc
        except PyMongoError as exc:
            await client.close()
            raise translate_error(exc) from exc
        if "setName" not in hello and hello.get("msg") != "isdbgrid":
            await client.close()
            raise TransactionsUnsupportedError(
                "MongoDB is a standalone server: the store needs transactions, run a replica "
                "set (a single node is enough: mongod --replSet rs0, then rs.initiate())"
            )
        self._client = client
        self._operations = _Operations(database)
        logger.info("connected to MongoDB database %s", database.name)

    async def close(self) -> None:
        client, self._client, self._operations = self._client, None, None
        if client is not None:
            await client.close()

    def _connected(self) -> tuple[AsyncMongoClient[Document], _Operations]:
        if self._client is None or self._operations is None:
            raise RuntimeError("MongoStore used before connect()")
        return self._client, self._operations

    async def ping(self) -> None:
        if self._client is None:
            raise StoreUnavailableError("MongoStore is not connected")
        try:
            with pymongo.timeout(self._ping_timeout):
                await self._client.admin.command("ping")
        except PyMongoError as exc:
            raise StoreUnavailableError(f"MongoDB ping failed: {type(exc).__name__}") from exc

    async def ensure_indexes(self, indexes: Sequence[Index]) -> None:
        """Create missing indexes; existing ones with the same definition are left alone."""
        _, operations = self._connected()
        for index in indexes:
            keys, options = index_spec(index)
            try:
                await operations.collection(index.collection).create_index(keys, **options)
            except PyMongoError as exc:
                raise translate_error(exc) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        client, operations = self._connected()
        try:
            # Snapshot reads give the unit of work one consistent view; majority writes make a
            # commit survive a primary failover.
            async with (
                client.start_session() as session,
                await session.start_transaction(
                    read_concern=ReadConcern("snapshot"),
                    write_concern=WriteConcern(w="majority"),
                ),
            ):
                transaction = MongoTransaction(operations.database, session)
                yield transaction
                transaction.raise_if_doomed()
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def get(self, collection: str, doc_id: str) -> Document | None:
        return await self._connected()[1].get(collection, doc_id)

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        return await self._connected()[1].find(collection, where, sort=sort, limit=limit)

    async def count(self, collection: str, where: Filter | None = None) -> int:
        return await self._connected()[1].count(collection, where)

    async def insert(self, collection: str, document: Document) -> Document:
        return await self._connected()[1].insert(collection, document)

    async def insert_many(self, collection: str, documents: Sequence[Document]) -> None:
        # Outside a caller's transaction it is its own, so that it stays all or none.
        async with self.transaction() as tx:
            await tx.insert_many(collection, documents)

    async def replace(
        self, collection: str, document: Document, *, expected_version: int
    ) -> Document:
        return await self._connected()[1].replace(
            collection, document, expected_version=expected_version
        )

    async def update(self, collection: str, where: Filter, changes: Mapping[str, Any]) -> int:
        return await self._connected()[1].update(collection, where, changes)

    async def delete(
        self, collection: str, doc_id: str, *, expected_version: int | None = None
    ) -> bool:
        return await self._connected()[1].delete(
            collection, doc_id, expected_version=expected_version
        )
