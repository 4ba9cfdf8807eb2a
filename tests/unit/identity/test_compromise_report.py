"""Compromised credentials reported by their holder: every session and token dies at once, the
report is journaled and operators alerted; the portal's form and help page."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from identity.records import SESSIONS
from tests.unit.identity.support import Rig, make_rig, refused
from tests.unit.identity.test_personal_data import api
from tests.unit.identity.test_portal_helpers import browser, signed_in_recipient, submit
from tests.unit.identity.test_sessions import principal_of


async def test_a_compromise_report_revokes_every_session_and_token_of_the_account(
    rig: Rig,
) -> None:
    account_id, first = await rig.active_recipient()
    second = await rig.login(account_id)
    other_id, other = await rig.active_recipient("decl-2")
    rig.clock.advance(timedelta(milliseconds=1))
    live = await rig.store.find(SESSIONS, {"account_id": account_id, "revoked_at": None})

    report = await rig.identity.accounts.report_compromise(account_id)

    assert report.sessions_revoked == len(live) >= 2
    for tokens in (first, second):
        assert await rig.identity.revocations.is_revoked(
            await principal_of(rig, tokens.access_token)
        )
        assert (await refused(rig.identity.sessions.refresh(tokens.refresh_token))).status == 401
    sessions = await rig.store.find(SESSIONS, {"account_id": account_id})
    assert {s["revocation_reason"] for s in sessions} == {"compromise_reported"}
    # Another account's sessions are untouched.
    assert not await rig.identity.revocations.is_revoked(
        await principal_of(rig, other.access_token)
    )
    # A new login after the report works: the holder signs in again to change the password.
    rig.clock.advance(timedelta(milliseconds=1))
    after = await rig.login(account_id)
    assert not await rig.identity.revocations.is_revoked(
        await principal_of(rig, after.access_token)
    )
    assert other_id != account_id


async def test_a_compromise_report_is_journaled_with_its_revocation_and_nothing_more(
    rig: Rig,
) -> None:
    account_id, _ = await rig.active_recipient()
    report = await rig.identity.accounts.report_compromise(account_id)
    [reported] = await rig.payloads("identity.compromise-reported.v1")
    [revoked] = await rig.payloads("identity.credentials-revoked.v1")
    assert reported == {
        "account_id": account_id,
        "report_id": report.report_id,
        "sessions_revoked": len(revoked["session_ids"]),
    }
    assert revoked["reason"] == "compromise_reported"


async def test_a_compromise_report_alerts_the_operators(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    account_id, _ = await rig.active_recipient()
    with caplog.at_level(logging.WARNING, logger="identity.accounts.compromise"):
        report = await rig.identity.accounts.report_compromise(account_id)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "compromised credentials reported" in warning.getMessage()
    assert [r.report_id for r in await rig.identity.accounts.compromise_reports()] == [
        report.report_id
    ]


async def test_a_compromise_report_of_an_unknown_account_is_refused(rig: Rig) -> None:
    assert (await refused(rig.identity.accounts.report_compromise("inconnu"))).status == 404
    assert await rig.identity.accounts.compromise_reports() == []


async def test_the_api_compromise_report_kills_the_token_that_made_it(rig: Rig) -> None:
    _, tokens = await rig.active_recipient()
    bearer = {"Authorization": f"Bearer {tokens.access_token}"}
    rig.clock.advance(timedelta(milliseconds=1))
    async with api(rig) as client:
        anonymous = await client.post("/v1/me/compromise-report")
        reported = await client.post("/v1/me/compromise-report", headers=bearer)
        after = await client.get("/v1/me", headers=bearer)
    assert anonymous.status_code == 401
    assert reported.status_code == 201
    assert reported.json()["sessions_revoked"] >= 1
    assert after.status_code == 401


async def test_the_portal_compromise_report_needs_a_confirmation_then_ends_the_session(
    rig: Rig,
) -> None:
    async with browser(rig) as client:
        account_id = await signed_in_recipient(rig, client)
        page = await client.get("/donnees/compromission")
        assert page.status_code == 200
        unconfirmed = await submit(client, "/donnees/compromission", "/donnees/compromission", {})
        assert unconfirmed.status_code == 422
        assert "Cochez la case pour confirmer le signalement." in unconfirmed.text
        assert not await rig.payloads("identity.compromise-reported.v1")

        ended = await submit(
            client,
            "/donnees/compromission",
            "/donnees/compromission",
            {"confirmation_compromission": "oui"},
        )
        assert ended.status_code == 200
        assert "Toutes vos sessions sont fermées" in ended.text
        assert (await client.get("/compte")).headers["location"] == "/connexion"
    sessions = await rig.store.find(SESSIONS, {"account_id": account_id})
    assert all(s["revoked_at"] for s in sessions)
    assert await rig.payloads("identity.compromise-reported.v1")


async def test_the_help_page_shows_the_configured_support_dpo_and_cnil_texts_without_login(
    tmp_path: Path,
) -> None:
    rig = await make_rig(
        tmp_path,
        support_contact="assistance@exemple.fr",
        support_hours="du lundi au vendredi",
        dpo_contact="dpo@exemple.fr",
        cnil_complaint_text="Réclamation : cnil.fr",
    )
    async with browser(rig) as client:
        page = await client.get("/aide")
    assert page.status_code == 200
    for text in ("assistance@exemple.fr", "du lundi au vendredi", "dpo@exemple.fr"):
        assert text in page.text
    assert "Réclamation : cnil.fr" in page.text
