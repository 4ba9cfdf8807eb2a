"""notify's `rotate-kek` finds every wrapped DEK notify stores: the webhook endpoints' sealed
signing secrets (the current one and, during a rotation's grace, the previous one) move to the
new KEK version and still open once version 1 is retired."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from notify.webhooks.model import WebhookEvent
from notify.webhooks.service import SEALED_FORMAT, WebhookPolicy, Webhooks, endpoint_object_id
from notify.wrapped_keys import WRAPPED_KEYS
from shared.clock import ManualClock
from shared.crypto import KeyRing, LocalKeyFile
from shared.crypto.rewrap import Rewrapper, wrapped_under
from shared.crypto.sealed import Sealer
from shared.store.memory import MemoryStore

DOMAIN = b"securact-ng notify webhook secret v1"


def _sealer(path: Path, clock: ManualClock) -> Sealer:
    return Sealer(KeyRing(LocalKeyFile(path, clock)), format=SEALED_FORMAT, domain=DOMAIN)


async def test_webhook_secrets_move_to_the_new_kek_version(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2027, 3, 10, 9, 0, tzinfo=UTC))
    store = MemoryStore()
    await store.connect()
    kek = tmp_path / "kek.json"
    async with httpx.AsyncClient() as http:
        hooks = Webhooks(store, clock, lambda _: None, _sealer(kek, clock), http, WebhookPolicy())  # type: ignore[arg-type,return-value]
        endpoint, first = await hooks.register(
            "etude-1", "https://etude.example/hooks", [WebhookEvent.ACT_SERVED], None
        )
        rotated, second = await hooks.rotate_secret("etude-1", endpoint.id)
    source = LocalKeyFile(kek, clock)
    assert await wrapped_under(store, WRAPPED_KEYS, source.key_id, 1) == {
        "webhook signing secrets": 2
    }
    await source.rotate()

    report = await Rewrapper(store, source, WRAPPED_KEYS, clock).run()

    assert (report.rewrapped, report.failed) == (2, [])
    await source.retire(1)
    sealer = _sealer(kek, clock)
    stored = await hooks.endpoints.get(endpoint.id)
    assert stored is not None
    assert stored.previous_secret is not None
    current = stored.secret
    previous = stored.previous_secret
    assert (
        await sealer.open(current.sealed, endpoint_object_id(endpoint.id, current.created_at))
        == second
    )
    assert (
        await sealer.open(previous.sealed, endpoint_object_id(endpoint.id, previous.created_at))
        == first
    )
    assert rotated.secret.created_at == current.created_at
