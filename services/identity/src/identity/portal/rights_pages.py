"""The person's remaining rights in "Mes données": report compromised credentials (every
session and token revoked at once), rectification requests answered by an operator, post-mortem
directives (loi 78-17 art. 85), and the help page (support, DPO, complaint to the CNIL).

The help page needs no login: someone locked out of their account needs it most.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from identity.directives import MAX_NAME
from identity.errors import IdentityError
from identity.portal import messages
from identity.portal.pages import CONFIRMED, Portal, field, redirect, refusal_page
from identity.portal.sessions import PortalSession
from identity.rectification import MAX_RECTIFICATION_TEXT
from shared.contracts.identity import PostMortemErasure, RectificationOutcome
from shared.portal import FormErrors

OUTCOMES = {
    RectificationOutcome.RECTIFIED: "Rectification faite",
    RectificationOutcome.REFUSED: "Rectification refusée",
}

COMPROMISE_ENDED = "compromission"

ERASURE_CHOICES = {
    PostMortemErasure.AT_ONCE: "Effacer mes données dès que mon décès est enregistré",
    PostMortemErasure.SCHEDULED: (
        "Conserver mes données selon les délais habituels, puis les détruire"
    ),
}
_EMAIL = TypeAdapter(EmailStr)


def rights_pages(router: APIRouter, portal: Portal) -> None:
    identity = portal.identity
    settings = identity.ctx.settings

    @router.get("/aide")
    async def help_page(request: Request) -> Response:
        session = await portal.session(request)
        context = {
            "page_title": "Aide et contacts",
            "support_contact": settings.support_contact,
            "support_hours": settings.support_hours,
            "dpo_contact": settings.dpo_contact,
            "cnil_complaint_text": settings.cnil_complaint_text,
        }
        if session is not None:
            return portal.session_page(session, "identity/aide.html", context)
        return portal.pages.response("identity/aide.html", context)

    async def rectification_page(
        session: PortalSession,
        *,
        errors: FormErrors | None = None,
        typed: str = "",
        status_code: int = 200,
    ) -> Response:
        return portal.session_page(
            session,
            "identity/rectification.html",
            {
                "page_title": "Rectifier mes données",
                "requests": await identity.rectifications.of_account(session.account_id),
                "outcomes": OUTCOMES,
                "max_text": MAX_RECTIFICATION_TEXT,
                "errors": errors,
                "typed": typed,
            },
            status_code=status_code,
        )

    @router.get("/donnees/rectification")
    async def rectification(request: Request) -> Response:
        return await rectification_page(await portal.signed_in(request))

    @router.post("/donnees/rectification")
    async def request_rectification(request: Request) -> Response:
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        text = field(form, "rectification").strip()
        errors = FormErrors()
        if not text:
            errors.add("rectification", "Indiquez ce qui est inexact et la donnée exacte.")
        elif len(text) > MAX_RECTIFICATION_TEXT:
            errors.add(
                "rectification", f"Votre demande dépasse {MAX_RECTIFICATION_TEXT} caractères."
            )
        if errors:
            return await rectification_page(session, errors=errors, typed=text, status_code=422)
        await identity.rectifications.request(session.account_id, text)
        return redirect("/donnees/rectification")

    async def directives_page(
        session: PortalSession,
        *,
        errors: FormErrors | None = None,
        typed: dict[str, str] | None = None,
        info: str | None = None,
        status_code: int = 200,
    ) -> Response:
        recorded = await identity.directives.of_account(session.account_id)
        if typed is None and recorded is not None:
            typed = {
                "effacement": recorded.erasure.value,
                "personne_nom": recorded.designated_name or "",
                "personne_courriel": recorded.designated_email or "",
            }
        return portal.session_page(
            session,
            "identity/directives.html",
            {
                "page_title": "Mes directives en cas de décès",
                "recorded": recorded,
                "choices": ERASURE_CHOICES,
                "max_name": MAX_NAME,
                "errors": errors,
                "typed": typed or {},
                "notices": messages.notices(info),
            },
            status_code=status_code,
        )

    @router.get("/donnees/directives")
    async def directives_form(request: Request, info: str | None = None) -> Response:
        return await directives_page(await portal.signed_in(request), info=info)

    @router.post("/donnees/directives")
    async def record_directives(request: Request) -> Response:
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        typed = {
            name: field(form, name).strip()
            for name in ("effacement", "personne_nom", "personne_courriel")
        }
        errors = FormErrors()
        erasure = next((c for c in ERASURE_CHOICES if c.value == typed["effacement"]), None)
        if erasure is None:
            errors.add("effacement", "Choisissez ce que deviennent vos données.")
        name, email = typed["personne_nom"], typed["personne_courriel"]
        if email and not name:
            errors.add("personne_nom", "Indiquez le nom de la personne à prévenir.")
        elif len(name) > MAX_NAME:
            errors.add("personne_nom", f"Le nom dépasse {MAX_NAME} caractères.")
        if name and not email:
            errors.add("personne_courriel", "Indiquez l'adresse électronique de cette personne.")
        elif email:
            try:
                email = _EMAIL.validate_python(email)
            except ValidationError:
                errors.add(
                    "personne_courriel",
                    "Indiquez une adresse électronique valide, par exemple nom@exemple.fr.",
                )
        if errors or erasure is None:
            return await directives_page(session, errors=errors, typed=typed, status_code=422)
        try:
            await identity.directives.record(
                session.account_id,
                erasure,
                designated_name=name or None,
                designated_email=email or None,
            )
        except IdentityError as error:
            return refusal_page(portal, session, error)
        return redirect("/donnees/directives", info="directives-enregistrees")

    @router.post("/donnees/directives/revocation")
    async def revoke_directives(request: Request) -> Response:
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        if field(form, "confirmation_revocation") != CONFIRMED:
            errors = FormErrors()
            errors.add("confirmation_revocation", "Cochez la case pour confirmer la révocation.")
            return await directives_page(session, errors=errors, status_code=422)
        try:
            await identity.directives.revoke(session.account_id)
        except IdentityError as error:
            return refusal_page(portal, session, error)
        return redirect("/donnees/directives", info="directives-revoquees")

    @router.get("/donnees/compromission")
    async def compromise_form(request: Request) -> Response:
        session = await portal.signed_in(request)
        return portal.session_page(
            session, "identity/compromission.html", {"page_title": "Signaler un piratage"}
        )

    @router.post("/donnees/compromission")
    async def report_compromise(request: Request) -> Response:
        """Any signed-in session may report (read-only ones too: their access is a credential
        as well); the CGU need not be answered first, the risk does not wait."""
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        if field(form, "confirmation_compromission") != CONFIRMED:
            errors = FormErrors()
            errors.add(
                "confirmation_compromission", "Cochez la case pour confirmer le signalement."
            )
            return portal.session_page(
                session,
                "identity/compromission.html",
                {"page_title": "Signaler un piratage", "errors": errors},
                status_code=422,
            )
        try:
            await identity.accounts.report_compromise(session.account_id)
        except IdentityError as error:
            return refusal_page(portal, session, error)
        # Every session died with the report, this one included.
        await portal.sessions.forget(session)
        return portal.ended(COMPROMISE_ENDED)
