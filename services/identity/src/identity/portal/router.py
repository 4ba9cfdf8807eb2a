"""The recipient portal's pages, served by identity: server-rendered French pages that work
without JavaScript, one router per feature (login, e-mailed links, CGU, account) on one
`Portal` (`identity.portal.pages`).

Routes decode the form, check its CSRF token, call one use case of `Identity` in process and
render a page or redirect (303, so a reload never re-posts). Every POST checks a CSRF token:
the session's synchronizer token once signed in, the signed double submit before.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter

from identity.portal.account_pages import account_pages
from identity.portal.link_pages import link_pages
from identity.portal.login_pages import login_pages
from identity.portal.pages import TEMPLATES_DIR, Portal, PortalRoute
from identity.portal.rights_pages import rights_pages
from identity.portal.statement import CONSENT_AUDIENCE, StatementApi
from identity.portal.terms_pages import terms_pages
from identity.service import Identity
from shared.portal import PortalTemplates, templates


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
    login_pages(router, portal)
    link_pages(router, portal)
    terms_pages(router, portal, statements)
    account_pages(router, portal)
    rights_pages(router, portal)
    return router
