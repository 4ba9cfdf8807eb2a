"""Rectification requests (GDPR art. 16): asked by the holder, answered once by an operator,
the texts kept out of the events."""

from __future__ import annotations

from identity.rectification import MAX_RECTIFICATION_TEXT
from shared.contracts.identity import RectificationOutcome
from tests.unit.identity.support import Rig, refused
from tests.unit.identity.test_personal_data import api
from tests.unit.identity.test_portal_helpers import browser, signed_in_recipient, submit


async def test_a_rectification_request_waits_for_an_operator_then_shows_the_answer(
    rig: Rig,
) -> None:
    account_id, _ = await rig.active_recipient()
    rectifications = rig.identity.rectifications
    asked = await rectifications.request(account_id, "  Mon nom s'écrit Dupont, pas Dupond.  ")
    assert asked.text == "Mon nom s'écrit Dupont, pas Dupond."
    assert [r.request_id for r in await rectifications.pending()] == [asked.request_id]

    answered = await rectifications.answer(
        asked.request_id, RectificationOutcome.RECTIFIED, "Corrigé.", operator="op-1"
    )

    assert answered.outcome == RectificationOutcome.RECTIFIED
    assert answered.answered_at == rig.clock.now()
    assert await rectifications.pending() == []
    [mine] = await rectifications.of_account(account_id)
    assert (mine.outcome, mine.reason) == (RectificationOutcome.RECTIFIED, "Corrigé.")
    [requested] = await rig.payloads("identity.rectification-requested.v1")
    [answer] = await rig.payloads("identity.rectification-answered.v1")
    assert requested == {"account_id": account_id, "request_id": asked.request_id}
    assert answer == {
        "account_id": account_id,
        "request_id": asked.request_id,
        "outcome": "rectified",
    }


async def test_a_rectification_request_is_answered_only_once(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    asked = await rig.identity.rectifications.request(account_id, "adresse inexacte")
    await rig.identity.rectifications.answer(
        asked.request_id, RectificationOutcome.REFUSED, "", operator="op-1"
    )
    again = await refused(
        rig.identity.rectifications.answer(
            asked.request_id, RectificationOutcome.RECTIFIED, "", operator="op-1"
        )
    )
    assert (again.status, again.code) == (409, "rectification-already-answered")
    unknown = await refused(
        rig.identity.rectifications.answer(
            "inconnue", RectificationOutcome.REFUSED, "", operator="o"
        )
    )
    assert unknown.status == 404


async def test_an_empty_or_too_long_rectification_request_is_refused(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    for text in ("   ", "x" * (MAX_RECTIFICATION_TEXT + 1)):
        assert (await refused(rig.identity.rectifications.request(account_id, text))).status == 422
    assert await rig.identity.rectifications.of_account(account_id) == []


async def test_the_api_records_a_rectification_request_of_the_caller(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient()
    bearer = {"Authorization": f"Bearer {tokens.access_token}"}
    async with api(rig) as client:
        asked = await client.post(
            "/v1/me/rectification-requests", json={"text": "prénom inexact"}, headers=bearer
        )
        mine = await client.get("/v1/me/rectification-requests", headers=bearer)
        empty = await client.post(
            "/v1/me/rectification-requests", json={"text": ""}, headers=bearer
        )
        not_operator = await client.get("/v1/rectification-requests", headers=bearer)
    assert asked.status_code == 201
    assert asked.json()["account_id"] == account_id
    assert [r["text"] for r in mine.json()] == ["prénom inexact"]
    assert empty.status_code == 422
    assert not_operator.status_code == 403


async def test_the_portal_rectification_form_records_and_lists_the_requests(rig: Rig) -> None:
    async with browser(rig) as client:
        account_id = await signed_in_recipient(rig, client)
        refused_form = await submit(
            client, "/donnees/rectification", "/donnees/rectification", {"rectification": " "}
        )
        assert refused_form.status_code == 422
        assert "Indiquez ce qui est inexact" in refused_form.text
        sent = await submit(
            client,
            "/donnees/rectification",
            "/donnees/rectification",
            {"rectification": "Mon nom est Dupont."},
        )
        assert sent.status_code == 303
        [asked] = await rig.identity.rectifications.of_account(account_id)
        await rig.identity.rectifications.answer(
            asked.request_id, RectificationOutcome.RECTIFIED, "Fait.", operator="op-1"
        )
        page = await client.get("/donnees/rectification")
    assert "Mon nom est Dupont." in page.text
    assert "Rectification faite" in page.text
    assert "Fait." in page.text
