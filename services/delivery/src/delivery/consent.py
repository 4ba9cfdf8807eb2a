"""Consent is the authority at the sending instant (CPC 748-2; DESIGN §3): delivery asks the
registry of record, `GET /internal/v1/declarations/{id}/status` with its own client-credentials
token (`service-delivery`, scope `consent:status`), at each deposit instant. Its projection of
consent's events lags by the bus and serves views only.

The call is bounded (`consent_timeout_seconds`, token included): when consent cannot answer in
time the deposit is refused with 503 `consent-registry-unavailable` and `Retry-After`, nothing
recorded (fail closed; the office retries with the same Idempotency-Key).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from typing import Final, Protocol, TypedDict

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.auth.client_credentials import ClientCredentials, ServiceTokenError
from shared.contracts.delivery import ConsentEndReason
from shared.legal_calendar import Territory
from shared.refusals import DependencyUnavailable
from shared.store.port import to_iso

log = logging.getLogger(__name__)

STATUS_PATH: Final = "/internal/v1/declarations/{id}/status"
SCOPE: Final = "consent:status"


class ConsentEnd(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    at: datetime
    reason: ConsentEndReason


class ConsentEvidence(TypedDict):
    """The registry's answer as an act's evidence records it."""

    source: str
    declaration_id: str
    active: bool
    scope: list[str]
    valid_until: str | None
    territory: str
    ended_at: str | None
    ended_because: str | None
    as_of: str


class ConsentAnswer(BaseModel):
    """What the registry answered for a declaration: whether it allows serving, on what, and,
    once ended, when and why; `as_of` is the registry's instant of the answer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    declaration_id: str
    active: bool
    scope: tuple[str, ...]
    valid_until: date | None
    territory: Territory
    ended: ConsentEnd | None = None
    as_of: datetime

    def evidence(self) -> ConsentEvidence:
        """As the act's evidence records it (the status at the sending instant)."""
        return {
            "source": "consent-registry",
            "declaration_id": self.declaration_id,
            "active": self.active,
            "scope": list(self.scope),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "territory": self.territory.value,
            "ended_at": to_iso(self.ended.at) if self.ended else None,
            "ended_because": self.ended.reason.value if self.ended else None,
            "as_of": to_iso(self.as_of),
        }


class ConsentUnavailable(DependencyUnavailable):
    """The registry did not answer in time (down, slow, refusing delivery's token): nothing is
    recorded, the office retries (503 `consent-registry-unavailable`, `Retry-After`)."""

    def __init__(self) -> None:
        super().__init__("consent registry")


class ConsentAuthority(Protocol):
    async def status(self, declaration_id: str) -> ConsentAnswer | None:
        """The registry's answer now; None when it holds no such declaration. Raises
        `ConsentUnavailable` when it cannot answer in time."""
        ...


class ConsentRegistry:
    """`ConsentAuthority` over consent's internal API."""

    def __init__(
        self, http: httpx.AsyncClient, credentials: ClientCredentials, *, timeout: float
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._timeout = timeout

    async def status(self, declaration_id: str) -> ConsentAnswer | None:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._status(declaration_id)
        except TimeoutError:
            log.warning("consent registry: no answer within %.1f s", self._timeout)
            raise ConsentUnavailable from None

    async def _status(self, declaration_id: str) -> ConsentAnswer | None:
        response = await self._get(declaration_id)
        if response.status_code == 401:
            # The cached token died early (keys rotated, client re-enabled): once more.
            self._credentials.invalidate()
            response = await self._get(declaration_id)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            log.warning("consent registry answered %d", response.status_code)
            raise ConsentUnavailable
        try:
            return ConsentAnswer.model_validate_json(response.content)
        except ValidationError:
            log.warning("consent registry answered no status")
            raise ConsentUnavailable from None

    async def _get(self, declaration_id: str) -> httpx.Response:
        try:
            headers = await self._credentials.headers()
            return await self._http.get(STATUS_PATH.format(id=declaration_id), headers=headers)
        except ServiceTokenError as error:
            log.warning("consent registry: no token from identity (%s)", error.reason)
            raise ConsentUnavailable from None
        except httpx.HTTPError as error:
            log.warning("consent registry unreachable (%s)", type(error).__name__)
            raise ConsentUnavailable from None
