"""How the MongoDB engine fails when there is no usable server: these need none."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from shared.store.mongodb import MongoStore, select_database
from shared.store.port import StoreUnavailableError


def _closed_loopback_port() -> int:
    # Bind then release: nothing listens there afterwards, so connections are refused.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_connect_to_an_unreachable_server_raises_store_unavailable_quickly() -> None:
    store = MongoStore(
        f"mongodb://127.0.0.1:{_closed_loopback_port()}/securact_test",
        server_selection_timeout=0.3,
    )
    started = time.monotonic()

    with pytest.raises(StoreUnavailableError):
        await store.connect()

    assert time.monotonic() - started < 5
    with pytest.raises(StoreUnavailableError):
        await store.ping()


async def test_a_url_without_a_database_needs_an_explicit_name() -> None:
    store = MongoStore(f"mongodb://127.0.0.1:{_closed_loopback_port()}")

    with pytest.raises(ValueError, match="database"):
        await store.connect()


async def test_using_a_store_before_connect_is_a_programming_error() -> None:
    store = MongoStore("mongodb://127.0.0.1:27017/securact_test")

    with pytest.raises(RuntimeError):
        await store.get("acts", "a1")
    with pytest.raises(RuntimeError):
        async with store.transaction():
            pass


async def test_an_explicit_database_name_wins_over_the_one_in_the_url() -> None:
    url = f"mongodb://127.0.0.1:{_closed_loopback_port()}/from_url"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        assert select_database(client, "explicit").name == "explicit"
        assert select_database(client, None).name == "from_url"
    finally:
        await client.close()
