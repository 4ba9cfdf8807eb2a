"""RFC 9457 problem details: the one error body format of every service's HTTP API.

Raise `Problem` (or a subclass) from a route or dependency; `install_problem_handlers(app)` turns
it, FastAPI's validation errors, Starlette's HTTP errors and any unexpected exception into an
`application/problem+json` response. Unexpected exceptions become a bare 500: the body never
carries internals, the log carries the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.jsondoc import JsonObject

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
# Our problem types are URNs: stable identifiers that do not pretend to be web pages.
PROBLEM_TYPE_PREFIX: Final = "urn:securact:problem:"
VALIDATION_PROBLEM_TYPE: Final = f"{PROBLEM_TYPE_PREFIX}validation-failed"
INTERNAL_PROBLEM_TYPE: Final = f"{PROBLEM_TYPE_PREFIX}internal-error"
_RESERVED: Final = frozenset({"type", "title", "status", "detail", "instance"})


def problem_type(name: str) -> str:
    """The type URI of one of our problems: `problem_type("act-not-found")`."""
    return f"{PROBLEM_TYPE_PREFIX}{name}"


class Problem(Exception):  # noqa: N818 - it is the RFC's name; the class is an HTTP outcome
    """An HTTP error response in RFC 9457 form.

    `extra` holds extension members (e.g. `next_window_opens_at`); `headers` extra response
    headers (e.g. `WWW-Authenticate`). `detail` is shown to the client: no internals, no
    personal data.
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        type: str = "about:blank",
        instance: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        clashing = _RESERVED.intersection(extra or {})
        if clashing:
            raise ValueError(f"extension members clash with standard ones: {sorted(clashing)}")
        self.status = status
        self.title = title or _phrase(status)
        self.detail = detail
        self.type = type
        self.instance = instance
        self.extra: JsonObject = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"{status} {self.title}")

    def body(self) -> JsonObject:
        """The JSON members, standard ones first."""
        body: JsonObject = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            body["detail"] = self.detail
        if self.instance is not None:
            body["instance"] = self.instance
        body.update(self.extra)
        return body

    def to_response(self) -> JSONResponse:
        """The `application/problem+json` response for this problem."""
        return problem_response(self)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(problem: Problem) -> JSONResponse:
    """Render a problem as `application/problem+json`."""
    return JSONResponse(
        problem.body(),
        status_code=problem.status,
        headers=problem.headers or None,
        media_type=PROBLEM_MEDIA_TYPE,
    )


async def _on_problem(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only where and why: the offending input may be personal data, so it is not echoed back.
    errors = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]
    return problem_response(
        Problem(
            422,
            "Request validation failed",
            "The request does not match the expected shape; see `errors`.",
            type=VALIDATION_PROBLEM_TYPE,
            extra={"errors": errors},
        )
    )


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail == _phrase(exc.status_code):
        detail = None
    return problem_response(Problem(exc.status_code, detail=detail, headers=exc.headers))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error(
        "unhandled %s on %s %s",
        type(exc).__name__,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return problem_response(
        Problem(
            500,
            "Internal server error",
            "The server could not complete the request.",
            type=INTERNAL_PROBLEM_TYPE,
        )
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error response of `app` an RFC 9457 problem."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
