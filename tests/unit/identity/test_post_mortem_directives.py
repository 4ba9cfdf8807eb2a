"""Post-mortem directives (loi 78-17 art. 85): recorded, changed and revoked by the holder in
the API and the portal, applied when an operator records the death; events say that the
directives changed, never what they say."""

from __future__ import annotations

import json
from datetime import date, timedelta

from identity.directives import DECEASED_SUSPENSION
from identity.records import POST_MORTEM_DIRECTIVES
from shared.contracts.identity import PostMortemErasure
from tests.unit.identity.support import PASSWORD, Rig, refused
from tests.unit.identity.test_personal_data import api
from tests.unit.identity.test_portal_helpers import (
    accessibility_problems,
    browser,
    signed_in_recipient,
    submit,
)
from tests.unit.identity.test_retention_requests import handle, purge_request

AT_ONCE = PostMortemErasure.AT_ONCE
SCHEDULED = PostMortemErasure.SCHEDULED
HEIR = {"designated_name": "Camille Martin", "designated_email": "camille@example.org"}


async def test_directives_are_recorded_changed_and_revoked_and_events_tell_only_that(
    rig: Rig,
) -> None:
    account_id, _ = await rig.active_recipient()
    directives = rig.identity.directives
    assert await directives.of_account(account_id) is None

    first = await directives.record(account_id, AT_ONCE, **HEIR)
    rig.clock.advance(timedelta(hours=1))
    second = await directives.record(account_id, SCHEDULED)

    assert (first.erasure, first.designated_name) == (AT_ONCE, "Camille Martin")
    assert (second.erasure, second.designated_email) == (SCHEDULED, None)
    assert second.recorded_at == first.recorded_at < second.changed_at
    export = await rig.identity.personal_data.export_account(account_id)
    assert export["post_mortem_directives"] is not None
    assert export["post_mortem_directives"]["erasure"] == "scheduled"
    await directives.revoke(account_id)
    assert await directives.of_account(account_id) is None
    changes = await rig.payloads("identity.post-mortem-directives-changed.v1")
    assert [c["change"] for c in changes] == ["recorded", "changed", "revoked"]
    assert {key for c in changes for key in c} == {"account_id", "change", "changed_at"}
    every_event = json.dumps([e.payload for e in await rig.events()])
    assert "Camille" not in every_event
    assert "camille@" not in every_event
    assert "at_once" not in every_event
    assert (await refused(directives.revoke(account_id))).status == 404


async def test_a_designated_person_needs_a_name_and_an_address(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    for name, email in (("Camille", None), (None, "c@example.org"), ("x" * 201, "c@example.org")):
        error = await refused(
            rig.identity.directives.record(
                account_id, AT_ONCE, designated_name=name, designated_email=email
            )
        )
        assert (error.status, error.code) == (422, "directives-invalid")
    assert await rig.payloads("identity.post-mortem-directives-changed.v1") == []


async def test_a_death_with_the_directive_to_erase_at_once_terminates_and_informs(
    rig: Rig,
) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.directives.record(account_id, AT_ONCE, **HEIR)

    death = await rig.identity.directives.record_death(
        account_id, date(2026, 12, 1), "acte de décès 2026-123", operator="op-1"
    )

    assert (death.erasure, death.designated_person_informed) == (AT_ONCE, True)
    account = await rig.store.get("accounts", account_id)
    assert account is not None
    assert account["status"] == "terminated"
    assert account["termination_reason"] == "deceased"
    assert (account["suspended"], account["suspension_reason"]) == (True, DECEASED_SUSPENSION)
    assert account["died_on"] == "2026-12-01"
    [terminated] = await rig.payloads("identity.account-terminated.v1")
    assert terminated["reason"] == "deceased"
    [recorded] = await rig.events("identity.death-recorded.v1")
    assert recorded.actor == "operator:op-1"
    assert recorded.payload == {
        "account_id": account_id,
        "declaration_id": "decl-1",
        "recorded_at": recorded.payload["recorded_at"],
        "erasure": "at_once",
        "designated_person": True,
    }
    [notice] = await rig.payloads("identity.post-mortem-notice-requested.v1")
    assert (notice["name"], notice["email"]) == ("Camille Martin", "camille@example.org")
    # Neither the date of death nor the justification leaves identity's store.
    every_event = json.dumps([e.payload for e in await rig.events()])
    assert "2026-12-01" not in every_event
    assert "2026-123" not in every_event
    # No one logs in as the deceased; the directives can no longer change; once only.
    assert (await refused(rig.login(account_id, PASSWORD))).status == 403
    again = await refused(
        rig.identity.directives.record_death(account_id, date(2026, 12, 1), "x", operator="o")
    )
    assert (again.status, again.code) == (409, "death-already-recorded")
    assert (await refused(rig.identity.directives.revoke(account_id))).status == 409


async def test_without_directives_a_death_keeps_the_usual_schedule_and_informs_no_one(
    rig: Rig,
) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.accounts.terminate(account_id)  # terminated before the death
    death = await rig.identity.directives.record_death(
        account_id, date(2026, 11, 30), "ref-1", operator="op-1"
    )
    assert (death.erasure, death.designated_person_informed) == (SCHEDULED, False)
    # Terminated once, by the holder: the death does not terminate it again.
    [terminated] = await rig.payloads("identity.account-terminated.v1")
    assert terminated["reason"] == "recipient_request"
    [recorded] = await rig.payloads("identity.death-recorded.v1")
    assert (recorded["erasure"], recorded["designated_person"]) == ("scheduled", False)
    assert await rig.payloads("identity.post-mortem-notice-requested.v1") == []


async def test_a_death_needs_a_justification_and_a_past_date(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    directives = rig.identity.directives
    too_late = rig.clock.now().date() + timedelta(days=2)  # a day's slack for UTC+11
    blank = await refused(directives.record_death(account_id, date(2026, 1, 1), " ", operator="o"))
    future = await refused(directives.record_death(account_id, too_late, "ref", operator="o"))
    unknown = await refused(directives.record_death("nobody", date(2026, 1, 1), "r", operator="o"))
    assert (blank.status, future.status, unknown.status) == (422, 422, 404)
    assert await rig.payloads("identity.death-recorded.v1") == []


async def test_the_directives_go_with_the_contact_data(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.directives.record(account_id, AT_ONCE, **HEIR)
    await handle(rig, purge_request(rig, account_id))
    assert await rig.store.get(POST_MORTEM_DIRECTIVES, account_id) is None


async def test_the_api_records_reads_and_revokes_directives_and_operators_record_deaths(
    rig: Rig,
) -> None:
    account_id, tokens = await rig.active_recipient()
    holder = {"Authorization": f"Bearer {tokens.access_token}"}
    await rig.identity.accounts.create_operator("ops-deces", PASSWORD)
    async with api(rig) as client:
        none_yet = await client.get("/v1/me/post-mortem-directives", headers=holder)
        bad = await client.put(
            "/v1/me/post-mortem-directives",
            json={"erasure": "at_once", "designated_email": "pas-une-adresse"},
            headers=holder,
        )
        half = await client.put(
            "/v1/me/post-mortem-directives",
            json={"erasure": "at_once", "designated_email": "c@example.org"},
            headers=holder,
        )
        put = await client.put(
            "/v1/me/post-mortem-directives", json={"erasure": "at_once", **HEIR}, headers=holder
        )
        mine = await client.get("/v1/me/post-mortem-directives", headers=holder)
        not_operator = await client.post(
            f"/v1/accounts/{account_id}/death",
            json={"died_on": "2026-12-01", "justification": "ref"},
            headers=holder,
        )
        login = await client.post(
            "/v1/sessions", json={"identifier": "ops-deces", "password": PASSWORD}
        )
        operator = {"Authorization": f"Bearer {login.json()['access_token']}"}
        bad_date = await client.post(
            f"/v1/accounts/{account_id}/death",
            json={"died_on": "1er décembre", "justification": "ref"},
            headers=operator,
        )
        death = await client.post(
            f"/v1/accounts/{account_id}/death",
            json={"died_on": "2026-12-01", "justification": "acte 2026-123"},
            headers=operator,
        )
    assert none_yet.json() == {"directives": None}
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert half.status_code == 422
    assert half.json()["type"] == "urn:securact:problem:directives-invalid"
    assert put.status_code == 200, put.text
    assert mine.json()["directives"]["designated_name"] == "Camille Martin"
    assert not_operator.status_code == 403
    assert bad_date.status_code == 422
    assert death.status_code == 201, death.text
    assert death.json()["erasure"] == "at_once"
    assert death.json()["designated_person_informed"] is True


async def test_the_portal_records_changes_and_revokes_directives(rig: Rig) -> None:
    async with browser(rig) as client:
        account_id = await signed_in_recipient(rig, client)
        page = await client.get("/donnees/directives")
        assert "Vous n'avez pas de directives" in page.text
        assert accessibility_problems(page.text) == []
        refused_form = await submit(
            client,
            "/donnees/directives",
            "/donnees/directives",
            {"personne_nom": "Camille Martin", "personne_courriel": "pas-une-adresse"},
        )
        assert refused_form.status_code == 422
        assert "Choisissez ce que deviennent vos données" in refused_form.text
        assert "Indiquez une adresse électronique valide" in refused_form.text
        assert 'value="Camille Martin"' in refused_form.text  # what was typed stays
        assert accessibility_problems(refused_form.text) == []
        sent = await submit(
            client,
            "/donnees/directives",
            "/donnees/directives",
            {
                "effacement": "at_once",
                "personne_nom": "Camille Martin",
                "personne_courriel": "camille@example.org",
            },
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == "/donnees/directives?info=directives-enregistrees"
        shown = await client.get(sent.headers["location"])
        assert "Vos directives sont enregistrées" in shown.text
        assert "Camille Martin (camille@example.org)" in shown.text
        assert 'value="at_once" checked' in shown.text
        recorded = await rig.identity.directives.of_account(account_id)
        assert recorded is not None
        assert recorded.erasure is AT_ONCE
        unconfirmed = await submit(
            client, "/donnees/directives", "/donnees/directives/revocation", {}
        )
        assert unconfirmed.status_code == 422
        revoked = await submit(
            client,
            "/donnees/directives",
            "/donnees/directives/revocation",
            {"confirmation_revocation": "oui"},
        )
        assert revoked.status_code == 303
        assert await rig.identity.directives.of_account(account_id) is None
