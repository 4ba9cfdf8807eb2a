"""Consent and identity together on the real bus: the acceptance flow with the activation link
taken from identity's outbox (the end-to-end test reads it from the dev mailbox instead), and
no log line names the person."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import PERSONAL, Parties, consent_for, run_consent_flow
from tests.integration.consent.support import assert_nothing_personal_logged
from tests.integration.identity.support import identity_app, outbox_envelopes
from tests.support.services import running


async def test_registration_to_active_to_revoked_through_identity(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    identity = identity_app(tmp_path / "identity", bus_prefix)
    consent = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity)

    async def link_from_outbox(account_id: str) -> str:
        links = [
            e.payload["activation_url"]
            for e in await outbox_envelopes(identity, "identity.activation-link-issued.v1")
            if e.payload["account_id"] == account_id
        ]
        assert links, "identity issued no activation link"
        return str(links[-1])

    async with running(identity) as identity_client, running(consent) as consent_client:
        await run_consent_flow(
            Parties(identity, identity_client, consent, consent_client), link_from_outbox
        )
    assert_nothing_personal_logged(caplog.records, PERSONAL)
