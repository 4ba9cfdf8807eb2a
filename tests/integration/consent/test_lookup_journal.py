"""A registry lookup as audit journals it, over the real bus: the consulting office reads its own
lookup's payload and never the payloads of the declaration it found (the registering office's
and the person's: e-mail, mobile)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from audit.main import create_app as create_audit
from audit.settings import Settings as AuditSettings
from shared.clock import SystemClock
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.support import consent_app, ready_bucket
from tests.support.services import eventually, running, service_env
from tests.support.tokens import TokenSigner
from tests.unit.consent.support import (
    BIRTH,
    EMAIL,
    NATURAL_FILES,
    NOM,
    PRENOMS,
    Tokens,
    multipart_body,
    natural_declaration,
)


async def _entries(audit: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await audit.get("/v1/entries", params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


async def test_the_consulting_office_reads_its_lookup_in_audit_not_the_declaration(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    clock = SystemClock()
    tokens = Tokens(clock)
    auditor = TokenSigner(clock, "audit")
    consent = consent_app(tmp_path, bus_prefix, s3_server, token_verifier=tokens.verifier())
    audit = create_audit(
        AuditSettings(
            **service_env(tmp_path / "audit", bus_prefix),
            kek_file=tmp_path / "audit-kek.json",
            signing_key_file=tmp_path / "audit-signing.json",
        ),
        token_verifier=auditor.verifier(),
    )
    async with running(audit) as journal, running(consent) as client:
        await ready_bucket(consent)
        body, content_type = multipart_body(natural_declaration(clock.now().date()), NATURAL_FILES)
        created = await client.post(
            "/v1/declarations",
            content=body,
            headers={"Content-Type": content_type, **tokens.office("etude-1")},
        )
        assert created.status_code == 201, created.text
        declaration = f"declaration:{created.json()['id']}"
        lookup = {
            "nom": NOM,
            "prenoms": PRENOMS,
            "date_naissance": BIRTH.isoformat(),
            "purpose": "dossier 2031-55",
        }
        found = await client.post(
            "/v1/registry/search", json=lookup, headers=tokens.office("etude-2")
        )
        assert found.json()["found"] is True

        async def journaled() -> bool:
            return bool(await _entries(journal, subject=declaration)) and bool(
                await _entries(journal, type="consent.registry-consulted.v1")
            )

        await eventually(journaled, within=30)
        [registered] = await _entries(
            journal, subject=declaration, type="consent.declaration-registered.v1"
        )
        [consulted] = await _entries(journal, type="consent.registry-consulted.v1")

        def office(office_id: str) -> dict[str, str]:
            return auditor.bearer(sub=f"client-{office_id}", role="office", office_id=office_id)

        seen_by_consulter = await journal.get(
            f"/v1/entries/{registered['index']}", headers=office("etude-2")
        )
        assert seen_by_consulter.json()["payload_state"] == "withheld"
        assert EMAIL not in seen_by_consulter.text
        own_lookup = await journal.get(
            f"/v1/entries/{consulted['index']}", headers=office("etude-2")
        )
        assert own_lookup.json()["payload"]["office_id"] == "etude-2"
        assert own_lookup.json()["payload"]["declaration_id"] == created.json()["id"]
        seen_by_registrar = await journal.get(
            f"/v1/entries/{registered['index']}", headers=office("etude-1")
        )
        assert seen_by_registrar.json()["payload"]["email"] == EMAIL
        assert (
            consulted["subject"]
            == f"registry-lookup:{own_lookup.json()['payload']['consultation_id']}"
        )
