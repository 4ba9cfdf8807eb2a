"""The document store contract on the SQLite engine (a fresh file per test)."""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures.stores import StoreFactory

# The contract lives outside a test module: ask pytest to explain its failing asserts too.
pytest.register_assert_rewrite("tests.integration.store_contract")
from tests.integration.store_contract import StoreContract  # noqa: E402


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def engine(self, sqlite_store_factory: StoreFactory) -> StoreFactory:
        return sqlite_store_factory


async def test_a_writer_waits_for_another_process_lock_without_blocking_the_loop(
    sqlite_store_factory: StoreFactory,
) -> None:
    # Two stores on one file stand for two worker processes: the second finds the database
    # busy, waits on its worker thread (not on the event loop) and writes once the first
    # commits.
    first, second = await sqlite_store_factory(), await sqlite_store_factory()
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(ticking())
    try:
        async with first.transaction() as tx:
            await tx.insert("acts", {"_id": "a"})
            waiting = asyncio.create_task(second.insert("acts", {"_id": "b"}))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            assert ticks >= 10  # the loop kept running while the second writer waited
        await asyncio.wait_for(waiting, timeout=5)
        async with second.transaction() as tx:
            assert await tx.count("acts") == 2
        assert await first.get("acts", "b") is not None
    finally:
        ticker.cancel()


async def test_a_transaction_cancelled_while_waiting_for_the_lock_leaves_none_open(
    sqlite_store_factory: StoreFactory,
) -> None:
    first, second = await sqlite_store_factory(), await sqlite_store_factory()

    async def write_b() -> None:
        async with second.transaction() as tx:
            await tx.insert("acts", {"_id": "b"})

    async with first.transaction() as tx:
        await tx.insert("acts", {"_id": "a"})
        waiting = asyncio.create_task(write_b())
        await asyncio.sleep(0.2)  # its BEGIN waits on the worker thread for our lock
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    # The BEGIN that went on in the worker took the lock after us: it must not stay open.
    async with second.transaction() as tx:
        await tx.insert("acts", {"_id": "c"})
    assert await first.count("acts") == 2
    assert await first.get("acts", "b") is None
