"""The end-to-end path (deposit → notice → download) probed through the platform's public APIs,
as an office and a recipient use them:

1. `office-token`: the probe office's client-credentials token (identity);
2. `deposit`: a small synthetic act served on the probe recipient (delivery; consent asked);
3. `notice`: its notice sent — read on the act as the office sees it, where delivery records
   notify's `notification-sent` (notify, over the bus);
4. `recipient-login`: the probe recipient's session (identity);
5. `download`: the act's content, byte for byte what was deposited (delivery, S3).

The two identities are ordinary ones the operator provisions (no probe bypasses any check): an
office client registered with `acts:write acts:read` for an office whose delivery profile says
`probe` (so every act it deposits is flagged `probe` by delivery, never by the caller), and a
recipient onboarded like any other on a declaration of that office. Their secrets are
retention's settings. The acts carry no person's data (fixed synthetic texts, a random nonce)
and delivery crypto-shreds them an hour after their deposit, as an account's acts are.

Outside the CPC 664 window of the probe's territory an act cannot be served: the path is not
probed then (its last state stands; readiness keeps being checked).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import httpx

from retention.pdf import Line, render_pdf
from retention.settings import Settings
from retention.status.records import ProbeStep
from shared.clock import Clock
from shared.legal_calendar import Territory, is_service_allowed

T = TypeVar("T")

# The service each step needs, named by an incident the path opens.
STEP_SERVICES: Final = {
    "office-token": "identity",
    "deposit": "delivery",
    "notice": "notify",
    "recipient-login": "identity",
    "download": "delivery",
}


@dataclass(frozen=True)
class PathRun:
    steps: list[ProbeStep]

    @property
    def failed_step(self) -> ProbeStep | None:
        return next((s for s in self.steps if not s.ok), None)

    @property
    def failure(self) -> str | None:
        failed = self.failed_step
        return None if failed is None else f"{failed.name}: {failed.detail}"

    @property
    def failed_service(self) -> str | None:
        failed = self.failed_step
        return None if failed is None else STEP_SERVICES[failed.name]


@dataclass(frozen=True)
class PathConfig:
    identity_url: str
    delivery_url: str
    client_id: str
    client_secret: str
    declaration_id: str
    recipient: str
    recipient_password: str
    territory: Territory
    notice_timeout: float
    request_timeout: float

    @property
    def poll_every(self) -> float:
        return min(1.0, self.notice_timeout / 10)

    @classmethod
    def from_settings(cls, settings: Settings) -> PathConfig | None:
        """The probe's configuration, or None when the operator did not provide its identities
        (the settings refuse a partial one)."""
        client_id, client_secret = (
            settings.status_path_client_id,
            settings.status_path_client_secret,
        )
        recipient, password = (
            settings.status_path_recipient,
            settings.status_path_recipient_password,
        )
        declaration_id = settings.status_path_declaration_id
        if (
            client_id is None
            or client_secret is None
            or recipient is None
            or password is None
            or declaration_id is None
        ):
            return None
        urls = settings.status_probe_urls
        return cls(
            identity_url=urls.get("identity", settings.identity_url).rstrip("/"),
            delivery_url=urls.get("delivery", settings.delivery_url).rstrip("/"),
            client_id=client_id,
            client_secret=client_secret.get_secret_value(),
            declaration_id=declaration_id,
            recipient=recipient,
            recipient_password=password.get_secret_value(),
            territory=settings.status_path_territory,
            notice_timeout=settings.status_path_notice_timeout_seconds,
            request_timeout=settings.status_probe_timeout_seconds,
        )


class StepFailedError(Exception):
    """A step of the path failed; its message says how (never a body of another service)."""


def synthetic_act(nonce: str) -> bytes:
    """A one-line PDF naming no one: what it is, and a nonce that makes each run's bytes (and
    SHA-256) its own."""
    text = f"Acte de vérification de disponibilité - sonde {nonce}"
    return render_pdf([Line(text)], title="Sonde de disponibilité")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _answer(response: httpx.Response, expected: int) -> None:
    """The status and, for a problem (RFC 9457), its type: a code naming the case, never the
    rest of another service's body."""
    if response.status_code == expected:
        return
    problem = ""
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        kind = response.json().get("type")
        problem = f" {kind.rsplit(':', 1)[-1]}" if isinstance(kind, str) else ""
    raise StepFailedError(f"HTTP {response.status_code}{problem}")


class PathProbe:
    def __init__(self, config: PathConfig, http: httpx.AsyncClient, clock: Clock) -> None:
        self.config = config
        self.http = http
        self.clock = clock

    def due(self) -> bool:
        """Whether an act can be served now (CPC 664 window of the probe's territory)."""
        return is_service_allowed(self.clock.now(), [self.config.territory])

    async def run(self) -> PathRun:
        steps: list[ProbeStep] = []

        async def step(name: str, action: Callable[[], Awaitable[T]]) -> T:
            started = time.monotonic()
            try:
                value = await action()
            except StepFailedError as failed:
                detail = str(failed)
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
                # Unreachable, or an answer not as the API promises (not JSON, a field
                # missing): the path fails there too.
                detail = type(error).__name__
            else:
                steps.append(ProbeStep(name=name, ok=True, seconds=time.monotonic() - started))
                return value
            steps.append(
                ProbeStep(name=name, ok=False, seconds=time.monotonic() - started, detail=detail)
            )
            raise StepFailedError(detail)

        nonce = secrets.token_hex(8)
        document = synthetic_act(nonce)
        try:
            office = await step("office-token", self._office_token)
            act_id = await step("deposit", lambda: self._deposit(office, nonce, document))
            await step("notice", lambda: self._notice(office, act_id))
            recipient = await step("recipient-login", self._login)
            try:
                await step("download", lambda: self._download(recipient, act_id, document))
            finally:
                await self._logout(recipient)
        except StepFailedError:
            pass
        return PathRun(steps)

    async def _office_token(self) -> str:
        c = self.config
        response = await self.http.post(
            f"{c.identity_url}/oauth/token",
            data={"grant_type": "client_credentials", "scope": "acts:write acts:read"},
            auth=(c.client_id, c.client_secret),
            timeout=c.request_timeout,
        )
        _answer(response, 200)
        return str(response.json()["access_token"])

    async def _deposit(self, token: str, nonce: str, document: bytes) -> str:
        c = self.config
        metadata = {
            "declaration_id": c.declaration_id,
            "nature": "autre",
            "title": "Vérification de disponibilité de la plateforme (acte de sonde)",
            "requester_name": "Plateforme SECURACT-NG (sonde)",
            "office_reference": f"sonde-{nonce}",
        }
        response = await self.http.post(
            f"{c.delivery_url}/v1/acts",
            files={
                "metadata": (None, json.dumps(metadata), "application/json"),
                "document": ("sonde.pdf", document, "application/pdf"),
            },
            headers={**_bearer(token), "Idempotency-Key": f"sonde-{nonce}"},
            timeout=c.request_timeout,
        )
        _answer(response, 201)
        return str(response.json()["id"])

    async def _notice(self, token: str, act_id: str) -> None:
        c = self.config
        deadline = time.monotonic() + c.notice_timeout
        while True:
            response = await self.http.get(
                f"{c.delivery_url}/v1/acts/{act_id}",
                headers=_bearer(token),
                timeout=c.request_timeout,
            )
            _answer(response, 200)
            statuses = {n["status"] for n in response.json().get("notifications", [])}
            if "sent" in statuses:
                return
            if "failed" in statuses:
                raise StepFailedError("notice failed")
            if time.monotonic() >= deadline:
                raise StepFailedError(f"no notice sent within {c.notice_timeout:g} s")
            await asyncio.sleep(c.poll_every)

    async def _login(self) -> str:
        c = self.config
        response = await self.http.post(
            f"{c.identity_url}/v1/sessions",
            json={"identifier": c.recipient, "password": c.recipient_password},
            timeout=c.request_timeout,
        )
        _answer(response, 201)
        return str(response.json()["access_token"])

    async def _download(self, token: str, act_id: str, document: bytes) -> None:
        c = self.config
        response = await self.http.get(
            f"{c.delivery_url}/v1/inbox/{act_id}/content",
            headers=_bearer(token),
            timeout=c.request_timeout,
        )
        _answer(response, 200)
        if response.content != document:
            raise StepFailedError("the downloaded bytes differ from the deposited ones")

    async def _logout(self, token: str) -> None:
        # Best effort: the session would expire anyway; its failure is not the path's.
        with contextlib.suppress(httpx.HTTPError):
            await self.http.delete(
                f"{self.config.identity_url}/v1/sessions/current",
                headers=_bearer(token),
                timeout=self.config.request_timeout,
            )
