"""Links a message must carry, fetched from the service that owns them when the e-mail is sent:
identity's activation and reset links, retention's erasure-certificate download links.

A link is a credential and every event is journaled for years: events name it by a reference
only (identity's `link_id`, retention's `certificate_id`) and notify exchanges the reference for
the link over the owner's internal API with its own client-credentials token (scope
`links:read` at identity, `certificates:read` at retention), renders the message, hands it over
and forgets the link: it is never stored, logged or put in an event or an error reason.

A stored reference names its owner: `certificate:<certificate_id>` is retention's, any other
(identity's link ids, stored before certificates were fetched too) is identity's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Final

import httpx

from notify.ports import LinkSource, PermanentDeliveryError, TransientDeliveryError
from shared.auth.client_credentials import ClientCredentials, ServiceTokenError

LINKS_PATH: Final = "/internal/v1/links"
CERTIFICATES_PATH: Final = "/internal/v1/certificates"
CERTIFICATE_REFERENCE: Final = "certificate:"


def certificate_reference(certificate_id: str) -> str:
    """The link reference of retention's certificate `certificate_id`."""
    return f"{CERTIFICATE_REFERENCE}{certificate_id}"


class _OwnedLinks(ABC):
    """`LinkSource` over one service's internal route answering `{"url": ...}` for an id."""

    owner: str

    def __init__(self, http: httpx.AsyncClient, credentials: ClientCredentials) -> None:
        self._http = http
        self._credentials = credentials

    @abstractmethod
    def _path(self, reference: str) -> str: ...

    async def link_url(self, link_id: str) -> str:
        owner = self.owner
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
            raise TransientDeliveryError(f"{owner} answered {status} for the link")
        if status != 200:
            # 401/403: notify's client or scope is wrong; a settings fix, then the retries work.
            raise TransientDeliveryError(f"{owner} refused the link request ({status})")
        try:
            url = response.json()["url"]
        except (ValueError, KeyError, TypeError):
            raise TransientDeliveryError(f"{owner} answered no link") from None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise TransientDeliveryError(f"{owner} answered no link")
        return url

    async def _get(self, reference: str) -> httpx.Response:
        try:
            headers = await self._credentials.headers()
            return await self._http.get(self._path(reference), headers=headers)
        except ServiceTokenError as error:
            raise TransientDeliveryError(f"no token for {self.owner}: {error.reason}") from None
        except httpx.HTTPError as error:
            raise TransientDeliveryError(
                f"{self.owner} unreachable for the link ({type(error).__name__})"
            ) from None


class IdentityLinks(_OwnedLinks):
    """`LinkSource` over identity's `GET /internal/v1/links/{link_id}`."""

    owner = "identity"

    def _path(self, reference: str) -> str:
        return f"{LINKS_PATH}/{reference}"


class CertificateLinks(_OwnedLinks):
    """`LinkSource` over retention's `GET /internal/v1/certificates/{certificate_id}/link`,
    for references `certificate:<certificate_id>`."""

    owner = "retention"

    def _path(self, reference: str) -> str:
        certificate_id = reference.removeprefix(CERTIFICATE_REFERENCE)
        return f"{CERTIFICATES_PATH}/{certificate_id}/link"


class Links:
    """The one `LinkSource` the sender asks: each reference goes to the service owning it."""

    def __init__(self, identity: LinkSource, certificates: LinkSource) -> None:
        self._identity = identity
        self._certificates = certificates

    async def link_url(self, link_id: str) -> str:
        if link_id.startswith(CERTIFICATE_REFERENCE):
            return await self._certificates.link_url(link_id)
        return await self._identity.link_url(link_id)
