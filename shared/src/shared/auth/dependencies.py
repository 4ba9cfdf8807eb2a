"""FastAPI edge of token verification: who is calling, and may they.

A service installs its verifier once (`install_token_verifier(app, verifier)`), then routes ask
for `Depends(require_scopes("acts:write"))`, `Depends(require_role("recipient"))` or plain
`Depends(current_principal)`. Failures are RFC 9457 problems: 401 with a `WWW-Authenticate:
Bearer` challenge (RFC 6750) for a missing or refused token, 403 for a valid token that lacks
the scope or role, 503 when identity's keys cannot be fetched. Unit tests of a service override
`current_principal` through `app.dependency_overrides`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Request

from shared.auth.tokens import Principal, TokenError, TokenErrorReason, TokenVerifier
from shared.problems import Problem, problem_type

REALM: Final = "securact"
UNAUTHENTICATED_TYPE: Final = problem_type("unauthenticated")
FORBIDDEN_TYPE: Final = problem_type("forbidden")
INSUFFICIENT_SCOPE_TYPE: Final = problem_type("insufficient-scope")
AUTH_UNAVAILABLE_TYPE: Final = problem_type("authentication-unavailable")
_STATE_KEY: Final = "token_verifier"

PrincipalDependency = Callable[[Principal], Coroutine[Any, Any, Principal]]
# What a dependency built here grants, kept on the function so the OpenAPI document derives
# each operation's security requirement from the route itself (`shared.openapi`).
SCOPES_ATTRIBUTE: Final = "securact_required_scopes"
ROLES_ATTRIBUTE: Final = "securact_allowed_roles"


def install_token_verifier(app: FastAPI, verifier: TokenVerifier) -> None:
    """Make `verifier` the one `current_principal` uses for this app."""
    setattr(app.state, _STATE_KEY, verifier)


def _challenge(**params: str) -> dict[str, str]:
    rendered = ", ".join([f'realm="{REALM}"', *(f'{k}="{v}"' for k, v in params.items())])
    return {"WWW-Authenticate": f"Bearer {rendered}"}


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _refused(error: TokenError) -> Problem:
    if error.reason is TokenErrorReason.KEYS_UNAVAILABLE:
        return Problem(
            503,
            "Authentication unavailable",
            "Tokens cannot be verified right now; retry shortly.",
            type=AUTH_UNAVAILABLE_TYPE,
            headers={"Retry-After": "10"},
        )
    return Problem(
        401,
        "Invalid token",
        error.detail,
        type=UNAUTHENTICATED_TYPE,
        extra={"reason": error.reason.value},
        headers=_challenge(error="invalid_token", error_description=error.detail),
    )


async def current_principal(request: Request) -> Principal:
    """The verified caller of this request, or a 401 problem."""
    verifier = getattr(request.app.state, _STATE_KEY, None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError("install_token_verifier(app, verifier) was not called")
    token = _bearer_token(request)
    if token is None:
        raise Problem(
            401,
            "Authentication required",
            "This endpoint needs a bearer access token.",
            type=UNAUTHENTICATED_TYPE,
            extra={"reason": TokenErrorReason.MISSING.value},
            headers=_challenge(),
        )
    try:
        return await verifier.verify(token)
    except TokenError as error:
        raise _refused(error) from None


def require_scopes(*scopes: str) -> PrincipalDependency:
    """A dependency granting the caller only if their token carries every one of `scopes`."""
    needed = frozenset(scopes)

    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if not principal.has_scopes(*needed):
            wanted = " ".join(sorted(needed))
            raise Problem(
                403,
                "Insufficient scope",
                f"This operation needs the scopes: {wanted}.",
                type=INSUFFICIENT_SCOPE_TYPE,
                extra={"required_scopes": sorted(needed)},
                headers=_challenge(error="insufficient_scope", scope=wanted),
            )
        return principal

    setattr(dependency, SCOPES_ATTRIBUTE, needed)
    return dependency


def require_role(*roles: str) -> PrincipalDependency:
    """A dependency granting the caller only if their role is one of `roles`."""
    allowed = frozenset(roles)
    if not allowed:
        raise ValueError("require_role needs at least one role")

    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if principal.role not in allowed:
            raise Problem(
                403,
                "Forbidden",
                "Your role does not allow this operation.",
                type=FORBIDDEN_TYPE,
            )
        return principal

    setattr(dependency, ROLES_ATTRIBUTE, allowed)
    return dependency
