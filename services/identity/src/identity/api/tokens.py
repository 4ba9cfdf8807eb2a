"""The OAuth2 token endpoint (client credentials, RFC 6749 §4.4) and the public key set.
Its errors are RFC 6749 §5.2 bodies, not problems: OAuth2 clients expect them."""

from __future__ import annotations

import base64
import binascii
from typing import Final
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from identity.api.common import NO_STORE, client_ip
from identity.clients import OAuthError
from identity.service import Identity

# RFC 6749 §5.1 and §5.2 bodies of the token endpoint (not problems: OAuth2 clients expect them).
_TOKEN_RESPONSE: Final = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in", "scope"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer"},
        "scope": {"type": "string"},
    },
}
_OAUTH_ERROR: Final = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


def token_router(identity: Identity) -> APIRouter:
    router = APIRouter(tags=["tokens"])

    @router.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, list[dict[str, str]]]:
        """The public keys of identity's tokens, including a key about to be used."""
        return identity.ctx.issuer.jwks()

    @router.post(
        "/oauth/token",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["grant_type"],
                            "properties": {
                                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                                "scope": {"type": "string"},
                                "client_id": {"type": "string"},
                                "client_secret": {"type": "string"},
                            },
                        },
                        "example": {
                            "grant_type": "client_credentials",
                            "scope": "acts:write acts:read",
                            "client_id": "etude-1",
                            "client_secret": "(the client's secret)",
                        },
                    }
                },
            }
        },
        responses={
            200: {
                "description": "RFC 6749 §5.1 access token response",
                "content": {
                    "application/json": {
                        "schema": _TOKEN_RESPONSE,
                        "example": {
                            "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6ImExYjIifQ.…",
                            "token_type": "Bearer",
                            "expires_in": 600,
                            "scope": "acts:read acts:write",
                        },
                    }
                },
            },
            400: {
                "description": "RFC 6749 §5.2 error (invalid_request, invalid_scope, …)",
                "content": {"application/json": {"schema": _OAUTH_ERROR}},
            },
            401: {
                "description": "RFC 6749 §5.2 invalid_client",
                "content": {"application/json": {"schema": _OAUTH_ERROR}},
            },
            429: {
                "description": "`slow_down`: too many failed authentications of the client id "
                "or from the address; Retry-After says when to try again"
            },
        },
    )
    async def token(request: Request) -> JSONResponse:
        """OAuth2 client credentials grant (RFC 6749 §4.4), HTTP Basic or form client auth."""
        basic = request.headers.get("authorization", "").lower().startswith("basic ")
        try:
            client_id, secret, scope = await _client_credentials(request)
            issued = await identity.clients.token(client_id, secret, scope, ip=client_ip(request))
        except OAuthError as error:
            headers = dict(NO_STORE)
            if error.status == 401 and basic:
                headers["WWW-Authenticate"] = 'Basic realm="securact"'
            if error.retry_after is not None:
                headers["Retry-After"] = str(error.retry_after)
            return JSONResponse(
                {"error": error.error, "error_description": error.description},
                status_code=error.status,
                headers=headers,
            )
        return JSONResponse(
            {
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": issued.scope,
            },
            headers=NO_STORE,
        )

    return router


async def _client_credentials(request: Request) -> tuple[str, str, str | None]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", 400, "The body must be form-encoded.")
    try:
        form = await request.form()
    except HTTPException:
        # Starlette refuses a field over its size limit (or a malformed body) with a 400
        # problem; this endpoint answers RFC 6749 errors.
        raise OAuthError("invalid_request", 400, "The form cannot be read.") from None
    values: dict[str, str] = {}
    for name in ("grant_type", "scope", "client_id", "client_secret"):
        found = form.getlist(name)
        if len(found) > 1:
            raise OAuthError("invalid_request", 400, f"{name} is repeated.")
        if found and isinstance(found[0], str):
            values[name] = found[0]
    grant = values.get("grant_type")
    if grant is None:
        raise OAuthError("invalid_request", 400, "grant_type is missing.")
    if grant != "client_credentials":
        raise OAuthError("unsupported_grant_type", 400, "Only client_credentials is supported.")
    header = request.headers.get("authorization")
    in_body = "client_id" in values or "client_secret" in values
    if header is not None and header.lower().startswith("basic "):
        if in_body:
            raise OAuthError("invalid_request", 400, "Use one client authentication method.")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # ValueError: non-ASCII, UnicodeDecodeError too
            raise OAuthError("invalid_client", 401, "Malformed Basic credentials.") from None
        raw_id, separator, raw_secret = decoded.partition(":")
        if not separator:
            raise OAuthError("invalid_client", 401, "Malformed Basic credentials.")
        # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
        return unquote_plus(raw_id), unquote_plus(raw_secret), values.get("scope")
    if "client_id" not in values or "client_secret" not in values:
        raise OAuthError("invalid_client", 401, "Client authentication is required.")
    return values["client_id"], values["client_secret"], values.get("scope")
