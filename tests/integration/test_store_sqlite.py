"""The document store contract on the SQLite engine (a fresh file per test)."""

from __future__ import annotations

import pytest

from tests.fixtures.stores import StoreFactory

# The contract lives outside a test module: ask pytest to explain its failing asserts too.
pytest.register_assert_rewrite("tests.integration.store_contract")
from tests.integration.store_contract import StoreContract  # noqa: E402


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def engine(self, sqlite_store_factory: StoreFactory) -> StoreFactory:
        return sqlite_store_factory
