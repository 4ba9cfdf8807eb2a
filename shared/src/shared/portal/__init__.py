"""The recipient portal's shared page layout, form macros, stylesheet and security headers.

Every service that serves portal pages (identity first; delivery's acts pages later) renders
them with `templates(service_dir)`: the service's templates are searched first, then the shared
layout (`portal/layout.html`) and form macros (`portal/forms.html`). The pages work without
JavaScript and follow RGAA basics: `lang="fr"`, a skip link, landmarks, one `h1`, labelled
fields with hints, and an error summary whose links lead to the fields in error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from shared.french import french_date, french_datetime

__all__ = [
    "SERVICE_NAME",
    "STYLESHEET_URL",
    "FormErrors",
    "PortalTemplates",
    "french_date",
    "french_datetime",
    "french_duration",
    "security_headers",
    "stylesheet_router",
    "templates",
]

SERVICE_NAME: Final = "SECURACT-NG — Signification électronique des actes"
STYLESHEET_URL: Final = "/portail/static/portail.css"

_HERE = Path(__file__).parent
_SHARED_TEMPLATES = _HERE / "templates"
_STYLESHEET = _HERE / "static" / "portail.css"

# No script at all, styles from our own origin only, no framing, forms post to us only.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def security_headers(*, no_store: bool = True) -> dict[str, str]:
    """Headers every portal page carries. Referrer-Policy `no-referrer` matters: activation and
    reset pages have their single-use token in the URL."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if no_store:
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return headers


def french_duration(seconds: int) -> str:
    """A wait as a person reads it: `45 secondes`, `1 minute`, `15 minutes` (rounded up)."""
    if seconds < 60:
        return f"{seconds} seconde{'s' if seconds > 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


@dataclass
class FormErrors:
    """Errors of a submitted form: per field (shown next to it and in the summary, whose links
    point at the field's id) and for the whole form (summary only)."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, field_name: str, message: str) -> None:
        self.fields.setdefault(field_name, message)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


class PortalTemplates:
    """A Jinja2 environment (autoescaped) with the shared layout, and HTML responses."""

    def __init__(self, env: Environment) -> None:
        self.env = env

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        return self.env.get_template(name).render(**context)

    def response(
        self,
        name: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """The page as an HTML response carrying the portal's security headers."""
        return HTMLResponse(
            self.render(name, context),
            status_code=status_code,
            headers={**security_headers(), **(headers or {})},
        )


def templates(*service_templates: Path | BaseLoader) -> PortalTemplates:
    """The portal environment: the service's template directories (or loaders) first, then
    the shared layout and macros, so a service page `{% extends "portal/layout.html" %}`."""
    loaders: list[BaseLoader] = [
        item if isinstance(item, BaseLoader) else FileSystemLoader(item)
        for item in service_templates
    ]
    loaders.append(FileSystemLoader(_SHARED_TEMPLATES))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals.update(service_name=SERVICE_NAME, stylesheet_url=STYLESHEET_URL)
    env.filters.update(
        date_fr=french_date, datetime_fr=french_datetime, duration_fr=french_duration
    )
    return PortalTemplates(env)


def stylesheet_router() -> APIRouter:
    """Serves the portal stylesheet at `STYLESHEET_URL` (the layout links it)."""
    router = APIRouter(include_in_schema=False)
    css = _STYLESHEET.read_bytes()

    @router.get(STYLESHEET_URL)
    async def stylesheet() -> Response:
        return Response(
            css,
            media_type="text/css; charset=utf-8",
            headers={
                **security_headers(no_store=False),
                "Cache-Control": "public, max-age=3600",
            },
        )

    return router
