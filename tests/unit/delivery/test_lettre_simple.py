"""CPC 662-1 al. 3: the lettre simple of an act finalised *à domicile*. The finaliser issues the
task to the office; `RelayToNonERDS` is signed only when the serving office declares the letter
posted. Its due date counts the office's statutory holidays, not the recipient's customary days.
An office missing from the directory cannot serve at all."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from delivery import cli
from shared.legal_calendar import Territory
from tests.unit.delivery.conftest import Harness
from tests.unit.delivery.support import metadata


def at(local: str, territory: Territory = Territory.METROPOLE) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=territory.time_zone).astimezone(UTC)


async def a_domicile(harness: Harness, local: str = "2031-04-08T10:00:00", **post: Any) -> str:
    """An act served at `local` (Paris), unread, finalised à domicile the next day."""
    harness.clock.set(at(local))
    act_id = await harness.served(**post)
    harness.clock.advance(timedelta(days=1))
    await harness.delivery.handover.finalise_due()
    assert (await harness.act(act_id))["quality"] == "a_domicile"
    return act_id


async def declare(
    harness: Harness, act_id: str, office: str = "etude-1", **body: Any
) -> httpx.Response:
    return await harness.client.post(
        f"/v1/acts/{act_id}/lettre-simple",
        json={"posted_on": "2031-04-09", **body},
        headers=harness.tokens.office(office),
    )


async def evidence(harness: Harness, act_id: str) -> dict[str, Any]:
    response = await harness.client.get(
        f"/v1/acts/{act_id}/evidence", headers=harness.tokens.office()
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_cpc_662_1_relay_to_non_erds_is_signed_only_once_the_office_posted_the_letter(
    harness: Harness, tmp_path: Path
) -> None:
    act_id = await a_domicile(harness)
    before = [r["type"] for r in (await evidence(harness, act_id))["evidence"]]
    assert "RelayToNonERDS" not in before
    assert before[-1] == "LettreSimpleTaskIssued"

    harness.clock.set(at("2031-04-09T17:30:00"))
    response = await declare(harness, act_id, tracking_reference="1A23456789012")
    assert response.status_code == 201, response.text
    assert response.json() == {
        "act_id": act_id,
        "posted_on": "2031-04-09",
        "tracking_reference": "1A23456789012",
        "due_on": "2031-04-09",
        "on_time": True,
        "recorded_at": "2031-04-09T15:30:00.000000Z",
    }
    saved = await evidence(harness, act_id)
    relay = [r for r in saved["evidence"] if r["type"] == "RelayToNonERDS"]
    assert len(relay) == 1
    assert relay[0]["instant"] == "2031-04-09T15:30:00.000000Z"
    assert relay[0]["details"]["posted_on"] == "2031-04-09"
    assert relay[0]["details"]["tracking_reference"] == "1A23456789012"
    posted = await harness.events("delivery.lettre-simple-posted.v1")
    assert [e.payload["act_id"] for e in posted] == [act_id]
    assert relay[0]["event_id"] == posted[0].event_id
    # Verifiable offline with the platform's public key only.
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(saved))
    out = io.StringIO()
    keys = harness.signer.public_keys
    assert cli.main(["verify-evidence", str(path), "--public-key", keys[0]], out) == 0
    assert "RelayToNonERDS" in out.getvalue()


async def test_declaring_the_same_letter_again_answers_the_first_record(harness: Harness) -> None:
    act_id = await a_domicile(harness)
    first = await declare(harness, act_id)
    assert first.status_code == 201
    harness.clock.advance(timedelta(hours=2))
    again = await declare(harness, act_id)
    assert again.status_code == 200
    assert again.json() == first.json()
    other = await declare(harness, act_id, posted_on="2031-04-10")
    assert other.status_code == 409
    assert other.json()["type"] == "urn:securact:problem:lettre-simple-already-recorded"
    relays = [
        r for r in (await evidence(harness, act_id))["evidence"] if r["type"] == "RelayToNonERDS"
    ]
    assert len(relays) == 1


async def test_only_the_serving_office_declares_the_letter(harness: Harness) -> None:
    act_id = await a_domicile(harness)
    response = await declare(harness, act_id, office="etude-2")
    assert response.status_code == 404
    assert await harness.events("delivery.lettre-simple-posted.v1") == []


async def test_no_lettre_simple_for_an_act_a_personne_or_not_finalised(harness: Harness) -> None:
    harness.clock.set(at("2031-04-08T10:00:00"))
    unfinalised = await harness.served(key="open")
    response = await declare(harness, unfinalised)
    assert response.status_code == 409
    assert response.json()["type"] == "urn:securact:problem:lettre-simple-not-due"

    read = await harness.served(key="read")
    assert (await harness.download(read)).status_code == 200
    harness.clock.advance(timedelta(days=1))
    await harness.delivery.handover.finalise_due()
    assert (await harness.act(read))["quality"] == "a_personne"
    response = await declare(harness, read)
    assert response.status_code == 409
    assert "à personne" in response.json()["detail"]
    types = [r["type"] for r in (await evidence(harness, read))["evidence"]]
    assert "RelayToNonERDS" not in types


async def test_a_posting_date_before_the_service_or_in_the_future_is_refused(
    harness: Harness,
) -> None:
    act_id = await a_domicile(harness)
    assert (await declare(harness, act_id, posted_on="2031-04-07")).status_code == 422
    assert (await declare(harness, act_id, posted_on="2031-04-10")).status_code == 422
    assert (await harness.act(act_id)).get("lettre_simple") is None


async def test_cpc_662_1_lettre_simple_is_due_after_the_office_statutory_holidays_only(
    harness: Harness,
) -> None:
    """Mi-Carême closes Guadeloupe's window (a customary day) but does not delay the letter:
    the office in Paris posts it the next day."""
    await harness.consent("decl-971", "acc-971", territory=Territory.GUADELOUPE)
    act_id = await a_domicile(harness, "2031-03-19T16:00:00", key="gp", meta=metadata("decl-971"))
    assert (await harness.act(act_id))["lettre_simple_due_on"] == "2031-03-20"
    # The task dates the service in the recipient's legal time, as the letter will.
    [letter] = await harness.events("delivery.lettre-simple-due.v2")
    assert letter.payload["recipient_territory"] == "guadeloupe"


async def test_cpc_662_1_lettre_simple_counts_the_office_territory_statutory_days(
    harness: Harness,
) -> None:
    """An office in Alsace-Moselle does not post on Good Friday (L3134-13)."""
    act_id = await a_domicile(harness, "2031-04-10T10:00:00", key="57", office="etude-moselle")
    assert (await harness.act(act_id))["lettre_simple_due_on"] == date(2031, 4, 12).isoformat()
    letters = await harness.events("delivery.lettre-simple-due.v2")
    assert letters[-1].payload["office_email"] == "moselle@example.org"


async def test_an_office_missing_from_the_directory_cannot_serve(harness: Harness) -> None:
    unknown = await harness.post(key="unknown", office="etude-unknown")
    assert unknown.status_code == 403
    problem = unknown.json()
    assert problem["type"] == "urn:securact:problem:office-not-configured"
    assert problem["missing"] == ["email", "territory"]
    assert "SECURACT_DELIVERY_OFFICES" in problem["detail"]
    no_email = await harness.post(key="no-email", office="etude-no-email")
    assert no_email.status_code == 403
    assert no_email.json()["missing"] == ["email"]
    assert await harness.store.count("acts") == 0
