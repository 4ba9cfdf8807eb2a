"""Retention's erasure of a terminated account's acts: every act, judge's leave
and reply is crypto-shredded (wrapped DEK destroyed first, then the object), each step recorded,
the records become tombstones, and `delivery.account-acts-erased.v1` confirms — again, with the
same list, on a second request. The recipient's routes then answer 410 `act-erased`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from delivery.consumers import ERASURES_QUEUE, QUEUES, erasures_subscription
from delivery.erasure import ERASURE_STEPS, ActEraser
from delivery.vault import ACT_KEYS, REPLY_KEYS
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.retention import AccountActsErasedV1, AccountActsErasureRequestedV1
from shared.messaging.inbox import Inbox
from shared.objects import ObjectStoreUnavailableError
from shared.store.port import from_iso
from tests.unit.delivery.conftest import Harness
from tests.unit.delivery.support import metadata, pdf
from tests.unit.delivery.test_replies import reply

ERASED = AccountActsErasedV1.routing_key()
PERSONAL_FIELDS = ("title", "requester_name", "office_reference", "filename", "office_email")


def eraser(harness: Harness) -> ActEraser:
    return harness.delivery.eraser


def request(harness: Harness, account_id: str = "acc-1", erasure_id: str = "er-1") -> Envelope:
    return new_envelope(
        AccountActsErasureRequestedV1(
            erasure_id=erasure_id,
            account_id=account_id,
            declaration_id="decl-1",
            requested_at=harness.clock.now(),
        ),
        subject=f"account:{account_id}",
        actor="service:retention",
        clock=harness.clock,
    )


async def handle(harness: Harness, envelope: Envelope) -> None:
    inbox = Inbox(
        harness.store, ERASURES_QUEUE, harness.clock, transaction=harness.outbox.transaction
    )
    await erasures_subscription(inbox, eraser(harness), harness.delivery.registry_copy).handler(
        envelope
    )


async def confirmations(harness: Harness) -> list[tuple[Envelope, AccountActsErasedV1]]:
    return [
        (e, AccountActsErasedV1.model_validate(e.payload)) for e in await harness.events(ERASED)
    ]


async def two_served_acts_one_with_a_reply(harness: Harness) -> tuple[str, str, str]:
    first = await harness.served(key="k-1")
    harness.clock.advance(timedelta(minutes=5))
    second = await harness.served(key="k-2")
    answered = await reply(harness.client, harness, first, pdf(1500, seed=b"reply"))
    assert answered.status_code == 201, answered.text
    return first, second, str(answered.json()["id"])


def test_the_erasure_queue_binds_retentions_request() -> None:
    assert QUEUES[ERASURES_QUEUE] == (
        "retention.account-acts-erasure-requested.v1",
        "retention.declaration-purge-requested.v1",
    )


async def test_erasure_destroys_keys_then_objects_leaves_tombstones_and_confirms(
    harness: Harness,
) -> None:
    first, second, reply_id = await two_served_acts_one_with_a_reply(harness)
    await harness.consent("decl-2", "acc-2")
    other = await harness.served(key="k-3", meta=metadata("decl-2"))
    served = {a: await harness.act(a) for a in (first, second)}
    harness.clock.advance(timedelta(days=61))

    await handle(harness, request(harness))

    for act_id in (first, second):
        assert await harness.store.get(ACT_KEYS, act_id) is None
        assert f"acts/{act_id}" not in harness.objects.objects
    assert await harness.store.get(REPLY_KEYS, reply_id) is None
    assert f"replies/{reply_id}" not in harness.objects.objects
    # Another account's act is untouched and still readable.
    assert await harness.store.get(ACT_KEYS, other) is not None
    assert (await harness.download(other, "acc-2")).status_code == 200

    steps = await harness.store.find(ERASURE_STEPS, {"act_id": first}, sort=[("_id", 1)])
    kinds = {(s["object_id"], s["kind"]) for s in steps}
    assert kinds == {
        (first, "key_destroyed"),
        (first, "object_deleted"),
        (reply_id, "key_destroyed"),
        (reply_id, "object_deleted"),
    }
    for step in steps:
        if step["kind"] == "key_destroyed":
            assert len(step["wrapped_key_sha256"]) == 64
            assert "wrapped" not in step

    tombstone = await harness.act(first)
    assert tombstone["status"] == "erased"
    assert tombstone["sha256"] == served[first]["sha256"]
    assert tombstone["served_at"] == served[first]["served_at"]
    assert tombstone["erased_at"] == tombstone["objects_deleted_at"]
    assert tombstone["reply_ids"] == [reply_id]
    for name in PERSONAL_FIELDS:
        assert name not in tombstone
    reply_row = await harness.store.get("replies", reply_id)
    assert reply_row is not None
    assert "filename" not in reply_row
    assert reply_row["erased_at"] == tombstone["erased_at"]

    [(envelope, confirmation)] = await confirmations(harness)
    assert envelope.subject == "account:acc-1"
    assert confirmation.erasure_id == "er-1"
    assert confirmation.account_id == "acc-1"
    listed = {a.act_id: a for a in confirmation.acts}
    assert set(listed) == {first, second}
    assert listed[first].sha256 == served[first]["sha256"]
    assert listed[first].served_at == from_iso(served[first]["served_at"])
    assert listed[first].erased_at == harness.clock.now()
    assert listed[first].reply_ids == [reply_id]
    assert listed[second].reply_ids == []


async def test_a_second_request_reconfirms_the_same_list_and_erases_nothing_twice(
    harness: Harness,
) -> None:
    first, second, _reply = await two_served_acts_one_with_a_reply(harness)
    await handle(harness, request(harness))
    steps_before = await harness.store.count(ERASURE_STEPS)
    harness.clock.advance(timedelta(hours=3))

    await handle(harness, request(harness))  # a new request for the same erasure
    await handle(harness, request(harness, erasure_id="er-2"))

    assert await harness.store.count(ERASURE_STEPS) == steps_before
    found = await confirmations(harness)
    assert [c.erasure_id for _e, c in found] == ["er-1", "er-1", "er-2"]
    assert found[0][1].acts == found[1][1].acts == found[2][1].acts
    assert {a.act_id for a in found[0][1].acts} == {first, second}


async def test_a_redelivered_request_is_confirmed_once(harness: Harness) -> None:
    await harness.served()
    envelope = request(harness)
    await handle(harness, envelope)
    await handle(harness, envelope)
    assert len(await confirmations(harness)) == 1


async def test_s3_failing_after_the_keys_went_leaves_unreadable_acts_and_no_confirmation(
    harness: Harness,
) -> None:
    act_id = await harness.served()
    before = dict(harness.objects.objects)
    harness.objects.fail_deletes = True

    with pytest.raises(ObjectStoreUnavailableError):
        await handle(harness, request(harness))

    # Key first: the ciphertext is still in S3 but nothing can open it, and nobody was told
    # the erasure is complete.
    assert harness.objects.objects[f"acts/{act_id}"] == before[f"acts/{act_id}"]
    assert await harness.store.get(ACT_KEYS, act_id) is None
    with pytest.raises(LookupError):
        await harness.vault.open(act_id)
    tombstone = await harness.act(act_id)
    assert tombstone["status"] == "erased"
    assert tombstone["objects_deleted_at"] is None
    assert await confirmations(harness) == []

    harness.objects.fail_deletes = False
    harness.clock.advance(timedelta(minutes=1))
    await handle(harness, request(harness))  # the broker's retry

    assert f"acts/{act_id}" not in harness.objects.objects
    [(_e, confirmation)] = await confirmations(harness)
    assert [a.act_id for a in confirmation.acts] == [act_id]
    # The erasure instant is when the key went, not when the retry finished.
    assert confirmation.acts[0].erased_at == from_iso(tombstone["erased_at"])


async def test_an_account_without_acts_is_confirmed_with_an_empty_list(harness: Harness) -> None:
    await handle(harness, request(harness, account_id="acc-none"))
    [(_e, confirmation)] = await confirmations(harness)
    assert confirmation.acts == []


async def test_after_erasure_the_recipient_gets_410_and_the_office_sees_the_tombstone(
    harness: Harness,
) -> None:
    first, _second, reply_id = await two_served_acts_one_with_a_reply(harness)
    await handle(harness, request(harness))
    recipient = harness.tokens.recipient("acc-1")

    for path in (f"/v1/inbox/{first}", f"/v1/inbox/{first}/content", f"/v1/inbox/{first}/evidence"):
        response = await harness.client.get(path, headers=recipient)
        assert response.status_code == 410, path
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["type"] == "urn:securact:problem:act-erased"
        assert problem["act_id"] == first
    answered = await reply(harness.client, harness, first, pdf(1500, seed=b"late"))
    assert answered.status_code == 410
    assert (await harness.client.get("/v1/inbox", headers=recipient)).json()["items"] == []
    # Someone else's account still gets 404: erasure reveals nothing to strangers.
    stranger = await harness.client.get(
        f"/v1/inbox/{first}", headers=harness.tokens.recipient("acc-9")
    )
    assert stranger.status_code == 404

    office = harness.tokens.office()
    view = (await harness.client.get(f"/v1/acts/{first}", headers=office)).json()
    assert view["status"] == "erased"
    assert view["erased_at"] is not None
    assert view["replies"] == [{"id": reply_id}]
    for name in PERSONAL_FIELDS:
        assert name not in view
    listed = (await harness.client.get("/v1/acts?status=erased", headers=office)).json()
    assert {a["id"] for a in listed["items"]} == {first, _second}
    replies = (await harness.client.get(f"/v1/acts/{first}/replies", headers=office)).json()
    assert [r["id"] for r in replies["items"]] == [reply_id]
    assert "filename" not in replies["items"][0]
    gone = await harness.client.get(f"/v1/acts/{first}/replies/{reply_id}/content", headers=office)
    assert gone.status_code == 410
    # The office keeps its signed proof of service.
    evidence = await harness.client.get(f"/v1/acts/{first}/evidence", headers=office)
    assert evidence.status_code == 200


async def test_the_probes_acts_are_flagged_and_shredded_an_hour_after_their_deposit(
    harness: Harness,
) -> None:
    probe = await harness.served(key="sonde-1", office="etude-sonde")
    real = await harness.served(key="k-1")
    assert (await harness.act(probe))["probe"] is True
    assert (await harness.act(real))["probe"] is False
    harness.clock.advance(timedelta(minutes=59))
    await harness.delivery.sweep_orphans()
    assert (await harness.act(probe))["status"] == "served"  # its run may not be over yet
    harness.clock.advance(timedelta(minutes=1))
    await harness.delivery.sweep_orphans()
    tombstone = await harness.act(probe)
    assert tombstone["status"] == "erased"
    assert tombstone["objects_deleted_at"] is not None
    assert await harness.store.get(ACT_KEYS, probe) is None
    assert f"acts/{probe}" not in harness.objects.objects
    assert (await harness.act(real))["status"] == "served"
    assert await eraser(harness).erase_probe_acts(harness.clock.now()) == 0  # found once
    assert await confirmations(harness) == []  # nobody's acts: nothing to confirm
