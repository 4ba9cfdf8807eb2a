"""An act's evidence carries, per record, the audit receipt of the event it rests
on — from a real audit app journaling delivery's events off the real bus — and degrades to
`receipt: null` with a reason, never an error, while audit is behind or unreachable."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from audit.main import create_app as create_audit
from audit.settings import Settings as AuditSettings
from delivery import cli
from shared.clock import SystemClock
from tests.fixtures.seaweed import S3Server
from tests.integration.delivery.test_delivery_service import (
    PARIS_TUESDAY_10H,
    give_consent,
    offset_to,
    post,
    ready,
    settings,
)
from tests.support.consent_registry import delivery_on_events
from tests.support.services import eventually, running, service_env
from tests.unit.delivery.support import Tokens, pdf


async def test_evidence_records_carry_audit_receipts_once_checkpointed(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    tokens = Tokens(SystemClock())
    audit_app = create_audit(
        AuditSettings(
            **service_env(tmp_path / "audit", bus_prefix),
            kek_file=tmp_path / "audit-kek.json",
            signing_key_file=tmp_path / "audit-signing.json",
            # Checkpoints are signed by this test, not by the background job.
            checkpoint_interval_seconds=3600,
        )
    )
    async with running(audit_app) as audit:
        audit_http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=audit_app), base_url="http://audit"
        )
        delivery_app = delivery_on_events(
            settings(
                tmp_path / "delivery",
                bus_prefix,
                s3_server,
                clock_offset_seconds=offset_to(PARIS_TUESDAY_10H),
            ),
            token_verifier=tokens.verifier(),
            audit_http=audit_http,
        )
        async with running(delivery_app) as delivery:
            await give_consent(bus_prefix, "decl-int", "acc-int")
            await ready(delivery_app, "decl-int")
            served = await post(delivery, tokens, "receipts", pdf(20_000))
            assert served.status_code == 201, served.text
            act_id = served.json()["id"]

            async def journaled() -> bool:
                found = await audit.get("/v1/entries", params={"subject": f"act:{act_id}"})
                return any(e["type"] == "delivery.act-served.v3" for e in found.json()["entries"])

            await eventually(journaled, within=20)
            office = tokens.office()
            before = (await delivery.get(f"/v1/acts/{act_id}/evidence", headers=office)).json()
            assert {r["receipt_reason"] for r in before["evidence"]} == {"not-yet-checkpointed"}
            assert all(r["receipt"] is None for r in before["evidence"])

            await audit_app.state.checkpoints.sign_if_grown()
            after = (await delivery.get(f"/v1/acts/{act_id}/evidence", headers=office)).json()
            assert [r["type"] for r in after["evidence"]] == [
                "SubmissionAcceptance",
                "ContentConsignment",
            ]
            for record in after["evidence"]:
                assert record["receipt_reason"] is None
                index = record["journal_index"]
                entry = (await audit.get(f"/v1/entries/{index}")).json()
                assert entry["event_id"] == record["event_id"]
                assert record["receipt"] == (await audit.get(f"/v1/receipts/{index}")).text
                assert f"index {index}" in record["receipt"]

            keys = (await delivery.get("/v1/evidence/keys")).json()["keys"]
            saved = tmp_path / "evidence.json"
            saved.write_text(json.dumps(after))
            assert cli.main(["verify-evidence", str(saved), "--public-key", keys[0]]) == 0
            # The receipts are under the set's signature: changing one is detected.
            after["evidence"][0]["receipt"] = "forged"
            saved.write_text(json.dumps(after))
            assert cli.main(["verify-evidence", str(saved), "--public-key", keys[0]]) == 1
        await audit_http.aclose()


async def test_evidence_is_served_with_null_receipts_when_audit_is_unreachable(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    tokens = Tokens(SystemClock())
    closed = httpx.AsyncClient(base_url="http://127.0.0.1:9", timeout=1.0)
    app = delivery_on_events(
        settings(
            tmp_path, bus_prefix, s3_server, clock_offset_seconds=offset_to(PARIS_TUESDAY_10H)
        ),
        token_verifier=tokens.verifier(),
        audit_http=closed,
    )
    async with running(app) as delivery:
        await give_consent(bus_prefix, "decl-int", "acc-int")
        await ready(app, "decl-int")
        served = await post(delivery, tokens, "no-audit", pdf(5_000))
        act_id = served.json()["id"]
        response = await delivery.get(f"/v1/acts/{act_id}/evidence", headers=tokens.office())
        assert response.status_code == 200
        records = response.json()["evidence"]
        assert {(r["receipt"], r["receipt_reason"]) for r in records} == {
            (None, "audit-unreachable")
        }
    await closed.aclose()
