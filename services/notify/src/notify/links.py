"""Activation and reset links, fetched from identity when the e-mail is sent.

Identity's events name a link by `link_id` only (the link is a credential and every event is
journaled for years); notify exchanges the id for the link over identity's internal API with
its own client-credentials token (scope `links:read`), renders the message, hands it over and
forgets the link: it is never stored, logged or put in an event or an error reason.
"""

from __future__ import annotations

import httpx

from notify.ports import PermanentDeliveryError, TransientDeliveryError
from shared.auth.client_credentials import ClientCredentials, ServiceTokenError

LINKS_PATH = "/internal/v1/links"


class IdentityLinks:
    """`LinkSource` over identity's `GET /internal/v1/links/{link_id}`."""

    def __init__(self, http: httpx.AsyncClient, credentials: ClientCredentials) -> None:
        self._http = http
        self._credentials = credentials

    async def link_url(self, link_id: str) -> str:
        response = await self._get(link_id)
        if response.status_code == 401:
            # The cached token died early (keys rotated, client re-enabled): once more.
            self._credentials.invalidate()
            response = await self._get(link_id)
        status = response.status_code
        if status in (404, 410):
            raise PermanentDeliveryError(
                "the link is no longer valid (used, replaced or expired): nothing to send"
            )
        if status == 429 or status >= 500:
            raise TransientDeliveryError(f"identity answered {status} for the link")
        if status != 200:
            # 401/403: notify's client or scope is wrong; a settings fix, then the retries work.
            raise TransientDeliveryError(f"identity refused the link request ({status})")
        try:
            url = response.json()["url"]
        except (ValueError, KeyError, TypeError):
            raise TransientDeliveryError("identity answered no link") from None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise TransientDeliveryError("identity answered no link")
        return url

    async def _get(self, link_id: str) -> httpx.Response:
        try:
            headers = await self._credentials.headers()
            return await self._http.get(f"{LINKS_PATH}/{link_id}", headers=headers)
        except ServiceTokenError as error:
            raise TransientDeliveryError(f"no token for identity: {error.reason}") from None
        except httpx.HTTPError as error:
            raise TransientDeliveryError(
                f"identity unreachable for the link ({type(error).__name__})"
            ) from None
