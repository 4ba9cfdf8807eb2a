"""A later CGU version binding a person unanswered: the portal shows it first, with what each
answer means, offers both answers, and never withholds the acts meanwhile."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.unit.identity.support import PASSWORD, Rig
from tests.unit.identity.test_portal_helpers import (
    accessibility_problems,
    browser,
    signed_in_recipient,
    submit,
)

NEW_TEXT = "# CGU\n\n*Version 2*\n\nTexte modifié.\n"
# Published and presented Tuesday 4 March 2031: deemed received Wednesday 5 March; a month
# later is Saturday 5 April, run to Monday 7 April (CPC 642), 24:00 in the Antilles.
BINDS = datetime(2031, 4, 8, 0, 0, tzinfo=ZoneInfo("America/Guadeloupe"))


async def test_a_pending_cgu_version_is_shown_first_and_answerable_while_the_acts_stay_open(
    rig: Rig,
) -> None:
    async with browser(rig) as client:
        account_id = await signed_in_recipient(rig, client)
        await rig.identity.terms.publish(NEW_TEXT, BINDS, operator="op")
        assert await rig.present_notices() == 1
        identifier = await rig.identifier(account_id)
        login = {"identifiant": identifier, "mot_de_passe": PASSWORD}

        # Before the version binds the account, the person lands on "Mes actes".
        rig.clock.set(BINDS - timedelta(seconds=1))
        await client.post("/deconnexion", data={})
        client.cookies.clear()
        signed = await submit(client, "/connexion", "/connexion", login)
        assert signed.headers["location"] == "/actes"

        # Once it binds the account unanswered: the new version first, both answers offered.
        rig.clock.set(BINDS + timedelta(hours=1))
        client.cookies.clear()
        signed = await submit(client, "/connexion", "/connexion", login)
        assert signed.headers["location"] == "/cgu"
        page = await client.get("/cgu")
        assert page.status_code == 200
        assert 'id="nouvelle-version"' in page.text
        assert "vos actes restent accessibles" in page.text
        assert "votre compte est résilié" in page.text
        assert 'name="version" value="2"' in page.text
        assert 'href="/cgu/refus"' in page.text
        assert "consentement exprès" not in page.text
        assert accessibility_problems(page.text) == []
        refusal = await client.get("/cgu/refus")
        assert refusal.status_code == 200
        assert 'value="2"' in refusal.text

        accepted = await submit(client, "/cgu", "/cgu/acceptation", {"version": "2"})
        assert accepted.headers["location"] == "/actes?info=cgu-acceptees"
        client.cookies.clear()
        signed = await submit(client, "/connexion", "/connexion", login)
        assert signed.headers["location"] == "/actes"
