"""Consent and identity together on the real bus: the acceptance flow with the activation link
taken from identity's outbox (the end-to-end test reads it from the dev mailbox instead), and
no log line names the person."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import (
    LOOKUP,
    PERSONAL,
    Parties,
    consent_for,
    office_token,
    run_consent_flow,
)
from tests.integration.consent.support import assert_nothing_personal_logged, ready_bucket
from tests.integration.identity.support import (
    activation_url,
    identity_app,
    operator_token,
)
from tests.support.services import running
from tests.unit.consent.support import NATURAL_FILES, multipart_body, natural_declaration


async def test_registration_to_active_to_revoked_through_identity(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    identity = identity_app(tmp_path / "identity", bus_prefix)
    consent = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity)

    async def link_from_outbox(account_id: str) -> str:
        return await activation_url(identity, account_id)

    async with running(identity) as identity_client, running(consent) as consent_client:
        await run_consent_flow(
            Parties(identity, identity_client, consent, consent_client), link_from_outbox
        )
    assert_nothing_personal_logged(caplog.records, PERSONAL)


async def test_a_judicial_authority_registered_by_an_operator_reads_the_registry(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    identity = identity_app(tmp_path / "identity", bus_prefix)
    consent = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity)
    async with running(identity) as identity_client, running(consent) as consent_client:
        await ready_bucket(consent)
        office = {"Authorization": f"Bearer {await office_token(identity, identity_client)}"}
        body, content_type = multipart_body(
            natural_declaration(consent.state.runtime.clock.now().date()), NATURAL_FILES
        )
        created = await consent_client.post(
            "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
        )
        assert created.status_code == 201, created.text

        operator = {
            "Authorization": f"Bearer {await operator_token(identity, identity_client, 'OPS9')}"
        }
        registered = await identity_client.post(
            "/v1/judicial-clients",
            json={"authority_name": "Tribunal judiciaire de Lyon"},
            headers=operator,
        )
        assert registered.status_code == 201, registered.text
        client = registered.json()
        issued = await identity_client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
        )
        assert issued.status_code == 200, issued.text
        judge = {"Authorization": f"Bearer {issued.json()['access_token']}"}

        found = await consent_client.post("/v1/registry/search", json=LOOKUP, headers=judge)
        assert found.status_code == 200, found.text
        assert found.json()["declaration_id"] == created.json()["id"]
        # Registry lookups only: no declaration may be written with that token.
        refused = await consent_client.post(
            "/v1/declarations", content=body, headers={"Content-Type": content_type, **judge}
        )
        assert refused.status_code == 403
        # An office may not register a judicial client.
        not_operator = await identity_client.post(
            "/v1/judicial-clients", json={"authority_name": "x"}, headers=office
        )
        assert not_operator.status_code == 403
