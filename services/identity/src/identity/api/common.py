"""What every route of identity's API shares: the `Annotated` dependencies (who may call),
the request body base, and the one mapping of `IdentityError` to problem+json."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse
from markdown_it import MarkdownIt
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

from identity.domain import ACCOUNT_WRITE, LINKS_READ
from identity.errors import IdentityError
from shared.auth import Principal, current_principal, require_role, require_scopes
from shared.problems import Problem, problem_response, problem_type

OPERATOR = "operator"
RECIPIENT = "recipient"
_markdown = MarkdownIt("commonmark", {"html": False})

Operator = Annotated[Principal, Depends(require_role(OPERATOR))]
Recipient = Annotated[Principal, Depends(require_role(RECIPIENT))]
Holder = Annotated[Principal, Depends(require_role(RECIPIENT, OPERATOR))]
AccountWriter = Annotated[Principal, Depends(require_scopes(ACCOUNT_WRITE))]
AnyCaller = Annotated[Principal, Depends(current_principal)]
LinkReader = Annotated[Principal, Depends(require_scopes(LINKS_READ))]
AccountId = Annotated[str, Path(max_length=64)]
ClientId = Annotated[str, Path(max_length=64)]


def _in_utc(value: datetime) -> datetime:
    # "9999-12-31T23:59:59-23:59" parses, but is past year 9999 in UTC: comparing or storing
    # it overflows. Refused as a validation error instead.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant is outside years 1 to 9999 in UTC") from None


Instant = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def render_markdown(markdown: str) -> str:
    """CGU text as HTML; raw HTML in the markdown is escaped, not passed through."""
    return str(_markdown.render(markdown))


def install_identity_errors(app: FastAPI) -> None:
    async def on_identity_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IdentityError)
        return problem_response(
            Problem(
                exc.status,
                detail=exc.detail,
                type=problem_type(exc.code),
                extra=exc.extra,
                headers=exc.headers,
            )
        )

    app.add_exception_handler(IdentityError, on_identity_error)


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
