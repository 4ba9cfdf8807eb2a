"""The portal's "Mes coordonnées" pages, in "Mes données": the notification e-mail (confirmed by
the link e-mailed to the new address, `/donnees/courriel/confirmation`), the mobile, and the
domicile with its proof of address.

E-mail and mobile are identity's (`identity.contacts`, in process); the domicile is consent's:
the form's fields and file are sent on to consent's `POST /v1/me/domicile` as the signed-in
session (`consent_pages.ConsentApi`), which stores the proof encrypted and answers the new
territory. Consent unreachable gives the polite 503 page of the consent pages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from identity.errors import IdentityError
from identity.portal import messages
from identity.portal.consent_views import ConsentApi, ConsentUnavailableError
from identity.portal.contacts_views import (
    CONTACT_ERRORS,
    CONTACT_NOTICES,
    MAX_PROOF_BYTES,
    PROOF_ACCEPT,
    RETRY_AFTER_SECONDS,
    domicile_errors,
    domicile_of,
)
from identity.portal.pages import (
    TEMPLATES_DIR,
    Portal,
    PortalRoute,
    Refusal,
    field,
    mask_email,
    redirect,
)
from identity.portal.sessions import PortalSession
from identity.portal.upstream import json_body
from identity.service import Identity
from shared.bodylimit import body_limit
from shared.french import legal_datetime
from shared.legal_calendar import Territory
from shared.portal import FormErrors, PortalTemplates, templates

log = logging.getLogger(__name__)


def contacts_pages_router(
    identity: Identity, http: httpx.AsyncClient, pages: PortalTemplates | None = None
) -> APIRouter:
    """The contact pages; consent is called through `http` (its base URL is consent's)."""
    portal = Portal(identity, pages or templates(TEMPLATES_DIR))
    consent = ConsentApi(identity, http)
    contacts = identity.contacts
    router = APIRouter(include_in_schema=False, route_class=PortalRoute)

    async def holder(request: Request) -> PortalSession:
        """A signed-in recipient past the CGU gate whose account is not read-only."""
        session = await portal.signed_in(request)
        if session.terms_pending:
            raise Refusal(redirect("/cgu"))
        if not session.is_recipient or session.terminated:
            raise Refusal(
                portal.error_page(
                    session,
                    "Coordonnées non modifiables",
                    "Seul le compte d'un destinataire en vigueur peut changer ses coordonnées "
                    "de notification : un compte résilié est en lecture seule.",
                    status_code=403,
                )
            )
        return session

    def unavailable(session: PortalSession) -> HTMLResponse:
        return portal.error_page(
            session,
            "Service momentanément indisponible",
            "Le registre des consentements ne répond pas pour le moment. Vos coordonnées ne "
            "sont pas modifiées : réessayez dans quelques minutes.",
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def page(
        session: PortalSession,
        *,
        notices: list[dict[str, str]] | None = None,
        errors: FormErrors | None = None,
        typed: Mapping[str, str] | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        details = await contacts.details(session.account_id)
        response = await consent.request(session, "GET", "/v1/me/declaration")
        domicile = None
        if response.status_code == 200:
            domicile = domicile_of(json_body(response))
        elif response.status_code != 404:
            raise consent.unexpected("GET /v1/me/declaration", response)
        territory = domicile.territory if domicile else Territory.METROPOLE
        return portal.session_page(
            session,
            "identity/coordonnees.html",
            {
                "page_title": "Mes coordonnées",
                "notices": notices or [],
                "errors": errors,
                "typed": typed or {},
                "email": mask_email(details.email),
                "mobile": details.mobile,
                "pending_email": details.pending_email,
                "pending_until": (
                    legal_datetime(details.pending_until, territory)
                    if details.pending_until
                    else None
                ),
                "domicile": domicile,
                "proof_accept": PROOF_ACCEPT,
                "today": identity.ctx.clock.now().date().isoformat(),
            },
            status_code=status_code,
        )

    async def shown(session: PortalSession, **kwargs: Any) -> Response:
        try:
            return await page(session, **kwargs)
        except ConsentUnavailableError:
            return unavailable(session)

    def refused(error: IdentityError) -> FormErrors:
        errors = FormErrors()
        name, text = CONTACT_ERRORS.get(error.code, ("", messages.message_for(error)))
        if name:
            errors.add(name, text)
        else:
            errors.general.append(text)
        return errors

    @router.get("/donnees/coordonnees")
    async def my_contacts(request: Request, info: str | None = None) -> Response:
        session = await holder(request)
        return await shown(session, notices=CONTACT_NOTICES.get(info or "", []))

    @router.post("/donnees/coordonnees/courriel")
    async def change_email(request: Request) -> Response:
        session = await holder(request)
        form = await request.form()
        portal.check_session(session, form)
        typed = field(form, "nouvelle_adresse").strip()
        errors = FormErrors()
        if not typed:
            errors.add("nouvelle_adresse", "Saisissez la nouvelle adresse électronique.")
        if not field(form, "mot_de_passe"):
            errors.add("mot_de_passe", "Saisissez votre mot de passe.")
        if not errors:
            try:
                await contacts.request_email_change(
                    session.account_id, typed, field(form, "mot_de_passe")
                )
            except IdentityError as error:
                errors = refused(error)
        if errors:
            return await shown(
                session, errors=errors, typed={"nouvelle_adresse": typed}, status_code=422
            )
        log.info("portal: e-mail change asked for session %s", session.session_id)
        return redirect("/donnees/coordonnees", "confirmation-envoyee")

    @router.post("/donnees/coordonnees/mobile")
    async def change_mobile(request: Request) -> Response:
        session = await holder(request)
        form = await request.form()
        portal.check_session(session, form)
        typed = field(form, "mobile")
        try:
            mobile = await contacts.change_mobile(session.account_id, typed)
        except IdentityError as error:
            return await shown(
                session, errors=refused(error), typed={"mobile": typed}, status_code=422
            )
        return redirect("/donnees/coordonnees", "mobile-modifie" if mobile else "mobile-retire")

    @router.post("/donnees/coordonnees/domicile")
    @body_limit(MAX_PROOF_BYTES + 64 * 1024)  # the proof file and the form's fields
    async def change_domicile(request: Request) -> Response:
        session = await holder(request)
        form = await request.form(max_files=1, max_fields=20, max_part_size=MAX_PROOF_BYTES)
        portal.check_session(session, form)
        typed = {
            name: field(form, name).strip()
            for name in ("adresse", "code_postal", "commune", "date_justificatif")
        }
        upload = form.get("justificatif")
        errors = FormErrors()
        labels = {
            "adresse": "Saisissez l'adresse (numéro et voie).",
            "code_postal": "Saisissez le code postal à 5 chiffres.",
            "commune": "Saisissez la commune.",
            "date_justificatif": "Indiquez la date du justificatif.",
        }
        for name, text in labels.items():
            if not typed[name]:
                errors.add(name, text)
        if typed["code_postal"] and not (
            len(typed["code_postal"]) == 5 and typed["code_postal"].isdigit()
        ):
            errors.add("code_postal", "Le code postal compte 5 chiffres.")
        try:
            issued_on = date.fromisoformat(typed["date_justificatif"])
        except ValueError:
            issued_on = None
            if typed["date_justificatif"]:
                errors.add("date_justificatif", "Indiquez une date valide (jj/mm/aaaa).")
        content = b""
        if not isinstance(upload, UploadFile) or not upload.filename:
            errors.add("justificatif", "Joignez votre justificatif de domicile.")
        else:
            content = await upload.read(MAX_PROOF_BYTES + 1)
            if len(content) > MAX_PROOF_BYTES:
                errors.add("justificatif", "Le fichier dépasse 10 Mo.")
        if errors or issued_on is None:
            return await shown(session, errors=errors, typed=typed, status_code=422)
        assert isinstance(upload, UploadFile)
        try:
            legal = await declaration_kind(session) == "legal"
        except ConsentUnavailableError:
            return unavailable(session)
        domicile = {
            "address": {
                "adresse": typed["adresse"],
                "code_postal": typed["code_postal"],
                "commune": typed["commune"],
            },
            "proof": {
                # A legal person's seat is proven by its Kbis extract (as at registration).
                "type": "extrait_kbis" if legal else "justificatif_domicile",
                "issued_on": issued_on.isoformat(),
            },
        }
        built = httpx.Request(
            "POST",
            "http://consent/v1/me/domicile",
            data={"domicile": json.dumps(domicile)},
            files={"proof": (upload.filename, content, upload.content_type)},
        )
        body = built.read()

        async def chunks() -> Any:
            yield body

        try:
            response = await consent.request(
                session,
                "POST",
                "/v1/me/domicile",
                content=chunks(),
                content_type=built.headers["content-type"],
            )
        except ConsentUnavailableError:
            return unavailable(session)
        if response.status_code in (413, 422):
            errors = (
                domicile_errors(json_body(response))
                if response.status_code == 422
                else FormErrors()
            )
            if response.status_code == 413:
                errors.add("justificatif", "Le fichier est trop volumineux.")
            return await shown(session, errors=errors, typed=typed, status_code=422)
        if response.status_code in (404, 409):
            return portal.error_page(
                session,
                "Domicile non modifiable",
                "Aucune déclaration de consentement en vigueur n'est liée à votre compte : "
                "il n'y a pas de domicile à changer.",
                status_code=409,
                next_url="/donnees/coordonnees",
                next_label="Revenir à mes coordonnées",
            )
        if response.status_code != 200:
            consent.unexpected("POST /v1/me/domicile", response)
            return unavailable(session)
        log.info("portal: domicile changed for session %s", session.session_id)
        return redirect("/donnees/coordonnees", "domicile-modifie")

    async def declaration_kind(session: PortalSession) -> str:
        response = await consent.request(session, "GET", "/v1/me/declaration")
        return str(json_body(response).get("person_kind", "")) if response.is_success else ""

    # -- the link e-mailed to the new address (no session needed: the link is the proof) ----

    async def confirmation_page(
        request: Request, token: str, *, email: str | None, done: bool, status_code: int = 200
    ) -> HTMLResponse:
        return await portal.anonymous_page(
            request,
            "identity/courriel_confirmation.html",
            {
                "page_title": "Confirmer ma nouvelle adresse",
                "token": token,
                "email": email,
                "done": done,
                "link_message": messages.message_for(IdentityError(410, "link-invalid", "")),
            },
            status_code=status_code,
        )

    @router.get("/donnees/courriel/confirmation")
    async def confirmation_form(request: Request, token: str = "") -> Response:
        """Shows the address the link confirms and a button: opening the link (a mail
        scanner may) does not spend it."""
        if not token:
            return await confirmation_page(request, token, email=None, done=False, status_code=400)
        try:
            link = await contacts.check_email_link(token)
        except IdentityError as error:
            return await confirmation_page(
                request, token, email=None, done=False, status_code=error.status
            )
        return await confirmation_page(request, token, email=link.email, done=False)

    @router.post("/donnees/courriel/confirmation")
    async def confirm(request: Request) -> Response:
        form = await request.form()
        await portal.check_anonymous(request, form)
        token = field(form, "token")
        try:
            await contacts.confirm_email_change(token)
        except IdentityError as error:
            return await confirmation_page(
                request, token, email=None, done=False, status_code=error.status
            )
        return await confirmation_page(request, "", email=None, done=True)

    return router
