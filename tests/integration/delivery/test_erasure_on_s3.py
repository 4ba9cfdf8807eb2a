"""Crypto-shredding on real SeaweedFS: after retention's request the act's
object is gone from S3, and a copy of its ciphertext saved before the erasure — put back into
the bucket as a restored backup would be — can no longer be decrypted: its DEK is gone from
every place the platform keeps it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from delivery.consumers import ERASURES_QUEUE, erasures_subscription, parties_subscription
from delivery.erasure import ERASURE_INDEXES
from delivery.repository import INDEXES
from delivery.vault import ACT_KEYS, REPLY_KEYS, object_key
from shared.clock import ManualClock
from shared.contracts.consent import (
    ActNature,
    DeclarationActivatedV1,
    DeclarationRegisteredV1,
    PersonKind,
)
from shared.contracts.envelope import Envelope, EventPayload, new_envelope
from shared.contracts.retention import AccountActsErasedV1, AccountActsErasureRequestedV1
from shared.crypto import IntegrityError, KeyRing, LocalKeyFile, decrypt_stream
from shared.messaging.inbox import INBOX_INDEXES, Inbox
from shared.messaging.outbox import OUTBOX, OutboxRelay
from shared.objects import ObjectNotFoundError, ObjectStore
from shared.store.port import DocumentStore
from tests.unit.delivery.conftest import build_app, build_delivery
from tests.unit.delivery.support import Tokens, metadata, multipart, pdf

# Tuesday 8 April 2031, 10:00 in Paris: the service window is open.
START = datetime(2031, 4, 8, 8, 0, tzinfo=UTC)
ACT = pdf(40_000, seed=b"erasure")


async def read(object_store: ObjectStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in await object_store.get(key)])


async def replay(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_erased_act_is_gone_from_s3_and_an_old_ciphertext_copy_is_undecryptable(
    sqlite_store: DocumentStore, object_store: ObjectStore, tmp_path: Path
) -> None:
    store = sqlite_store
    await store.ensure_indexes([*INDEXES, *ERASURE_INDEXES, *INBOX_INDEXES, *OutboxRelay.indexes()])
    clock = ManualClock(START)
    delivery = build_delivery(store, clock, tmp_path, object_store)
    outbox = delivery.ctx.outbox
    tokens = Tokens(clock)

    def envelope(
        payload: EventPayload,
        *,
        subject: str,
        actor: str | None = None,
        causation: Envelope | None = None,
    ) -> Envelope:
        return new_envelope(
            payload, subject=subject, actor=actor or "service:x", clock=clock, causation=causation
        )

    parties = parties_subscription(Inbox(store, "delivery.parties", clock), delivery.reconciliation)
    await parties.handler(
        envelope(
            DeclarationRegisteredV1(
                declaration_id="decl-1", person_kind=PersonKind.NATURAL, email="a@example.org"
            ),
            subject="declaration:decl-1",
        )
    )
    await parties.handler(
        envelope(
            DeclarationActivatedV1(
                declaration_id="decl-1",
                account_id="acc-1",
                activated_at=clock.now(),
                terms_version=1,
                scope=list(ActNature),
                valid_until=None,
                territory="metropole",
            ),
            subject="declaration:decl-1",
        )
    )
    app = build_app(delivery, store, tokens)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://delivery"
    ) as client:
        body, content_type = multipart(metadata(), ACT)
        deposited = await client.post(
            "/v1/acts",
            content=body,
            headers={"Content-Type": content_type, "Idempotency-Key": "k", **tokens.office()},
        )
        assert deposited.status_code == 201, deposited.text
        act_id = str(deposited.json()["id"])
        answered = await client.post(
            f"/v1/inbox/{act_id}/replies",
            content=pdf(2000, seed=b"reply"),
            headers={"Content-Type": "application/pdf", **tokens.recipient("acc-1")},
        )
        assert answered.status_code == 201, answered.text
        reply_id = str(answered.json()["id"])

        # What a backup taken before the erasure holds.
        saved = await read(object_store, object_key(act_id))
        key_row = await store.get(ACT_KEYS, act_id)
        assert key_row is not None
        wrapped_text = str(key_row["wrapped"]["ciphertext"])
        assert (
            await client.get(f"/v1/inbox/{act_id}/content", headers=tokens.recipient("acc-1"))
        ).content == ACT

        eraser = delivery.eraser
        request = envelope(
            AccountActsErasureRequestedV1(
                erasure_id="er-1",
                account_id="acc-1",
                declaration_id="decl-1",
                requested_at=clock.now(),
            ),
            subject="account:acc-1",
            actor="service:retention",
        )
        inbox = Inbox(store, ERASURES_QUEUE, clock, transaction=outbox.transaction)
        await erasures_subscription(inbox, eraser, delivery.registry_copy).handler(request)

        with pytest.raises(ObjectNotFoundError):
            await read(object_store, object_key(act_id))
        with pytest.raises(ObjectNotFoundError):
            await read(object_store, f"replies/{reply_id}")
        assert await store.get(ACT_KEYS, act_id) is None
        assert await store.get(REPLY_KEYS, reply_id) is None

        # No collection of delivery's store keeps the wrapped DEK (or its bytes) any more.
        for collection in ("acts", "replies", ACT_KEYS, REPLY_KEYS, "erasure_steps", OUTBOX):
            for row in await store.find(collection):
                assert wrapped_text not in repr(row), collection

        # A restored backup of the ciphertext is just noise: there is no key to open it.
        await object_store.put(object_key(act_id), replay(saved))
        with pytest.raises(LookupError):
            await delivery.ctx.acts_vault.open(act_id)
        gone = await client.get(f"/v1/inbox/{act_id}/content", headers=tokens.recipient("acc-1"))
        assert gone.status_code == 410
        assert gone.json()["type"] == "urn:securact:problem:act-erased"

        # The KEK alone does not help: any DEK it yields now is another key, refused.
        keys = KeyRing(LocalKeyFile(tmp_path / "kek.json", clock))
        other, _wrap = await keys.new_data_key(act_id)
        with pytest.raises(IntegrityError):
            async for _chunk in decrypt_stream(replay(saved), other, act_id):
                pass

        [row] = [
            r
            for r in await store.find(OUTBOX)
            if r["envelope"]["type"] == AccountActsErasedV1.routing_key()
        ]
        confirmation = AccountActsErasedV1.model_validate(row["envelope"]["payload"])
        assert [a.act_id for a in confirmation.acts] == [act_id]
        assert confirmation.acts[0].reply_ids == [reply_id]
