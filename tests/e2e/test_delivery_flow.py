"""An act end to end on the real components: an office registers a declaration at consent →
the activation e-mail reaches the dev mailbox → activation → CGU accepted → the office, with
identity's client-credentials token, serves an act → the act-served e-mail reaches the dev
mailbox → the recipient downloads it the same legal day → at the end of that day the service
is finalised *à personne* → the evidence set, with audit receipts, verifies offline. A second
act left unread is finalised *à domicile*: its evidence holds no `RelayToNonERDS` until the
office declares the lettre simple posted, then it does and verifies offline.

Real RabbitMQ, SeaweedFS and dev mailbox (a subprocess); identity, consent, notify, audit and
delivery apps in this process. Delivery runs on a manual clock set inside the next CPC 664
window, so the test does not depend on the hour it runs at.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from delivery.cli import main as delivery_cli
from delivery.evidence import verify_evidence_set
from shared.crypto import VerifierKey
from shared.store.port import from_iso
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import login, office_token
from tests.integration.consent.support import ready_bucket, registry_of
from tests.support.services import eventually, running
from tests.support.stack import (
    Mailbox,
    active_declaration,
    bearer,
    mail_to,
    serving_stack,
)
from tests.unit.delivery.support import metadata, multipart, pdf


@pytest.mark.slow
async def test_act_served_read_same_day_and_proven_end_to_end(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:

    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        stack = serving_stack(tmp_path, bus_prefix, s3_server, box, checkpoint_every=3600)
        identity, consent, notify = stack.identity, stack.consent, stack.notify
        audit, delivery, clock, audit_http = (
            stack.audit,
            stack.delivery,
            stack.clock,
            stack.audit_http,
        )
        async with (
            running(identity) as identity_client,
            running(consent) as consent_client,
            running(notify),
            running(audit) as audit_client,
            running(delivery) as delivery_client,
        ):
            await ready_bucket(consent)
            await ready_bucket(delivery)
            office = bearer(
                await office_token(
                    identity,
                    identity_client,
                    ("registry:write", "registry:read", "acts:write", "acts:read"),
                )
            )

            # Declaration → activation (link from the dev mailbox) → CGU accepted.
            declaration_id, activated = await active_declaration(
                consent_client, identity_client, box, office
            )
            identifier = str(activated["identifier"])
            assert await registry_of(consent).get(declaration_id) is not None

            async def delivery_knows_consent() -> bool:
                row = await delivery.state.runtime.store.get("declarations", declaration_id)
                return row is not None and row.get("status") == "active" and bool(row["email"])

            await eventually(delivery_knows_consent, within=30)

            # The office serves an act; the notice reaches the person's mailbox.
            document = pdf(50_000, seed=b"e2e")
            act_body, act_type = multipart(metadata(declaration_id), document)
            served = await delivery_client.post(
                "/v1/acts",
                content=act_body,
                headers={"Content-Type": act_type, "Idempotency-Key": "e2e-1", **office},
            )
            assert served.status_code == 201, served.text
            act_id = served.json()["id"]
            await mail_to(box, "Un acte vous a été signifié")
            # A second act the person will not read that day.
            unread_body, unread_type = multipart(metadata(declaration_id), pdf(20_000, b"e2e-2"))
            unread = await delivery_client.post(
                "/v1/acts",
                content=unread_body,
                headers={"Content-Type": unread_type, "Idempotency-Key": "e2e-2", **office},
            )
            assert unread.status_code == 201, unread.text
            unread_id = unread.json()["id"]

            # The recipient reads it the same legal day, a little later.
            clock.advance(timedelta(minutes=7))
            person = bearer((await login(identity_client, identifier))["access_token"])
            download = await delivery_client.get(f"/v1/inbox/{act_id}/content", headers=person)
            assert download.status_code == 200, download.text
            assert download.content == document

            # End of the sending day (legal time): the service is finalised à personne.
            act = await delivery.state.runtime.store.get("acts", act_id)
            clock.set(from_iso(act["finalise_after"]) + timedelta(seconds=1))
            assert await delivery.state.delivery.handover.finalise_due() == 2
            view = (await delivery_client.get(f"/v1/acts/{act_id}", headers=office)).json()
            assert view["quality"] == "a_personne"

            # À domicile: the office is asked to post the lettre simple; the evidence says
            # the letter was relayed only once the office declares it posted (CPC 662-1).
            keys = (await delivery_client.get("/v1/evidence/keys")).json()["keys"]
            verifiers = [VerifierKey.from_string(k) for k in keys]
            unread_path = f"/v1/acts/{unread_id}/evidence"
            pending = (await delivery_client.get(unread_path, headers=office)).json()
            pending_types = verify_evidence_set(pending, verifiers)
            assert "LettreSimpleTaskIssued" in pending_types
            assert "RelayToNonERDS" not in pending_types
            posted_on = clock.now().astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
            letter = await delivery_client.post(
                f"/v1/acts/{unread_id}/lettre-simple",
                json={"posted_on": posted_on, "tracking_reference": "1L00000000001"},
                headers=office,
            )
            assert letter.status_code == 201, letter.text
            relayed = (await delivery_client.get(unread_path, headers=office)).json()
            assert "RelayToNonERDS" in verify_evidence_set(relayed, verifiers)
            relayed_file = tmp_path / "relayed.json"
            relayed_file.write_text(json.dumps(relayed))
            verify = ["verify-evidence", str(relayed_file), "--public-key", keys[0]]
            assert delivery_cli(verify) == 0

            # Evidence with audit receipts, verified offline with the platform key.
            async def all_journaled() -> bool:
                found = await audit_client.get("/v1/entries", params={"subject": f"act:{act_id}"})
                types = {e["type"] for e in found.json()["entries"]}
                return "delivery.service-quality-determined.v1" in types

            await eventually(all_journaled, within=30)
            await audit.state.checkpoints.sign_if_grown()
            evidence = (
                await delivery_client.get(f"/v1/acts/{act_id}/evidence", headers=office)
            ).json()
            keys = (await delivery_client.get("/v1/evidence/keys")).json()["keys"]
            types = verify_evidence_set(evidence, [VerifierKey.from_string(k) for k in keys])
            # As a set: notify stamps its notice on the real clock, delivery runs on a manual
            # one set ahead, so their instants do not interleave as in production.
            assert set(types) == {
                "SubmissionAcceptance",
                "ContentConsignment",
                "ConsignmentNotification",
                "ContentHandover",
                "ServiceQualityDetermination",
            }
            assert all(record["receipt"] for record in evidence["evidence"]), [
                r["receipt_reason"] for r in evidence["evidence"]
            ]
            saved = tmp_path / "evidence.json"
            saved.write_text(json.dumps(evidence))
            assert delivery_cli(["verify-evidence", str(saved), "--public-key", keys[0]]) == 0
        await audit_http.aclose()
    finally:
        box.stop()
