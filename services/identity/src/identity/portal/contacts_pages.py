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
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from identity.errors import IdentityError
from identity.portal import messages
from identity.portal.consent_views import ConsentApi, ConsentUnavailableError
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

RETRY_AFTER_SECONDS: Final = 60
MAX_PROOF_BYTES: Final = 10 * 1024 * 1024
PROOF_ACCEPT: Final = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
TERRITORY_NAMES: Final = {
    Territory.METROPOLE: "France métropolitaine",
    Territory.ALSACE_MOSELLE: "Alsace-Moselle",
    Territory.GUADELOUPE: "Guadeloupe",
    Territory.MARTINIQUE: "Martinique",
    Territory.GUYANE: "Guyane",
    Territory.REUNION: "La Réunion",
    Territory.MAYOTTE: "Mayotte",
    Territory.SAINT_MARTIN: "Saint-Martin",
    Territory.SAINT_BARTHELEMY: "Saint-Barthélemy",
}
CHANGE_KINDS: Final = {
    "email": "Adresse électronique",
    "mobile": "Téléphone mobile",
    "domicile": "Domicile",
}
CONTACT_ERRORS: Final = {
    "email-invalid": ("nouvelle_adresse", "Saisissez une adresse électronique valide."),
    "email-unchanged": ("nouvelle_adresse", "Les avis sont déjà envoyés à cette adresse."),
    "invalid-current-password": ("mot_de_passe", "Le mot de passe est incorrect."),
    "mobile-invalid": (
        "mobile",
        "Saisissez un numéro de mobile, par exemple 06 12 34 56 78 ou +590 690 12 34 56.",
    ),
}
# Consent's answers to a refused domicile, by where it points.
_DOMICILE_FIELDS: Final = {
    "code_postal": ("code_postal", "Ce code postal n'est pas dans un territoire desservi."),
    "issued_on": ("date_justificatif", "Le justificatif doit dater de moins de trois mois."),
    "type": ("justificatif", "Ce document n'est pas un justificatif de domicile accepté."),
    "proof": ("justificatif", "Le fichier doit être un PDF, un JPEG ou un PNG complet."),
}


@dataclass(frozen=True)
class ChangeLine:
    kind: str
    when: str
    territory: str | None


@dataclass(frozen=True)
class Domicile:
    """The declaration's address, its territory and the changes listed on it."""

    address: Mapping[str, str]
    territory: Territory
    changes: list[ChangeLine]

    @property
    def territory_name(self) -> str:
        return TERRITORY_NAMES.get(self.territory, self.territory.value)


def domicile_of(view: Mapping[str, Any]) -> Domicile | None:
    """Consent's `GET /v1/me/declaration` answer in the page's terms (None: purged)."""
    person = view.get("person")
    try:
        territory = Territory(str(view.get("territory")))
    except ValueError:
        return None
    if not isinstance(person, Mapping):
        return None
    address = person.get("domicile") or person.get("siege")
    if not isinstance(address, Mapping):
        return None
    changes = []
    for change in view.get("contact_changes") or []:
        if not isinstance(change, Mapping):
            continue
        try:
            at = datetime.fromisoformat(str(change.get("at")))
            moved_to = Territory(change["territory"]) if change.get("territory") else None
        except (ValueError, KeyError):
            continue
        changes.append(
            ChangeLine(
                kind=CHANGE_KINDS.get(str(change.get("kind")), str(change.get("kind"))),
                when=legal_datetime(at, territory),
                territory=TERRITORY_NAMES.get(moved_to) if moved_to else None,
            )
        )
    return Domicile({k: str(v) for k, v in address.items()}, territory, changes)


def domicile_errors(body: Mapping[str, Any]) -> FormErrors:
    """Consent's 422 `errors` (where, never the value) on the form's fields."""
    errors = FormErrors()
    for error in body.get("errors") or []:
        loc = [str(part) for part in (error.get("loc") or [])] if isinstance(error, dict) else []
        for where, (name, text) in _DOMICILE_FIELDS.items():
            if where in loc:
                if name not in errors.fields:
                    errors.add(name, text)
                break
    if not errors:
        errors.general.append("Votre nouveau domicile n'a pas pu être enregistré : vérifiez-le.")
    return errors


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


CONTACT_NOTICES: Final[dict[str, list[dict[str, str]]]] = {
    "confirmation-envoyee": [
        {
            "kind": "succes",
            "text": "Un lien de confirmation a été envoyé à la nouvelle adresse. Les avis y "
            "seront envoyés dès que vous l'aurez ouvert ; d'ici là, ils continuent d'arriver à "
            "votre adresse actuelle.",
        }
    ],
    "mobile-modifie": [
        {"kind": "succes", "text": "Votre numéro de mobile est enregistré."},
    ],
    "mobile-retire": [
        {"kind": "succes", "text": "Vous ne recevrez plus d'avis par SMS."},
    ],
    "domicile-modifie": [
        {
            "kind": "succes",
            "text": "Votre nouveau domicile est enregistré. Les actes signifiés à partir de "
            "maintenant suivent l'heure légale et les jours fériés de son territoire.",
        }
    ],
}
