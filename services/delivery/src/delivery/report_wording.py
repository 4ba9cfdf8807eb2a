"""The French wording of an act's evidence report: natures, statuses, qualities and evidence
types as a judge reads them, and instants in the recipient's legal time (naming it) and in UTC.
`delivery.report_pdf` lays them out."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from shared.contracts.consent import ActNature
from shared.legal_calendar import Territory
from shared.timestamps import TimestampError, stated_time

NATURES: Final = {
    ActNature.SIGNIFICATION_JUGEMENT: "Signification de jugement",
    ActNature.COMMANDEMENT_PAYER: "Commandement de payer",
    ActNature.SAISIE_ATTRIBUTION: "Saisie-attribution",
    ActNature.ASSIGNATION: "Assignation",
    ActNature.DENONCIATION: "Dénonciation",
    ActNature.AUTRE: "Autre acte",
}
LEGAL_TIMES: Final = {
    Territory.METROPOLE: "heure légale de la France métropolitaine",
    Territory.ALSACE_MOSELLE: "heure légale de la France métropolitaine (Alsace-Moselle)",
    Territory.GUADELOUPE: "heure légale de la Guadeloupe",
    Territory.MARTINIQUE: "heure légale de la Martinique",
    Territory.GUYANE: "heure légale de la Guyane",
    Territory.REUNION: "heure légale de La Réunion",
    Territory.MAYOTTE: "heure légale de Mayotte",
    Territory.SAINT_MARTIN: "heure légale de Saint-Martin",
    Territory.SAINT_BARTHELEMY: "heure légale de Saint-Barthélemy",
}
EVIDENCE_LABELS: Final = {
    "SubmissionAcceptance": "Dépôt accepté",
    "SubmissionRejection": "Dépôt refusé",
    "ContentConsignment": "Acte mis à disposition (signification)",
    "ConsignmentNotification": "Avis envoyé",
    "ConsignmentNotificationFailure": "Échec d'envoi d'un avis",
    "ContentHandover": "Prise de connaissance",
    "ServiceQualityDetermination": "Qualité de la signification déterminée",
    "LettreSimpleTaskIssued": "Lettre simple demandée à l'étude",
    "RelayToNonERDS": "Lettre simple déclarée postée",
    "ReplyReceived": "Réponse reçue",
}
STATUSES: Final = {
    "registered": "enregistrée (conditions non encore acceptées)",
    "active": "active",
    "revoked": "révoquée",
    "refused": "refusée",
    "expired": "expirée",
    "terminated": "close (compte clos)",
}
QUALITIES: Final = {"a_personne": "à personne", "a_domicile": "à domicile"}
CHANNELS: Final = {"email": "courriel", "sms": "SMS"}
_MONTHS: Final = (
    *("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août"),
    *("septembre", "octobre", "novembre", "décembre"),
)


def french_date(day: date) -> str:
    return f"{day.day}{'er' if day.day == 1 else ''} {_MONTHS[day.month - 1]} {day.year}"


def legal_instant(instant: datetime, territory: Territory) -> str:
    """'le 7 décembre 2026 à 10 h 15 min 03 s, heure légale de la Guadeloupe (UTC-04:00)'."""
    local = instant.astimezone(territory.time_zone)
    offset = local.strftime("%z")
    return (
        f"le {french_date(local.date())} à {local:%H} h {local:%M} min {local:%S} s, "
        f"{LEGAL_TIMES[territory]} (UTC{offset[:3]}:{offset[3:]})"
    )


def utc_instant(instant: datetime) -> str:
    """'le 7 décembre 2026 à 14:15:03 UTC'."""
    utc = from_utc(instant)
    return f"le {french_date(utc.date())} à {utc:%H:%M:%S} UTC"


def from_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def receipt_line(record: Mapping[str, Any], territory: Territory) -> str:
    index = record.get("journal_index")
    if index is not None:
        return f"reçu du journal d'audit, entrée n° {index} ; {stamped_line(record, territory)}"
    reason = {
        "not-yet-journaled": "pas encore journalisé",
        "not-yet-checkpointed": "journalisé, point de contrôle à venir",
        "audit-unreachable": "journal d'audit injoignable",
        "audit-error": "erreur du journal d'audit",
        "no-event": "sans événement journalisé",
        "no-receipt-source": "journal d'audit non configuré",
    }.get(str(record.get("receipt_reason")), str(record.get("receipt_reason")))
    return f"pas de reçu d'audit ({reason})"


def stamped_line(record: Mapping[str, Any], territory: Territory) -> str:
    """When the TSA says the checkpoint holding the receipt existed: the entry is no later."""
    token = record.get("checkpoint_timestamp")
    if not token:
        return "point de contrôle pas encore horodaté"
    try:
        time = stated_time(base64.b64decode(str(token), validate=True))
    except (ValueError, TimestampError):
        return "horodatage du point de contrôle illisible"
    utc = from_utc(time)
    return (
        f"point de contrôle horodaté (RFC 3161) {legal_instant(time, territory)}, "
        f"soit {utc:%H:%M:%S} UTC"
    )
