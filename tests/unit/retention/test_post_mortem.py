"""A death recorded with the directive to erase at once brings the account's erasure forward
to that instant, whichever of identity's two events (termination, death) comes first; without
it the termination's schedule stands."""

from __future__ import annotations

from datetime import timedelta

from retention.repository import SCHEDULES
from shared.contracts.identity import DeathRecordedV1, PostMortemErasure, TerminationReason
from tests.unit.retention.conftest import START, Harness
from tests.unit.retention.test_retention import DUE, known_account, served, terminated

RECORDED = START + timedelta(days=3)


def death(erasure: PostMortemErasure) -> DeathRecordedV1:
    return DeathRecordedV1(
        account_id="acc-1",
        declaration_id="decl-1",
        recorded_at=RECORDED,
        erasure=erasure,
        designated_person=False,
    )


async def test_erase_at_once_brings_the_termination_schedule_forward(harness: Harness) -> None:
    await harness.deliver(terminated())
    [before] = await harness.store.find(SCHEDULES)
    assert before["due_at"] == "2031-02-28T23:00:00.000000Z"

    await harness.deliver(death(PostMortemErasure.AT_ONCE))

    [row] = await harness.store.find(SCHEDULES)
    assert row["due_at"] == "2031-01-03T09:00:00.000000Z"
    assert row["state"] == "pending"


async def test_erase_at_once_fires_the_account_erasure_when_the_death_comes_first(
    harness: Harness,
) -> None:
    await known_account(harness)
    await harness.deliver(served("act-1"))
    await harness.deliver(death(PostMortemErasure.AT_ONCE))
    termination = terminated().model_copy(
        update={"terminated_at": RECORDED, "reason": TerminationReason.DECEASED}
    )
    await harness.deliver(termination)
    [row] = await harness.store.find(SCHEDULES, {"purpose": "account_erasure"})
    assert row["subject"] == "account:acc-1"
    assert row["data"]["account_id"] == "acc-1"

    harness.clock.set(RECORDED + timedelta(minutes=1))
    assert (await harness.retention.schedules.run_due()).fired == 1
    [request] = await harness.payloads("retention.account-acts-erasure-requested.v1")
    assert request["account_id"] == "acc-1"
    assert await harness.payloads("retention.contact-data-purge-requested.v1")


async def test_without_the_directive_the_usual_schedule_stands(harness: Harness) -> None:
    await harness.deliver(terminated())
    await harness.deliver(death(PostMortemErasure.SCHEDULED))
    [row] = await harness.store.find(SCHEDULES)
    assert row["due_at"] == "2031-02-28T23:00:00.000000Z"
    harness.clock.set(RECORDED + timedelta(days=1))
    assert (await harness.retention.schedules.run_due()).fired == 0
    harness.clock.set(DUE)
    assert (await harness.retention.schedules.run_due()).fired == 1


async def test_a_death_after_the_erasure_fired_changes_nothing(harness: Harness) -> None:
    await harness.deliver(terminated())
    harness.clock.set(DUE)
    assert (await harness.retention.schedules.run_due()).fired == 1
    [fired] = await harness.store.find(SCHEDULES)
    await harness.deliver(death(PostMortemErasure.AT_ONCE))
    [row] = await harness.store.find(SCHEDULES)
    assert (row["state"], row["due_at"]) == ("fired", fired["due_at"])
