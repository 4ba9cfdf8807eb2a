"""What every portal page shares: templates, the session cookie and the CSRF checks
(`Portal`), the route class that turns a `Refusal` into its response and adds the security
headers, and the small form and formatting helpers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from markdown_it import MarkdownIt
from starlette.datastructures import FormData

from identity.errors import IdentityError
from identity.portal import messages
from identity.portal.security import CookiePolicy, CsrfSigner, form_token, new_nonce, tokens_match
from identity.portal.sessions import PortalSession, PortalSessions
from identity.service import Identity
from identity.sessions import SessionTokens
from shared.contracts.identity import AccountRole
from shared.portal import PortalTemplates, security_headers

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
        are to be answered (a first version, or a later one binding the account: shown first,
        the acts staying open), else the person's landing page (`landing`)."""
        value = await self.sessions.open(tokens)
        if tokens.terms_acceptance_required or tokens.terms_answer_pending:
            response = redirect("/cgu", "compte-active" if activated else None)
        else:
            response = redirect(landing(tokens.role))
        self.cookies.set_session(response, value)
        return response

    # -- CSRF ----------------------------------------------------------------------------------

    def forbidden(self, session: PortalSession | None) -> Refusal:
        signed_in = {"signed_in": True, "csrf_token": session.csrf_token} if session else {}
        context = {
            "page_title": "Action refusée",
            "message": (
                "Ce formulaire a expiré ou ne provient pas de ce site : par sécurité, l'action "
                "n'a pas été effectuée. Revenez à la page et recommencez."
            ),
            "next_url": "/compte" if session else "/connexion",
            "next_label": "Revenir à mon compte" if session else "Revenir à la connexion",
            **signed_in,
        }
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
    "compromission": "Toutes vos sessions sont fermées",
}


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
