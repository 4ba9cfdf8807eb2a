"""The erasure certificate (CGU §12, R-termination): a JSON document listing what was erased,
signed with the platform's Ed25519 key, and its French PDF rendering.

The signed document holds ids, SHA-256 fingerprints and dates only (no act content, no e-mail).
Its signature is over the RFC 8785 canonical JSON of the document; the *fingerprint* journaled
in `retention.erasure-certificate-issued.v2` is the SHA-256 of those same bytes. The PDF shows
the fingerprint, the key id and the signature, and is itself signed (detached) in the JSON twin,
so either file verifies offline with the platform's published key:

    {"certificate": {...}, "signature": {"alg": "Ed25519", "kid": ..., "value": base64},
     "verifier_key": "<C2SP verifier key>", "pdf": {"sha256": ..., "signature": base64}}
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NotRequired, TypedDict, cast
from zoneinfo import ZoneInfo

from retention.pdf import Line, render_pdf
from retention.receipts import MissingReceipt, Receipt, ReceiptSet
from shared.canonical import canonical_json
from shared.crypto import IntegrityError, SigningKeyRing, VerifierKey
from shared.french import PARIS, french_date, french_datetime

FORMAT: Final = "securact-ng/erasure-certificate/v1"
# The legal basis each certificate states (its erasure's rule, `retention.domain.Purpose`).
ACCOUNT_ERASURE_BASIS: Final = "CGU §12 (résiliation : accès deux mois, puis effacement)"
REGISTRY_PURGE_BASIS: Final = (
    "Décret 2021-1625 art. 21 ; CGU §12 (fin du consentement : destruction cinq ans après)"
)
NEVER_CONSENTED_BASIS: Final = (
    "RGPD art. 5(1)(c) et (e) : aucun consentement n'a existé (CGU refusées ou compte jamais "
    "activé), données détruites sans délai"
)
ALG: Final = "Ed25519"


@dataclass(frozen=True)
class CertifiedAct:
    act_id: str
    sha256: str
    served_at: str
    erased_at: str
    reply_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CertifiedStep:
    """One participant's confirmation, as journaled (its event id lets audit find it)."""

    participant: str
    event_id: str
    confirmed_at: str


class ActEntry(TypedDict):
    act_id: str
    sha256: str
    served_at: str
    erased_at: str
    reply_ids: list[str]


class StepEntry(TypedDict):
    participant: str
    event_id: str
    confirmed_at: str


class CertificateDocument(TypedDict):
    """What is signed: ids, fingerprints and dates (ISO-8601 text), no content, no e-mail."""

    format: str
    certificate_id: str
    issued_at: str
    legal_basis: str
    account_id: str
    declaration_id: str | None
    terminated_at: str | None
    # A registry purge's: when the consent ended (its five years ran from then).
    consent_ended_at: NotRequired[str]
    erasure_due_at: str
    acts: list[ActEntry]
    steps: list[StepEntry]
    audit_receipts: list[Receipt]
    missing_receipts: list[MissingReceipt]


@dataclass(frozen=True)
class IssuedCertificate:
    certificate_id: str
    document: CertificateDocument
    signed_json: bytes
    pdf: bytes
    fingerprint: str
    pdf_sha256: str
    key_id: str


def canonical(document: Mapping[str, object]) -> bytes:
    """The RFC 8785 canonical JSON of `document`: what is signed and fingerprinted."""
    return canonical_json(dict(document))


def certificate_document(
    *,
    certificate_id: str,
    issued_at: datetime,
    account_id: str,
    declaration_id: str | None,
    terminated_at: str | None,
    due_at: str,
    acts: Sequence[CertifiedAct],
    steps: Sequence[CertifiedStep],
    receipts: ReceiptSet,
    consent_ended_at: str | None = None,
    never_consented: bool = False,
) -> CertificateDocument:
    """The certificate's signed content (JSON types only; instants as ISO-8601 UTC). Every
    step's event is either in `audit_receipts` or in `missing_receipts` with the reason. With
    `consent_ended_at`, it certifies a registry purge (the five years after the consent's end)."""
    document: CertificateDocument = {
        "format": FORMAT,
        "certificate_id": certificate_id,
        "issued_at": issued_at.isoformat(),
        "legal_basis": (
            NEVER_CONSENTED_BASIS
            if never_consented
            else REGISTRY_PURGE_BASIS
            if consent_ended_at
            else ACCOUNT_ERASURE_BASIS
        ),
        "account_id": account_id,
        "declaration_id": declaration_id,
        "terminated_at": terminated_at,
        "erasure_due_at": due_at,
        "acts": [
            {
                "act_id": act.act_id,
                "sha256": act.sha256,
                "served_at": act.served_at,
                "erased_at": act.erased_at,
                "reply_ids": list(act.reply_ids),
            }
            for act in sorted(acts, key=lambda a: (a.served_at, a.act_id))
        ],
        "steps": [
            {"participant": s.participant, "event_id": s.event_id, "confirmed_at": s.confirmed_at}
            for s in sorted(steps, key=lambda s: s.participant)
        ],
        "audit_receipts": sorted(receipts.found, key=lambda r: r["index"]),
        "missing_receipts": sorted(receipts.missing, key=lambda m: m["event_id"]),
    }
    if consent_ended_at:
        document["consent_ended_at"] = consent_ended_at
    return document


async def sign_certificate(
    document: CertificateDocument, signer: SigningKeyRing, *, zone: ZoneInfo = PARIS
) -> IssuedCertificate:
    """Sign the document, render its PDF, sign the PDF, and assemble the JSON twin (both
    signatures off the event loop: with the key in an HSM each is a device round trip)."""
    body = canonical(document)
    fingerprint = hashlib.sha256(body).hexdigest()
    signature = await signer.sign_async(body)
    verifier = signer.verifier(signature.kid)
    pdf = render_pdf(
        french_lines(document, fingerprint, signature.kid, signature.signature, zone),
        title=f"Certificat d'effacement {document['certificate_id']}",
    )
    pdf_signature = await signer.sign_async(pdf)
    twin = {
        "certificate": document,
        "signature": {
            "alg": ALG,
            "kid": signature.kid,
            "value": base64.b64encode(signature.signature).decode("ascii"),
        },
        "verifier_key": verifier.to_string(),
        "fingerprint": fingerprint,
        "pdf": {
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "kid": pdf_signature.kid,
            "signature": base64.b64encode(pdf_signature.signature).decode("ascii"),
        },
    }
    return IssuedCertificate(
        certificate_id=document["certificate_id"],
        document=document,
        signed_json=json.dumps(twin, ensure_ascii=False, indent=2).encode("utf-8"),
        pdf=pdf,
        fingerprint=fingerprint,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        key_id=signature.kid,
    )


def verify_signed_twin(
    signed_json: bytes, kind: str, trusted: Sequence[VerifierKey], pdf: bytes | None = None
) -> Any:
    """The `kind` document of a signed JSON twin (`{kind: …, "signature", "fingerprint",
    "pdf"}`), once its signature verifies with one of `trusted` (the key named in the file is
    only a hint), its fingerprint matches and, given the PDF, the PDF's signature too.
    IntegrityError on any mismatch (certificates and outage attestations are written so)."""
    try:
        twin = json.loads(signed_json)
        document = twin[kind]
        kid = twin["signature"]["kid"]
        value = base64.b64decode(twin["signature"]["value"], validate=True)
    except (ValueError, KeyError, TypeError) as error:
        raise IntegrityError(f"malformed {kind}") from error
    keys = {key.key_id: key for key in trusted}
    key = keys.get(kid)
    body = canonical(document)
    if key is None or not key.verify(body, value):
        raise IntegrityError(f"{kind} signature does not verify")
    if twin.get("fingerprint") != hashlib.sha256(body).hexdigest():
        raise IntegrityError(f"{kind} fingerprint does not match")
    if pdf is not None:
        pdf_part = twin.get("pdf") or {}
        pdf_key = keys.get(str(pdf_part.get("kid")))
        try:
            pdf_value = base64.b64decode(str(pdf_part.get("signature")), validate=True)
        except ValueError as error:
            raise IntegrityError("malformed PDF signature") from error
        if (
            pdf_key is None
            or pdf_part.get("sha256") != hashlib.sha256(pdf).hexdigest()
            or not pdf_key.verify(pdf, pdf_value)
        ):
            raise IntegrityError("PDF signature does not verify")
    return document


def verify_certificate(
    signed_json: bytes, trusted: Sequence[VerifierKey], pdf: bytes | None = None
) -> CertificateDocument:
    """Verify a certificate offline with the platform's published keys; returns its document
    (its signature verified: the platform wrote it, in this shape)."""
    return cast(CertificateDocument, verify_signed_twin(signed_json, "certificate", trusted, pdf))


def french_lines(
    document: CertificateDocument,
    fingerprint: str,
    kid: str,
    signature: bytes,
    zone: ZoneInfo = PARIS,
) -> list[Line]:
    """The certificate's French text, one entry per line (wrapped by the PDF writer)."""
    acts = document["acts"]
    reason = (
        "Conformément à l'article 12 des conditions générales d'utilisation, les actes "
        "mis à disposition sur le compte ci-dessous sont restés consultables deux mois "
        "après la résiliation, puis ont été effacés."
    )
    if document.get("consent_ended_at"):
        reason = (
            "Conformément à l'article 21 du décret n° 2021-1625 et à l'article 12 des "
            "conditions générales d'utilisation, cinq ans après la fin du consentement, les "
            "données de la déclaration, le compte et les actes mis à disposition sur le "
            "compte ci-dessous ont été détruits."
        )
    lines = [
        Line("SECURACT-NG — Certificat d'effacement", 16, bold=True),
        Line(f"Certificat n° {document['certificate_id']}", 10, space_before=6),
        Line(f"Délivré le {french_datetime(document['issued_at'], zone=zone)}", 10),
        Line(
            f"{reason} L'effacement est cryptographique : la clé de chiffrement propre à "
            "chaque acte et à chaque réponse a été détruite, puis le fichier chiffré a été "
            "supprimé. Aucun contenu d'acte ne figure dans ce certificat.",
            10,
            space_before=10,
        ),
        Line(f"Compte : {document['account_id']}", 10, space_before=8),
    ]
    terminated_at = document.get("terminated_at")
    if terminated_at:
        lines.append(Line(f"Résiliation : {french_datetime(terminated_at, zone=zone)}", 10))
    ended_at = document.get("consent_ended_at")
    if ended_at:
        lines.append(Line(f"Fin du consentement : {french_datetime(ended_at, zone=zone)}", 10))
    lines.append(
        Line(f"Échéance de l'effacement : {french_date(document['erasure_due_at'], zone=zone)}")
    )
    lines.append(Line(f"Actes effacés : {len(acts)}", 12, bold=True, space_before=10))
    if not acts:
        lines.append(Line("Aucun acte n'avait été signifié sur ce compte.", 10))
    for number, act in enumerate(acts, start=1):
        lines.append(Line(f"{number}. Acte {act['act_id']}", 10, bold=True, space_before=4))
        lines.append(Line(f"Signifié le {french_datetime(act['served_at'], zone=zone)}", 9))
        lines.append(Line(f"Effacé le {french_datetime(act['erased_at'], zone=zone)}", 9))
        lines.append(Line(f"Empreinte SHA-256 : {act['sha256']}", 9))
        if act.get("reply_ids"):
            lines.append(Line(f"Réponses effacées : {len(act['reply_ids'])}", 9))
    lines.append(Line("Étapes confirmées", 12, bold=True, space_before=10))
    for step in document["steps"]:
        lines.append(
            Line(
                f"{step['participant']} : {french_datetime(step['confirmed_at'], zone=zone)} "
                f"(événement {step['event_id']})",
                9,
            )
        )
    found = len(document.get("audit_receipts") or [])
    missing = document.get("missing_receipts") or []
    lines.append(
        Line(f"Reçus du journal d'audit joints au fichier JSON : {found}", 9, space_before=4)
    )
    for gap in missing:
        lines.append(
            Line(
                f"Reçu non encore disponible pour l'événement {gap['event_id']} "
                f"({gap['reason']}) : il peut être demandé au journal d'audit.",
                9,
            )
        )
    lines += [
        Line("Vérification", 12, bold=True, space_before=10),
        Line(
            "Ce certificat est accompagné d'un fichier JSON signé (Ed25519) qui en fait foi ; "
            "sa signature se vérifie hors ligne avec la clé publique de la plateforme.",
            9,
        ),
        Line(f"Empreinte du certificat (SHA-256 du JSON canonique) : {fingerprint}", 9),
        Line(f"Clé de signature : {kid}", 9),
        Line(f"Signature : {base64.b64encode(signature).decode('ascii')}", 8),
    ]
    return lines
