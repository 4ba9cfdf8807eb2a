"""The sealed evidence report end to end on the real components (RabbitMQ, SeaweedFS, the dev
mailbox, a real RFC 3161 TSA with `openssl ts`): an act is served and read; audit journals its
events and its checkpoint is timestamped by the TSA; the report validates with pyHanko's
validator against the platform's seal root and the TSA (its document timestamp included), its
attachment is the JSON evidence, and each record's receipt verifies offline against the
timestamped checkpoint (`securact-audit verify-receipt --timestamp`)."""

from __future__ import annotations

import base64
import io
import json
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from audit import cli as audit_cli
from delivery.seal import asn1_certificate
from tests.fixtures.seaweed import S3Server
from tests.fixtures.tsa import LocalTsa
from tests.integration.consent.flow import login, office_token
from tests.integration.consent.support import ready_bucket
from tests.support.services import eventually, running
from tests.support.stack import Mailbox, active_declaration, bearer, mail_to, serving_stack
from tests.unit.delivery.support import metadata, multipart, pdf


async def test_a_read_acts_sealed_report_validates_and_its_receipts_are_timestamped(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server, tsa: LocalTsa
) -> None:
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        stack = serving_stack(
            tmp_path,
            bus_prefix,
            s3_server,
            box,
            checkpoint_every=3600,
            audit_extra={"tsa_url": tsa.url, "tsa_chain_file": tsa.chain_file},
            tsa_url=tsa.url,
            tsa_chain_file=tsa.chain_file,
        )
        async with (
            running(stack.identity) as identity_client,
            running(stack.consent) as consent_client,
            running(stack.notify),
            running(stack.audit) as audit_client,
            running(stack.delivery) as delivery_client,
        ):
            await ready_bucket(stack.consent)
            await ready_bucket(stack.delivery)
            office = bearer(
                await office_token(
                    stack.identity,
                    identity_client,
                    ("registry:write", "registry:read", "acts:write", "acts:read"),
                )
            )
            declaration_id, activated = await active_declaration(
                consent_client, identity_client, box, office
            )

            async def delivery_knows_consent() -> bool:
                row = await stack.delivery.state.runtime.store.get("declarations", declaration_id)
                return row is not None and row.get("status") == "active" and bool(row["email"])

            await eventually(delivery_knows_consent, within=30)
            document = pdf(30_000, seed=b"e2e-pdf")
            body, kind = multipart(metadata(declaration_id), document)
            served = await delivery_client.post(
                "/v1/acts",
                content=body,
                headers={"Content-Type": kind, "Idempotency-Key": "e2e-pdf", **office},
            )
            assert served.status_code == 201, served.text
            act_id = served.json()["id"]
            await mail_to(box, "Un acte vous a été signifié")
            stack.clock.advance(timedelta(minutes=7))
            person = bearer(
                (await login(identity_client, str(activated["identifier"])))["access_token"]
            )
            read = await delivery_client.get(f"/v1/inbox/{act_id}/content", headers=person)
            assert read.content == document

            async def handover_journaled() -> bool:
                found = await audit_client.get("/v1/entries", params={"subject": f"act:{act_id}"})
                return any("act-handed-over" in e["type"] for e in found.json()["entries"])

            await eventually(handover_journaled, within=30)
            await stack.audit.state.checkpoints.sign_if_grown()
            await stack.audit.state.evidence.run()  # the TSA's token over the new checkpoint

            evidence = (
                await delivery_client.get(f"/v1/acts/{act_id}/evidence", headers=office)
            ).json()
            records = evidence["evidence"]
            assert all(r["receipt"] and r["checkpoint_timestamp"] for r in records), records
            report = await delivery_client.get(f"/v1/acts/{act_id}/evidence.pdf", headers=office)
            assert report.status_code == 200, report.text

            # pyHanko's own validator, with the published seal root and the TSA's root pinned.
            published = (await delivery_client.get("/v1/evidence/keys")).json()
            seal_root = x509.load_pem_x509_certificate(published["seal_chain"][-1].encode())
            tsa_context = ValidationContext(
                trust_roots=[asn1_certificate(tsa.ca)], allow_fetching=False
            )
            reader = PdfFileReader(io.BytesIO(report.content))
            status = await async_validate_pdf_signature(
                reader.embedded_regular_signatures[0],
                signer_validation_context=ValidationContext(
                    trust_roots=[asn1_certificate(seal_root)], allow_fetching=False
                ),
                ts_validation_context=tsa_context,
            )
            assert status.bottom_line, status.pretty_print_details()
            stamp = await async_validate_pdf_timestamp(
                reader.embedded_timestamp_signatures[-1], validation_context=tsa_context
            )
            assert stamp.intact
            assert stamp.valid
            assert stamp.trusted
            assert stamp.coverage is SignatureCoverageLevel.ENTIRE_FILE
            names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
            attached = json.loads(names[1].get_object()["/EF"]["/F"].get_object().data)
            assert attached["evidence"] == records

            # Each receipt, offline, against the TSA-timestamped checkpoint.
            log_keys = (await audit_client.get("/v1/verifier-keys")).text.split()
            for record in records:
                index = record["journal_index"]
                (tmp_path / f"receipt-{index}").write_text(record["receipt"])
                token = base64.b64decode(record["checkpoint_timestamp"])
                (tmp_path / f"stamp-{index}.tsr").write_bytes(token)
                out = io.StringIO()
                argv = ["verify-receipt", "--receipt", str(tmp_path / f"receipt-{index}")]
                argv += [a for k in log_keys for a in ("--public-key", k)]
                argv += ["--timestamp", str(tmp_path / f"stamp-{index}.tsr")]
                argv += ["--tsa-chain", str(tsa.chain_file)]
                assert audit_cli.main(argv, out) == 0, out.getvalue()
                assert "checkpoint timestamped at" in out.getvalue()
        await stack.audit_http.aclose()
    finally:
        box.stop()
