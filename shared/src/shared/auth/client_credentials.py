"""A service calling another service: an access token from identity's token endpoint (OAuth2
client credentials, RFC 6749 §4.4), cached until shortly before it expires.

Each calling service is a client of identity (`service-<name>`, registered by identity at start
from its settings) with a narrow scope. `ClientCredentials.headers()` gives the `Authorization`
header for the next call; a 401 from the called service means the token died early (revoked,
keys rotated): `invalidate()` and ask again once.

Failures are `ServiceTokenError`s whose `transient` says whether asking later may work (identity
down, 5xx, 429) or not (wrong secret, scope refused): callers map them onto their own retry
policy. The secret and the token never appear in a log or an error message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from shared.clock import Clock

DEFAULT_REFRESH_MARGIN = timedelta(seconds=60)


class ServiceTokenError(Exception):
    """No token: `reason` is safe to log; `transient` is True when trying later may work."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


@dataclass(frozen=True)
class ClientCredentialsConfig:
    token_url: str
    client_id: str
    client_secret: str
    scope: str
    refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN


class ClientCredentials:
    """Fetches and caches one client's access token; safe for concurrent callers."""

    def __init__(self, config: ClientCredentialsConfig, http: httpx.AsyncClient, clock: Clock):
        self._config = config
        self._http = http
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at: datetime | None = None

    async def token(self) -> str:
        async with self._lock:
            now = self._clock.now()
            if self._token is not None and self._renew_at is not None and now < self._renew_at:
                return self._token
            token, expires_in = await self._fetch()
            lifetime = timedelta(seconds=expires_in)
            # Renew a margin before the expiry (never less than half the lifetime ahead).
            margin = min(self._config.refresh_margin, lifetime / 2)
            self._token, self._renew_at = token, now + lifetime - margin
            return token

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token()}"}

    def invalidate(self) -> None:
        """Forget the cached token (the called service refused it): the next call fetches."""
        self._token = None
        self._renew_at = None

    async def _fetch(self) -> tuple[str, int]:
        config = self._config
        try:
            response = await self._http.post(
                config.token_url,
                data={"grant_type": "client_credentials", "scope": config.scope},
                auth=(config.client_id, config.client_secret),
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as error:
            raise ServiceTokenError(
                f"token endpoint unreachable ({type(error).__name__})", transient=True
            ) from None
        if response.status_code != 200:
            transient = response.status_code == 429 or response.status_code >= 500
            code = _oauth_error(response)
            raise ServiceTokenError(
                f"token endpoint answered {response.status_code}{f' ({code})' if code else ''}",
                transient=transient,
            )
        try:
            body = response.json()
            token = body["access_token"]
            expires_in = int(body["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise ServiceTokenError("token endpoint answered no token", transient=True) from None
        if not isinstance(token, str) or not token or expires_in <= 0:
            raise ServiceTokenError("token endpoint answered no token", transient=True)
        return token, expires_in


def _oauth_error(response: httpx.Response) -> str:
    """The RFC 6749 §5.2 error code, when the body has one (a fixed vocabulary: safe to log)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return error if isinstance(error, str) and error.isascii() and len(error) <= 40 else ""
