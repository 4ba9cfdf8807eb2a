"""CPC 664 through the HTTP API: both territories' windows, holidays per territory, the
21:00:00 edge, the judge's leave, and scheduling for the next opening (the legal date is then
the actual deposit instant)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx

from delivery.evidence import EvidenceType
from delivery.scheduling import Scheduler
from shared.legal_calendar import Territory
from shared.store.port import Document, DocumentStore
from tests.support.store_wrappers import DelegatingStore
from tests.unit.delivery.conftest import Harness
from tests.unit.delivery.support import metadata, pdf


def at(local: str, territory: Territory = Territory.METROPOLE) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=territory.time_zone).astimezone(UTC)


async def post_at(harness: Harness, local: str, key: str, **kwargs: object) -> httpx.Response:
    harness.clock.set(at(local))
    return await harness.post(key=key, **kwargs)  # type: ignore[arg-type]


def closed(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 422, response.text
    body: dict[str, object] = response.json()
    assert body["type"] == "urn:securact:problem:service-window-closed"
    return body


async def test_sunday_is_refused_with_the_next_opening(harness: Harness) -> None:
    body = closed(await post_at(harness, "2031-04-06T11:00:00", "sun"))
    assert body["next_window_opens_at"] == "2031-04-07T04:00:00.000000Z"  # Monday 06:00 Paris
    # Easter Sunday 2031: the next day is Easter Monday, so Tuesday.
    body = closed(await post_at(harness, "2031-04-13T11:00:00", "easter"))
    assert body["next_window_opens_at"] == "2031-04-15T04:00:00.000000Z"
    assert await harness.store.count("acts") == 0
    rejected = await harness.events("delivery.act-rejected.v1")
    assert rejected[0].payload["reasons"][0]["code"] == "window_closed"


async def test_whit_monday_is_refused(harness: Harness) -> None:
    body = closed(await post_at(harness, "2031-06-02T10:00:00", "whit"))
    assert body["next_window_opens_at"] == "2031-06-03T04:00:00.000000Z"


async def test_last_second_before_21_is_accepted_and_21_is_refused(harness: Harness) -> None:
    accepted = await post_at(harness, "2031-04-08T20:59:59", "late")
    assert accepted.status_code == 201
    assert accepted.json()["legal_local_time"].startswith("2031-04-08T20:59:59")
    closed(await post_at(harness, "2031-04-08T21:00:00", "too-late"))


async def test_good_friday_closes_moselle_but_not_paris(harness: Harness) -> None:
    await harness.consent("decl-57", "acc-57", territory=Territory.ALSACE_MOSELLE)
    good_friday = "2031-04-11T10:00:00"
    body = closed(await post_at(harness, good_friday, "moselle", meta=metadata("decl-57")))
    assert body["closures"] == [
        {
            "territory": "alsace_moselle",
            "reason": "holiday",
            "local_time": "2031-04-11T10:00:00+02:00",
        }
    ]
    assert (await post_at(harness, good_friday, "paris")).status_code == 201


async def test_office_in_moselle_is_closed_on_good_friday_for_a_paris_recipient(
    harness: Harness,
) -> None:
    closed(await post_at(harness, "2031-04-11T10:00:00", "office-57", office="etude-moselle"))


async def test_reunion_recipient_follows_reunion_time(harness: Harness) -> None:
    await harness.consent("decl-974", "acc-974", territory=Territory.REUNION)
    # 18:30 in Paris (CEST) is 20:30 in Réunion: open; 19:00 in Paris is 21:00 there: closed.
    open_ = await post_at(harness, "2031-04-08T18:30:00", "re-open", meta=metadata("decl-974"))
    assert open_.status_code == 201
    assert open_.json()["legal_local_time"] == "2031-04-08T20:30:00+04:00"
    # The notice of availability is dated in the recipient's legal time: the event names it.
    [served] = await harness.events("delivery.act-served.v3")
    assert served.payload["recipient_territory"] == "reunion"
    body = closed(
        await post_at(harness, "2031-04-08T19:00:00", "re-closed", meta=metadata("decl-974"))
    )
    # Réunion opens at 06:00 (04:00 Paris) but Paris only at 06:00 Paris: both must be open.
    assert body["next_window_opens_at"] == "2031-04-09T04:00:00.000000Z"
    # 20 December: abolition of slavery in Réunion.
    closed(await post_at(harness, "2031-12-20T10:00:00", "re-20dec", meta=metadata("decl-974")))


async def test_schedule_if_closed_deposits_at_the_next_opening(harness: Harness) -> None:
    response = await post_at(
        harness, "2031-04-08T22:15:00", "night", meta=metadata(schedule_if_closed=True)
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "scheduled"
    assert body["scheduled_for"] == "2031-04-09T04:00:00.000000Z"
    assert body["served_at"] is None
    assert (await harness.events("delivery.act-scheduled.v1"))[0].payload["act_id"] == body["id"]
    # Invisible to the recipient until served; nothing happens before the opening.
    inbox = await harness.client.get("/v1/inbox", headers=harness.tokens.recipient("acc-1"))
    assert inbox.json()["items"] == []
    harness.clock.set(at("2031-04-09T05:59:00"))
    assert await harness.delivery.scheduler.deposit_scheduled() == 0
    # The scheduler runs a little after the opening: the legal date is the actual deposit.
    harness.clock.set(at("2031-04-09T06:00:07"))
    assert await harness.delivery.scheduler.deposit_scheduled() == 1
    act = await harness.act(body["id"])
    assert act["status"] == "served"
    assert act["served_at"] == "2031-04-09T04:00:07.000000Z"
    served = await harness.events("delivery.act-served.v3")
    assert served[0].payload["served_at"] == "2031-04-09T04:00:07Z"
    assert served[0].payload["submitted_at"] == "2031-04-08T20:15:00Z"
    assert await harness.delivery.scheduler.deposit_scheduled() == 0
    assert (await harness.download(body["id"])).content == pdf(3000)


async def test_scheduled_act_whose_consent_ended_is_rejected_at_the_opening(
    harness: Harness,
) -> None:
    response = await post_at(
        harness, "2031-04-05T21:30:00", "sat-night", meta=metadata(schedule_if_closed=True)
    )
    assert response.json()["scheduled_for"] == "2031-04-07T04:00:00.000000Z"  # Monday
    await harness.revoke()
    harness.clock.set(at("2031-04-07T06:00:01"))
    assert await harness.delivery.scheduler.deposit_scheduled() == 1
    act = await harness.act(response.json()["id"])
    assert act["status"] == "rejected"
    assert await harness.store.get("act_keys", act["_id"]) is None
    assert await harness.events("delivery.act-served.v3") == []


class StaleDeclarations(DelegatingStore):
    """Reads outside a transaction see the declaration as it was before the revocation."""

    def __init__(self, store: DocumentStore, before: Document) -> None:
        super().__init__(store)
        self.before = before

    async def get(self, collection: str, doc_id: str) -> Document | None:
        if collection == "declarations" and doc_id == self.before["_id"]:
            return self.before
        return await super().get(collection, doc_id)


async def test_a_revocation_landing_after_the_scheduled_check_still_refuses_the_act(
    harness: Harness,
) -> None:
    response = await post_at(
        harness, "2031-04-05T21:30:00", "sat-night-race", meta=metadata(schedule_if_closed=True)
    )
    act = await harness.act(response.json()["id"])
    before = await harness.store.get("declarations", act["declaration_id"])
    assert before is not None
    await harness.revoke()
    stale = Scheduler(replace(harness.delivery.ctx, store=StaleDeclarations(harness.store, before)))
    harness.clock.set(at("2031-04-07T06:00:01"))
    assert await stale.deposit_scheduled() == 1
    assert (await harness.act(act["_id"]))["status"] == "rejected"
    assert await harness.events("delivery.act-served.v3") == []


ORDER = {"ordered_on": "2031-04-12", "issued_by": "Président du tribunal judiciaire de Lyon"}


async def test_judge_leave_overrides_the_window_and_is_journaled(harness: Harness) -> None:
    leave = pdf(500, seed=b"ordonnance")
    response = await post_at(
        harness, "2031-04-13T11:00:00", "leave", meta=metadata(judge_leave=ORDER), leave=leave
    )
    assert response.status_code == 201, response.text
    assert response.json()["judge_leave_used"] is True
    used = await harness.events("delivery.judge-leave-used.v2")
    assert len(used) == 1
    assert used[0].payload["closures"][0]["reason"] == "sunday"
    assert len(used[0].payload["leave_sha256"]) == 64


async def test_judge_leave_must_itself_be_a_pdf(harness: Harness) -> None:
    response = await post_at(
        harness,
        "2031-04-13T11:00:00",
        "bad-leave",
        meta=metadata(judge_leave=ORDER),
        leave=b"not a pdf" * 200,
    )
    assert response.status_code == 422
    assert response.json()["part"] == "judge_leave"


async def test_window_closing_during_the_upload_refuses_the_act(harness: Harness) -> None:
    """The legal date is the deposit instant: checked again when the upload ends."""
    harness.clock.set(at("2031-04-08T20:59:59"))
    original = harness.vault.upload

    async def slow_upload(*args: object, **kwargs: object) -> object:
        stored = await original(*args, **kwargs)  # type: ignore[arg-type]
        harness.clock.advance(timedelta(seconds=2))
        return stored

    harness.vault.upload = slow_upload  # type: ignore[method-assign,assignment]
    closed(await harness.post(key="slow"))
    assert await harness.store.count("acts") == 0


async def schedule_two(harness: Harness) -> list[str]:
    ids = []
    for key in ("first", "second"):
        response = await post_at(
            harness, "2031-04-06T11:00:00", key, meta=metadata(schedule_if_closed=True)
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def slow_consignments(harness: Harness, step: timedelta) -> None:
    """Each act takes `step` to serve: the clock moves once its consignment is signed."""
    signer = harness.delivery.ctx.signer
    original = signer.attest

    async def attest(*args: object, **kwargs: object) -> None:
        await original(*args, **kwargs)  # type: ignore[arg-type]
        if kwargs.get("kind") == EvidenceType.CONTENT_CONSIGNMENT:
            harness.clock.advance(step)

    signer.attest = attest  # type: ignore[method-assign]


async def test_cpc_664_1_each_scheduled_act_is_dated_at_its_own_deposit(harness: Harness) -> None:
    """The legal date is the instant of that act's deposit, never the batch's start."""
    first, second = await schedule_two(harness)
    slow_consignments(harness, timedelta(seconds=30))
    harness.clock.set(at("2031-04-07T10:00:00"))
    assert await harness.delivery.scheduler.deposit_scheduled() == 2
    assert (await harness.act(first))["served_at"] == "2031-04-07T08:00:00.000000Z"
    assert (await harness.act(second))["served_at"] == "2031-04-07T08:00:30.000000Z"
    served = {
        e.payload["act_id"]: e.payload["served_at"]
        for e in await harness.events("delivery.act-served.v3")
    }
    assert served[second] == "2031-04-07T08:00:30Z"


async def test_cpc_664_a_scheduled_act_reached_after_21_00_in_its_batch_waits(
    harness: Harness,
) -> None:
    """A batch that starts at 20:59:59 does not serve, dated 20:59:59, an act it reaches
    after 21:00: that act waits for the next opening."""
    first, second = await schedule_two(harness)
    slow_consignments(harness, timedelta(seconds=2))
    harness.clock.set(at("2031-04-07T20:59:59"))
    assert await harness.delivery.scheduler.deposit_scheduled() == 1
    assert (await harness.act(first))["served_at"] == "2031-04-07T18:59:59.000000Z"
    waiting = await harness.act(second)
    assert waiting["status"] == "scheduled"
    assert waiting["scheduled_for"] == "2031-04-08T04:00:00.000000Z"
    assert len(await harness.events("delivery.act-served.v3")) == 1


async def test_cpc_664_the_judge_leave_is_bound_to_its_act_in_the_evidence(
    harness: Harness,
) -> None:
    leave = pdf(500, seed=b"ordonnance")
    response = await post_at(
        harness, "2031-04-13T11:00:00", "leave", meta=metadata(judge_leave=ORDER), leave=leave
    )
    assert response.status_code == 201, response.text
    act_id = response.json()["id"]
    expected = {
        "sha256": hashlib.sha256(leave).hexdigest(),
        "size": len(leave),
        "ordered_on": "2031-04-12",
        "issued_by": ORDER["issued_by"],
    }
    office = harness.tokens.office()
    evidence = (await harness.client.get(f"/v1/acts/{act_id}/evidence", headers=office)).json()
    consignment = next(r for r in evidence["evidence"] if r["type"] == "ContentConsignment")
    assert consignment["details"]["judge_leave"] == expected
    view = (await harness.client.get(f"/v1/acts/{act_id}", headers=office)).json()
    assert view["judge_leave"] == expected
    used = (await harness.events("delivery.judge-leave-used.v2"))[0].payload
    assert used["act_sha256"] == view["sha256"]
    assert used["order"] == {"ordered_on": "2031-04-12", "issued_by": ORDER["issued_by"]}


async def test_cpc_664_a_leave_that_authorised_another_office_act_is_refused(
    harness: Harness,
) -> None:
    leave = pdf(500, seed=b"ordonnance")
    meta = metadata(judge_leave=ORDER)
    first = await post_at(harness, "2031-04-13T11:00:00", "a", meta=meta, leave=leave)
    assert first.status_code == 201, first.text
    # The same office may serve another act under its leave (one order, several acts)…
    again = await post_at(harness, "2031-04-13T11:05:00", "b", meta=meta, leave=leave)
    assert again.status_code == 201, again.text
    # …another office may not.
    other = await post_at(
        harness, "2031-04-13T11:10:00", "c", meta=meta, leave=leave, office="etude-2"
    )
    assert other.status_code == 409, other.text
    assert other.json()["type"] == "urn:securact:problem:judge-leave-already-used"
    assert await harness.store.count("acts") == 2
    rejected = await harness.events("delivery.act-rejected.v1")
    assert rejected[-1].payload["reasons"][0]["code"] == "judge_leave_already_used"


async def test_a_judge_leave_needs_its_order_and_cannot_be_dated_after_today(
    harness: Harness,
) -> None:
    leave = pdf(500, seed=b"ordonnance")
    missing = await post_at(harness, "2031-04-13T11:00:00", "no-order", leave=leave)
    assert missing.status_code == 422
    assert "ordered_on" in missing.json()["detail"]
    future = metadata(judge_leave={**ORDER, "ordered_on": "2031-04-14"})
    dated = await post_at(harness, "2031-04-13T11:00:00", "future", meta=future, leave=leave)
    assert dated.status_code == 422
    assert await harness.store.count("acts") == 0
