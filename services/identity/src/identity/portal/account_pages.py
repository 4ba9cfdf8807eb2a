"""Mon compte: the profile, password change, second factor (TOTP) and termination."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from identity import totp
from identity.errors import IdentityError
from identity.portal import messages
from identity.portal.pages import (
    CONFIRMED,
    Portal,
    Refusal,
    field,
    mask_email,
    redirect,
    refusal_page,
)
from identity.portal.sessions import PortalSession
from shared.portal import FormErrors


def account_pages(router: APIRouter, portal: Portal) -> None:
    """Mon compte: password, TOTP, termination."""
    identity = portal.identity

    async def account_page(
        session: PortalSession,
        *,
        errors: FormErrors | None = None,
        notices: list[dict[str, str]] | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        profile = await identity.accounts.profile(session.account_id)
        return portal.session_page(
            session,
            "identity/compte.html",
            {
                "page_title": "Mon compte",
                "profile": profile,
                "masked_email": mask_email(profile.get("email")),
                "errors": errors,
                "notices": notices or [],
                "rules": messages.PASSWORD_RULES,
            },
            status_code=status_code,
        )

    async def writable(request: Request) -> tuple[PortalSession, FormData]:
        """A signed-in session whose form passed CSRF and which may change the account."""
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        if session.terms_pending:
            raise Refusal(redirect("/cgu"))
        if not session.may_write:
            raise Refusal(
                refusal_page(portal, session, IdentityError(403, "account-read-only", ""))
            )
        return session, form

    @router.get("/compte")
    async def account(request: Request, info: str | None = None) -> Response:
        session = await portal.signed_in(request)
        if session.terms_pending:
            return redirect("/cgu")
        return await account_page(session, notices=messages.notices(info))

    @router.post("/compte/mot-de-passe")
    async def change_password(request: Request) -> Response:
        session, form = await writable(request)
        current = field(form, "mot_de_passe_actuel")
        new = field(form, "nouveau_mot_de_passe")
        errors = FormErrors()
        if not current:
            errors.add("mot_de_passe_actuel", "Saisissez votre mot de passe actuel.")
        if not new:
            errors.add("nouveau_mot_de_passe", "Choisissez un nouveau mot de passe.")
        elif new != field(form, "confirmation_mot_de_passe"):
            errors.add(
                "confirmation_mot_de_passe",
                "Les deux mots de passe saisis ne sont pas identiques.",
            )
        if errors:
            return await account_page(session, errors=errors, status_code=422)
        try:
            await identity.accounts.change_password(session.account_id, current, new)
        except IdentityError as error:
            name = (
                "mot_de_passe_actuel"
                if error.code == "invalid-current-password"
                else "nouveau_mot_de_passe"
            )
            errors.add(name, messages.message_for(error))
            return await account_page(session, errors=errors, status_code=error.status)
        return redirect("/compte", "mot-de-passe-modifie")

    def enrolment_page(
        session: PortalSession, secret: str, errors: FormErrors | None, status_code: int = 200
    ) -> HTMLResponse:
        uri = totp.provisioning_uri(secret, session.identifier, identity.ctx.settings.totp_issuer)
        return portal.session_page(
            session,
            "identity/totp_enrolement.html",
            {
                "page_title": "Activer la double authentification",
                "secret": secret,
                "provisioning_uri": uri,
                "errors": errors,
            },
            status_code=status_code,
        )

    @router.post("/compte/totp")
    async def enrol_totp(request: Request) -> Response:
        session, _ = await writable(request)
        enrolment = await identity.accounts.enrol_totp(session.account_id)
        return enrolment_page(session, enrolment.secret, None)

    @router.post("/compte/totp/confirmation")
    async def confirm_totp(request: Request) -> Response:
        session, form = await writable(request)
        code = field(form, "code").strip()
        try:
            if not code:
                raise IdentityError(422, "code-missing", "")
            codes = await identity.accounts.confirm_totp(session.account_id, code)
        except IdentityError as error:
            pending = await identity.accounts.pending_totp_secret(session.account_id)
            if not pending:
                return redirect("/compte")
            errors = FormErrors()
            errors.add(
                "code",
                "Saisissez le code à 6 chiffres affiché par votre application."
                if error.code in ("code-missing", "totp-code-malformed")
                else "Le code ne correspond pas : saisissez le code affiché en ce moment.",
            )
            return enrolment_page(session, str(pending), errors, status_code=422)
        return portal.session_page(
            session,
            "identity/totp_codes.html",
            {"page_title": "Vos codes de secours", "codes": codes},
        )

    @router.post("/compte/totp/desactivation")
    async def disable_totp(request: Request) -> Response:
        session, form = await writable(request)
        password = field(form, "mot_de_passe_totp")
        errors = FormErrors()
        if not password:
            errors.add("mot_de_passe_totp", "Saisissez votre mot de passe pour confirmer.")
            return await account_page(session, errors=errors, status_code=422)
        try:
            await identity.accounts.disable_totp(session.account_id, password)
        except IdentityError as error:
            errors.add("mot_de_passe_totp", messages.message_for(error))
            return await account_page(session, errors=errors, status_code=error.status)
        return redirect("/compte", "totp-desactive")

    @router.post("/compte/resiliation")
    async def terminate(request: Request) -> Response:
        session, form = await writable(request)
        if field(form, "confirmation_resiliation") != CONFIRMED:
            errors = FormErrors()
            errors.add("confirmation_resiliation", "Cochez la case pour confirmer la résiliation.")
            return await account_page(session, errors=errors, status_code=422)
        try:
            await identity.accounts.terminate(session.account_id)
        except IdentityError as error:
            return refusal_page(portal, session, error)
        # Termination revoked every session (the next ones are read-only): sign in again.
        await portal.sessions.forget(session)
        return portal.ended("resiliation")
