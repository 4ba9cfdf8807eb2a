"""The portal inside the real identity app (SQLite store, real RabbitMQ): the pages are
wired, the JSON API and its OpenAPI description stay as they were, CSRF holds end to end."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.integration.identity.support import (
    ACTIVATION_ISSUED,
    PASSWORD,
    ConsentStandIn,
    activation_url,
    declare,
    identity_app,
    outbox_envelopes,
)
from tests.support.services import running

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None
    return found.group(1)


async def test_the_identity_app_serves_activation_cgu_and_account_pages(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        account_id = await declare(app, "decl-portail")
        [issued] = [
            e.payload
            for e in await outbox_envelopes(app, ACTIVATION_ISSUED)
            if e.payload["account_id"] == account_id
        ]
        assert "activation_url" not in issued
        link = urlsplit(await activation_url(app, account_id))
        assert link.path == "/activation"
        token = parse_qs(link.query)["token"][0]

        page = await client.get(f"/activation?token={token}")
        assert page.status_code == 200
        assert page.headers["referrer-policy"] == "no-referrer"
        activated = await client.post(
            "/activation",
            data={
                "csrf_token": csrf_of(page.text),
                "token": token,
                "mot_de_passe": PASSWORD,
                "confirmation": PASSWORD,
            },
        )
        assert activated.status_code == 303, activated.text
        cgu = await client.get(activated.headers["location"])
        assert "J&#39;accepte les conditions générales" in cgu.text
        assert "Votre déclaration de consentement" in cgu.text
        accepted = await client.post(
            "/cgu/acceptation",
            data={
                "csrf_token": csrf_of(cgu.text),
                "version": "1",
                "declaration": ConsentStandIn.CONTENT_HASH,
            },
        )
        assert accepted.headers["location"] == "/actes?info=cgu-acceptees"
        account = await client.get("/compte")
        assert account.status_code == 200
        assert issued["identifier"] in account.text
        assert account.headers["cache-control"] == "no-store"

        forged = await client.post("/compte/resiliation", data={"confirmation_resiliation": "oui"})
        assert forged.status_code == 403

        css = await client.get("/portail/static/portail.css")
        assert css.headers["content-type"] == "text/css; charset=utf-8"
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "/v1/sessions" in paths
        assert not {"/connexion", "/compte", "/cgu", "/activation"} & set(paths)

        [accepted_event] = await outbox_envelopes(app, "identity.terms-accepted.v1")
        assert accepted_event.payload["account_id"] == account_id
        assert await outbox_envelopes(app, "identity.account-terminated.v1") == []
