"""The portal's consent pages: "Mon consentement" and "Mes données"
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
from collections.abc import Mapping

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from identity.personal_data import ACCOUNT_EXPORT_FILENAME
from identity.portal import messages
from identity.portal.consent_views import (
    EXPORT_FILENAME,
    MAX_REQUEST_TEXT,
    PROOF_ID,
    PROOF_MEDIA,
    REQUEST_KINDS,
    RETRY_AFTER_SECONDS,
    STATUSES,
    ConsentApi,
    ConsentUnavailableError,
)
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
from identity.portal.upstream import json_body, relay
from identity.service import Identity
from shared.contracts.consent import DeclarationStatus
from shared.portal import FormErrors, PortalTemplates, templates

log = logging.getLogger(__name__)


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
        if not PROOF_ID.match(proof_id):
            return missing_proof(session)
        return await download(
            session, f"/v1/me/proofs/{proof_id}", PROOF_MEDIA, f"justificatif-{proof_id}"
        )

    return router
