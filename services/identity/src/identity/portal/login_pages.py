"""The portal's front door: home, login (password, then TOTP), logout."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from identity.errors import IdentityError
from identity.portal import messages
from identity.portal.pages import Portal, client_ip, field, landing, redirect
from shared.portal import FormErrors


def login_pages(router: APIRouter, portal: Portal) -> None:
    """Home, login and logout, on the portal's `router`."""
    identity = portal.identity

    @router.get("/")
    async def home(request: Request) -> Response:
        session = await portal.session(request)
        return redirect(landing(str(session.account["role"])) if session else "/connexion")

    async def login_page(
        request: Request,
        *,
        identifier: str = "",
        errors: FormErrors | None = None,
        second_factor: bool = False,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        notices: list[dict[str, str]] | None = None,
    ) -> HTMLResponse:
        return await portal.anonymous_page(
            request,
            "identity/connexion.html",
            {
                "page_title": "Connexion",
                "identifier": identifier,
                "errors": errors,
                "second_factor": second_factor,
                "notices": notices or [],
            },
            status_code=status_code,
            headers=headers,
        )

    @router.get("/connexion")
    async def login_form(request: Request, info: str | None = None) -> Response:
        session = await portal.session(request)
        if session is not None:
            return redirect(landing(str(session.account["role"])))
        return await login_page(request, notices=messages.notices(info))

    @router.post("/connexion")
    async def login(request: Request) -> Response:
        form = await request.form()
        await portal.check_anonymous(request, form)
        identifier = field(form, "identifiant").strip()
        password = field(form, "mot_de_passe")
        code = field(form, "code").strip()
        errors = FormErrors()
        if not identifier:
            errors.add("identifiant", "Saisissez votre identifiant.")
        if not password:
            errors.add("mot_de_passe", "Saisissez votre mot de passe.")
        if errors:
            return await login_page(
                request,
                identifier=identifier,
                errors=errors,
                second_factor=bool(code),
                status_code=422,
            )
        try:
            tokens = await identity.sessions.login(
                identifier, password, ip=client_ip(request), second_factor=code or None
            )
        except IdentityError as error:
            if error.code == "second-factor-required":
                return await login_page(
                    request,
                    identifier=identifier,
                    second_factor=True,
                    notices=[{"kind": "info", "text": messages.message_for(error)}],
                )
            if error.code == "invalid-second-factor":
                errors.add("code", messages.message_for(error))
                return await login_page(
                    request,
                    identifier=identifier,
                    errors=errors,
                    second_factor=True,
                    status_code=401,
                )
            if error.code == "terms-refused":
                return portal.terms_refused()
            if error.code == "invalid-credentials":
                errors.add("identifiant", messages.INVALID_CREDENTIALS)
            else:
                errors.general.append(messages.message_for(error))
            return await login_page(
                request,
                identifier=identifier,
                errors=errors,
                second_factor=bool(code),
                status_code=error.status,
                headers=error.headers,
            )
        # A new cookie value at every login: a value planted before login is worthless.
        previous = await portal.session(request)
        if previous is not None:
            await portal.sessions.forget(previous)
        return await portal.start_session(tokens)

    @router.post("/deconnexion")
    async def logout(request: Request) -> Response:
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        await portal.sessions.logout(session)
        response = redirect("/connexion", "deconnecte")
        portal.cookies.clear_session(response)
        return response
