"""The outage attestation (CPC 748-7): a JSON document stating an incident's interval, the
functions unavailable and, for each territory, the day to which a deadline falling in it moves;
signed with the platform's Ed25519 key like the erasure certificates, with its French PDF.

The signature is over the RFC 8785 canonical JSON of the document; its *fingerprint* (SHA-256 of
those bytes) is journaled in `retention.outage-attested.v1`. The twin:

    {"attestation": {...}, "signature": {"alg": "Ed25519", "kid": ..., "value": base64},
     "verifier_key": ..., "fingerprint": ..., "pdf": {"sha256": ..., "kid": ..., "signature": ...}}
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, TypedDict, cast

from retention.certificate import ALG, canonical, verify_signed_twin
from retention.pdf import Line, render_pdf
from retention.receipts import MissingReceipt, Receipt, ReceiptSet
from retention.status.context import FUNCTIONS
from retention.status.deadline import moved_deadlines, utc_french
from retention.status.records import Incident
from shared.crypto import SigningKeyRing, VerifierKey
from shared.french import french_date, legal_datetime, legal_time_name
from shared.legal_calendar import Territory

FORMAT: Final = "securact-ng/outage-attestation/v1"
LEGAL_BASIS: Final = "CPC art. 748-7 et 642"


class TerritoryEntry(TypedDict):
    territory: str
    legal_time: str
    started_local: str
    ended_local: str
    first_day: str
    last_day: str
    moved_to: str


class AttestationDocument(TypedDict):
    """What is signed: ids, services, instants (ISO-8601 UTC) and legal dates; no person."""

    format: str
    attestation_id: str
    incident_id: str
    issued_at: str
    legal_basis: str
    origin: str
    cause: str
    started_at: str
    ended_at: str
    services: list[str]
    functions: list[str]
    offices: list[str]
    territories: list[TerritoryEntry]
    journal_events: list[str]
    audit_receipts: list[Receipt]
    missing_receipts: list[MissingReceipt]


@dataclass(frozen=True)
class IssuedAttestation:
    document: AttestationDocument
    signed_json: bytes
    pdf: bytes
    fingerprint: str
    pdf_sha256: str
    key_id: str


def territories_of(incident: Incident) -> tuple[Territory, ...]:
    """The territories named by the incident, or every one when it names none."""
    named = tuple(Territory(t) for t in incident.territories)
    return named or tuple(Territory)


def attestation_document(
    *, attestation_id: str, issued_at: datetime, incident: Incident, receipts: ReceiptSet
) -> AttestationDocument:
    assert incident.ended_at is not None  # only closed incidents are attested
    start, end = incident.started_at, incident.ended_at
    return {
        "format": FORMAT,
        "attestation_id": attestation_id,
        "incident_id": incident.id,
        "issued_at": issued_at.isoformat(),
        "legal_basis": LEGAL_BASIS,
        "origin": incident.origin.value,
        "cause": incident.cause,
        "started_at": start.isoformat(),
        "ended_at": end.isoformat(),
        "services": list(incident.services),
        "functions": [FUNCTIONS.get(s, s) for s in incident.services],
        "offices": list(incident.offices),
        "territories": [
            {
                "territory": moved.territory.value,
                "legal_time": moved.territory.time_zone.key,
                "started_local": start.astimezone(moved.territory.time_zone).isoformat(),
                "ended_local": end.astimezone(moved.territory.time_zone).isoformat(),
                "first_day": moved.first_day.isoformat(),
                "last_day": moved.last_day.isoformat(),
                "moved_to": moved.moved_to.isoformat(),
            }
            for moved in moved_deadlines(start, end, territories_of(incident))
        ],
        "journal_events": [e for e in (incident.opened_event_id, incident.closed_event_id) if e],
        "audit_receipts": sorted(receipts.found, key=lambda r: r["index"]),
        "missing_receipts": sorted(receipts.missing, key=lambda m: m["event_id"]),
    }


async def sign_attestation(
    document: AttestationDocument, signer: SigningKeyRing
) -> IssuedAttestation:
    """Sign the document, render and sign its PDF, assemble the JSON twin."""
    body = canonical(document)
    fingerprint = hashlib.sha256(body).hexdigest()
    signature = await signer.sign_async(body)
    pdf = render_pdf(
        french_lines(document, fingerprint, signature.kid),
        title=f"Attestation d'indisponibilité {document['attestation_id']}",
    )
    pdf_signature = await signer.sign_async(pdf)
    pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    twin = {
        "attestation": document,
        "signature": {
            "alg": ALG,
            "kid": signature.kid,
            "value": base64.b64encode(signature.signature).decode("ascii"),
        },
        "verifier_key": signer.verifier(signature.kid).to_string(),
        "fingerprint": fingerprint,
        "pdf": {
            "sha256": pdf_sha256,
            "kid": pdf_signature.kid,
            "signature": base64.b64encode(pdf_signature.signature).decode("ascii"),
        },
    }
    return IssuedAttestation(
        document=document,
        signed_json=json.dumps(twin, ensure_ascii=False, indent=2).encode("utf-8"),
        pdf=pdf,
        fingerprint=fingerprint,
        pdf_sha256=pdf_sha256,
        key_id=signature.kid,
    )


def verify_attestation(
    signed_json: bytes, trusted: Sequence[VerifierKey], pdf: bytes | None = None
) -> AttestationDocument:
    """Verify an attestation offline with the platform's published keys (the embedded key is a
    hint only); IntegrityError on any mismatch."""
    return cast(AttestationDocument, verify_signed_twin(signed_json, "attestation", trusted, pdf))


TERRITORY_NAMES: Final[dict[str, str]] = {
    "metropole": "France métropolitaine (hors Alsace-Moselle)",
    "alsace_moselle": "Alsace-Moselle",
    "guadeloupe": "Guadeloupe",
    "martinique": "Martinique",
    "guyane": "Guyane",
    "reunion": "La Réunion",
    "mayotte": "Mayotte",
    "saint_martin": "Saint-Martin",
    "saint_barthelemy": "Saint-Barthélemy",
}


WITNESSES: Final[dict[str, str]] = {
    "probe": "les sondes de disponibilité de la plateforme",
    "operator": "un opérateur de la plateforme",
}


def _day(iso_date: str) -> str:
    return french_date(date.fromisoformat(iso_date), weekday=True)


def french_lines(document: AttestationDocument, fingerprint: str, kid: str) -> list[Line]:
    """The attestation's French text, one entry per line."""
    lines = [
        Line("SECURACT-NG — Attestation d'indisponibilité", 16, bold=True),
        Line(f"Attestation n° {document['attestation_id']}", 10, space_before=6),
        Line(f"Incident n° {document['incident_id']}", 10),
        Line(f"Délivrée le {utc_french(document['issued_at'])}", 10),
        Line(
            "La plateforme atteste que les fonctions ci-dessous ont été indisponibles pendant "
            "l'intervalle indiqué. Selon l'article 748-7 du code de procédure civile, lorsqu'un "
            "acte ne peut être transmis par voie électronique le dernier jour d'un délai pour "
            "une cause étrangère à celui qui l'accomplit, le délai est prorogé jusqu'au premier "
            "jour ouvrable suivant ; le délai qui expirerait un samedi, un dimanche ou un jour "
            "férié est prorogé jusqu'au premier jour ouvrable suivant (article 642).",
            10,
            space_before=10,
        ),
        Line("Intervalle d'indisponibilité", 12, bold=True, space_before=10),
        Line(f"Début : {utc_french(document['started_at'])}", 10),
        Line(f"Fin : {utc_french(document['ended_at'])}", 10),
        Line(f"Constatée par : {WITNESSES.get(document['origin'], document['origin'])}", 10),
        Line(f"Cause : {document['cause']}", 10),
        Line("Fonctions indisponibles", 12, bold=True, space_before=10),
        *(Line(f"- {function}", 10) for function in document["functions"]),
    ]
    if document["offices"]:
        lines.append(Line(f"Études concernées : {', '.join(document['offices'])}", 10))
    lines.append(Line("Report des délais par territoire", 12, bold=True, space_before=10))
    for entry in document["territories"]:
        territory = Territory(entry["territory"])
        lines += [
            Line(TERRITORY_NAMES[territory.value], 10, bold=True, space_before=4),
            Line(f"Du {legal_datetime(entry['started_local'], territory)}", 9),
            Line(f"au {legal_datetime(entry['ended_local'], territory)}", 9),
            Line(
                f"Un délai expirant entre le {_day(entry['first_day'])} et "
                f"le {_day(entry['last_day'])} est prorogé jusqu'au "
                f"{_day(entry['moved_to'])} inclus "
                f"({legal_time_name(territory)}).",
                9,
            ),
        ]
    found = len(document["audit_receipts"])
    lines.append(
        Line(f"Reçus du journal d'audit joints au fichier JSON : {found}", 9, space_before=8)
    )
    for gap in document["missing_receipts"]:
        lines.append(
            Line(
                f"Reçu non disponible pour l'événement {gap['event_id']} ({gap['reason']}) : "
                "il peut être demandé au journal d'audit.",
                9,
            )
        )
    lines += [
        Line("Vérification", 12, bold=True, space_before=10),
        Line(
            "Cette attestation est accompagnée d'un fichier JSON signé (Ed25519) qui en fait "
            "foi ; sa signature se vérifie hors ligne avec la clé publique de la plateforme.",
            9,
        ),
        Line(f"Empreinte (SHA-256 du JSON canonique) : {fingerprint}", 9),
        Line(f"Clé de signature : {kid}", 9),
    ]
    return lines
