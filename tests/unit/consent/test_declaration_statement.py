"""The person validates the declaration they consent to (décret 2021-1625 art. 21): consent
serves it to the CGU page with the four CPC articles and a content hash, records the
validation of THAT content, and lets the person refuse a wrong declaration, saying why."""

from __future__ import annotations

from pathlib import Path

import pytest

from consent.statement import ARTICLES
from shared.contracts.identity import TermsAcceptedV1
from tests.unit.consent.conftest import START
from tests.unit.consent.support import NOM
from tests.unit.consent.test_api import Api, api  # noqa: F401 - the fixture

LEGAL = Path("/work/shared/LEGAL.md")
STATEMENT = "/v1/me/declaration/statement"


async def _pending(api: Api) -> tuple[str, dict[str, str]]:  # noqa: F811
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    return declaration_id, api.tokens.recipient("acc-1", scopes="terms:accept")


async def test_decret_2021_1625_art_21_the_cgu_session_reads_the_declaration_with_cpc_653_662_1_663_664_1(  # noqa: E501
    api: Api,  # noqa: F811
) -> None:
    _, pending = await _pending(api)
    # The person's full view stays behind the CGU gate; the statement is what they answer.
    assert (await api.client.get("/v1/me/declaration", headers=pending)).status_code == 403
    response = await api.client.get(STATEMENT, headers=pending)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "registered"
    labels = {line["label"]: line["value"] for line in body["identity"]}
    assert labels["Nom"] == NOM
    assert set(labels) == {"Nom", "Prénoms", "Date de naissance", "Lieu de naissance", "Domicile"}
    assert body["scope"]
    assert body["revocation_modalities"]
    assert [a["article"] for a in body["articles"]] == ["653", "662-1", "663", "664-1"]
    assert len(body["content_hash"]) == 64
    # No contact data in what is shown as the declaration's identity.
    assert "@" not in str(body["identity"])


def test_the_articles_are_quoted_verbatim_from_the_legal_reference() -> None:
    if not LEGAL.exists():
        pytest.skip(f"{LEGAL} (the project's legal reference) is not on this machine")
    legal = " ".join(LEGAL.read_text(encoding="utf-8").split())
    for article in ARTICLES:
        for part in article.text.split("[…]"):
            fragment = part.strip().rstrip(".").strip()
            if fragment:
                assert fragment in legal, (article.article, fragment)


async def test_validation_records_the_content_hash_and_activation_follows_on_that_content(
    api: Api,  # noqa: F811
) -> None:
    declaration_id, pending = await _pending(api)
    shown = (await api.client.get(STATEMENT, headers=pending)).json()
    stale = await api.client.post(
        "/v1/me/declaration/validation", json={"content_hash": "0" * 64}, headers=pending
    )
    assert stale.status_code == 409
    assert stale.json()["type"].endswith("declaration-statement-changed")
    done = await api.client.post(
        "/v1/me/declaration/validation",
        json={"content_hash": shown["content_hash"]},
        headers=pending,
    )
    assert done.status_code == 200, done.text
    stored = await api.h.registry.get(declaration_id)
    assert stored is not None
    assert stored["validated_hash"] == shown["content_hash"]
    [event] = await api.h.events("consent.declaration-validated.v1")
    assert event.payload["content_hash"] == shown["content_hash"]
    assert event.payload["account_id"] == "acc-1"
    await api.h.deliver(
        TermsAcceptedV1(
            account_id="acc-1",
            declaration_id=declaration_id,
            terms_version=1,
            content_hash="h",
            accepted_at=START,
        )
    )
    active = await api.h.registry.get(declaration_id)
    assert active is not None
    assert active["status"] == "active"
    assert active["validated_hash"] == shown["content_hash"]


async def test_the_person_refuses_a_wrong_declaration_saying_why_and_the_office_is_told(
    api: Api,  # noqa: F811
) -> None:
    declaration_id, pending = await _pending(api)
    shown = (await api.client.get(STATEMENT, headers=pending)).json()
    empty = await api.client.post(
        "/v1/me/declaration/contestation",
        json={"content_hash": shown["content_hash"], "parts": [], "reason": "x"},
        headers=pending,
    )
    assert empty.status_code == 422
    reason = "Mon lieu de naissance est Lyon, pas Lille."
    refused = await api.client.post(
        "/v1/me/declaration/contestation",
        json={"content_hash": shown["content_hash"], "parts": ["identity"], "reason": reason},
        headers=pending,
    )
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "refused"
    [told] = await api.h.events("consent.declaration-contested.v1")
    assert told.payload["parts"] == ["identity"]
    assert told.payload["office_id"]
    assert reason not in str(told.payload)  # the person's words stay in consent
    assert len(await api.h.events("consent.declaration-refused.v1")) == 1
    stored = await api.h.registry.get(declaration_id)
    assert stored is not None
    assert stored["contestation"]["reason"] == reason
    office_view = await api.client.get(
        f"/v1/declarations/{declaration_id}", headers=api.tokens.office()
    )
    assert office_view.status_code == 200, office_view.text
    assert office_view.json()["contestation"]["reason"] == reason
    assert office_view.json()["contestation"]["parts"] == ["identity"]
    # A CGU acceptance afterwards gives no consent: the declaration stays refused.
    await api.h.deliver(
        TermsAcceptedV1(
            account_id="acc-1",
            declaration_id=declaration_id,
            terms_version=1,
            content_hash="h",
            accepted_at=START,
        )
    )
    after = await api.h.registry.get(declaration_id)
    assert after is not None
    assert after["status"] == "refused"
    again = await api.client.post(
        "/v1/me/declaration/validation",
        json={"content_hash": shown["content_hash"]},
        headers=pending,
    )
    assert again.status_code == 409


async def test_only_a_session_at_the_cgu_gate_answers_the_declaration(
    api: Api,  # noqa: F811
) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    full = api.tokens.recipient("acc-1")
    assert (await api.client.get(STATEMENT, headers=full)).status_code == 403
    office = api.tokens.office("etude-5")
    assert (await api.client.get(STATEMENT, headers=office)).status_code == 403
