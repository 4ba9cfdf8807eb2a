"""The document store contract on the MongoDB engine.

Runs when SECURACT_TEST_MONGODB_URL names a replica set (a single node is enough, e.g.
`mongodb://127.0.0.1:27017/?replicaSet=rs0&directConnection=true`); otherwise the whole module is
skipped with that reason in pytest's summary. Each test gets a fresh database, dropped after.
How the engine fails without a server is tested in test_store_mongodb_offline.py.
"""

from __future__ import annotations

import pytest

from tests.fixtures.stores import MONGODB_SKIP_REASON, StoreFactory, mongodb_test_url

if mongodb_test_url() is None:
    pytest.skip(MONGODB_SKIP_REASON, allow_module_level=True)

# The contract lives outside a test module: ask pytest to explain its failing asserts too.
pytest.register_assert_rewrite("tests.integration.store_contract")
from tests.integration.store_contract import StoreContract  # noqa: E402

pytestmark = pytest.mark.mongodb


class TestMongoStore(StoreContract):
    @pytest.fixture
    def engine(self, mongo_store_factory: StoreFactory) -> StoreFactory:
        return mongo_store_factory
