"""The pages an e-mailed link opens: account activation and password reset, and the
reset request."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from identity.accounts import ACTIVATION, RESET
from identity.errors import IdentityError
from identity.portal import messages
from identity.portal.pages import Portal, client_ip, field, redirect
from shared.portal import FormErrors


def link_pages(router: APIRouter, portal: Portal) -> None:
    """The pages of the e-mailed links: activation, password reset."""
    identity = portal.identity

    async def password_page(
        request: Request,
        name: str,
        token: str,
        *,
        errors: FormErrors | None = None,
        link_invalid: bool = False,
        status_code: int = 200,
    ) -> HTMLResponse:
        titles = {
            "identity/activation.html": "Activer votre compte",
            "identity/reinitialisation.html": "Choisir un nouveau mot de passe",
        }
        return await portal.anonymous_page(
            request,
            name,
            {
                "page_title": titles[name],
                "token": token,
                "errors": errors,
                "link_invalid": link_invalid or not token,
                "rules": messages.PASSWORD_RULES,
                "link_message": messages.message_for(IdentityError(410, "link-invalid", "")),
            },
            status_code=status_code,
        )

    def new_password(form: FormData, errors: FormErrors) -> str:
        password = field(form, "mot_de_passe")
        confirmation = field(form, "confirmation")
        if not password:
            errors.add("mot_de_passe", "Choisissez un mot de passe.")
        elif password != confirmation:
            errors.add("confirmation", "Les deux mots de passe saisis ne sont pas identiques.")
        return password

    def link_failure(error: IdentityError, errors: FormErrors) -> bool:
        """Maps a refusal onto the form; True when the link itself is the problem."""
        if error.code == "link-invalid":
            return True
        if error.code == "password-rejected":
            errors.add("mot_de_passe", messages.message_for(error))
        else:
            errors.general.append(messages.message_for(error))
        return False

    async def link_page(request: Request, name: str, token: str, purpose: str) -> Response:
        """The password form of an e-mailed link, or at once the page saying the link expired
        or was used (checked without spending it: nobody types a password for nothing)."""
        if not token:
            return await password_page(request, name, token, status_code=400)
        try:
            await identity.accounts.check_link(token, purpose)
        except IdentityError as error:
            return await password_page(
                request, name, token, link_invalid=True, status_code=error.status
            )
        return await password_page(request, name, token)

    @router.get("/activation")
    async def activation_form(request: Request, token: str = "") -> Response:
        return await link_page(request, "identity/activation.html", token, ACTIVATION)

    @router.post("/activation")
    async def activate(request: Request) -> Response:
        form = await request.form()
        await portal.check_anonymous(request, form)
        token = field(form, "token")
        errors = FormErrors()
        password = new_password(form, errors)
        if errors:
            return await password_page(
                request, "identity/activation.html", token, errors=errors, status_code=422
            )
        try:
            activated = await identity.accounts.activate(token, password)
        except IdentityError as error:
            gone = link_failure(error, errors)
            return await password_page(
                request,
                "identity/activation.html",
                token,
                errors=None if gone else errors,
                link_invalid=gone,
                status_code=error.status,
            )
        try:
            tokens = await identity.sessions.login(
                activated.identifier, password, ip=client_ip(request)
            )
        except IdentityError:
            return redirect("/connexion", "compte-active-connexion")
        return await portal.start_session(tokens, activated=True)

    @router.get("/reinitialisation")
    async def reset_form(request: Request, token: str = "") -> Response:
        if token:
            return await link_page(request, "identity/reinitialisation.html", token, RESET)
        return await portal.anonymous_page(
            request,
            "identity/reinitialisation_demande.html",
            {"page_title": "Mot de passe oublié", "sent": False},
        )

    @router.post("/reinitialisation")
    async def reset(request: Request) -> Response:
        form = await request.form()
        await portal.check_anonymous(request, form)
        token = field(form, "token")
        errors = FormErrors()
        if not token:
            identifier = field(form, "identifiant").strip()
            if not identifier:
                errors.add("identifiant", "Saisissez votre identifiant.")
                return await portal.anonymous_page(
                    request,
                    "identity/reinitialisation_demande.html",
                    {"page_title": "Mot de passe oublié", "sent": False, "errors": errors},
                    status_code=422,
                )
            # The same answer whether the identifier exists or not.
            try:
                await identity.accounts.request_password_reset(identifier, ip=client_ip(request))
            except IdentityError as error:
                errors.general.append(messages.message_for(error))
                return await portal.anonymous_page(
                    request,
                    "identity/reinitialisation_demande.html",
                    {"page_title": "Mot de passe oublié", "sent": False, "errors": errors},
                    status_code=error.status,
                    headers=error.headers,
                )
            return await portal.anonymous_page(
                request,
                "identity/reinitialisation_demande.html",
                {"page_title": "Mot de passe oublié", "sent": True},
            )
        password = new_password(form, errors)
        if errors:
            return await password_page(
                request, "identity/reinitialisation.html", token, errors=errors, status_code=422
            )
        try:
            await identity.accounts.complete_password_reset(token, password)
        except IdentityError as error:
            gone = link_failure(error, errors)
            return await password_page(
                request,
                "identity/reinitialisation.html",
                token,
                errors=None if gone else errors,
                link_invalid=gone,
                status_code=error.status,
            )
        return redirect("/connexion", "mot-de-passe-reinitialise")
