"""The registry's lookup limit set in consent's settings, shared by two replicas of consent on
one store (the same SQLite file), over the real bus: what one counts, the other refuses."""

from __future__ import annotations

from pathlib import Path

from consent.main import create_app
from shared.clock import SystemClock
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.support import consent_settings, outbox_envelopes
from tests.support.services import running
from tests.unit.consent.support import Tokens

LOOKUP = {"siren": "732829320", "purpose": "dossier 2031-90"}


async def test_two_replicas_share_an_offices_lookups_per_minute(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    settings = consent_settings(tmp_path, bus_prefix, s3_server, lookups_per_office_per_minute=2)
    tokens = Tokens(SystemClock())
    first = create_app(settings, token_verifier=tokens.verifier())
    second = create_app(settings, token_verifier=tokens.verifier())
    office = tokens.office("etude-9")
    async with running(first) as one, running(second) as two:
        assert (await one.post("/v1/registry/search", json=LOOKUP, headers=office)).is_success
        assert (await two.post("/v1/registry/search", json=LOOKUP, headers=office)).is_success
        for replica in (one, two):
            refused = await replica.post("/v1/registry/search", json=LOOKUP, headers=office)
            assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert 0 < int(refused.headers["retry-after"]) <= 60
        journaled = await outbox_envelopes(first, "consent.registry-consulted.v1")
        assert len(journaled) == 2
        assert {e.subject.split(":")[0] for e in journaled} == {"registry-lookup"}
