"""Identity's internal links route in the real app, called the way notify calls it: with the
service token `shared.auth.client_credentials` fetches from `/oauth/token`."""

from __future__ import annotations

from pathlib import Path

import httpx

from shared.auth.client_credentials import ClientCredentials, ClientCredentialsConfig
from shared.clock import SystemClock
from tests.integration.identity.support import (
    ACTIVATION_ISSUED,
    PASSWORD,
    declare,
    identity_app,
    office_token,
    outbox_envelopes,
)
from tests.support.services import running


async def test_notify_fetches_a_usable_link_with_its_service_token_and_nobody_else_can(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        account_id = await declare(app, "decl-interne")
        [issued] = [
            e.payload
            for e in await outbox_envelopes(app, ACTIVATION_ISSUED)
            if e.payload["account_id"] == account_id
        ]
        route = f"/internal/v1/links/{issued['link_id']}"
        notify = ClientCredentials(
            ClientCredentialsConfig(
                "/oauth/token",
                "service-notify",
                app.state.identity.ctx.settings.notify_client_secret.get_secret_value(),
                "links:read",
            ),
            client,
            SystemClock(),
        )

        anonymous = await client.get(route)
        office = await client.get(
            route, headers={"Authorization": f"Bearer {await office_token(app, client)}"}
        )
        answer = await client.get(route, headers=await notify.headers())

        assert anonymous.status_code == 401
        assert office.status_code == 403
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        assert answer.json()["purpose"] == "activation"
        token = httpx.URL(answer.json()["url"]).params["token"]
        activated = await client.post(
            "/v1/activations", json={"token": token, "password": PASSWORD}
        )
        assert activated.status_code == 200, activated.text

        spent = await client.get(route, headers=await notify.headers())
        unknown = await client.get(
            "/internal/v1/links/no-such-link", headers=await notify.headers()
        )
        assert spent.status_code == 410
        assert spent.headers["content-type"] == "application/problem+json"
        assert unknown.status_code == 404
