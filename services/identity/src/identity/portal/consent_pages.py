"""The portal's consent pages (issue 5 items 5 and 7): "Mon consentement" and "Mes données"
(the exports, and the person's restriction and objection requests with the operator's answers).

"Mes données" offers two JSON files: consent's export of the declaration (relayed from
consent) and identity's export of the account (`/donnees/compte.json`, served in process by
`PersonalData`).

Consent owns the declaration; these pages read and change it through consent's `/v1/me/...`
API, server-side. For each call the portal signs, with identity's own token issuer, an access
token for the signed-in session (same subject, role, scopes and session id as the login's, so a
logout or a revocation elsewhere also refuses it) whose audience is consent alone. The token
never reaches the browser, which only ever holds the opaque portal cookie.

Consent unreachable, or answering something these pages do not expect, gives a polite 503 page:
nothing is guessed about the declaration's state.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from identity.personal_data import ACCOUNT_EXPORT_FILENAME
from identity.portal import messages
from identity.portal.pages import (
    CONFIRMED,
    TEMPLATES_DIR,
    Portal,
    PortalRoute,
    Refusal,
    field,
    redirect,
)
from identity.portal.sessions import PortalSession
from identity.portal.statement import NATURES
from identity.portal.upstream import (
    UpstreamApi,
    UpstreamUnavailableError,
    json_body,
    relay,
)
from identity.service import Identity
from shared.contracts.consent import DeclarationStatus, RestrictionKind
from shared.portal import FormErrors, PortalTemplates, templates

log = logging.getLogger(__name__)

CONSENT_AUDIENCE: Final = "consent"
RETRY_AFTER_SECONDS: Final = 60
EXPORT_FILENAME: Final = "mes-donnees.json"
# Consent's ids (time-ordered, URL-safe): anything else is refused before reaching its API.
_PROOF_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PROOF_MEDIA: Final = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}

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
        if _PROOF_ID.match(str(p.get("id", "")))
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


def consent_pages_router(
    identity: Identity, http: httpx.AsyncClient, pages: PortalTemplates | None = None
) -> APIRouter:
    """The consent pages, calling consent through `http` (its base URL is consent's)."""
    portal = Portal(identity, pages or templates(TEMPLATES_DIR))
    consent = ConsentApi(identity, http)
    router = APIRouter(include_in_schema=False, route_class=PortalRoute)

    async def reader(request: Request) -> PortalSession:
        """A signed-in recipient past the CGU gate (the account page's own rule)."""
        session = await portal.signed_in(request)
        if session.terms_pending:
            raise Refusal(redirect("/cgu"))
        if not session.is_recipient:
            raise Refusal(
                error_page(
                    session,
                    "Page réservée aux destinataires",
                    "Cette page concerne le consentement d'un destinataire des actes : votre "
                    "compte n'en a pas.",
                    status_code=403,
                )
            )
        return session

    error_page = portal.error_page

    def unavailable(session: PortalSession) -> HTMLResponse:
        return error_page(
            session,
            "Service momentanément indisponible",
            "Le registre des consentements ne répond pas pour le moment. Vos données ne sont "
            "pas affectées : réessayez dans quelques minutes.",
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    def no_declaration(session: PortalSession) -> HTMLResponse:
        return error_page(
            session,
            "Aucune déclaration de consentement",
            "Aucune déclaration de consentement n'est liée à votre compte : le registre ne "
            "détient aucune donnée à votre sujet.",
            status_code=404,
        )

    async def consent_page(
        session: PortalSession,
        *,
        errors: FormErrors | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        declaration = await consent.declaration(session)
        if declaration is None:
            return no_declaration(session)
        return portal.session_page(
            session,
            "identity/consentement.html",
            {"page_title": "Mon consentement", "declaration": declaration, "errors": errors},
            status_code=status_code,
        )

    @router.get("/consentement")
    async def my_consent(request: Request) -> Response:
        session = await reader(request)
        try:
            return await consent_page(session)
        except ConsentUnavailableError:
            return unavailable(session)

    @router.post("/consentement/revocation")
    async def revoke(request: Request) -> Response:
        session = await reader(request)
        form = await request.form()
        portal.check_session(session, form)
        try:
            if field(form, "confirmation_revocation") != CONFIRMED:
                errors = FormErrors()
                errors.add(
                    "confirmation_revocation", "Cochez la case pour confirmer la révocation."
                )
                return await consent_page(session, errors=errors, status_code=422)
            response = await consent.request(
                session, "POST", "/v1/me/declaration/revocation", json={"confirmation": True}
            )
        except ConsentUnavailableError:
            return unavailable(session)
        if response.status_code == 404:
            return no_declaration(session)
        if response.status_code == 409:
            status = str(json_body(response).get("declaration_status", ""))
            return error_page(
                session,
                "Révocation impossible",
                "Votre consentement n'est plus en vigueur "
                f"({STATUSES.get(status, status).lower() or 'statut inconnu'}) : "
                "il n'y a rien à révoquer.",
                status_code=409,
                next_url="/consentement",
                next_label="Revenir à mon consentement",
            )
        if response.status_code != 200:
            consent.unexpected("POST /v1/me/declaration/revocation", response)
            return unavailable(session)
        log.info("portal: consent revoked for session %s", session.session_id)
        # Post/redirect/get: a reload of the confirmation never posts the revocation again.
        return redirect("/consentement/revocation-confirmee")

    @router.get("/consentement/revocation-confirmee")
    async def revoked(request: Request) -> Response:
        session = await reader(request)
        try:
            declaration = await consent.declaration(session)
        except ConsentUnavailableError:
            return unavailable(session)
        if declaration is None or declaration.status != DeclarationStatus.REVOKED.value:
            return redirect("/consentement")
        return portal.session_page(
            session,
            "identity/consentement_revoque.html",
            {"page_title": "Votre consentement est révoqué", "declaration": declaration},
        )

    async def data_page(
        session: PortalSession,
        *,
        notices: list[dict[str, str]] | None = None,
        errors: FormErrors | None = None,
        typed: Mapping[str, str] | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        requests = await consent.restriction_requests(session)
        return portal.session_page(
            session,
            "identity/donnees.html",
            {
                "page_title": "Mes données",
                "notices": notices or [],
                "requests": requests,
                "kinds": REQUEST_KINDS,
                "max_text": MAX_REQUEST_TEXT,
                "errors": errors,
                "typed": typed or {},
            },
            status_code=status_code,
        )

    @router.get("/donnees")
    async def my_data(request: Request, info: str | None = None) -> Response:
        session = await reader(request)
        try:
            return await data_page(session, notices=messages.notices(info))
        except ConsentUnavailableError:
            return unavailable(session)

    @router.post("/donnees/demandes")
    async def restriction_request(request: Request) -> Response:
        """Record a restriction or objection request for the operator (GDPR arts 18, 21)."""
        session = await reader(request)
        form = await request.form()
        portal.check_session(session, form)
        kind = field(form, "type_demande")
        motive = form.get("motif")
        text = motive.strip() if isinstance(motive, str) else ""
        errors = FormErrors()
        if kind not in REQUEST_KINDS:
            errors.add("type_demande", "Choisissez le type de votre demande.")
        if not text:
            errors.add("motif", "Expliquez votre demande en quelques mots.")
        elif len(text) > MAX_REQUEST_TEXT:
            errors.add("motif", f"Votre explication dépasse {MAX_REQUEST_TEXT} caractères.")
        try:
            if errors:
                typed = {"type_demande": kind, "motif": text[:MAX_REQUEST_TEXT]}
                return await data_page(session, errors=errors, typed=typed, status_code=422)
            response = await consent.request(
                session, "POST", "/v1/me/restriction-requests", json={"kind": kind, "text": text}
            )
        except ConsentUnavailableError:
            return unavailable(session)
        if response.status_code == 404:
            return no_declaration(session)
        if response.status_code != 201:
            consent.unexpected("POST /v1/me/restriction-requests", response)
            return unavailable(session)
        log.info("portal: restriction request recorded for session %s", session.session_id)
        return redirect("/donnees", info="demande-enregistree")

    async def download(
        session: PortalSession, path: str, media_types: Mapping[str, str], filename: str
    ) -> Response:
        try:
            upstream = await consent.open_stream(session, path)
        except ConsentUnavailableError:
            return unavailable(session)
        media_type = upstream.headers.get("content-type", "").split(";")[0].strip()
        if upstream.status_code == 200 and media_type in media_types:
            name = f"{filename}.{media_types[media_type]}"
            headers = {"Content-Disposition": f'attachment; filename="{name}"'}
            if "content-length" in upstream.headers and "content-encoding" not in upstream.headers:
                headers["Content-Length"] = upstream.headers["content-length"]
            return StreamingResponse(relay(upstream), media_type=media_type, headers=headers)
        await upstream.aclose()
        if upstream.status_code == 404:
            return no_declaration(session) if path == "/v1/me/export" else missing_proof(session)
        if upstream.status_code == 410:
            return missing_proof(session, gone=True)
        consent.unexpected(f"GET {path}", upstream)
        return unavailable(session)

    def missing_proof(session: PortalSession, *, gone: bool = False) -> HTMLResponse:
        return error_page(
            session,
            "Justificatif introuvable",
            "Ce justificatif a été détruit à l'issue de sa durée de conservation."
            if gone
            else "Ce justificatif n'existe pas ou n'est pas lié à votre déclaration.",
            status_code=410 if gone else 404,
            next_url="/consentement",
            next_label="Revenir à mon consentement",
        )

    @router.get("/donnees/export.json")
    async def export(request: Request) -> Response:
        session = await reader(request)
        filename = EXPORT_FILENAME.removesuffix(".json")
        return await download(session, "/v1/me/export", {"application/json": "json"}, filename)

    @router.get("/donnees/compte.json")
    async def account_export(request: Request) -> Response:
        """Identity's own data about the signed-in account, from its use case (consent is not
        called). Any signed-in session of the account may download it: one still waiting for
        the CGU answer, a terminated account's read-only one, an operator's. The right of
        access and portability (GDPR arts 15 and 20) does not depend on accepting the CGU."""
        session = await portal.signed_in(request)
        data = await identity.personal_data.export_account(session.account_id)
        log.info("portal: account data exported for session %s", session.session_id)
        return JSONResponse(
            data,
            headers={"Content-Disposition": f'attachment; filename="{ACCOUNT_EXPORT_FILENAME}"'},
        )

    @router.get("/donnees/justificatifs/{proof_id}")
    async def proof(request: Request, proof_id: str) -> Response:
        session = await reader(request)
        if not _PROOF_ID.match(proof_id):
            return missing_proof(session)
        return await download(
            session, f"/v1/me/proofs/{proof_id}", _PROOF_MEDIA, f"justificatif-{proof_id}"
        )

    return router
