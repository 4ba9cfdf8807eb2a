"""The OpenAPI of every service says what it answers: errors are RFC 9457 problems.

FastAPI documents each 422 as its own `HTTPValidationError` JSON and no other error, while every
service answers `application/problem+json` (see `shared.problems`) with 401, 403, 404, 413,
503… `document_problems(app)` (called once by the runtime's app factory) rewrites the generated
document:

- the `Problem` schema (RFC 9457; extension members allowed) and `ValidationProblem` (422, with
  the `errors` list) join the components; FastAPI's validation schemas leave;
- every operation lists the error statuses its route can answer, derived from the route:
  401 and 403 when it needs a bearer token, 404 when its path names a resource, 400 and 413
  when it takes a body (unreadable; over the platform's body limit), 503 unless it is the
  liveness probe (the store, the object store or identity's keys away); FastAPI's 422
  (parameters or body that do not validate) becomes a `ValidationProblem`;
- statuses a route answers for its own reasons are declared on its decorator:
  `@router.post(..., responses=problem_responses(409, 429))`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from shared.auth import current_principal
from shared.problems import PROBLEM_MEDIA_TYPE

_SCHEMAS: Final = "#/components/schemas/"
_FASTAPI_VALIDATION_SCHEMAS: Final = ("HTTPValidationError", "ValidationError")
# A liveness probe answers as long as the process runs: no dependency, no error.
_NEVER_FAILING: Final = frozenset({"/health/live"})


class Problem(BaseModel):
    """An error response (RFC 9457 problem details); extension members may follow."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(
        default="about:blank", description="URI (here a URN) naming the kind of problem"
    )
    title: str = Field(description="short summary of the kind of problem")
    status: int = Field(ge=400, le=599, description="the HTTP status code")
    detail: str | None = Field(default=None, description="this occurrence, for the client")
    instance: str | None = Field(default=None, description="URI of this occurrence")


class FieldError(BaseModel):
    """Where the request does not match and why; the offending value is never echoed."""

    loc: list[str | int]
    msg: str
    type: str | None = None


class ValidationProblem(Problem):
    """A request that does not match the operation's parameters or body (422)."""

    model_config = ConfigDict(extra="allow", title="ValidationProblem")

    errors: list[FieldError] = Field(default_factory=list)


def _content(schema: str) -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"{_SCHEMAS}{schema}"}}}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """One OpenAPI response object: `status` answered as a problem."""
    schema = "ValidationProblem" if status == 422 else "Problem"
    return {"description": description or _phrase(status), "content": _content(schema)}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route decorator for the problems it answers for its own reasons
    (the generic ones are derived from the route)."""
    return {status: problem_response(status) for status in statuses}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def requires_token(dependant: Dependant) -> bool:
    """Whether a route resolves the caller from a bearer token (directly or through a role
    or scope dependency built on `current_principal`)."""
    return any(call is current_principal for call in _calls(dependant))


def generic_statuses(path: str, dependant: Dependant, operation: dict[str, Any]) -> list[int]:
    """The error statuses a route can answer whatever it does."""
    if path in _NEVER_FAILING:
        return []
    statuses: list[int] = []
    if requires_token(dependant):
        statuses += [401, 403]
    if dependant.path_params:
        statuses.append(404)
    if "requestBody" in operation:
        statuses += [400, 413]  # a body that cannot be read (not JSON, not UTF-8), too large
    statuses.append(503)
    return statuses


def _schema_components() -> dict[str, Any]:
    _, schema = models_json_schema(
        [(ValidationProblem, "validation"), (Problem, "validation")],
        ref_template=_SCHEMAS + "{model}",
    )
    definitions: dict[str, Any] = schema.get("$defs", {})
    return definitions


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _is_problem(response: dict[str, Any]) -> bool:
    return PROBLEM_MEDIA_TYPE in response.get("content", {})


def _document_operation(path: str, dependant: Dependant, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared_422 = responses.get("422")
    if declared_422 is not None and not _is_problem(declared_422):
        # FastAPI's own `HTTPValidationError`: not what the services answer.
        responses["422"] = problem_response(422)
    for status in generic_statuses(path, dependant, operation):
        responses.setdefault(str(status), problem_response(status))


def _api_routes(routes: Iterable[Any]) -> Iterator[RouteContext]:
    # Included routers keep their routes nested; FastAPI's own iteration gives each with its
    # effective (prefixed) path, as the generated document names it.
    for context in iter_route_contexts(list(routes)):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def document(spec: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """Rewrite a generated OpenAPI document in place (see the module's docstring)."""
    for context in _api_routes(routes):
        path = context.path_format or ""
        route = context.original_route
        assert isinstance(route, APIRoute)
        # The effective route's (with its router's dependencies) where FastAPI keeps one.
        dependant: Dependant = getattr(context, "dependant", None) or route.dependant
        path_item = spec.get("paths", {}).get(path, {})
        for method in context.methods or ():
            operation = path_item.get(method.lower())
            if operation is not None:
                _document_operation(path, dependant, operation)
    schemas: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_schema_components())
    used = set(_references(spec.get("paths", {})))
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        if f"{_SCHEMAS}{name}" not in used:
            schemas.pop(name, None)
    return spec


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` document problems (computed once, on first use)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(generate(), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
