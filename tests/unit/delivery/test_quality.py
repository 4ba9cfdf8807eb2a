"""CPC 662-1 and 663: the first opening is recorded once; at the end of the sending day the
service is *à personne* (with that hour) or *à domicile* with a lettre simple due the first
jour ouvrable after; the finaliser catches up and never finalises twice."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime

import pytest

from delivery.acts import Act
from delivery.domain import determine_quality
from shared.contracts.delivery import ServiceQuality
from shared.crypto import IntegrityError
from shared.legal_calendar import Territory
from shared.store.port import VersionConflictError
from tests.unit.delivery.conftest import ACT, Harness
from tests.unit.delivery.support import pdf


def at(local: str, territory: Territory = Territory.METROPOLE) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=territory.time_zone).astimezone(UTC)


async def serve_at(harness: Harness, local: str, key: str = "k") -> str:
    harness.clock.set(at(local))
    return await harness.served(key=key)


async def test_download_at_2230_the_same_day_is_a_personne_with_that_hour(
    harness: Harness,
) -> None:
    act_id = await serve_at(harness, "2031-04-08T15:00:00")
    harness.clock.set(at("2031-04-08T22:30:00"))
    download = await harness.download(act_id)
    assert download.status_code == 200
    assert download.content == ACT
    assert download.headers["x-content-sha256"] == (await harness.act(act_id))["sha256"]
    handed = await harness.events("delivery.act-handed-over.v1")
    assert handed[0].payload["handed_over_at"] == "2031-04-08T20:30:00Z"
    harness.clock.set(at("2031-04-08T23:59:59"))
    assert await harness.delivery.handover.finalise_due() == 0  # the day is not over
    harness.clock.set(at("2031-04-09T00:00:00"))
    assert await harness.delivery.handover.finalise_due() == 1
    act = await harness.act(act_id)
    assert act["quality"] == "a_personne"
    determined = await harness.events("delivery.service-quality-determined.v1")
    assert determined[0].payload["quality"] == "a_personne"
    assert determined[0].payload["handed_over_at"] == "2031-04-08T20:30:00Z"
    assert await harness.events("delivery.lettre-simple-due.v2") == []


async def test_download_the_next_day_is_a_domicile_with_a_lettre_simple(harness: Harness) -> None:
    act_id = await serve_at(harness, "2031-04-08T15:00:00")
    harness.clock.set(at("2031-04-09T00:01:00"))
    assert (await harness.download(act_id)).status_code == 200
    assert await harness.delivery.handover.finalise_due() == 1
    act = await harness.act(act_id)
    assert act["quality"] == "a_domicile"
    letter = await harness.events("delivery.lettre-simple-due.v2")
    assert len(letter) == 1
    assert letter[0].payload == {
        "act_id": act_id,
        "office_id": "etude-1",
        "office_email": "etude1@example.org",
        "act_nature": "signification_jugement",
        "requester_name": "SCI Les Tilleuls",
        "served_at": "2031-04-08T13:00:00Z",
        "due_on": "2031-04-09",
        "recipient_territory": "metropole",
    }


async def test_friday_service_unread_is_due_saturday(harness: Harness) -> None:
    act_id = await serve_at(harness, "2031-04-04T10:00:00")  # Friday
    harness.clock.set(at("2031-04-05T00:00:00"))
    await harness.delivery.handover.finalise_due()
    assert (await harness.act(act_id))["lettre_simple_due_on"] == "2031-04-05"


def test_saturday_service_is_due_monday_and_holidays_are_skipped() -> None:
    paris = Territory.METROPOLE
    saturday = determine_quality(at("2031-04-05T10:00:00"), None, paris, paris)
    assert saturday.lettre_simple_due_on == date(2031, 4, 7)
    # Saturday 12 April 2031: Sunday 13 is Easter, Monday 14 Easter Monday.
    easter = determine_quality(at("2031-04-12T10:00:00"), None, paris, paris)
    assert easter.lettre_simple_due_on == date(2031, 4, 15)
    # 30 April: 1 May is a holiday.
    may = determine_quality(at("2031-04-30T10:00:00"), at("2031-05-01T00:00:01"), paris, paris)
    assert may == type(may)(ServiceQuality.A_DOMICILE, date(2031, 5, 2))


def test_cognisance_at_2359_is_the_same_day_and_0001_is_not() -> None:
    paris = Territory.METROPOLE
    served = at("2031-04-08T09:00:00")
    assert (
        determine_quality(served, at("2031-04-08T23:59:59"), paris, paris).quality == "a_personne"
    )
    assert (
        determine_quality(served, at("2031-04-09T00:00:01"), paris, paris).quality == "a_domicile"
    )


async def test_second_download_records_nothing_new(harness: Harness) -> None:
    act_id = await serve_at(harness, "2031-04-08T15:00:00")
    await harness.download(act_id)
    first = (await harness.act(act_id))["handed_over_at"]
    harness.clock.set(at("2031-04-08T16:00:00"))
    await harness.download(act_id)
    assert (await harness.act(act_id))["handed_over_at"] == first
    assert len(await harness.events("delivery.act-handed-over.v1")) == 1


async def test_finaliser_catches_up_after_days_of_downtime(harness: Harness) -> None:
    ids = [await serve_at(harness, f"2031-04-0{d}T10:00:00", key=f"k{d}") for d in (7, 8, 9)]
    harness.clock.set(at("2031-04-12T09:00:00"))
    assert await harness.delivery.handover.finalise_due() == 3
    dues = [(await harness.act(i))["lettre_simple_due_on"] for i in ids]
    assert dues == ["2031-04-08", "2031-04-09", "2031-04-10"]


async def test_concurrent_and_repeated_finalisation_finalises_each_act_once(
    harness: Harness,
) -> None:
    for n in range(6):
        await serve_at(harness, f"2031-04-08T1{n}:00:00", key=f"k{n}")
    harness.clock.set(at("2031-04-09T01:00:00"))
    await asyncio.gather(*(harness.delivery.handover.finalise_due() for _ in range(3)))
    await harness.delivery.handover.finalise_due()
    determined = await harness.events("delivery.service-quality-determined.v1")
    assert len(determined) == 6
    assert len({e.payload["act_id"] for e in determined}) == 6
    assert len(await harness.events("delivery.lettre-simple-due.v2")) == 6


async def test_crash_during_finalisation_loses_nothing_and_duplicates_nothing(
    harness: Harness,
) -> None:
    for n in range(4):
        await serve_at(harness, f"2031-04-08T1{n}:00:00", key=f"k{n}")
    harness.clock.set(at("2031-04-09T01:00:00"))
    original = harness.delivery.handover.finalise
    calls = 0

    async def crash_on_third(act: Act, now: datetime) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("process killed")
        await original(act, now)

    harness.delivery.handover.finalise = crash_on_third  # type: ignore[method-assign]
    with contextlib.suppress(RuntimeError):
        await harness.delivery.handover.finalise_due()
    harness.delivery.handover.finalise = original  # type: ignore[method-assign]
    assert len(await harness.events("delivery.service-quality-determined.v1")) == 2
    # The restarted process finalises the rest, and only the rest.
    assert await harness.delivery.handover.finalise_due() == 2
    determined = await harness.events("delivery.service-quality-determined.v1")
    assert len({e.payload["act_id"] for e in determined}) == len(determined) == 4


async def test_finalising_a_stale_copy_fails_the_version_check(harness: Harness) -> None:
    act_id = await serve_at(harness, "2031-04-08T10:00:00")
    stale = await harness.act(act_id)
    harness.clock.set(at("2031-04-09T01:00:00"))
    assert await harness.delivery.handover.finalise_due() == 1
    try:
        await harness.delivery.handover.finalise(Act.model_validate(stale), harness.clock.now())
    except VersionConflictError:
        pass
    else:
        raise AssertionError("a second finalisation committed")
    assert len(await harness.events("delivery.service-quality-determined.v1")) == 1


async def test_cpc_663_opening_the_content_is_journaled_but_is_no_cognisance(
    harness: Harness,
) -> None:
    act_id = await serve_at(harness, "2031-04-08T15:00:00")
    harness.clock.set(at("2031-04-08T15:05:00"))
    act, _chunks = await harness.delivery.handover.open_content("acc-1", act_id)
    assert act.handed_over_at is None
    opened = await harness.events("delivery.act-content-opened.v1")
    assert [(e.payload["act_id"], e.payload["opened_at"]) for e in opened] == [
        (act_id, "2031-04-08T13:05:00Z")
    ]
    assert (await harness.act(act_id))["handed_over_at"] is None
    assert await harness.events("delivery.act-handed-over.v1") == []
    # Never delivered: finalised à domicile.
    harness.clock.set(at("2031-04-09T00:00:01"))
    await harness.delivery.handover.finalise_due()
    assert (await harness.act(act_id))["quality"] == "a_domicile"


async def test_cpc_663_a_download_that_fails_midway_records_no_cognisance(
    harness: Harness,
) -> None:
    document = pdf(200_000, seed=b"broken")
    act_id = await harness.served(document=document)
    key = f"acts/{act_id}"
    stored = bytearray(harness.objects.objects[key])
    stored[140_000] ^= 0x01  # the third segment no longer verifies
    harness.objects.objects[key] = bytes(stored)
    with pytest.raises(IntegrityError):
        await harness.download(act_id)
    assert (await harness.act(act_id))["handed_over_at"] is None
    assert await harness.events("delivery.act-handed-over.v1") == []
