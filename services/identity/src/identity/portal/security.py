"""Portal cookies and CSRF protection.

The session cookie carries only an opaque random value; its SHA-256 names the server-side
portal session (see `identity.portal.sessions`), so neither an access nor a refresh token ever
reaches the browser. Outside dev the cookies take the `__Host-` prefix: Secure, `Path=/`, no
`Domain`, so a sibling subdomain cannot plant one.

CSRF: forms of a signed-in session carry the session's synchronizer token; forms shown before
login (login, activation, reset) use a signed double submit: a random nonce in an HttpOnly
cookie and, in the form, the HMAC of that nonce under a secret kept in identity's store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from shared.store.port import DocumentStore, DuplicateKeyError

PORTAL_SECRETS = "portal_secrets"
CSRF_SECRET_ID = "csrf"  # noqa: S105 - a document id, not a secret
CSRF_FIELD = "csrf_token"
_NONCE_BYTES = 32


@dataclass(frozen=True)
class CookiePolicy:
    """Names and flags of the portal's cookies: HttpOnly, SameSite=Lax, Path=/ always;
    Secure and the `__Host-` prefix outside dev (dev serves plain HTTP on 127.0.0.1)."""

    secure: bool

    @property
    def session_name(self) -> str:
        return "__Host-securact_session" if self.secure else "securact_session"

    @property
    def csrf_name(self) -> str:
        return "__Host-securact_csrf" if self.secure else "securact_csrf"

    def _set(self, response: Response, name: str, value: str) -> None:
        response.set_cookie(
            name, value, path="/", secure=self.secure, httponly=True, samesite="lax"
        )

    def set_session(self, response: Response, value: str) -> None:
        # No Max-Age: the cookie ends with the browser; the server ends the session anyway.
        self._set(response, self.session_name, value)

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(
            self.session_name, path="/", secure=self.secure, httponly=True, samesite="lax"
        )

    def set_csrf_nonce(self, response: Response, nonce: str) -> None:
        self._set(response, self.csrf_name, nonce)

    def session_value(self, request: Request) -> str | None:
        return _well_formed(request.cookies.get(self.session_name))

    def csrf_nonce(self, request: Request) -> str | None:
        return _well_formed(request.cookies.get(self.csrf_name))


def _well_formed(value: str | None) -> str | None:
    if value is None or not 20 <= len(value) <= 100:
        return None
    return value if all(c.isalnum() or c in "-_" for c in value) else None


def new_nonce() -> str:
    return secrets.token_urlsafe(_NONCE_BYTES)


def tokens_match(presented: str, expected: str) -> bool:
    return bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())


def form_token(form: FormData) -> str:
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


class CsrfSigner:
    """Signs pre-login CSRF nonces with a secret shared by every identity instance (it lives
    in identity's store, created on first use)."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store
        self._secret: bytes | None = None
        self._lock = asyncio.Lock()

    async def _key(self) -> bytes:
        if self._secret is None:
            async with self._lock:
                if self._secret is None:
                    self._secret = await self._load_or_create()
        return self._secret

    async def _load_or_create(self) -> bytes:
        found = await self._store.get(PORTAL_SECRETS, CSRF_SECRET_ID)
        if found is None:
            # Another instance may create it first: then theirs is used.
            with contextlib.suppress(DuplicateKeyError):
                await self._store.insert(
                    PORTAL_SECRETS, {"_id": CSRF_SECRET_ID, "secret": secrets.token_hex(32)}
                )
            found = await self._store.get(PORTAL_SECRETS, CSRF_SECRET_ID)
        assert found is not None
        return bytes.fromhex(str(found["secret"]))

    async def token_for(self, nonce: str) -> str:
        """The form token that goes with the cookie's `nonce`."""
        key = await self._key()
        return hmac.new(key, b"portal-csrf:" + nonce.encode(), hashlib.sha256).hexdigest()

    async def verify(self, nonce: str | None, presented: str) -> bool:
        if nonce is None or not presented:
            return False
        return tokens_match(presented, await self.token_for(nonce))
