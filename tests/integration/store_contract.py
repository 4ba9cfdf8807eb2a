"""The document store contract: what every engine promises (shared.store.port, DESIGN §5).

Engine modules subclass `StoreContract` and override the `engine` fixture with a factory that
opens a connected store on fresh data (each call reopens the SAME data). Every test here must
pass unchanged on SQLite and on MongoDB.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.store.port import (
    DocumentStore,
    DuplicateKeyError,
    Index,
    VersionConflictError,
    to_iso,
)
from tests.fixtures.stores import StoreFactory

STATE = "acts"
OUTBOX = "outbox"
INBOX = "inbox"

INBOX_KEY = Index(INBOX, ("consumer", "event_id"), unique=True)
EMAIL_KEY = Index("accounts", ("owner.email",), unique=True)


class _CallerError(Exception):
    """A failure of the caller's own code inside a transaction."""


async def _ids(store: DocumentStore, collection: str, where: dict[str, Any]) -> set[str]:
    return {doc["_id"] for doc in await store.find(collection, where)}


class StoreContract:
    """Run by `TestSqliteStore` and `TestMongoStore`; see the engine modules."""

    @pytest.fixture
    def engine(self) -> StoreFactory:
        raise NotImplementedError("engine modules override this fixture")

    @pytest.fixture
    async def store(self, engine: StoreFactory) -> DocumentStore:
        return await engine()

    # --- single documents -----------------------------------------------------------------------

    async def test_insert_stores_version_one_and_get_returns_the_document(
        self, store: DocumentStore
    ) -> None:
        document = {"_id": "a1", "status": "draft", "parties": [{"name": "Éloïse"}]}

        inserted = await store.insert(STATE, document)

        assert inserted == {**document, "_version": 1}
        assert await store.get(STATE, "a1") == {**document, "_version": 1}

    async def test_insert_ignores_a_caller_supplied_version(self, store: DocumentStore) -> None:
        inserted = await store.insert(STATE, {"_id": "a1", "_version": 7})

        assert inserted["_version"] == 1
        stored = await store.get(STATE, "a1")
        assert stored is not None
        assert stored["_version"] == 1

    async def test_insert_many_stores_every_document_at_version_one(
        self, store: DocumentStore
    ) -> None:
        await store.insert_many(STATE, [{"_id": f"m{n}", "n": n} for n in range(5)])
        await store.insert_many(STATE, [])

        found = await store.find(STATE, {"n": {"$gte": 0}}, sort=[("n", 1)])
        assert [(d["_id"], d["_version"]) for d in found] == [(f"m{n}", 1) for n in range(5)]

    async def test_insert_many_with_a_duplicate_inserts_none_of_them(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "m2"})

        with pytest.raises(DuplicateKeyError):
            await store.insert_many(STATE, [{"_id": "m1"}, {"_id": "m2"}, {"_id": "m3"}])

        assert await _ids(store, STATE, {}) == {"m2"}

    async def test_insert_many_inside_a_transaction_rolls_back_with_it(
        self, store: DocumentStore
    ) -> None:
        seen_inside: list[int] = []

        async def unit_of_work() -> None:
            async with store.transaction() as tx:
                await tx.insert_many(STATE, [{"_id": "t1"}, {"_id": "t2"}])
                seen_inside.append(len(await tx.find(STATE)))
                raise _CallerError

        with pytest.raises(_CallerError):
            await unit_of_work()

        assert seen_inside == [2]
        assert await store.count(STATE) == 0

    async def test_get_of_an_unknown_id_returns_none(self, store: DocumentStore) -> None:
        await store.insert(STATE, {"_id": "a1"})

        assert await store.get(STATE, "a2") is None
        assert await store.get("never_written", "a1") is None

    async def test_insert_with_an_existing_id_raises_duplicate_key(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1", "status": "draft"})

        with pytest.raises(DuplicateKeyError):
            await store.insert(STATE, {"_id": "a1", "status": "other"})
        assert await store.get(STATE, "a1") == {"_id": "a1", "status": "draft", "_version": 1}

    async def test_json_values_round_trip_unchanged(self, store: DocumentStore) -> None:
        document = {
            "_id": "a1",
            "text": "acte signifié — 東京",
            "empty": "",
            "count": 2**53,
            "negative": -3,
            "ratio": 0.1,
            "yes": True,
            "no": False,
            "nothing": None,
            "list": [1, "two", None, {"three": [3.5]}],
            "nested": {"a": {"b": {"c": "deep"}}, "empty": {}},
        }

        await store.insert(STATE, document)

        stored = await store.get(STATE, "a1")
        assert stored == {**document, "_version": 1}
        assert stored is not None
        assert type(stored["count"]) is int
        assert type(stored["ratio"]) is float
        assert stored["yes"] is True
        assert stored["no"] is False

    async def test_a_non_json_value_is_refused(self, store: DocumentStore) -> None:
        instant = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

        with pytest.raises((TypeError, ValueError)):
            await store.insert(STATE, {"_id": "a1", "served_at": instant})
        assert await store.get(STATE, "a1") is None

    async def test_replace_stores_the_new_content_at_the_next_version(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1", "status": "draft", "note": "x"})

        replaced = await store.replace(STATE, {"_id": "a1", "status": "sent"}, expected_version=1)
        again = await store.replace(STATE, {**replaced, "status": "served"}, expected_version=2)

        assert replaced == {"_id": "a1", "status": "sent", "_version": 2}
        assert again == {"_id": "a1", "status": "served", "_version": 3}
        assert await store.get(STATE, "a1") == again

    async def test_replace_with_a_stale_version_raises_version_conflict(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1", "status": "draft"})
        await store.replace(STATE, {"_id": "a1", "status": "sent"}, expected_version=1)

        with pytest.raises(VersionConflictError):
            await store.replace(STATE, {"_id": "a1", "status": "lost"}, expected_version=1)
        assert await store.get(STATE, "a1") == {"_id": "a1", "status": "sent", "_version": 2}

    async def test_replace_of_a_deleted_document_raises_version_conflict(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1"})
        await store.delete(STATE, "a1")

        with pytest.raises(VersionConflictError):
            await store.replace(STATE, {"_id": "a1", "status": "back"}, expected_version=1)
        assert await store.get(STATE, "a1") is None

    async def test_update_sets_fields_and_bumps_the_version_of_every_match(
        self, store: DocumentStore
    ) -> None:
        for doc_id, sent in (("e1", False), ("e2", False), ("e3", True)):
            await store.insert(OUTBOX, {"_id": doc_id, "sent": sent, "tries": 0})
        await store.replace(OUTBOX, {"_id": "e2", "sent": False, "tries": 1}, expected_version=1)

        changed = await store.update(
            OUTBOX, {"sent": False}, {"sent": True, "relay": {"attempt": 1}}
        )

        assert changed == 2
        assert await store.get(OUTBOX, "e1") == {
            "_id": "e1",
            "sent": True,
            "tries": 0,
            "relay": {"attempt": 1},
            "_version": 2,
        }
        assert await store.get(OUTBOX, "e2") == {
            "_id": "e2",
            "sent": True,
            "tries": 1,
            "relay": {"attempt": 1},
            "_version": 3,
        }
        assert await store.get(OUTBOX, "e3") == {
            "_id": "e3",
            "sent": True,
            "tries": 0,
            "_version": 1,
        }

    async def test_update_matching_nothing_changes_nothing(self, store: DocumentStore) -> None:
        await store.insert(OUTBOX, {"_id": "e1", "sent": True})

        assert await store.update(OUTBOX, {"sent": False}, {"sent": True}) == 0
        assert await store.get(OUTBOX, "e1") == {"_id": "e1", "sent": True, "_version": 1}

    async def test_delete_without_version_removes_the_document(self, store: DocumentStore) -> None:
        await store.insert(STATE, {"_id": "a1"})
        await store.insert(STATE, {"_id": "a2"})

        assert await store.delete(STATE, "a1") is True
        assert await store.delete(STATE, "a1") is False
        assert await store.get(STATE, "a1") is None
        assert await store.get(STATE, "a2") is not None

    async def test_delete_at_the_expected_version_removes_the_document(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1"})
        await store.replace(STATE, {"_id": "a1", "status": "sent"}, expected_version=1)

        assert await store.delete(STATE, "a1", expected_version=2) is True
        assert await store.get(STATE, "a1") is None

    async def test_delete_at_a_stale_version_raises_and_keeps_the_document(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1"})
        await store.replace(STATE, {"_id": "a1", "status": "sent"}, expected_version=1)

        with pytest.raises(VersionConflictError):
            await store.delete(STATE, "a1", expected_version=1)
        assert await store.get(STATE, "a1") == {"_id": "a1", "status": "sent", "_version": 2}

    async def test_delete_with_a_version_of_a_missing_document_returns_false(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1"})

        assert await store.delete(STATE, "a2", expected_version=1) is False

    # --- unique indexes -------------------------------------------------------------------------

    async def test_unique_index_rejects_a_duplicate_insert(self, store: DocumentStore) -> None:
        await store.ensure_indexes([EMAIL_KEY])
        await store.insert("accounts", {"_id": "u1", "owner": {"email": "a@example.org"}})

        with pytest.raises(DuplicateKeyError):
            await store.insert("accounts", {"_id": "u2", "owner": {"email": "a@example.org"}})
        await store.insert("accounts", {"_id": "u3", "owner": {"email": "b@example.org"}})
        assert await _ids(store, "accounts", {}) == {"u1", "u3"}

    async def test_unique_index_rejects_a_colliding_replace(self, store: DocumentStore) -> None:
        await store.ensure_indexes([EMAIL_KEY])
        await store.insert("accounts", {"_id": "u1", "owner": {"email": "a@example.org"}})
        await store.insert("accounts", {"_id": "u2", "owner": {"email": "b@example.org"}})

        with pytest.raises(DuplicateKeyError):
            await store.replace(
                "accounts", {"_id": "u2", "owner": {"email": "a@example.org"}}, expected_version=1
            )
        assert await store.get("accounts", "u2") == {
            "_id": "u2",
            "owner": {"email": "b@example.org"},
            "_version": 1,
        }

    async def test_unique_index_rejects_a_colliding_update(self, store: DocumentStore) -> None:
        await store.ensure_indexes([Index("accounts", ("login",), unique=True)])
        await store.insert("accounts", {"_id": "u1", "login": "alice"})
        await store.insert("accounts", {"_id": "u2", "login": "bob"})

        with pytest.raises(DuplicateKeyError):
            await store.update("accounts", {"_id": "u2"}, {"login": "alice"})
        assert await store.get("accounts", "u2") == {"_id": "u2", "login": "bob", "_version": 1}

    async def test_unique_index_ignores_documents_lacking_the_field(
        self, store: DocumentStore
    ) -> None:
        await store.ensure_indexes([EMAIL_KEY])

        await store.insert("accounts", {"_id": "u1"})
        await store.insert("accounts", {"_id": "u2", "owner": {}})
        await store.insert("accounts", {"_id": "u3", "owner": {"name": "no email"}})
        await store.insert("accounts", {"_id": "u4", "owner": {"email": "a@example.org"}})

        assert await store.count("accounts") == 4

    async def test_compound_unique_index_rejects_only_the_same_combination(
        self, store: DocumentStore
    ) -> None:
        await store.ensure_indexes([INBOX_KEY])
        await store.insert(INBOX, {"_id": "i1", "consumer": "notify", "event_id": "e1"})
        await store.insert(INBOX, {"_id": "i2", "consumer": "audit", "event_id": "e1"})
        await store.insert(INBOX, {"_id": "i3", "consumer": "notify", "event_id": "e2"})
        await store.insert(INBOX, {"_id": "i4", "consumer": "notify"})
        await store.insert(INBOX, {"_id": "i5", "consumer": "notify"})

        with pytest.raises(DuplicateKeyError):
            await store.insert(INBOX, {"_id": "i6", "consumer": "notify", "event_id": "e1"})
        assert await store.count(INBOX) == 5

    async def test_ensure_indexes_is_idempotent(
        self, store: DocumentStore, engine: StoreFactory
    ) -> None:
        indexes = [INBOX_KEY, EMAIL_KEY, Index(STATE, ("status", "created_at"))]
        await store.ensure_indexes(indexes)
        await store.insert(INBOX, {"_id": "i1", "consumer": "notify", "event_id": "e1"})
        await store.ensure_indexes(indexes)
        await store.close()

        reopened = await engine()
        await reopened.ensure_indexes(indexes)

        with pytest.raises(DuplicateKeyError):
            await reopened.insert(INBOX, {"_id": "i2", "consumer": "notify", "event_id": "e1"})
        assert await reopened.count(INBOX) == 1

    # --- queries --------------------------------------------------------------------------------

    async def test_equality_reaches_nested_fields_by_dotted_path(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1", "recipient": {"address": {"city": "Lyon"}}})
        await store.insert(STATE, {"_id": "a2", "recipient": {"address": {"city": "Paris"}}})
        await store.insert(STATE, {"_id": "a3", "recipient": {"name": "no address"}})

        assert await _ids(store, STATE, {"recipient.address.city": "Lyon"}) == {"a1"}
        assert await store.count(STATE, {"recipient.address.city": "Paris"}) == 1

    async def test_equality_on_each_json_scalar_type(self, store: DocumentStore) -> None:
        await store.insert(STATE, {"_id": "a1", "flag": True, "n": 3, "x": 1.5, "s": "3"})
        await store.insert(STATE, {"_id": "a2", "flag": False, "n": 4, "x": 2.5, "s": "4"})

        assert await _ids(store, STATE, {"flag": True}) == {"a1"}
        assert await _ids(store, STATE, {"flag": False}) == {"a2"}
        assert await _ids(store, STATE, {"n": 3}) == {"a1"}
        assert await _ids(store, STATE, {"x": 2.5}) == {"a2"}
        assert await _ids(store, STATE, {"s": "3"}) == {"a1"}
        assert await _ids(store, STATE, {"_id": "a2"}) == {"a2"}
        assert await _ids(store, STATE, {"n": 3, "s": "4"}) == set()

    async def test_equality_on_none_matches_null_and_missing_fields(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1", "served_at": None})
        await store.insert(STATE, {"_id": "a2"})
        await store.insert(STATE, {"_id": "a3", "served_at": "2024-01-01T00:00:00.000000Z"})

        assert await _ids(store, STATE, {"served_at": None}) == {"a1", "a2"}

    async def test_comparison_operators_compare_numbers(self, store: DocumentStore) -> None:
        for doc_id, amount in (("a", 0.5), ("b", 1), ("c", 1.5), ("d", 2), ("e", 10)):
            await store.insert(STATE, {"_id": doc_id, "amount": amount})
        await store.insert(STATE, {"_id": "none"})

        assert await _ids(store, STATE, {"amount": {"$gt": 1}}) == {"c", "d", "e"}
        assert await _ids(store, STATE, {"amount": {"$gte": 1}}) == {"b", "c", "d", "e"}
        assert await _ids(store, STATE, {"amount": {"$lt": 1.5}}) == {"a", "b"}
        assert await _ids(store, STATE, {"amount": {"$lte": 1.5}}) == {"a", "b", "c"}
        assert await _ids(store, STATE, {"amount": {"$gte": 1, "$lt": 2}}) == {"b", "c"}
        assert await store.count(STATE, {"amount": {"$gt": 0}}) == 5

    async def test_comparison_operators_compare_strings(self, store: DocumentStore) -> None:
        for doc_id in ("apple", "banana", "cherry"):
            await store.insert(STATE, {"_id": doc_id, "name": doc_id})

        assert await _ids(store, STATE, {"name": {"$gt": "b"}}) == {"banana", "cherry"}
        assert await _ids(store, STATE, {"name": {"$lte": "banana"}}) == {"apple", "banana"}

    async def test_not_equal_also_matches_documents_lacking_the_field(
        self, store: DocumentStore
    ) -> None:
        await store.insert(OUTBOX, {"_id": "e1", "state": "sent"})
        await store.insert(OUTBOX, {"_id": "e2", "state": "pending"})
        await store.insert(OUTBOX, {"_id": "e3"})
        await store.insert(OUTBOX, {"_id": "e4", "state": None})

        assert await _ids(store, OUTBOX, {"state": {"$ne": "sent"}}) == {"e2", "e3", "e4"}
        assert await _ids(store, OUTBOX, {"state": {"$ne": None}}) == {"e1", "e2"}

    async def test_in_matches_any_listed_value(self, store: DocumentStore) -> None:
        for doc_id, status in (("a1", "draft"), ("a2", "sent"), ("a3", "served"), ("a4", 1)):
            await store.insert(STATE, {"_id": doc_id, "status": status})

        assert await _ids(store, STATE, {"status": {"$in": ["sent", "served"]}}) == {"a2", "a3"}
        assert await _ids(store, STATE, {"status": {"$in": [1, "draft"]}}) == {"a1", "a4"}
        assert await _ids(store, STATE, {"status": {"$in": []}}) == set()
        assert await store.count(STATE, {"_id": {"$in": ["a1", "a9"]}}) == 1

    async def test_in_with_none_matches_null_and_missing_fields(self, store: DocumentStore) -> None:
        await store.insert(STATE, {"_id": "a1", "status": None})
        await store.insert(STATE, {"_id": "a2"})
        await store.insert(STATE, {"_id": "a3", "status": "sent"})
        await store.insert(STATE, {"_id": "a4", "status": "draft"})

        assert await _ids(store, STATE, {"status": {"$in": [None, "sent"]}}) == {"a1", "a2", "a3"}

    async def test_sort_orders_ascending_and_descending_on_one_key(
        self, store: DocumentStore
    ) -> None:
        for doc_id, rank in (("b", 2), ("d", 4), ("a", 1), ("c", 3.5)):
            await store.insert(STATE, {"_id": doc_id, "rank": rank})

        ascending = await store.find(STATE, sort=[("rank", 1)])
        descending = await store.find(STATE, sort=[("rank", -1)])

        assert [doc["_id"] for doc in ascending] == ["a", "b", "c", "d"]
        assert [doc["_id"] for doc in descending] == ["d", "c", "b", "a"]

    async def test_sort_orders_on_two_keys(self, store: DocumentStore) -> None:
        rows = [("x1", "lyon", 3), ("x2", "paris", 1), ("x3", "lyon", 1), ("x4", "paris", 2)]
        for doc_id, city, rank in rows:
            await store.insert(STATE, {"_id": doc_id, "city": city, "rank": rank})

        by_city_then_rank_desc = await store.find(STATE, sort=[("city", 1), ("rank", -1)])
        by_city_desc_then_rank = await store.find(STATE, sort=[("city", -1), ("rank", 1)])

        assert [d["_id"] for d in by_city_then_rank_desc] == ["x1", "x3", "x4", "x2"]
        assert [d["_id"] for d in by_city_desc_then_rank] == ["x2", "x4", "x3", "x1"]

    async def test_sort_reaches_nested_fields(self, store: DocumentStore) -> None:
        for doc_id, priority in (("a", 2), ("b", 1), ("c", 3)):
            await store.insert(STATE, {"_id": doc_id, "meta": {"priority": priority}})

        found = await store.find(STATE, sort=[("meta.priority", -1)])

        assert [doc["_id"] for doc in found] == ["c", "a", "b"]

    async def test_limit_returns_the_first_documents_in_sort_order(
        self, store: DocumentStore
    ) -> None:
        for rank in range(10):
            await store.insert(STATE, {"_id": f"a{rank}", "rank": rank, "odd": rank % 2 == 1})

        first_three = await store.find(STATE, {"odd": True}, sort=[("rank", -1)], limit=3)

        assert [doc["_id"] for doc in first_three] == ["a9", "a7", "a5"]
        assert await store.find(STATE, sort=[("rank", 1)], limit=0) == []
        assert len(await store.find(STATE, limit=50)) == 10

    async def test_iso_instants_query_and_sort_in_time_order(self, store: DocumentStore) -> None:
        paris_summer = timezone(timedelta(hours=2))
        base = datetime(2024, 3, 31, 0, 0, tzinfo=UTC)
        instants = {
            "late": datetime(2024, 3, 31, 9, 0, tzinfo=paris_summer),  # 07:00Z
            "early": base + timedelta(microseconds=1),
            "middle": datetime(2024, 3, 31, 3, 0, tzinfo=paris_summer),  # 01:00Z
            "previous_year": datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            "far": datetime(2031, 1, 1, tzinfo=UTC),
        }
        for doc_id, instant in instants.items():
            await store.insert(STATE, {"_id": doc_id, "due_at": to_iso(instant)})

        window = await store.find(
            STATE,
            {"due_at": {"$gte": to_iso(base), "$lt": to_iso(base + timedelta(hours=7))}},
            sort=[("due_at", 1)],
        )
        overdue = await store.find(
            STATE, {"due_at": {"$lte": to_iso(base + timedelta(hours=7))}}, sort=[("due_at", -1)]
        )

        assert [doc["_id"] for doc in window] == ["early", "middle"]
        assert [doc["_id"] for doc in overdue] == ["late", "middle", "early", "previous_year"]

    async def test_unknown_operators_raise_value_error(self, store: DocumentStore) -> None:
        await store.insert(STATE, {"_id": "a1", "status": "draft"})

        with pytest.raises(ValueError, match="unsupported"):
            await store.find(STATE, {"status": {"$regex": "dr.*"}})
        with pytest.raises(ValueError, match="unsupported"):
            await store.count(STATE, {"$or": [{"status": "draft"}, {"status": "sent"}]})
        with pytest.raises(ValueError, match="unsupported"):
            await store.update(STATE, {"status": {"$nin": ["sent"]}}, {"status": "sent"})
        assert await store.get(STATE, "a1") == {"_id": "a1", "status": "draft", "_version": 1}

    async def test_a_filter_on_a_non_json_operand_is_refused(self, store: DocumentStore) -> None:
        instant = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        await store.insert(STATE, {"_id": "a1", "due_at": to_iso(instant)})

        with pytest.raises((TypeError, ValueError)):
            await store.find(STATE, {"due_at": {"$lte": instant}})

    # --- transactions ---------------------------------------------------------------------------

    async def test_transaction_commits_writes_across_collections_together(
        self, store: DocumentStore
    ) -> None:
        await store.ensure_indexes([INBOX_KEY])
        await store.insert(STATE, {"_id": "a1", "status": "draft"})

        async with store.transaction() as tx:
            await tx.replace(STATE, {"_id": "a1", "status": "sent"}, expected_version=1)
            await tx.insert(OUTBOX, {"_id": "e1", "type": "delivery.act-sent.v1", "sent": False})
            await tx.insert(INBOX, {"_id": "i1", "consumer": "delivery", "event_id": "c1"})

        assert await store.get(STATE, "a1") == {"_id": "a1", "status": "sent", "_version": 2}
        assert await _ids(store, OUTBOX, {"sent": False}) == {"e1"}
        assert await store.count(INBOX, {"consumer": "delivery"}) == 1

    async def test_an_exception_in_a_transaction_rolls_back_every_write(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1", "status": "draft"})
        await store.insert(STATE, {"_id": "a2", "status": "draft"})
        await store.insert(OUTBOX, {"_id": "e0", "sent": False})

        async def unit_of_work() -> None:
            async with store.transaction() as tx:
                await tx.replace(STATE, {"_id": "a1", "status": "sent"}, expected_version=1)
                await tx.delete(STATE, "a2")
                await tx.update(OUTBOX, {"sent": False}, {"sent": True})
                await tx.insert(OUTBOX, {"_id": "e1", "sent": False})
                await tx.insert(INBOX, {"_id": "i1", "consumer": "delivery", "event_id": "c1"})
                raise _CallerError

        with pytest.raises(_CallerError):
            await unit_of_work()

        assert await store.get(STATE, "a1") == {"_id": "a1", "status": "draft", "_version": 1}
        assert await store.get(STATE, "a2") == {"_id": "a2", "status": "draft", "_version": 1}
        assert await store.find(OUTBOX) == [{"_id": "e0", "sent": False, "_version": 1}]
        assert await store.count(INBOX) == 0

    async def test_a_duplicate_key_on_the_second_write_rolls_back_the_first(
        self, store: DocumentStore
    ) -> None:
        await store.ensure_indexes([INBOX_KEY])
        await store.insert(INBOX, {"_id": "i1", "consumer": "notify", "event_id": "e1"})

        async def unit_of_work() -> None:
            async with store.transaction() as tx:
                await tx.insert(STATE, {"_id": "n1", "notified": True})
                await tx.insert(INBOX, {"_id": "i2", "consumer": "notify", "event_id": "e1"})

        with pytest.raises(DuplicateKeyError):
            await unit_of_work()

        assert await store.get(STATE, "n1") is None
        assert await _ids(store, INBOX, {}) == {"i1"}

    async def test_a_version_conflict_inside_a_transaction_rolls_it_back(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1", "status": "draft"})
        await store.replace(STATE, {"_id": "a1", "status": "sent"}, expected_version=1)

        async def unit_of_work() -> None:
            async with store.transaction() as tx:
                await tx.insert(OUTBOX, {"_id": "e1", "sent": False})
                await tx.replace(STATE, {"_id": "a1", "status": "stale"}, expected_version=1)

        with pytest.raises(VersionConflictError):
            await unit_of_work()

        assert await store.count(OUTBOX) == 0
        assert await store.get(STATE, "a1") == {"_id": "a1", "status": "sent", "_version": 2}

    async def test_reads_inside_a_transaction_see_its_own_writes(
        self, store: DocumentStore
    ) -> None:
        await store.insert(STATE, {"_id": "a1", "status": "draft"})

        async with store.transaction() as tx:
            await tx.insert(STATE, {"_id": "a2", "status": "sent"})
            replaced = await tx.replace(STATE, {"_id": "a1", "status": "sent"}, expected_version=1)
            assert await tx.get(STATE, "a2") == {"_id": "a2", "status": "sent", "_version": 1}
            assert await tx.get(STATE, "a1") == replaced
            assert await tx.count(STATE, {"status": "sent"}) == 2
            found = await tx.find(STATE, {"status": "sent"}, sort=[("_id", -1)], limit=1)
            assert [doc["_id"] for doc in found] == ["a2"]
            assert await tx.delete(STATE, "a2", expected_version=1) is True
            assert await tx.get(STATE, "a2") is None

        assert await store.count(STATE, {"status": "sent"}) == 1

    async def test_uncommitted_writes_are_invisible_outside_the_transaction(
        self, store: DocumentStore
    ) -> None:
        # An engine may either hide the write or make outside readers wait for the commit;
        # what no reader may ever see is a write that has not committed yet.
        async with store.transaction() as tx:
            await tx.insert(STATE, {"_id": "a1", "status": "draft"})
            reader = asyncio.create_task(store.get(STATE, "a1"))
            done, _ = await asyncio.wait({reader}, timeout=0.2)
            if reader in done:
                assert reader.result() is None
        await reader

        assert await store.get(STATE, "a1") == {"_id": "a1", "status": "draft", "_version": 1}

    async def test_concurrent_optimistic_updates_all_land_with_retries(
        self, store: DocumentStore
    ) -> None:
        tasks = 20
        await store.insert(STATE, {"_id": "counter", "value": 0})
        conflicts = 0

        async def increment() -> None:
            nonlocal conflicts
            while True:
                current = await store.get(STATE, "counter")
                assert current is not None
                await asyncio.sleep(0)  # let the other tasks read the same version
                try:
                    await store.replace(
                        STATE,
                        {"_id": "counter", "value": current["value"] + 1},
                        expected_version=current["_version"],
                    )
                except VersionConflictError:
                    conflicts += 1
                    continue
                return

        await asyncio.gather(*(increment() for _ in range(tasks)))

        final = await store.get(STATE, "counter")
        assert final == {"_id": "counter", "value": tasks, "_version": tasks + 1}
        assert conflicts > 0  # the tasks really raced

    async def test_concurrent_transactional_increments_all_land_with_retries(
        self, store: DocumentStore
    ) -> None:
        tasks = 8
        await store.insert(STATE, {"_id": "counter", "value": 0})

        async def increment(number: int) -> None:
            for _ in range(200):
                try:
                    async with store.transaction() as tx:
                        current = await tx.get(STATE, "counter")
                        assert current is not None
                        await asyncio.sleep(0)
                        await tx.replace(
                            STATE,
                            {"_id": "counter", "value": current["value"] + 1},
                            expected_version=current["_version"],
                        )
                        await tx.insert(OUTBOX, {"_id": f"e{number}", "sent": False})
                except VersionConflictError:
                    await asyncio.sleep(0.005)
                    continue
                return
            pytest.fail("a transaction never got through")

        await asyncio.gather(*(increment(number) for number in range(tasks)))

        final = await store.get(STATE, "counter")
        assert final == {"_id": "counter", "value": tasks, "_version": tasks + 1}
        assert await store.count(OUTBOX) == tasks

    async def test_concurrent_transactions_on_one_inbox_key_commit_exactly_once(
        self, store: DocumentStore
    ) -> None:
        await store.ensure_indexes([INBOX_KEY])
        await store.insert(STATE, {"_id": "a1", "notifications": 0})

        async def consume(copy: int) -> str:
            # The inbox pattern: the effect and the inbox key in one unit of work; a conflict
            # with a concurrent copy is retried, a duplicate key means "already handled".
            for _ in range(200):
                try:
                    async with store.transaction() as tx:
                        await tx.insert(
                            INBOX, {"_id": f"copy{copy}", "consumer": "notify", "event_id": "e1"}
                        )
                        await asyncio.sleep(0)
                        act = await tx.get(STATE, "a1")
                        assert act is not None
                        await tx.replace(
                            STATE,
                            {"_id": "a1", "notifications": act["notifications"] + 1},
                            expected_version=act["_version"],
                        )
                except DuplicateKeyError:
                    return "duplicate"
                except VersionConflictError:
                    await asyncio.sleep(0.005)
                    continue
                return "committed"
            return "starved"

        outcomes = await asyncio.gather(consume(1), consume(2))

        assert sorted(outcomes) == ["committed", "duplicate"]
        assert await store.count(INBOX) == 1
        assert await store.get(STATE, "a1") == {"_id": "a1", "notifications": 1, "_version": 2}

    # --- lifecycle ------------------------------------------------------------------------------

    async def test_ping_answers_when_connected(self, store: DocumentStore) -> None:
        await store.ping()

    async def test_data_survives_close_and_connect(
        self, store: DocumentStore, engine: StoreFactory
    ) -> None:
        await store.insert(STATE, {"_id": "a1", "status": "draft"})
        async with store.transaction() as tx:
            await tx.insert(OUTBOX, {"_id": "e1", "sent": False})

        await store.close()
        await store.connect()
        assert await store.get(STATE, "a1") == {"_id": "a1", "status": "draft", "_version": 1}
        await store.close()

        other = await engine()
        assert await other.get(STATE, "a1") == {"_id": "a1", "status": "draft", "_version": 1}
        assert await other.find(OUTBOX) == [{"_id": "e1", "sent": False, "_version": 1}]
        await other.replace(STATE, {"_id": "a1", "status": "sent"}, expected_version=1)
