"""The MongoDB engine's pure parts: the port's filters, sorts, indexes and errors in Mongo terms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from pymongo.errors import (
    AutoReconnect,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
    WriteError,
)
from pymongo.errors import DuplicateKeyError as MongoDuplicateKeyError

from shared.store.mongodb import (
    MongoTransaction,
    TransactionsUnsupportedError,
    check_json_value,
    index_spec,
    translate_error,
    translate_filter,
    translate_sort,
)
from shared.store.port import (
    DuplicateKeyError,
    Index,
    StoreError,
    StoreUnavailableError,
    VersionConflictError,
)

# --- filters --------------------------------------------------------------------------------------


def test_no_filter_matches_everything() -> None:
    assert translate_filter(None) == {}
    assert translate_filter({}) == {}


def test_equality_and_dotted_paths_pass_through_unchanged() -> None:
    where = {"status": "sent", "recipient.address.city": "Lyon", "flag": True, "n": 1.5}

    assert translate_filter(where) == where


def test_equality_on_none_stays_a_null_match() -> None:
    # MongoDB's {"f": None} also matches documents lacking f: the port's semantics.
    assert translate_filter({"served_at": None}) == {"served_at": None}


def test_comparison_operators_are_kept_together_on_their_field() -> None:
    where = {"due_at": {"$gte": "2024-01-01", "$lt": "2024-02-01"}, "n": {"$ne": None}}

    assert translate_filter(where) == where


def test_in_operands_become_a_list() -> None:
    assert translate_filter({"status": {"$in": ("sent", None)}}) == {
        "status": {"$in": ["sent", None]}
    }


@pytest.mark.parametrize(
    "where",
    [
        {"status": {"$regex": "^s"}},
        {"$or": [{"a": 1}]},
        {"status": {"$nin": ["x"]}},
        {"status": {"$exists": True}},
        {"status": {}},
        {"$where": "true"},
        {"a..b": 1},
        {"a.": 1},
        {"": 1},
    ],
)
def test_anything_outside_the_shared_language_raises_value_error(where: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"unsupported|invalid field path|empty condition"):
        translate_filter(where)


@pytest.mark.parametrize(
    "where",
    [
        {"due_at": datetime(2024, 1, 1, tzinfo=UTC)},
        {"due_at": {"$lt": datetime(2024, 1, 1, tzinfo=UTC)}},
        {"tags": ["a", "b"]},
        {"status": {"$in": "sent"}},
        {"status": {"$in": [["nested"]]}},
        {"blob": {"$gt": b"bytes"}},
    ],
)
def test_non_scalar_operands_raise_type_error(where: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        translate_filter(where)


# --- sorts ----------------------------------------------------------------------------------------


def test_sort_keys_keep_their_order_and_directions() -> None:
    assert translate_sort([("city", 1), ("meta.rank", -1)]) == [("city", 1), ("meta.rank", -1)]
    assert translate_sort(()) == []


def test_a_sort_direction_other_than_one_or_minus_one_is_refused() -> None:
    with pytest.raises(ValueError, match="sort direction"):
        translate_sort([("city", cast(Any, 0))])
    with pytest.raises(ValueError, match="invalid field path"):
        translate_sort([("$natural", 1)])


# --- indexes --------------------------------------------------------------------------------------


def test_a_plain_index_is_ascending_and_named_after_the_port() -> None:
    keys, options = index_spec(Index("acts", ("status", "meta.created_at")))

    assert keys == [("status", 1), ("meta.created_at", 1)]
    assert options == {"name": "acts__status__meta_created_at"}


def test_a_unique_index_only_covers_documents_having_every_field() -> None:
    keys, options = index_spec(Index("inbox", ("consumer", "event_id"), unique=True))

    assert keys == [("consumer", 1), ("event_id", 1)]
    assert options == {
        "name": "inbox__consumer__event_id",
        "unique": True,
        "partialFilterExpression": {
            "consumer": {"$exists": True},
            "event_id": {"$exists": True},
        },
    }


def test_an_index_without_fields_is_refused() -> None:
    with pytest.raises(ValueError, match="no fields"):
        index_spec(Index("acts", ()))


# --- values ---------------------------------------------------------------------------------------


def test_json_documents_pass_the_value_check() -> None:
    check_json_value({"a": [1, 2.5, "x", None, True, {"b": ()}], "c": {}})


@pytest.mark.parametrize(
    "value",
    [
        {"at": datetime(2024, 1, 1, tzinfo=UTC)},
        {"raw": b"bytes"},
        {"set": {1, 2}},
        {"nested": [{"deep": object()}]},
        {1: "non-string key"},
    ],
)
def test_non_json_values_raise_type_error(value: dict[Any, Any]) -> None:
    with pytest.raises(TypeError):
        check_json_value(value)


# --- errors ---------------------------------------------------------------------------------------


def test_duplicate_key_errors_name_the_index_fields_but_not_the_values() -> None:
    driver_error = MongoDuplicateKeyError(
        "E11000 duplicate key error collection: db.accounts index: email dup key: "
        '{ email: "alice@example.org" }',
        11000,
        {"keyPattern": {"owner.email": 1}, "keyValue": {"owner.email": "alice@example.org"}},
    )

    error = translate_error(driver_error)

    assert isinstance(error, DuplicateKeyError)
    assert "owner.email" in str(error)
    assert "alice" not in str(error)


def test_a_duplicate_key_reported_as_a_plain_write_error_is_still_a_duplicate() -> None:
    assert isinstance(translate_error(WriteError("dup", 11000, {})), DuplicateKeyError)


@pytest.mark.parametrize(
    "driver_error",
    [
        ServerSelectionTimeoutError("no primary"),
        AutoReconnect("connection reset"),
        NetworkTimeout("timed out"),
        ExecutionTimeout("operation exceeded time limit", 50),
    ],
)
def test_connection_failures_and_timeouts_mean_unavailable(driver_error: Exception) -> None:
    assert isinstance(translate_error(cast(Any, driver_error)), StoreUnavailableError)


def test_a_write_conflict_between_transactions_is_a_version_conflict() -> None:
    conflict = OperationFailure(
        "WriteConflict", 112, {"errorLabels": ["TransientTransactionError"], "code": 112}
    )
    aborted = OperationFailure(
        "Transaction 3 has been aborted",
        251,
        {"errorLabels": ["TransientTransactionError"], "code": 251},
    )

    assert isinstance(translate_error(conflict), VersionConflictError)
    assert isinstance(translate_error(aborted), VersionConflictError)


def test_transactions_on_a_standalone_server_are_reported_as_unsupported() -> None:
    standalone = OperationFailure(
        "Transaction numbers are only allowed on a replica set member or mongos", 20, {}
    )

    assert isinstance(translate_error(standalone), TransactionsUnsupportedError)


def test_other_driver_errors_become_plain_store_errors() -> None:
    error = translate_error(OperationFailure("bad auth", 18, {}))

    assert type(error) is StoreError
    assert "18" in str(error)


# --- transactions doomed by a failed write ------------------------------------------------------


async def test_a_failed_write_dooms_the_transaction_even_if_the_caller_swallows_it() -> None:
    # The server aborts a transaction on any failed command: the engine must not pretend the
    # remaining writes can still commit. No database call happens once the transaction is doomed.
    transaction = MongoTransaction(cast(Any, None), cast(Any, None))
    with pytest.raises(DuplicateKeyError) as first, transaction._translated():
        raise MongoDuplicateKeyError("dup", 11000, {"keyPattern": {"event_id": 1}})

    with pytest.raises(DuplicateKeyError) as later:
        await transaction.insert("acts", {"_id": "a1"})
    with pytest.raises(DuplicateKeyError) as at_commit:
        transaction.raise_if_doomed()

    assert later.value is first.value
    assert at_commit.value is first.value
