"""The person's remaining rights in "Mes données": report compromised credentials (every
session and token revoked at once), rectification requests answered by an operator, and the
help page (support, DPO, complaint to the CNIL).

The help page needs no login: someone locked out of their account needs it most.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from identity.errors import IdentityError
from identity.portal.pages import CONFIRMED, Portal, field, redirect, refusal_page
from identity.portal.sessions import PortalSession
from identity.rectification import MAX_RECTIFICATION_TEXT
from shared.contracts.identity import RectificationOutcome
from shared.portal import FormErrors

OUTCOMES = {
    RectificationOutcome.RECTIFIED: "Rectification faite",
    RectificationOutcome.REFUSED: "Rectification refusée",
}

COMPROMISE_ENDED = "compromission"


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
