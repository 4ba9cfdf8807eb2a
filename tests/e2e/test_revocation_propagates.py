"""A credential revocation in identity makes another service refuse the old token within 5 s.

Identity and a second service (a small app on `ServiceRuntime` with a protected route, the
shared verifier and `shared.auth.revocations.RevocationListener`) run in-process against the
real RabbitMQ; the second service reaches identity's JWKS and revocation endpoint over ASGI.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, ClassVar

import httpx
from fastapi import APIRouter, Depends, FastAPI

from shared.auth import (
    Principal,
    current_principal,
)
from shared.runtime import ServiceRuntime
from shared.settings import BaseServiceSettings, service_config
from tests.integration.identity.support import (
    PASSWORD,
    identity_app,
    identity_settings,
    operator_token,
    outbox_envelopes,
    recipient,
)
from tests.integration.identity.test_portal import csrf_of
from tests.support.services import running, service_env

PROPAGATION_BUDGET = 5.0


class ProbeSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "consent"
    default_port: ClassVar[int] = 18102
    model_config = service_config("consent")


def probe_app(data_dir: Path, bus_prefix: str, identity: httpx.AsyncClient, issuer: str) -> FastAPI:
    """Another service, wired by the runtime alone: its verifier and revocation listener."""
    settings = ProbeSettings(**service_env(data_dir, bus_prefix, identity_url=issuer))
    runtime = ServiceRuntime(settings, http=identity)
    router = APIRouter()

    @router.get("/protected")
    async def protected(principal: Annotated[Principal, Depends(current_principal)]) -> str:
        return principal.subject

    return runtime.create_app(title="probe", routers=[router])


@asynccontextmanager
async def asgi_client(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url
    ) as client:
        yield client


async def seconds_until_refused(probe: httpx.AsyncClient, token: str) -> float:
    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() - start < PROPAGATION_BUDGET + 5:
        response = await probe.get("/protected", headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 401:
            assert response.json()["reason"] == "revoked"
            return loop.time() - start
        assert response.status_code == 200
        await asyncio.sleep(0.05)
    raise AssertionError("the revoked token was still accepted")


async def test_credential_revocation_reaches_another_service_within_5_seconds(
    tmp_path: Path, bus_prefix: str
) -> None:
    identity = identity_app(tmp_path / "identity", bus_prefix)
    issuer = identity_settings(tmp_path / "identity", bus_prefix).issuer
    async with (
        running(identity) as identity_http,
        asgi_client(identity, "http://identity") as identity_link,
    ):
        probe = probe_app(tmp_path / "probe", bus_prefix, identity_link, issuer)
        async with running(probe) as probe_http:
            owner = await recipient(identity, identity_http, "decl-e2e")
            other = await recipient(identity, identity_http, "decl-e2e-other")
            ok = await probe_http.get("/protected", headers=owner.bearer)
            assert (ok.status_code, ok.json()) == (200, owner.account_id)
            operator = await operator_token(identity, identity_http, "ops-e2e")

            revoked = await identity_http.post(
                f"/v1/accounts/{owner.account_id}/credential-revocation",
                headers={"Authorization": f"Bearer {operator}"},
            )
            assert revoked.status_code == 204

            elapsed = await seconds_until_refused(probe_http, owner.access_token)
            assert elapsed < PROPAGATION_BUDGET
            assert (await probe_http.get("/protected", headers=other.bearer)).status_code == 200

            logout = await identity_http.delete("/v1/sessions/current", headers=other.bearer)
            assert logout.status_code == 204
            assert await seconds_until_refused(probe_http, other.access_token) < PROPAGATION_BUDGET

        # A replica that starts after the revocations catches up from identity at once.
        late = probe_app(tmp_path / "late", bus_prefix, identity_link, issuer)
        async with running(late) as late_http:
            for token in (owner.access_token, other.access_token):
                response = await late_http.get(
                    "/protected", headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 401


async def test_a_compromise_reported_in_the_portal_revokes_the_old_tokens_everywhere(
    tmp_path: Path, bus_prefix: str
) -> None:
    """The holder reports a compromise through the portal's form: the token of their other
    session (an app's, say) is refused by identity and by another service within 5 s, the
    report is journaled and the portal session ended."""
    identity = identity_app(tmp_path / "identity", bus_prefix)
    issuer = identity_settings(tmp_path / "identity", bus_prefix).issuer
    async with (
        running(identity) as identity_http,
        asgi_client(identity, "http://identity") as identity_link,
    ):
        probe = probe_app(tmp_path / "probe", bus_prefix, identity_link, issuer)
        async with running(probe) as probe_http:
            owner = await recipient(identity, identity_http, "decl-compromise")
            other = await recipient(identity, identity_http, "decl-compromise-other")
            assert (await probe_http.get("/protected", headers=owner.bearer)).status_code == 200

            login_page = await identity_http.get("/connexion")
            signed_in = await identity_http.post(
                "/connexion",
                data={
                    "csrf_token": csrf_of(login_page.text),
                    "identifiant": owner.identifier,
                    "mot_de_passe": PASSWORD,
                },
            )
            assert signed_in.status_code == 303, signed_in.text
            form = await identity_http.get("/donnees/compromission")
            assert form.status_code == 200
            reported = await identity_http.post(
                "/donnees/compromission",
                data={"csrf_token": csrf_of(form.text), "confirmation_compromission": "oui"},
            )
            assert reported.status_code == 200
            assert "Toutes vos sessions sont fermées" in reported.text

            elapsed = await seconds_until_refused(probe_http, owner.access_token)
            assert elapsed < PROPAGATION_BUDGET
            assert (await identity_http.get("/v1/me", headers=owner.bearer)).status_code == 401
            assert (await identity_http.get("/compte")).status_code == 303
            assert (await probe_http.get("/protected", headers=other.bearer)).status_code == 200
            [event] = await outbox_envelopes(identity, "identity.compromise-reported.v1")
            assert event.payload["account_id"] == owner.account_id
