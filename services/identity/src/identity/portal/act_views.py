"""The acts pages' view of delivery's answers: an act's line, its evidence steps in French,
instants in the recipient's legal time (named), sizes as the reply form writes them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from identity.portal.statement import NATURES
from shared.contracts.delivery import ServiceQuality
from shared.contracts.notify import Channel
from shared.french import french_date, legal_datetime
from shared.legal_calendar import Territory

# Delivery's ids (time-ordered, URL-safe): anything else is refused before reaching its API.
ACT_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

QUALITIES: Final = {
    ServiceQuality.A_PERSONNE.value: "Signifié à personne",
    ServiceQuality.A_DOMICILE.value: "Signifié à domicile",
}
# A notice's channel, as the evidence records it (`details.channel`), in the label's words.
CHANNELS: Final = {Channel.EMAIL.value: "par courriel", Channel.SMS.value: "par SMS"}
NOTIFICATION_EVIDENCE: Final = frozenset(
    {"ConsignmentNotification", "ConsignmentNotificationFailure"}
)
EVIDENCE_LABELS: Final = {
    "ContentConsignment": "Dépôt de l'acte sur la plateforme (date légale de signification)",
    "ConsignmentNotification": "Avis de signification envoyé",
    "ConsignmentNotificationFailure": "Échec de l'envoi de l'avis",
    "ContentHandover": "Prise de connaissance (première ouverture du document)",
    "ServiceQualityDetermination": "Qualification de la signification",
    "RelayToNonERDS": "Lettre simple à envoyer par le commissaire de justice",
    "ReplyReceived": "Réponse reçue",
}


@dataclass(frozen=True)
class LegalTime:
    """Instants shown in the recipient's legal time (the territory delivery served in), named,
    written as the notices write them."""

    territory: Territory

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        return legal_datetime(value, self.territory, weekday=False)


def legal_time_of(recipient_territory: object) -> LegalTime:
    """The territory delivery names for the act; Paris's legal time (named) when it names none
    this release knows."""
    try:
        return LegalTime(Territory(str(recipient_territory)))
    except ValueError:
        return LegalTime(Territory.METROPOLE)


@dataclass(frozen=True)
class ActLine:
    """One act as the inbox list and the act's page show it."""

    id: str
    nature: str
    title: str
    requester: str
    office: str
    served_at: datetime | None
    read: bool
    handed_over_at: datetime | None
    status: str
    size: int | None
    sha256: str
    when: LegalTime


@dataclass(frozen=True)
class EvidenceLine:
    label: str
    at: datetime
    detail: str = ""


def act_line(view: Mapping[str, Any]) -> ActLine | None:
    """Delivery's recipient view of an act in the page's terms; None for an unusable id."""
    act_id = str(view.get("id", ""))
    if not ACT_ID.match(act_id):
        return None
    served_at = _instant(view.get("served_at"))
    nature = str(view.get("nature", ""))
    quality = view.get("quality")
    size = view.get("size")
    return ActLine(
        id=act_id,
        nature=NATURES.get(nature, nature),
        title=str(view.get("title") or ""),
        requester=str(view.get("requester_name") or ""),
        office=str(view.get("office_name") or ""),
        served_at=served_at,
        read=bool(view.get("read")),
        handed_over_at=_instant(view.get("handed_over_at")),
        status=QUALITIES.get(str(quality), "Signifié") if quality else "Signifié",
        size=size if isinstance(size, int) else None,
        sha256=str(view.get("sha256") or ""),
        when=legal_time_of(view.get("recipient_territory")),
    )


def evidence_lines(evidence_set: Mapping[str, Any]) -> list[EvidenceLine]:
    """The evidence set's steps the recipient cares about, in time order, in French."""
    lines = []
    for record in evidence_set.get("evidence") or []:
        if not isinstance(record, Mapping):
            continue
        kind = str(record.get("type"))
        at = _instant(record.get("instant"))
        if kind not in EVIDENCE_LABELS or at is None:
            continue
        details = record.get("details")
        detail = ""
        label = EVIDENCE_LABELS[kind]
        if kind in NOTIFICATION_EVIDENCE and isinstance(details, Mapping):
            # The channel the evidence names (e-mail or SMS), never guessed.
            channel = CHANNELS.get(str(details.get("channel")))
            label = f"{label} {channel}" if channel else label
        if kind == "ServiceQualityDetermination" and isinstance(details, Mapping):
            detail = QUALITIES.get(str(details.get("quality")), "")
        elif kind == "RelayToNonERDS" and isinstance(details, Mapping):
            due = details.get("lettre_simple_due_on")
            detail = f"au plus tard le {french_date(str(due))}" if isinstance(due, str) else ""
        lines.append(EvidenceLine(label, at, detail))
    return lines


def _instant(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def file_size(size: int) -> str:
    """`20 Mo`, `1,5 Mo`, `4 Ko`: a size as the form's hint writes it (1 Mo = 1 024 Ko)."""
    if size < 1024 * 1024:
        return f"{-(-size // 1024)} Ko"
    text = f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} Mo"
