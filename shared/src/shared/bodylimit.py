"""A request-body limit for every route, enforced before the body is read.

FastAPI reads a JSON or form body whole before the route runs, however large it is announced or
turns out to be: one anonymous request could hold hundreds of MiB of a service's memory. The
`BodyLimitMiddleware` (pure ASGI: it sees each chunk as it arrives) answers 413 without reading
a byte when `Content-Length` announces more than the route's limit, and cuts a chunked body as
soon as the bytes received pass it.

Every route gets the platform default (`max_body_bytes` in the settings, 1 MiB). A route that
streams a larger upload itself (and counts it) declares its own limit with `@body_limit(n)`
under its `@router.post(...)`; `@body_limit(None)` leaves the route to its own checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import Problem, problem_type

DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024
BODY_TOO_LARGE_TYPE: Final = problem_type("request-body-too-large")
_ATTRIBUTE: Final = "__securact_body_limit__"
_UNSET: Final = object()

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def body_limit(max_bytes: int | None) -> Callable[[Endpoint], Endpoint]:
    """Give a route its own body limit (`None`: the route streams and limits the body itself).
    Put it under the route decorator, so the endpoint the router keeps carries it."""
    if max_bytes is not None and max_bytes < 0:
        raise ValueError("a body limit is a number of bytes")

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _ATTRIBUTE, max_bytes)
        return endpoint

    return mark


def declared_limit(scope: Scope, default: int) -> int | None:
    """The body limit of the route the router chose for this request: its own if it declares
    one, else `default` (also for a request no route matched)."""
    route = scope.get("route")
    endpoint = getattr(route, "endpoint", None) or scope.get("endpoint")
    found = getattr(endpoint, _ATTRIBUTE, _UNSET)
    if found is None or isinstance(found, int):
        return found
    return default


class RequestBodyTooLarge(Problem):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "Request body too large",
            f"This endpoint accepts at most {limit} bytes of request body.",
            type=BODY_TOO_LARGE_TYPE,
            extra={"max_bytes": limit},
            # The rest of the body is not read: the connection cannot be reused.
            headers={"Connection": "close"},
        )


async def _send_problem(send: Send, problem: Problem) -> None:
    await problem.to_response()({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:  # pragma: no cover - a JSONResponse never reads
    return {"type": "http.disconnect"}


class BodyLimitMiddleware:
    """413 for a body over its route's limit: by `Content-Length` before anything is read, by
    counting while a chunked body streams.

    The limit is looked up when the app first asks for the body: the router has chosen the
    route by then (FastAPI and Starlette record it in the scope) and not one byte of the body
    has been read."""

    def __init__(self, app: ASGIApp, *, default: int) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        limit: int | None = self.default
        resolved = False
        received = 0
        cut = False
        started = False
        replaced = False

        def too_large() -> RequestBodyTooLarge:
            nonlocal cut
            cut = True
            return RequestBodyTooLarge(limit or 0)

        async def limited_receive() -> Message:
            nonlocal limit, resolved, received
            if not resolved:
                resolved = True
                limit = declared_limit(scope, self.default)
                if limit is not None and declared is not None and declared > limit:
                    raise too_large()
            if limit is None:
                return await receive()
            if cut:
                raise RequestBodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if cut and not started:
                # Whatever the app made of the cut body (FastAPI answers 400 for a body it could
                # not read, a route may answer its own 413), the answer is this 413.
                if not replaced:
                    replaced = True
                    await _send_problem(send, RequestBodyTooLarge(limit or 0))
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # Whatever a route raised once its body was cut comes from the cut: still a 413.
            if not cut:
                raise
            if not started and not replaced:
                await _send_problem(send, RequestBodyTooLarge(limit or 0))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            # A malformed length is the HTTP server's to refuse; here it only means "unknown".
            return int(text) if text.isdigit() else None
    return None
