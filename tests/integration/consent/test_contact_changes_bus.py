"""Contact and domicile changes across identity and consent on the real bus (RabbitMQ, SQLite,
SeaweedFS): the new e-mail, confirmed by the link identity issued (by `link_id`), and the new
mobile reach the registry, where the registering office reads them; a move with its proof of
address makes the registry answer the new territory from then on; no event carries the link."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.clock import SystemClock
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import (
    LOOKUP,
    PASSWORD,
    consent_for,
    login,
    office_token,
)
from tests.integration.consent.support import outbox_envelopes as consent_outbox
from tests.integration.consent.support import ready_bucket, registry_of
from tests.integration.identity.support import (
    activation_url,
    identity_app,
    link_url,
    outbox_envelopes,
)
from tests.support.services import eventually, running
from tests.unit.consent.support import NATURAL_FILES, PDF, multipart_body, natural_declaration

NEW = "eloise.nouvelle@example.net"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _active_person(
    identity_app_: Any,
    identity: httpx.AsyncClient,
    consent_app_: Any,
    consent: httpx.AsyncClient,
    office: dict[str, str],
) -> tuple[str, str, str]:
    """Registered, activated, CGU accepted, active at the registry: declaration id, account
    id, identifier."""
    today = SystemClock().now().date()
    body, content_type = multipart_body(natural_declaration(today), NATURAL_FILES)
    created = await consent.post(
        "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
    )
    assert created.status_code == 201, created.text
    declaration_id = created.json()["id"]
    registry = registry_of(consent_app_)

    async def linked() -> bool:
        document = await registry.get(declaration_id)
        return document is not None and document["account_id"] is not None

    await eventually(linked, within=30)
    document = await registry.get(declaration_id)
    assert document is not None
    account_id = str(document["account_id"])
    token = httpx.URL(await activation_url(identity_app_, account_id)).params["token"]
    activated = await identity.post("/v1/activations", json={"token": token, "password": PASSWORD})
    assert activated.status_code == 200, activated.text
    identifier = activated.json()["identifier"]
    first = await login(identity, identifier)
    accepted = await identity.post(
        "/v1/terms/current/acceptance", json={}, headers=_bearer(first["access_token"])
    )
    assert accepted.status_code == 200, accepted.text

    async def active() -> bool:
        found = await registry.get(declaration_id)
        return found is not None and found["status"] == "active"

    await eventually(active, within=30)
    return declaration_id, account_id, identifier


async def test_contact_changes_reach_the_registry_and_a_move_changes_the_territory_answered(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    identity_app_ = identity_app(tmp_path / "identity", bus_prefix)
    consent_app_ = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity_app_)
    async with running(identity_app_) as identity, running(consent_app_) as consent:
        await ready_bucket(consent_app_)
        office = _bearer(await office_token(identity_app_, identity, office_id="etude-e2e"))
        declaration_id, _account_id, identifier = await _active_person(
            identity_app_, identity, consent_app_, consent, office
        )
        person = _bearer((await login(identity, identifier))["access_token"])

        # The e-mail: asked with the password, confirmed by the link sent to the new address.
        asked = await identity.post(
            "/v1/me/email", json={"email": NEW, "password": PASSWORD}, headers=person
        )
        assert asked.status_code == 202, asked.text
        [requested] = await outbox_envelopes(identity_app_, "identity.email-change-requested.v1")
        url = await link_url(identity_app_, requested.payload)
        token = httpx.URL(url).params["token"]
        confirmed = await identity.post("/v1/email-confirmations", json={"token": token})
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["email"] == NEW
        mobile = await identity.put(
            "/v1/me/mobile", json={"mobile": "0696 12 34 56"}, headers=person
        )
        assert mobile.status_code == 200, mobile.text
        assert mobile.json()["mobile"] == "+596696123456"

        async def registry_has_new_contacts() -> bool:
            seen = await consent.get(f"/v1/declarations/{declaration_id}", headers=office)
            body = seen.json()
            return body["person"]["email"] == NEW and body["person"]["mobile"] == "+596696123456"

        await eventually(registry_has_new_contacts, within=30)

        # The move: a proof of address less than three months old, a Martinique address.
        issued_on = SystemClock().now().date() - timedelta(days=5)
        domicile = {
            "address": {"adresse": "2 rue Victor Hugo", "code_postal": "97200", "commune": "FDF"},
            "proof": {"type": "justificatif_domicile", "issued_on": issued_on.isoformat()},
        }
        built = httpx.Request(
            "POST",
            "http://consent/v1/me/domicile",
            data={"domicile": json.dumps(domicile)},
            files={"proof": ("facture.pdf", PDF, "application/pdf")},
        )
        moved = await consent.post(
            "/v1/me/domicile",
            content=built.read(),
            headers={"Content-Type": built.headers["content-type"], **person},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["territory"] == "martinique"
        lookup = await consent.post("/v1/registry/search", json=LOOKUP, headers=office)
        assert lookup.status_code == 200, lookup.text
        assert lookup.json()["territory"] == "martinique"
        assert lookup.json()["domicile_changed_at"]
        seen = (await consent.get(f"/v1/declarations/{declaration_id}", headers=office)).json()
        assert [c["kind"] for c in seen["contact_changes"]] == ["email", "mobile", "domicile"]

        # The journal: the changes are there, the link token and the old address are not.
        identity_events = [
            *await outbox_envelopes(identity_app_, "identity.email-change-requested.v1"),
            *await outbox_envelopes(identity_app_, "identity.email-changed.v1"),
            *await outbox_envelopes(identity_app_, "identity.mobile-changed.v1"),
        ]
        assert len(identity_events) == 3
        moved_events = await consent_outbox(consent_app_, "consent.domicile-changed.v1")
        assert [e.payload["territory"] for e in moved_events] == ["martinique"]
        for envelope in [*identity_events, *moved_events]:
            text = json.dumps(envelope.model_dump(mode="json"))
            assert token not in text
            assert "Victor Hugo" not in text
