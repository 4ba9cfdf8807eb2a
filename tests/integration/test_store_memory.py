"""The document store contract on the in-memory engine (a fresh dict per test)."""

from __future__ import annotations

import pytest

from shared.store.memory import MemoryStore
from shared.store.port import DocumentStore
from tests.fixtures.stores import StoreFactory

# The contract lives outside a test module: ask pytest to explain its failing asserts too.
pytest.register_assert_rewrite("tests.integration.store_contract")
from tests.integration.store_contract import StoreContract  # noqa: E402


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def engine(self) -> StoreFactory:
        first = MemoryStore()

        async def open_store() -> DocumentStore:
            return MemoryStore(share_with=first)

        return open_store
