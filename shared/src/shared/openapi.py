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
  `@router.post(..., responses=problem_responses(409, 429))`;
- the `ProblemType` component lists every `urn:securact:problem:*` type the service's code (and
  the kernel's) can raise, collected from its source (`shared.problem_catalogue`); the generic
  statuses name the types they carry.

It also makes the document one an integrator can generate a client from:

- every operation needing a token carries its security requirement, derived from the route's
  auth dependencies (`require_scopes`, `require_role`, `current_principal`): OAuth2 client
  credentials (offices, the judicial authority, platform services; token URL at identity) with
  the scopes asked, or a bearer JWT (recipients' and operators' sessions);
- operation ids are stable names, `<tag>_<function>` (`operation_id`), not FastAPI's
  path-derived ones;
- a header a route checks itself (so it keeps its own problem) is documented as required with
  `openapi_extra=required_headers("Idempotency-Key")`;
- a 2xx answer of a non-JSON media type without a schema is documented as binary.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final, TypeAlias

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_typed_return_annotation
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from shared.auth import current_principal
from shared.auth.dependencies import (
    AUTH_UNAVAILABLE_TYPE,
    FORBIDDEN_TYPE,
    INSUFFICIENT_SCOPE_TYPE,
    ROLES_ATTRIBUTE,
    SCOPES_ATTRIBUTE,
    UNAUTHENTICATED_TYPE,
)
from shared.jsondoc import JsonObject
from shared.problem_catalogue import problem_types_of
from shared.problems import PROBLEM_MEDIA_TYPE, problem_type

_SCHEMAS: Final = "#/components/schemas/"
_FASTAPI_VALIDATION_SCHEMAS: Final = ("HTTPValidationError", "ValidationError")
# A liveness probe answers as long as the process runs: no dependency, no error.
_NEVER_FAILING: Final = frozenset({"/health/live"})
TOKEN_PATH: Final = "/oauth/token"  # noqa: S105 - identity's token endpoint, not a secret
CLIENT_CREDENTIALS: Final = "clientCredentials"
BEARER_JWT: Final = "bearerJWT"
# Roles whose tokens are sessions (a person logged in), not client credentials.
_SESSION_ROLES: Final = frozenset({"recipient", "operator"})
_REQUIRED_HEADERS: Final = "x-securact-required-headers"
# The types the generic statuses carry (the route's own refusals add theirs).
_GENERIC_TYPES: Final[dict[int, tuple[str, ...]]] = {
    401: (UNAUTHENTICATED_TYPE,),
    403: (FORBIDDEN_TYPE, INSUFFICIENT_SCOPE_TYPE),
    413: (problem_type("request-body-too-large"),),
    503: (
        problem_type("database-unavailable"),
        problem_type("object-store-unavailable"),
        AUTH_UNAVAILABLE_TYPE,
    ),
}


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


# OpenAPI documents are JSON written by FastAPI and amended here: their fragments stay untyped.
Responses: TypeAlias = dict[int | str, JsonObject]
"""The `responses=` of a route decorator: status → OpenAPI response object."""


def _content(schema: str) -> JsonObject:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"{_SCHEMAS}{schema}"}}}


def problem_response(status: int, description: str | None = None) -> JsonObject:
    """One OpenAPI response object: `status` answered as a problem."""
    schema = "ValidationProblem" if status == 422 else "Problem"
    return {"description": description or _phrase(status), "content": _content(schema)}


def problem_responses(*statuses: int) -> Responses:
    """The `responses=` of a route decorator for the problems it answers for its own reasons
    (the generic ones are derived from the route)."""
    return {status: problem_response(status) for status in statuses}


def null_answer(status: int) -> Responses:
    """The `responses=` entry of a route that answers JSON `null`: an acknowledgement with
    nothing more to say (whether the account exists, say), documented rather than modelless."""
    return {
        status: {
            "description": "Successful Response",
            "content": {"application/json": {"schema": {"type": "null"}}},
        }
    }


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


def required_headers(*names: str) -> JsonObject:
    """`openapi_extra=` of a route that checks these headers itself (answering its own problem
    when one is missing): the document says they are required."""
    return {_REQUIRED_HEADERS: list(names)}


def with_examples(
    extra: Mapping[str, Any] | None = None,
    *,
    request: tuple[str, Any] | None = None,
    responses: Mapping[int, Any] | None = None,
) -> JsonObject:
    """`openapi_extra=` adding examples to `extra`: `request=(media type, example)` for the
    body, `responses={201: example}` for JSON answers (FastAPI merges it into the operation)."""
    merged: JsonObject = copy.deepcopy(dict(extra or {}))
    if request is not None:
        media_type, example = request
        body = merged.setdefault("requestBody", {}).setdefault("content", {})
        body.setdefault(media_type, {})["example"] = example
    for status, example in (responses or {}).items():
        answer = merged.setdefault("responses", {}).setdefault(str(status), {})
        answer.setdefault("content", {}).setdefault("application/json", {})["example"] = example
    return merged


def operation_id(route: APIRoute) -> str:
    """`<first tag>_<endpoint function>`: stable while the path or method changes."""
    tag = route.tags[0] if route.tags else "default"
    prefix = "".join(c if c.isalnum() else "_" for c in str(tag).lower())
    return f"{prefix}_{route.name}"


@dataclass(frozen=True)
class Security:
    """What a route's auth dependencies ask of the caller's token."""

    scopes: frozenset[str]
    roles: frozenset[str] | None  # None: any role

    def requirement(self) -> list[dict[str, list[str]]]:
        session: list[dict[str, list[str]]] = [{BEARER_JWT: []}]
        if self.roles is not None and self.roles <= _SESSION_ROLES:
            return session
        return [{CLIENT_CREDENTIALS: sorted(self.scopes)}, *session]


def route_security(dependant: Dependant) -> Security | None:
    """The route's security, from its dependencies; None when it needs no token."""
    if not requires_token(dependant):
        return None
    scopes: set[str] = set()
    roles: frozenset[str] | None = None
    for call in _calls(dependant):
        scopes |= getattr(call, SCOPES_ATTRIBUTE, frozenset())
        allowed = getattr(call, ROLES_ATTRIBUTE, None)
        if allowed is not None:
            roles = allowed if roles is None else roles & allowed
    return Security(frozenset(scopes), roles)


def security_schemes(token_url: str, scopes: Iterable[str]) -> JsonObject:
    return {
        CLIENT_CREDENTIALS: {
            "type": "oauth2",
            "description": "Offices, the judicial authority and platform services: OAuth2 "
            "client credentials at identity (`client_secret_basic` or `client_secret_post`).",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": token_url,
                    "scopes": {scope: scope for scope in sorted(scopes)},
                }
            },
        },
        BEARER_JWT: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A recipient's or an operator's session token (EdDSA JWT issued "
            "by identity at login).",
        },
    }


def generic_statuses(path: str, dependant: Dependant, operation: JsonObject) -> list[int]:
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


def _schema_components() -> JsonObject:
    _, schema = models_json_schema(
        [(ValidationProblem, "validation"), (Problem, "validation")],
        ref_template=_SCHEMAS + "{model}",
    )
    definitions: JsonObject = schema.get("$defs", {})
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


def _is_problem(response: JsonObject) -> bool:
    return PROBLEM_MEDIA_TYPE in response.get("content", {})


def _generic_problem(status: int) -> JsonObject:
    response = problem_response(status)
    types = _GENERIC_TYPES.get(status)
    if types:
        response["description"] += " (problem types: " + ", ".join(types) + ")"
    return response


def _require_headers(operation: JsonObject) -> None:
    for name in operation.pop(_REQUIRED_HEADERS, ()):
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "header" and parameter.get("name") == name:
                parameter["required"] = True
                # `str | None` in the signature; required in the contract.
                schema = parameter.get("schema", {})
                variants = [v for v in schema.get("anyOf", []) if v.get("type") != "null"]
                if len(variants) == 1:
                    parameter["schema"] = {
                        **{k: v for k, v in schema.items() if k not in ("anyOf", "default")},
                        **variants[0],
                    }


def _binary_answers(operation: JsonObject) -> None:
    for status, response in operation.get("responses", {}).items():
        if not status.startswith("2"):
            continue
        for media_type, content in response.get("content", {}).items():
            if "json" not in media_type and not content.get("schema"):
                content["schema"] = {"type": "string", "format": "binary"}


def _null_answers(route: APIRoute, operation: JsonObject) -> None:
    # A route returning None answers the JSON `null` (FastAPI documents "anything").
    if route.response_model is not None or get_typed_return_annotation(route.endpoint) is not None:
        return
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2") and status != "204":
            json = response.get("content", {}).get("application/json")
            if json is not None and not json.get("schema"):
                json["schema"] = {"type": "null"}


def _document_operation(
    path: str, dependant: Dependant, operation: JsonObject, scopes: set[str]
) -> None:
    responses: JsonObject = operation.setdefault("responses", {})
    declared_422 = responses.get("422")
    if declared_422 is not None and not _is_problem(declared_422):
        # FastAPI's own `HTTPValidationError`: not what the services answer.
        responses["422"] = problem_response(422)
    for status in generic_statuses(path, dependant, operation):
        responses.setdefault(str(status), _generic_problem(status))
    security = route_security(dependant)
    if security is not None:
        operation["security"] = security.requirement()
        scopes |= security.scopes
    _require_headers(operation)
    _binary_answers(operation)


def _api_routes(routes: Iterable[Any]) -> Iterator[RouteContext]:
    # Included routers keep their routes nested; FastAPI's own iteration gives each with its
    # effective (prefixed) path, as the generated document names it.
    for context in iter_route_contexts(list(routes)):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def _package(route: Any) -> str:
    return str(getattr(route, "endpoint", None).__module__).partition(".")[0]


def problem_type_schema(types: Iterable[str]) -> JsonObject:
    return {
        "title": "ProblemType",
        "type": "string",
        "enum": sorted(types),
        "description": "Every `type` URI of a problem this service's code can answer "
        "(collected from its source); `about:blank` aside, a problem's `type` is one of these.",
    }


def document(
    spec: JsonObject,
    routes: Iterable[Any],
    *,
    token_url: str = TOKEN_PATH,
    packages: Iterable[str] = (),
) -> JsonObject:
    """Rewrite a generated OpenAPI document in place (see the module's docstring)."""
    scopes: set[str] = set()
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
                _document_operation(path, dependant, operation, scopes)
                _null_answers(route, operation)
    components: JsonObject = spec.setdefault("components", {})
    components["securitySchemes"] = security_schemes(token_url, scopes)
    schemas: JsonObject = components.setdefault("schemas", {})
    schemas.update(_schema_components())
    # The packages whose source names the problem types: the kernel's and the routes' own.
    owners = {_package(context.original_route) for context in _api_routes(routes)}
    schemas["ProblemType"] = problem_type_schema(
        problem_types_of(sorted({"shared", *packages, *owners}))
    )
    used = set(_references(spec.get("paths", {})))
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        if f"{_SCHEMAS}{name}" not in used:
            schemas.pop(name, None)
    return spec


def document_problems(
    app: FastAPI, *, token_url: str = TOKEN_PATH, packages: Iterable[str] = ()
) -> None:
    """Make `app.openapi()` document problems and security (computed once, on first use);
    `packages` are the service's own, whose source names its problem types."""
    generate = app.openapi
    own = tuple(packages)

    def openapi() -> JsonObject:
        if app.openapi_schema is None:
            app.openapi_schema = document(generate(), app.routes, token_url=token_url, packages=own)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
