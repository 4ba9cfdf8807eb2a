"""The evidence report's seal and its offline verification, against a real RFC 3161 TSA
(`openssl ts` on loopback) and the dev seal (a local test CA): pyHanko's own validator accepts
the seal and the document timestamp against the pinned roots; any changed byte is named."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from delivery.acts import Act
from delivery.domain import Declaration
from delivery.evidence import EvidenceSigner, EvidenceType
from delivery.report_pdf import evidence_bytes, render_report
from delivery.seal import ReportSealer, ReportVerificationError, asn1_certificate, verify_report
from shared.clock import SystemClock
from shared.crypto import VerifierKey
from shared.crypto.seal import load_or_create_dev_seal, make_dev_seal
from shared.crypto.signing import load_or_create_signing_ring
from shared.timestamps import timestamp_request
from tests.fixtures.tsa import LocalTsa

SERVED = datetime(2031, 4, 8, 14, 0, tzinfo=UTC)


def act() -> Act:
    return Act.model_validate(
        {
            "_id": "01JREPORT",
            "status": "served",
            "office_id": "etude-1",
            "office_name": "SCP Martin & Associés, commissaires de justice",
            "office_email": "etude@example.org",
            "office_territory": "guadeloupe",
            "office_client": "client-etude-1",
            "declaration_id": "decl-1",
            "recipient_account_id": "acc-1",
            "recipient_territory": "guadeloupe",
            "nature": "commandement_payer",
            "title": "Commandement de payer aux fins de saisie-vente",
            "requester_name": "SA Banque des Antilles",
            "office_reference": "2031/0042",
            "filename": "acte.pdf",
            "sha256": "ab" * 32,
            "size": 123_456,
            "submitted_at": SERVED,
            "served_at": SERVED,
        }
    )


async def sealed_report(tmp_path: Path, tsa: LocalTsa) -> tuple[bytes, ReportSealer, list[str]]:
    signer = EvidenceSigner(load_or_create_signing_ring(tmp_path / "s.json", "e", SystemClock()))
    the_act = act()
    steps = [
        (EvidenceType.SUBMISSION_ACCEPTANCE, {}),
        (EvidenceType.CONTENT_CONSIGNMENT, {}),
        (
            EvidenceType.CONSIGNMENT_NOTIFICATION,
            {"channel": "email", "recipient_masked": "d***@e***.org"},
        ),
        (EvidenceType.CONTENT_HANDOVER, {}),
        (EvidenceType.QUALITY_DETERMINATION, {"quality": "a_personne"}),
    ]
    # The checkpoint holding the receipts, timestamped by the real TSA (shown beside each receipt).
    token = base64.b64encode(tsa.reply(timestamp_request(b"checkpoint note")[0])).decode()
    records = []
    for number, (kind, details) in enumerate(steps):
        record = await signer.record(
            evidence_id=f"ev-{number}",
            kind=kind,
            act_id=the_act.id,
            act_sha256=the_act.sha256,
            instant=SERVED + timedelta(minutes=7 * number),
            actors={},
            details=details,
        )
        records.append(
            {
                **record,
                "journal_index": 40 + number,
                "receipt": "…",
                "receipt_reason": None,
                "checkpoint_timestamp": token if number < 4 else None,
            }
        )
    evidence = await signer.evidence_set(
        the_act.id, the_act.sha256, records, SERVED + timedelta(hours=12)
    )
    declaration = Declaration.model_validate(
        {
            "_id": "decl-1",
            "status": "active",
            "scope": ["commandement_payer"],
            "valid_until": "2032-01-01",
        }
    )
    sealer = ReportSealer(load_or_create_dev_seal(tmp_path / "seal.json", SystemClock()), tsa.url)
    unsigned = render_report(
        the_act,
        declaration,
        evidence,
        evidence_bytes(evidence),
        sealer.identity,
        signer.public_keys,
    )
    return await sealer.seal(unsigned), sealer, signer.public_keys


@pytest.mark.slow
async def test_pyhanko_validates_the_seal_and_the_document_timestamp_against_pinned_roots(
    tmp_path: Path, tsa: LocalTsa
) -> None:
    report, sealer, keys = await sealed_report(tmp_path, tsa)
    (tmp_path / "report.pdf").write_bytes(report)
    reader = PdfFileReader(io.BytesIO(report))
    seal_root = sealer.root
    tsa_context = ValidationContext(trust_roots=[asn1_certificate(tsa.ca)], allow_fetching=False)
    status = await async_validate_pdf_signature(
        reader.embedded_regular_signatures[0],
        signer_validation_context=ValidationContext(trust_roots=[asn1_certificate(seal_root)]),
        ts_validation_context=tsa_context,
    )
    assert status.bottom_line
    assert status.signing_cert.public_key.algorithm == "ec"
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.trusted
    stamp = await async_validate_pdf_timestamp(
        reader.embedded_timestamp_signatures[0], validation_context=tsa_context
    )
    assert stamp.intact
    assert stamp.valid
    assert stamp.trusted
    assert stamp.coverage is SignatureCoverageLevel.ENTIRE_FILE

    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    attached = json.loads(names[1].get_object()["/EF"]["/F"].get_object().data)
    verified = await verify_report(
        report,
        seal_roots=[seal_root],
        tsa_roots=[tsa.ca],
        keys=[VerifierKey.from_string(k) for k in keys],
    )
    assert verified.evidence == attached
    assert verified.types[-1] == "ServiceQualityDetermination"


@pytest.mark.slow
async def test_a_changed_byte_anywhere_is_named(tmp_path: Path, tsa: LocalTsa) -> None:
    report, sealer, keys = await sealed_report(tmp_path, tsa)
    seal_root = sealer.root
    verifiers = [VerifierKey.from_string(k) for k in keys]
    failures = set()
    # Every 40th of the file, and the document timestamp's revision (the file's tail).
    positions = [*range(0, len(report), len(report) // 40), len(report) - 50, len(report) - 30]
    for position in positions:
        tampered = bytearray(report)
        tampered[position] ^= 0x20
        with pytest.raises(ReportVerificationError) as failed:
            await verify_report(
                bytes(tampered), seal_roots=[seal_root], tsa_roots=[tsa.ca], keys=verifiers
            )
        failures.add(failed.value.stage)
    assert failures <= {"format", "signatures", "seal", "document timestamp"}
    assert {"seal", "signatures"} <= failures
    other, _ = make_dev_seal(SystemClock())
    with pytest.raises(ReportVerificationError, match=r"^seal: the certificate"):
        await verify_report(
            report, seal_roots=[other.chain[-1]], tsa_roots=[tsa.ca], keys=verifiers
        )
    with pytest.raises(ReportVerificationError, match=r"^document timestamp"):
        await verify_report(report, seal_roots=[seal_root], tsa_roots=[seal_root], keys=verifiers)


@pytest.mark.slow
async def test_the_fields_of_a_cms_outside_its_signature_are_checked(
    tmp_path: Path, tsa: LocalTsa
) -> None:
    """pyHanko's validator ignores a CMS's unsigned fields: the SignedData's version and its
    digest algorithm list (it uses the SignerInfo's), the SignerInfo's version, the digest
    algorithm's NULL parameters. Changed in the document timestamp's CMS (covered by no other
    signature) they went undetected; they must be what the signer's own fields imply. The
    /Contents padding after the DER value is zeros, checked byte for byte already."""
    report, sealer, keys = await sealed_report(tmp_path, tsa)
    verifiers = [VerifierKey.from_string(k) for k in keys]
    stamp = PdfFileReader(io.BytesIO(report)).embedded_timestamp_signatures[-1]
    _, first, start, _ = (int(v) for v in stamp.byte_range)
    der = bytearray(bytes.fromhex(report[first + 1 : start - 1].decode()))
    signed_data = stamp.signed_data
    signer = stamp.signer_info
    positions = {
        "SignedData version": der.index(signed_data["version"].dump()) + 2,
        "digest algorithm list": der.index(signed_data["digest_algorithms"].dump()) + 4,
        "SignerInfo version": der.index(signer.dump()) + 4 + 2,
        "digest parameters": der.index(signer["digest_algorithm"].dump()) + 13,
    }
    for what, position in positions.items():
        tampered = bytearray(der)
        tampered[position] ^= 0x01
        hexed = tampered.hex().upper().encode()
        changed = report[: first + 1] + hexed + report[start - 1 :]
        with pytest.raises(ReportVerificationError, match=r"^signatures: ") as failed:
            await verify_report(
                changed, seal_roots=[sealer.root], tsa_roots=[tsa.ca], keys=verifiers
            )
        assert failed.value.stage == "signatures", what
