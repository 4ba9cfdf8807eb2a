"""RED per route: the duration, method, route template and status of every HTTP request, on
the `http.server.request.duration` instrument of `shared.metrics`."""

from __future__ import annotations

import re
import time
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.metrics import instruments


class RequestMetricsMiddleware:
    """Records `http.server.request.duration` for every request but the health probes.

    Attributes per the HTTP semantic conventions: method, route template (never the path, which
    carries identifiers), status code, `error.type` for 5xx. Placed inside the tracing
    middleware, so each measurement's exemplar names the request's trace.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith("/health"):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            attributes: dict[str, str | int] = {
                "http.request.method": _method(scope.get("method", "")),
                "http.route": _route(scope),
                "http.response.status_code": status,
            }
            if status >= 500:
                attributes["error.type"] = str(status)
            instruments().http_server_duration.record(time.perf_counter() - start, attributes)


_KNOWN_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)


def _method(method: str) -> str:
    return method if method in _KNOWN_METHODS else "_OTHER"


def _route(scope: Scope) -> str:
    """The matched route's template (FastAPI puts the route in the scope); a bounded name
    otherwise, never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(path, str) and path:
        return _with_prefix(str(scope.get("path", "")), getattr(route, "path_regex", None), path)
    root = scope.get("root_path", "")
    return f"{root}/*" if root else "unmatched"


def _with_prefix(requested: str, regex: re.Pattern[str] | None, template: str) -> str:
    """The template under the prefixes of the routers it was included through: FastAPI keeps
    an included router's routes as they were declared (`/sessions` under `/v1`). The prefix is
    the part of the requested path before the longest tail the route matches: static, so no
    request data enters the name."""
    if regex is None or regex.match(requested):
        return template
    for at, char in enumerate(requested):
        if at and char == "/" and regex.match(requested[at:]):
            return requested[:at] + template
    return template
