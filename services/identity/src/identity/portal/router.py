"""The recipient portal's front door, served by identity: server-rendered French pages that
work without JavaScript (issue 4 item 9).

Routes decode the form, check its CSRF token, call one use case of `Identity` in process and
render a page or redirect (303, so a reload never re-posts). Every POST checks a CSRF token:
the session's synchronizer token once signed in, the signed double submit before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from markdown_it import MarkdownIt
from starlette.datastructures import FormData

from identity import totp
from identity.accounts import ACTIVATION, RESET
from identity.errors import IdentityError
from identity.portal import messages
from identity.portal.security import CookiePolicy, CsrfSigner, form_token, new_nonce, tokens_match
from identity.portal.sessions import PortalSession, PortalSessions
from identity.portal.statement import (
    CONSENT_AUDIENCE,
    MAX_REASON,
    PARTS,
    Answer,
    StatementApi,
    StatementUnavailableError,
)
from identity.service import Identity
from identity.sessions import SessionTokens
from shared.contracts.identity import AccountRole
from shared.portal import FormErrors, PortalTemplates, security_headers, templates

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
MAX_FIELD = 1025  # longer than any accepted value: the use case refuses it with its own reason
CONFIRMED = "oui"
ACTS_PAGE = "/actes"
ACCOUNT_PAGE = "/compte"

_markdown = MarkdownIt("commonmark", {"html": False})


def terms_html(markdown: str) -> str:
    """The CGU as HTML, headings one level down (the page's own title is the only `h1`); raw
    HTML in the markdown is escaped, not passed through."""
    tokens = _markdown.parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
    return str(_markdown.renderer.render(tokens, _markdown.options, {}))


def mask_email(email: str | None) -> str:
    """`j•••••e@example.org`: enough for the holder to recognise it, not to read it aloud."""
    if not email or "@" not in email:
        return "—"
    local, domain = email.rsplit("@", 1)
    if len(local) <= 2:
        return f"{local[0]}•••@{domain}"
    return f"{local[0]}{'•' * min(len(local) - 2, 6)}{local[-1]}@{domain}"


def landing(role: str) -> str:
    """Where a signed-in person lands: a recipient on "Mes actes" (what they came for, often
    an act just served), anyone else on the account page."""
    return ACTS_PAGE if role == AccountRole.RECIPIENT else ACCOUNT_PAGE


class Refusal(Exception):  # noqa: N818 - an outcome, not a failure of ours
    """Stops a portal route with a ready response (a 403 page, a redirect to /connexion)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class PortalRoute(APIRoute):
    """A portal route: `Refusal` becomes its response, and every response carries the
    portal's security headers (no-store included: these pages hold personal data or tokens)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def portal_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Refusal as refusal:
                response = refusal.response
            for name, value in security_headers().items():
                response.headers.setdefault(name, value)
            return response

        return portal_handler


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def redirect(path: str, info: str | None = None) -> RedirectResponse:
    target = f"{path}?{urlencode({'info': info})}" if info else path
    return RedirectResponse(target, status_code=303)


class Portal:
    """The portal's state shared by its routes: templates, cookies, sessions, CSRF."""

    def __init__(self, identity: Identity, pages: PortalTemplates) -> None:
        self.identity = identity
        self.pages = pages
        self.cookies = CookiePolicy(secure=not identity.ctx.settings.is_dev)
        self.sessions = PortalSessions(identity)
        self.signer = CsrfSigner(identity.ctx.store)

    # -- sessions ------------------------------------------------------------------------------

    async def session(self, request: Request) -> PortalSession | None:
        return await self.sessions.find(self.cookies.session_value(request))

    async def signed_in(self, request: Request) -> PortalSession:
        """The request's session; otherwise a redirect to the login page."""
        session = await self.session(request)
        if session is None:
            response = redirect("/connexion")
            if self.cookies.session_value(request) is not None:
                response = redirect("/connexion", "session-expiree")
                self.cookies.clear_session(response)
            raise Refusal(response)
        return session

    async def start_session(
        self, tokens: SessionTokens, *, activated: bool = False
    ) -> RedirectResponse:
        """A new cookie value bound to the login's identity session, then the CGU if they
        are to be answered, else the person's landing page (`landing`)."""
        value = await self.sessions.open(tokens)
        if tokens.terms_acceptance_required:
            response = redirect("/cgu", "compte-active" if activated else None)
        else:
            response = redirect(landing(tokens.role))
        self.cookies.set_session(response, value)
        return response

    # -- CSRF ----------------------------------------------------------------------------------

    def forbidden(self, session: PortalSession | None) -> Refusal:
        context: dict[str, Any] = {
            "page_title": "Action refusée",
            "message": (
                "Ce formulaire a expiré ou ne provient pas de ce site : par sécurité, l'action "
                "n'a pas été effectuée. Revenez à la page et recommencez."
            ),
            "next_url": "/compte" if session else "/connexion",
            "next_label": "Revenir à mon compte" if session else "Revenir à la connexion",
        }
        if session is not None:
            context.update(signed_in=True, csrf_token=session.csrf_token)
        return Refusal(self.pages.response("portal/error.html", context, status_code=403))

    async def check_anonymous(self, request: Request, form: FormData) -> None:
        if not await self.signer.verify(self.cookies.csrf_nonce(request), form_token(form)):
            log.info("portal: pre-login form refused (CSRF) on %s", request.url.path)
            raise self.forbidden(None)

    def check_session(self, session: PortalSession, form: FormData) -> None:
        if not tokens_match(form_token(form), session.csrf_token):
            log.info("portal: form refused (CSRF) for session %s", session.session_id)
            raise self.forbidden(session)

    # -- pages ---------------------------------------------------------------------------------

    async def anonymous_page(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """A page with pre-login forms: reuses the browser's CSRF nonce or sets a new one."""
        nonce = self.cookies.csrf_nonce(request)
        fresh = nonce is None
        nonce = nonce or new_nonce()
        page = self.pages.response(
            name,
            {**context, "csrf_token": await self.signer.token_for(nonce)},
            status_code=status_code,
            headers=headers,
        )
        if fresh:
            self.cookies.set_csrf_nonce(page, nonce)
        return page

    def session_page(
        self,
        session: PortalSession,
        name: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        return self.pages.response(
            name,
            {**context, "signed_in": True, "csrf_token": session.csrf_token, "me": session},
            status_code=status_code,
        )

    def error_page(
        self,
        session: PortalSession,
        title: str,
        message: str,
        *,
        status_code: int,
        next_url: str = "/compte",
        next_label: str = "Revenir à mon compte",
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """A signed-in error page (unknown act, a service down…) with a way back."""
        return self.pages.response(
            "portal/error.html",
            {
                "page_title": title,
                "message": message,
                "next_url": next_url,
                "next_label": next_label,
                "signed_in": True,
                "csrf_token": session.csrf_token,
                "me": session,
            },
            status_code=status_code,
            headers=headers,
        )

    def ended(self, reason: str) -> HTMLResponse:
        """The page after the session ended (CGU refusal, termination): cookie cleared."""
        page = self.pages.response(
            "identity/fin_de_session.html",
            {"page_title": _ENDED_TITLES[reason], "reason": reason},
        )
        self.cookies.clear_session(page)
        return page

    def terms_refused(self) -> HTMLResponse:
        """A login after the CGU were refused: the refusal is final, no session opens; the
        page says so instead of showing the CGU to accept."""
        return self.pages.response(
            "identity/fin_de_session.html",
            {"page_title": _ENDED_TITLES[TERMS_REFUSED_EARLIER], "reason": TERMS_REFUSED_EARLIER},
            status_code=403,
        )


TERMS_REFUSED_EARLIER = "refus-anterieur"
_ENDED_TITLES = {
    "refus": "Vous avez refusé les conditions générales",
    TERMS_REFUSED_EARLIER: "Vous avez refusé les conditions générales",
    "refus-resiliation": "Vous avez refusé les conditions générales : compte résilié",
    "resiliation": "Votre compte est résilié",
}


def portal_router(
    identity: Identity,
    pages: PortalTemplates | None = None,
    *,
    consent_http: httpx.AsyncClient | None = None,
) -> APIRouter:
    """The portal's pages on `identity`'s use cases (in process, no HTTP call to itself).
    `consent_http` reaches consent's API: the CGU page shows the person's declaration and
    binds its acceptance to it (the service always wires it; without it, as in tests of the
    identity-only pages, the CGU page shows the CGU alone)."""
    portal = Portal(identity, pages or templates(TEMPLATES_DIR))
    router = APIRouter(include_in_schema=False, route_class=PortalRoute)
    statements = (
        None
        if consent_http is None
        else StatementApi(identity, consent_http, audience=CONSENT_AUDIENCE)
    )
    _home_and_login(router, portal)
    _activation_and_reset(router, portal)
    _terms(router, portal, statements)
    _account(router, portal)
    return router


# -- home, login, logout -------------------------------------------------------------------------


def _home_and_login(router: APIRouter, portal: Portal) -> None:
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


# -- activation and password reset -----------------------------------------------------------


def _activation_and_reset(router: APIRouter, portal: Portal) -> None:
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


# -- CGU -----------------------------------------------------------------------------------------


def _terms(router: APIRouter, portal: Portal, statements: StatementApi | None) -> None:
    identity = portal.identity

    def consent_down(session: PortalSession) -> HTMLResponse:
        return portal.error_page(
            session,
            "Service momentanément indisponible",
            "Votre déclaration de consentement ne peut pas être affichée pour le moment : vous "
            "ne pouvez donc pas encore y répondre. Réessayez dans quelques minutes.",
            status_code=503,
            next_url="/cgu",
            next_label="Revenir aux conditions générales",
            headers={"Retry-After": "60"},
        )

    def answerable(session: PortalSession | None) -> bool:
        return (
            session is not None
            and session.is_recipient
            and not session.terminated
            and session.terms_pending
        )

    @router.get("/cgu")
    async def terms(request: Request, info: str | None = None) -> Response:
        session = await portal.session(request)
        current = await identity.terms.current()
        statement = None
        if statements is not None and session is not None and answerable(session):
            try:
                statement = await statements.statement(session)
            except StatementUnavailableError:
                return consent_down(session)
        context: dict[str, Any] = {
            "page_title": "Conditions générales d'utilisation",
            "terms": current,
            "terms_html": terms_html(current.markdown),
            "upcoming": await identity.terms.upcoming(),
            "answerable": answerable(session),
            # The acceptance binds the declaration: none to show, no acceptance offered.
            "declaration_wired": statements is not None,
            "statement": statement,
            "notices": messages.notices(info),
        }
        if session is None:
            return portal.pages.response("identity/cgu.html", context)
        return portal.session_page(session, "identity/cgu.html", context)

    @router.post("/cgu/acceptation")
    async def accept(request: Request) -> Response:
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        declaration_hash = None
        if statements is not None and answerable(session):
            try:
                held = await declaration_validated(session, field(form, "declaration"))
            except StatementUnavailableError:
                return consent_down(session)
            if isinstance(held, Response):
                return held
            declaration_hash = held
        try:
            await identity.terms.accept(
                session.account_id,
                version=_version(field(form, "version")),
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
                declaration_hash=declaration_hash,
            )
        except IdentityError as error:
            if error.code == "terms-version-changed":
                return redirect("/cgu", "nouvelle-version")
            return refusal_page(portal, session, error)
        return redirect(landing(str(session.account["role"])), "cgu-acceptees")

    async def declaration_validated(session: PortalSession, shown: str) -> Response | str | None:
        """Validate at consent the declaration the page showed (its hash) before the CGU are
        accepted: the hash validated, None when already in force, or a response when the
        acceptance must not go on."""
        assert statements is not None
        statement = await statements.statement(session)
        if statement is None or statement.contested:
            return redirect("/cgu")
        if not statement.answerable:
            return None  # already in force (a new CGU version): nothing more to validate
        if not shown:
            return redirect("/cgu", "declaration-modifiee")
        answer = await statements.validate(session, shown)
        if answer is Answer.CHANGED:
            return redirect("/cgu", "declaration-modifiee")
        return shown if answer is Answer.DONE else redirect("/cgu")

    def contestation_form(
        session: PortalSession,
        content_hash: str,
        *,
        chosen: list[str],
        reason: str,
        errors: FormErrors | None,
        status_code: int = 200,
    ) -> HTMLResponse:
        return portal.session_page(
            session,
            "identity/cgu_declaration_refus.html",
            {
                "page_title": "Refuser ma déclaration",
                "content_hash": content_hash,
                "parts": PARTS,
                "chosen": chosen,
                "reason": reason,
                "max_reason": MAX_REASON,
                "errors": errors,
            },
            status_code=status_code,
        )

    @router.get("/cgu/declaration/refus")
    async def contestation_page(request: Request) -> Response:
        session = await portal.signed_in(request)
        if statements is None or not answerable(session):
            return redirect("/cgu")
        try:
            statement = await statements.statement(session)
        except StatementUnavailableError:
            return consent_down(session)
        if statement is None or not statement.answerable:
            return redirect("/cgu")
        return contestation_form(session, statement.content_hash, chosen=[], reason="", errors=None)

    @router.post("/cgu/declaration/refus")
    async def contest(request: Request) -> Response:
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        if statements is None or not answerable(session):
            return redirect("/cgu")
        shown = field(form, "declaration")
        chosen = [p for p in form.getlist("parties") if isinstance(p, str) and p in PARTS]
        motif = form.get("motif")
        reason = motif[: MAX_REASON + 1].strip() if isinstance(motif, str) else ""
        errors = FormErrors()
        if not chosen:
            errors.add("parties", "Cochez au moins une partie inexacte de la déclaration.")
        if not reason:
            errors.add("motif", "Expliquez ce qui est inexact, pour le commissaire de justice.")
        elif len(reason) > MAX_REASON:
            errors.add("motif", f"Votre explication dépasse {MAX_REASON} caractères.")
        if errors:
            return contestation_form(
                session, shown, chosen=chosen, reason=reason, errors=errors, status_code=422
            )
        try:
            answer = await statements.contest(session, shown, chosen, reason)
        except StatementUnavailableError:
            return consent_down(session)
        if answer is Answer.CHANGED:
            return redirect("/cgu", "declaration-modifiee")
        return redirect("/cgu")

    def refusal_form(
        session: PortalSession, version: int, errors: FormErrors | None, status_code: int = 200
    ) -> HTMLResponse:
        return portal.session_page(
            session,
            "identity/cgu_refus.html",
            {
                "page_title": "Refuser les conditions générales",
                "version": version,
                "leads_to_termination": session.account.get("accepted_terms_version") is not None,
                "errors": errors,
            },
            status_code=status_code,
        )

    @router.get("/cgu/refus")
    async def refusal_confirmation(request: Request) -> Response:
        session = await portal.signed_in(request)
        if not answerable(session):
            return redirect("/compte")
        current = await identity.terms.current()
        return refusal_form(session, current.version, None)

    @router.post("/cgu/refus")
    async def refuse(request: Request) -> Response:
        session = await portal.signed_in(request)
        form = await request.form()
        portal.check_session(session, form)
        version = _version(field(form, "version"))
        if field(form, "confirmation") != CONFIRMED:
            errors = FormErrors()
            errors.add("confirmation", "Cochez la case pour confirmer votre refus.")
            current = version or (await identity.terms.current()).version
            return refusal_form(session, current, errors, status_code=422)
        try:
            decision = await identity.terms.refuse(
                session.account_id,
                version=version,
                session_id=session.session_id,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        except IdentityError as error:
            if error.code == "terms-version-changed":
                return redirect("/cgu", "nouvelle-version")
            return refusal_page(portal, session, error)
        await portal.sessions.forget(session)
        return portal.ended("refus-resiliation" if decision.terminated else "refus")


def _version(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < len(text) < 9 else None


def refusal_page(portal: Portal, session: PortalSession, error: IdentityError) -> HTMLResponse:
    """A use case refused the request: its French message on an error page."""
    return portal.session_page(
        session,
        "portal/error.html",
        {
            "page_title": "Action impossible",
            "message": messages.message_for(error),
            "next_url": "/compte",
            "next_label": "Revenir à mon compte",
        },
        status_code=error.status,
    )


# -- account -------------------------------------------------------------------------------------


def _account(router: APIRouter, portal: Portal) -> None:
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
