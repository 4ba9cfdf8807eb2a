"""Calls from the portal to another service's API on behalf of a signed-in person.

Each call carries a fresh access token minted in-process for the session's account, with that
service as its only audience: short-lived, never stored, never shown to the browser.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx

from identity.portal.sessions import PortalSession
from identity.service import Identity
from shared.jsondoc import JsonObject

log = logging.getLogger(__name__)


class UpstreamUnavailableError(Exception):
    """The service did not answer, or answered what the portal cannot show."""

    def __init__(self, status: int | None = None) -> None:
        super().__init__(status)
        self.status = status


class UpstreamApi:
    """One service's API, as the portal session's account."""

    unavailable: type[UpstreamUnavailableError] = UpstreamUnavailableError

    def __init__(self, identity: Identity, http: httpx.AsyncClient, *, audience: str) -> None:
        self._identity = identity
        self._http = http
        self._audience = audience

    def _headers(self, session: PortalSession) -> dict[str, str]:
        issued = self._identity.ctx.issuer.issue(
            session.account_id,
            role=str(session.account["role"]),
            scopes=session.scopes,
            sid=session.session_id,
            extra={"aud": [self._audience]},
        )
        return {"Authorization": f"Bearer {issued.token}", "Accept": "application/json"}

    async def request(
        self,
        session: PortalSession,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: AsyncIterator[bytes] | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        """The whole answer; a body produced as it goes is sent chunked."""
        headers = self._headers(session)
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            return await self._http.request(
                method, path, headers=headers, json=json, content=content
            )
        except httpx.HTTPError as error:
            log.warning(
                "%s unreachable (%s %s): %s", self._audience, method, path, type(error).__name__
            )
            raise self.unavailable from error

    async def open_stream(self, session: PortalSession, path: str) -> httpx.Response:
        """A GET whose body is still to be read (the caller closes it)."""
        request = self._http.build_request("GET", path, headers=self._headers(session))
        try:
            return await self._http.send(request, stream=True)
        except httpx.HTTPError as error:
            log.warning("%s unreachable (GET %s): %s", self._audience, path, type(error).__name__)
            raise self.unavailable from error

    def unexpected(self, call: str, response: httpx.Response) -> UpstreamUnavailableError:
        log.warning("%s answered %s to %s", self._audience, response.status_code, call)
        return self.unavailable(response.status_code)


def json_body(response: httpx.Response) -> JsonObject:
    """The answer's JSON object, or {} when it is not one: the other service types it; the
    portal reads the few members it shows."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def relay(upstream: httpx.Response, *, raw: bool = False) -> AsyncIterator[bytes]:
    """The answer's body as it arrives, closing it at the end; `raw` keeps its encoding."""
    try:
        chunks = upstream.aiter_raw() if raw else upstream.aiter_bytes()
        async for chunk in chunks:
            yield chunk
    finally:
        await upstream.aclose()
