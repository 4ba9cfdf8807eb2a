"""The consent pages' view of consent's answers (the declaration, the restriction and
objection requests, in French) and the consent client that fetches them for a session."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import httpx

from identity.portal.sessions import PortalSession
from identity.portal.statement import NATURES
from identity.portal.upstream import UpstreamApi, UpstreamUnavailableError, json_body
from identity.service import Identity
from shared.contracts.consent import DeclarationStatus, RestrictionKind

CONSENT_AUDIENCE: Final = "consent"
RETRY_AFTER_SECONDS: Final = 60
EXPORT_FILENAME: Final = "mes-donnees.json"
# Consent's ids (time-ordered, URL-safe): anything else is refused before reaching its API.
PROOF_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PROOF_MEDIA: Final = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}

STATUSES: Final = {
    DeclarationStatus.REGISTERED.value: "Enregistré : en attente de votre acceptation des "
    "conditions générales",
    DeclarationStatus.ACTIVE.value: "En vigueur",
    DeclarationStatus.REVOKED.value: "Révoqué",
    DeclarationStatus.REFUSED.value: "Sans effet : conditions générales refusées",
    DeclarationStatus.EXPIRED.value: "Expiré : la durée choisie est écoulée",
    DeclarationStatus.TERMINATED.value: "Terminé : compte résilié",
}
HISTORY: Final = {
    DeclarationStatus.REGISTERED.value: "Déclaration enregistrée par le commissaire de justice",
    DeclarationStatus.ACTIVE.value: "Consentement en vigueur (conditions générales acceptées)",
    DeclarationStatus.REVOKED.value: "Consentement révoqué",
    DeclarationStatus.REFUSED.value: "Conditions générales refusées",
    DeclarationStatus.EXPIRED.value: "Consentement expiré",
    DeclarationStatus.TERMINATED.value: "Compte résilié",
}
PROOF_TYPES: Final = {
    "carte_identite": "Carte nationale d'identité",
    "passeport": "Passeport",
    "permis_conduire": "Permis de conduire",
    "titre_sejour": "Titre de séjour",
    "justificatif_domicile": "Justificatif de domicile",
    "extrait_kbis": "Extrait Kbis",
    "justificatif_pouvoir": "Justificatif de pouvoir",
}
REVOCABLE: Final = frozenset({DeclarationStatus.REGISTERED.value, DeclarationStatus.ACTIVE.value})
REQUEST_KINDS: Final = {
    RestrictionKind.RESTRICTION.value: "Limitation du traitement (article 18 du RGPD)",
    RestrictionKind.OBJECTION.value: "Opposition au traitement (article 21 du RGPD)",
}
REQUEST_STATES: Final = {
    "open": "En attente de réponse",
    "granted": "Acceptée",
    "refused": "Refusée",
}
# Consent's own limit on a request's text.
MAX_REQUEST_TEXT: Final = 4000


class ConsentUnavailableError(UpstreamUnavailableError):
    """Consent did not answer, or answered what the portal cannot show."""


@dataclass(frozen=True)
class HistoryLine:
    label: str
    at: datetime


@dataclass(frozen=True)
class ProofLine:
    id: str
    label: str
    issued_on: date | None


@dataclass(frozen=True)
class DeclarationPage:
    """What the "Mon consentement" page shows of consent's view of the declaration."""

    status: str
    status_label: str
    revocable: bool
    holder: str
    scope: list[str]
    valid_until: date | None
    revocation_modalities: str
    registered_at: datetime | None
    history: list[HistoryLine]
    proofs: list[ProofLine]

    @property
    def revoked_at(self) -> datetime | None:
        revoked = HISTORY[DeclarationStatus.REVOKED.value]
        return next((line.at for line in reversed(self.history) if line.label == revoked), None)


def declaration_page(view: Mapping[str, Any]) -> DeclarationPage:
    """Consent's `GET /v1/me/declaration` answer in the page's terms (French labels, dates)."""
    status = str(view.get("status", ""))
    person = view.get("person") or {}
    holder = " ".join(str(person[k]) for k in ("prenoms", "nom", "denomination") if person.get(k))
    history = [
        HistoryLine(HISTORY.get(str(item.get("status")), str(item.get("status"))), at)
        for item in view.get("history") or []
        if (at := _instant(item.get("at"))) is not None
    ]
    proofs = [
        ProofLine(
            str(p["id"]),
            PROOF_TYPES.get(str(p.get("type")), "Justificatif"),
            _day(p.get("issued_on")),
        )
        for p in view.get("proofs") or []
        if PROOF_ID.match(str(p.get("id", "")))
    ]
    return DeclarationPage(
        status=status,
        status_label=STATUSES.get(status, status),
        revocable=status in REVOCABLE,
        holder=holder,
        scope=[NATURES.get(str(n), str(n)) for n in view.get("scope") or []],
        valid_until=_day(view.get("valid_until")),
        revocation_modalities=str(view.get("revocation_modalities") or ""),
        registered_at=_instant(view.get("registered_at")),
        history=history,
        proofs=proofs,
    )


@dataclass(frozen=True)
class RequestLine:
    """A restriction or objection request as the "Mes données" page shows it."""

    kind: str
    text: str
    requested_at: datetime | None
    state: str
    reason: str
    answered_at: datetime | None


def request_lines(body: Mapping[str, Any]) -> list[RequestLine]:
    """Consent's `GET /v1/me/restriction-requests` answer in the page's terms."""
    return [
        RequestLine(
            kind=REQUEST_KINDS.get(str(r.get("kind")), str(r.get("kind"))),
            text=str(r.get("text") or ""),
            requested_at=_instant(r.get("requested_at")),
            state=REQUEST_STATES.get(str(r.get("state")), str(r.get("state"))),
            reason=str(r.get("reason") or ""),
            answered_at=_instant(r.get("answered_at")),
        )
        for r in body.get("requests") or []
        if isinstance(r, Mapping)
    ]


def _instant(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else None
    except ValueError:
        return None


class ConsentApi(UpstreamApi):
    """Consent's `/v1/me/...` API on behalf of one portal session."""

    unavailable = ConsentUnavailableError

    def __init__(self, identity: Identity, http: httpx.AsyncClient) -> None:
        super().__init__(identity, http, audience=CONSENT_AUDIENCE)

    async def declaration(self, session: PortalSession) -> DeclarationPage | None:
        """The session's declaration, or None when no declaration is linked to the account."""
        response = await self.request(session, "GET", "/v1/me/declaration")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self.unexpected("GET /v1/me/declaration", response)
        body = json_body(response)
        if not body:
            raise self.unexpected("GET /v1/me/declaration", response)
        return declaration_page(body)

    async def restriction_requests(self, session: PortalSession) -> list[RequestLine] | None:
        """The person's requests, or None when no declaration is linked to the account."""
        response = await self.request(session, "GET", "/v1/me/restriction-requests")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self.unexpected("GET /v1/me/restriction-requests", response)
        return request_lines(json_body(response))
