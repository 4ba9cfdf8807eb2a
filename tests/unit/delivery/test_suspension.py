"""A recipient whose account identity suspended cannot log in: no act is served on it. A
deposit is refused (409 `recipient-suspended`) or, when the office asked for scheduling, held
until the reinstatement; a scheduled act whose recipient was suspended meanwhile is held at its
opening. The reinstatement makes held acts due again; the scheduler checks once more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from delivery.consumers import parties_subscription
from shared.contracts.identity import AccountReinstatedV1, AccountSuspendedV1
from shared.legal_calendar import Territory
from shared.messaging.inbox import Inbox
from tests.unit.delivery.conftest import Harness
from tests.unit.delivery.support import metadata


def at(local: str) -> datetime:
    return (
        datetime.fromisoformat(local).replace(tzinfo=Territory.METROPOLE.time_zone).astimezone(UTC)
    )


async def suspend(harness: Harness, account_id: str = "acc-1") -> None:
    await harness.deliver(AccountSuspendedV1(account_id=account_id, reason="compromise"))


async def reinstate(harness: Harness, account_id: str = "acc-1") -> None:
    await harness.deliver(AccountReinstatedV1(account_id=account_id))


async def test_cpc_662_1_an_act_for_a_suspended_recipient_is_refused(harness: Harness) -> None:
    await suspend(harness)
    response = await harness.post(key="suspended")
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:securact:problem:recipient-suspended"
    assert await harness.store.count("acts") == 0
    assert await harness.events("delivery.act-served.v3") == []
    rejected = await harness.events("delivery.act-rejected.v1")
    assert rejected[0].payload["reasons"][0]["code"] == "recipient_suspended"


async def test_a_suspension_during_the_upload_refuses_the_act(harness: Harness) -> None:
    """Checked again in the transaction that would serve the act."""

    async def suspended_meanwhile() -> None:
        harness.objects.during_put = None
        await suspend(harness)

    harness.objects.during_put = suspended_meanwhile
    response = await harness.post(key="racing")
    assert response.status_code == 409, response.text
    assert await harness.store.count("acts") == 0
    assert await harness.events("delivery.act-served.v3") == []


async def test_cpc_662_1_an_act_asked_to_be_scheduled_is_held_until_the_reinstatement(
    harness: Harness,
) -> None:
    await suspend(harness)
    response = await harness.post(key="held", meta=metadata(schedule_if_closed=True))
    assert response.status_code == 202, response.text
    act_id = response.json()["id"]
    assert response.json()["status"] == "held"
    assert response.json()["served_at"] is None
    assert [e.payload["act_id"] for e in await harness.events("delivery.act-held.v1")] == [act_id]
    harness.clock.advance(timedelta(hours=1))
    assert await harness.delivery.scheduler.deposit_scheduled() == 0
    assert (await harness.act(act_id))["status"] == "held"
    inbox = await harness.client.get("/v1/inbox", headers=harness.tokens.recipient("acc-1"))
    assert inbox.json()["items"] == []

    harness.clock.advance(timedelta(hours=1))
    await reinstate(harness)
    assert (await harness.act(act_id))["status"] == "scheduled"
    harness.clock.advance(timedelta(seconds=5))
    assert await harness.delivery.scheduler.deposit_scheduled() == 1
    act = await harness.act(act_id)
    assert act["status"] == "served"
    # The legal date is the actual deposit, after the reinstatement.
    assert act["served_at"] == "2031-04-08T10:00:05.000000Z"


async def test_a_scheduled_act_whose_recipient_was_suspended_is_held_at_its_opening(
    harness: Harness,
) -> None:
    harness.clock.set(at("2031-04-08T22:00:00"))
    response = await harness.post(key="night", meta=metadata(schedule_if_closed=True))
    assert response.json()["status"] == "scheduled"
    await suspend(harness)
    harness.clock.set(at("2031-04-09T06:00:01"))
    assert await harness.delivery.scheduler.deposit_scheduled() == 0
    act_id = response.json()["id"]
    assert (await harness.act(act_id))["status"] == "held"
    assert await harness.events("delivery.act-served.v3") == []
    # Reinstated in the evening, after the window closed: served at the next opening.
    harness.clock.set(at("2031-04-09T21:30:00"))
    await reinstate(harness)
    assert await harness.delivery.scheduler.deposit_scheduled() == 0
    assert (await harness.act(act_id))["scheduled_for"] == "2031-04-10T04:00:00.000000Z"
    harness.clock.set(at("2031-04-10T06:00:00"))
    assert await harness.delivery.scheduler.deposit_scheduled() == 1
    assert (await harness.act(act_id))["served_at"] == "2031-04-10T04:00:00.000000Z"


async def test_an_older_reinstatement_arriving_late_does_not_lift_a_suspension(
    harness: Harness,
) -> None:
    reinstated = harness.event(AccountReinstatedV1(account_id="acc-1"))
    harness.clock.advance(timedelta(minutes=1))
    await suspend(harness)
    subscription = parties_subscription(
        Inbox(harness.store, "delivery.parties", harness.clock), harness.delivery.reconciliation
    )
    await subscription.handler(reinstated)
    assert (await harness.post(key="still")).status_code == 409
