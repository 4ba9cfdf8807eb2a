"""Erasure end to end on the real components: an account with two served acts is terminated →
until the due date the recipient still downloads (and may not reply) → the shared manual clock
jumps past two months and the scheduler fires → delivery crypto-shreds the acts, identity purges
the contacts, audit shreds the subjects' keys → retention issues the certificate → notify
e-mails it to the dev mailbox, its download link fetched from retention when sent → it verifies
offline with the platform's public key; the link's token is in no event and no journal payload.

Real RabbitMQ, SeaweedFS and dev mailbox; identity, consent, notify, audit, delivery and
retention apps in this process. Delivery and retention share one manual clock (identity,
consent, notify and audit run on the real one).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from audit.service import JOURNAL
from audit.vault import PayloadState
from retention.certificate import verify_certificate
from retention.domain import Purpose
from retention.main import create_app as create_retention
from retention.repository import SCHEDULES
from retention.service import Retention
from retention.settings import Settings as RetentionSettings
from shared.crypto import VerifierKey
from shared.messaging.outbox import OUTBOX
from shared.store.port import from_iso
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.integration.consent.flow import login, office_token
from tests.integration.consent.support import ready_bucket
from tests.support.services import eventually, running, service_env
from tests.support.stack import (
    Mailbox,
    active_declaration,
    bearer,
    bring_first_terms_into_force,
    mail_to,
    serving_stack,
    verifier_for,
)
from tests.unit.delivery.support import metadata, multipart, pdf

CERTIFICATE_PATH = re.compile(r"/v1/certificates/[^\s\"'<>]+\.pdf")


@pytest.mark.slow
async def test_terminated_account_acts_readable_two_months_then_erased_and_certified(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:

    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        stack = serving_stack(tmp_path, bus_prefix, s3_server, box, checkpoint_every=0.5)
        identity, consent, notify = stack.identity, stack.consent, stack.notify
        audit, delivery, clock, audit_http = (
            stack.audit,
            stack.delivery,
            stack.clock,
            stack.audit_http,
        )
        retention_settings = RetentionSettings(
            **service_env(tmp_path / "retention", bus_prefix),
            kek_file=tmp_path / "retention-kek.json",
            signing_key_file=tmp_path / "retention-signing.json",
            s3_endpoint=s3_server.endpoint,
            s3_access_key=SecretStr(s3_server.access_key),
            s3_secret_key=SecretStr(s3_server.secret_key),
            s3_bucket=random_bucket_name(),
            scheduler_interval_seconds=3600,  # the test fires the scheduler itself
            receipt_attempts=8,
            receipt_retry_seconds=0.5,
        )
        retention_app = create_retention(
            retention_settings,
            clock=clock,
            audit_http=audit_http,
            token_verifier=verifier_for(identity, "retention"),
        )
        retention: Retention = retention_app.state.retention
        # Notify fetches the certificate's link from retention when it sends the e-mail.
        stack.retention.app = retention_app
        async with (
            running(identity) as identity_client,
            running(consent) as consent_client,
            running(notify),
            running(audit),
            running(delivery) as delivery_client,
            running(retention_app) as retention_client,
        ):
            await ready_bucket(consent)
            await ready_bucket(delivery)
            await ready_bucket(retention_app)
            await bring_first_terms_into_force(retention_app, clock)
            office = bearer(
                await office_token(
                    identity,
                    identity_client,
                    ("registry:write", "registry:read", "acts:write", "acts:read"),
                )
            )

            declaration_id, activated = await active_declaration(
                consent_client, identity_client, box, office
            )
            identifier = str(activated["identifier"])

            async def delivery_knows_consent() -> bool:
                row = await delivery.state.runtime.store.get("declarations", declaration_id)
                return row is not None and row.get("status") == "active" and bool(row["email"])

            await eventually(delivery_knows_consent, within=30)

            # Two acts served to the person.
            documents: dict[str, bytes] = {}
            for n in (1, 2):
                document = pdf(20_000, seed=f"act-{n}".encode())
                act_body, act_type = multipart(metadata(declaration_id), document)
                served = await delivery_client.post(
                    "/v1/acts",
                    content=act_body,
                    headers={"Content-Type": act_type, "Idempotency-Key": f"r-{n}", **office},
                )
                assert served.status_code == 201, served.text
                documents[served.json()["id"]] = document

            async def retention_saw_both() -> bool:
                return bool(await retention_app.state.runtime.store.count("served_acts") == 2)

            await eventually(retention_saw_both, within=30)

            # The person terminates the account.
            person = bearer((await login(identity_client, identifier))["access_token"])
            terminated = await identity_client.post(
                "/v1/me/termination", json={"confirm": True}, headers=person
            )
            assert terminated.status_code == 200, terminated.text
            account_id = str(activated.get("account_id") or "")

            erasures = {"purpose": Purpose.ACCOUNT_ERASURE.value}

            async def scheduled() -> bool:
                return bool(await retention_app.state.runtime.store.count(SCHEDULES, erasures))

            await eventually(scheduled, within=30)
            [schedule] = await retention_app.state.runtime.store.find(SCHEDULES, erasures)
            due = from_iso(schedule["due_at"])
            account_id = account_id or str(schedule["data"]["account_id"])

            # Before the due date: still downloadable, but no reply.
            clock.set(due - timedelta(days=1))
            assert (await retention.schedules.run_due()).fired == 0
            person = bearer((await login(identity_client, identifier))["access_token"])
            act_ids = sorted(documents)
            for act_id in act_ids:
                download = await delivery_client.get(f"/v1/inbox/{act_id}/content", headers=person)
                assert download.status_code == 200, download.text
                assert download.content == documents[act_id]
            reply_body, reply_type = multipart({}, pdf(2_000, seed=b"reply"))
            refused = await delivery_client.post(
                f"/v1/inbox/{act_ids[0]}/replies",
                content=reply_body,
                headers={"Content-Type": reply_type, **person},
            )
            assert refused.status_code == 403, refused.text

            # What erasure must remove: each act's object in S3 and its wrapped DEK.
            vault = delivery.state.delivery.ctx.acts_vault
            delivery_store = delivery.state.runtime.store
            objects = delivery.state.runtime.objects
            # In delivery's acts vault an act's object id is the act id.
            stored = [(vault.keys_collection, act_id) for act_id in act_ids]
            for keys, object_id in stored:
                assert await delivery_store.get(keys, object_id) is not None
                assert await objects.exists(vault.object_key(object_id))

            # Past the due date: the scheduler fires, the participants confirm.
            clock.set(due + timedelta(minutes=1))
            assert (await retention.schedules.run_due()).fired == 1
            mail = await mail_to(box, "Certificat")

            for keys, object_id in stored:
                assert await delivery_store.get(keys, object_id) is None
                assert not await objects.exists(vault.object_key(object_id))
            for act_id in act_ids:
                gone = await delivery_client.get(f"/v1/inbox/{act_id}/content", headers=person)
                assert gone.status_code == 410, gone.text
                assert "act-erased" in gone.text

            # The certificate, from the link in the e-mail, verifies with the platform key.
            found = CERTIFICATE_PATH.search(f"{mail.get('Text', '')}\n{mail.get('HTML', '')}")
            assert found is not None
            pdf_file = await retention_client.get(found.group(0))
            assert pdf_file.status_code == 200
            signed = await retention_client.get(found.group(0).removesuffix(".pdf") + ".json")
            # With the keys retention publishes, as anyone holding the files would.
            published = await retention_client.get("/v1/certificates/keys")
            assert published.status_code == 200
            trusted = [VerifierKey.from_string(k) for k in published.json()["keys"]]
            certified = verify_certificate(signed.content, trusted, pdf_file.content)
            assert sorted(a["act_id"] for a in certified["acts"]) == act_ids
            assert certified["account_id"] == account_id
            assert {s["participant"] for s in certified["steps"]} == {
                "delivery",
                "audit",
                "identity",
            }
            steps = {s["event_id"] for s in certified["steps"]}
            # Audit checkpoints every half second here: the certificate waited for them all.
            assert certified["missing_receipts"] == []
            assert {r["event_id"] for r in certified["audit_receipts"]} == steps

            # Its fingerprint is on record in audit under the erasure's own subject, still
            # readable after the account's payloads were shredded.
            audit_store = audit.state.runtime.store
            certified_type = {"type": "retention.erasure-certified.v1"}

            async def certified_journaled() -> bool:
                return bool(await audit_store.count(JOURNAL, certified_type))

            await eventually(certified_journaled, within=30)
            [entry] = await audit_store.find(JOURNAL, certified_type)
            opened = await audit.state.journal.payload(entry)
            assert opened.state is PayloadState.AVAILABLE
            assert opened.record is not None
            fingerprint = json.loads(signed.content)["fingerprint"]
            assert opened.record["payload"]["fingerprint"] == fingerprint

            # The link's token, a credential, is in no event: neither in what retention
            # published (the bus, hence the journal) nor in any payload audit journaled, nor
            # kept by notify once the e-mail went.
            token = found.group(0).rsplit("/", 1)[1].removesuffix(".pdf")
            published = await retention_app.state.runtime.store.find(OUTBOX)
            issued = [
                row["envelope"]
                for row in published
                if row["envelope"]["type"].startswith("retention.erasure-certificate-issued.")
            ]
            assert [envelope["type"] for envelope in issued] == [
                "retention.erasure-certificate-issued.v2"
            ]
            assert token not in json.dumps(published, default=str)
            journaled = []
            for journal_entry in await audit_store.find(JOURNAL):
                payload = await audit.state.journal.payload(journal_entry)
                journaled.append([journal_entry, payload.record])
            assert len(journaled) > 20
            assert token not in json.dumps(journaled, default=str)
            notify_store = notify.state.runtime.store
            kept = [await notify_store.find(name) for name in ("notifications", OUTBOX)]
            assert token not in json.dumps(kept, default=str)
        await audit_http.aclose()
    finally:
        box.stop()
