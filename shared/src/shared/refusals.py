"""Refusals: what a use case declines to do, and the one place they become HTTP answers.

A service's use cases raise subclasses of `Refusal` (a stable `code`, the HTTP `status` it maps
to, a `title`, a safe `detail`, extension members, extra headers); they never build HTTP
responses themselves. `install_refusal_handlers(app)`, called once where the app is built, maps
every `Refusal` to an RFC 9457 problem typed `urn:securact:problem:<code>`, and a dependency
that cannot be reached (the document store, the object store) to 503 with `Retry-After`.

`detail` and `extra` are shown to the client: no internals, no personal data, no credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypedDict

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.jsondoc import JsonObject
from shared.objects import ObjectStoreError
from shared.problems import Problem, problem_response, problem_type
from shared.store.port import StoreUnavailableError

RETRY_AFTER_SECONDS: Final = 10


class Refusal(Exception):  # noqa: N818 - a refusal is an outcome, not a failure
    """A refused request. Subclasses set `status`, `code` and `title` as class attributes
    (or pass them) and give the instance its `detail`, `extra` and `headers`."""

    status: int = 400
    code: str = "bad-request"
    title: str | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        instance: str | None = None,
    ) -> None:
        self.detail = detail
        self.instance = instance
        self.extra: JsonObject = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})
        # Instance overrides for refusals whose code depends on the case (one class per
        # family of problem types, e.g. each kind of unreadable document).
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        super().__init__(f"{self.code}: {detail}")

    def problem(self) -> Problem:
        return Problem(
            self.status,
            self.title,
            self.detail,
            type=problem_type(self.code),
            instance=self.instance,
            extra=self.extra,
            headers=self.headers,
        )


class DependencyUnavailable(Refusal):
    """A dependency (database, object store, malware scanner…) cannot be reached: nothing was
    recorded and the client may retry (503 `<what>-unavailable`, `Retry-After`)."""

    status = 503
    title = "Service unavailable"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"the {what} cannot be reached; nothing was recorded, retry later",
            code=f"{what.replace(' ', '-')}-unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


async def _on_refusal(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refusal)
    return problem_response(exc.problem())


async def _on_store_unavailable(_request: Request, _exc: Exception) -> JSONResponse:
    return problem_response(DependencyUnavailable("database").problem())


async def _on_object_store_error(_request: Request, _exc: Exception) -> JSONResponse:
    return problem_response(DependencyUnavailable("object store").problem())


class FieldError(TypedDict):
    """Where and why an input is invalid (never the input: it may be personal data)."""

    loc: list[str | int]
    msg: str
    type: str


class Forbidden(Refusal):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class InsufficientScope(Refusal):
    status = 403
    code = "insufficient-scope"
    title = "Insufficient scope"


class UploadTooLarge(Refusal):
    """An upload passed its limit: the rest of the body is not read, so the client must not
    reuse the connection."""

    status = 413
    code = "upload-too-large"
    title = "Upload too large"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"the limit is {limit} bytes",
            extra={"limit_bytes": limit},
            headers={"Connection": "close"},
        )


def install_refusal_handlers(app: FastAPI) -> None:
    """Map `Refusal`s to problem+json and an unreachable store or object store to 503. Call
    once on the app (after `install_problem_handlers`, whose catch-all these refine)."""
    app.add_exception_handler(Refusal, _on_refusal)
    app.add_exception_handler(StoreUnavailableError, _on_store_unavailable)
    app.add_exception_handler(ObjectStoreError, _on_object_store_error)
