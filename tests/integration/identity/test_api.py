"""Identity's HTTP surface on a running app: problems, throttling headers, OAuth2 token
endpoint, JWKS usable by another service's verifier, dev seeding."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
from datetime import timedelta
from pathlib import Path

from identity.settings import Settings
from shared.auth import TokenVerifier, VerifierConfig
from shared.clock import SystemClock
from tests.integration.identity.support import (
    PASSWORD,
    activation_url,
    declare,
    identity_app,
    identity_of,
    office_token,
    operator_token,
    outbox_envelopes,
    recipient,
)
from tests.support.services import eventually, running


async def test_login_failures_are_problems_and_the_lockout_says_when_to_retry(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        owner = await recipient(app, client, "decl-1")
        wrong = {"identifier": owner.identifier, "password": "mauvais-mot-de-passe"}
        for _ in range(5):
            failed = await client.post("/v1/sessions", json=wrong)
            assert failed.status_code == 401
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.json()["type"] == "urn:securact:problem:invalid-credentials"
        unknown = await client.post("/v1/sessions", json={**wrong, "identifier": "ZZZZ"})
        assert unknown.json() == failed.json()

        locked = await client.post("/v1/sessions", json=wrong)
        assert locked.status_code == 429
        assert int(locked.headers["Retry-After"]) >= 1
        assert locked.json()["retry_after_seconds"] == int(locked.headers["Retry-After"])


async def test_concurrent_wrong_passwords_over_http_meet_the_lockout(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        owner = await recipient(app, client, "decl-1")
        wrong = {"identifier": owner.identifier, "password": "mauvais-mot-de-passe"}
        answers = await asyncio.gather(
            *(client.post("/v1/sessions", json=wrong) for _ in range(30))
        )
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) == {401, 429}
    # Five free failures, then one more each time a lockout (1 s, 2 s) has run out.
    assert 5 <= statuses.count(401) <= 7, statuses


async def test_a_refusal_of_the_cgu_is_final_over_http(tmp_path: Path, bus_prefix: str) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        account_id = await declare(app, "decl-1")
        token = (await activation_url(app, account_id)).split("token=")[1]
        activated = await client.post(
            "/v1/activations", json={"token": token, "password": PASSWORD}
        )
        credentials = {"identifier": activated.json()["identifier"], "password": PASSWORD}
        first = await client.post("/v1/sessions", json=credentials)
        bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}

        refused = await client.post("/v1/terms/current/refusal", json={}, headers=bearer)
        assert refused.status_code == 200
        assert refused.json()["accepted"] is False

        again = await client.post("/v1/sessions", json=credentials)
        assert again.status_code == 403
        assert again.headers["content-type"] == "application/problem+json"
        assert again.json()["type"] == "urn:securact:problem:terms-refused"
        late = await client.post("/v1/terms/current/acceptance", json={}, headers=bearer)
        assert late.status_code == 401  # the refusal ended the session
        assert await outbox_envelopes(app, "identity.terms-accepted.v1") == []
        assert len(await outbox_envelopes(app, "identity.terms-refused.v1")) == 1


async def test_oauth_token_endpoint_follows_rfc_6749(tmp_path: Path, bus_prefix: str) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        registered = await identity_of(app).clients.register(
            "etude-9", "Maître Neuf", ["registry:read", "acts:write"], operator="test"
        )
        form = {
            "grant_type": "client_credentials",
            "client_id": registered.client_id,
            "client_secret": registered.client_secret,
            "scope": "registry:read",
        }
        ok = await client.post("/oauth/token", data=form)
        assert ok.status_code == 200
        assert ok.headers["cache-control"] == "no-store"
        body = ok.json()
        assert (body["token_type"], body["expires_in"], body["scope"]) == (
            "Bearer",
            600,
            "registry:read",
        )

        cases: list[tuple[dict[str, str], tuple[str, str] | None, int, str]] = [
            ({**form, "grant_type": "password"}, None, 400, "unsupported_grant_type"),
            ({**form, "scope": "registry:write"}, None, 400, "invalid_scope"),
            ({**form, "client_secret": "wrong"}, None, 401, "invalid_client"),
            ({"client_id": registered.client_id}, None, 400, "invalid_request"),
            (
                {"grant_type": "client_credentials"},
                (registered.client_id, "wrong"),
                401,
                "invalid_client",
            ),
        ]
        for data, auth, status, error in cases:
            if auth is None:
                response = await client.post("/oauth/token", data=data)
            else:
                response = await client.post("/oauth/token", data=data, auth=auth)
            assert (response.status_code, response.json()["error"]) == (status, error), data
        basic = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(registered.client_id, "wrong"),
        )
        assert basic.headers["www-authenticate"].startswith("Basic")
        as_json = await client.post("/oauth/token", json=form)
        assert as_json.json()["error"] == "invalid_request"


async def test_another_service_verifies_identity_tokens_from_its_jwks(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        settings: Settings = app.state.runtime.settings
        token = await office_token(app, client)
        jwks = (await client.get("/.well-known/jwks.json")).json()
        assert [k["kty"] for k in jwks["keys"]] == ["OKP"]
        verifier = TokenVerifier(
            VerifierConfig(
                jwks_url="http://service/.well-known/jwks.json",
                issuer=settings.issuer,
                audiences=frozenset({"delivery"}),
            ),
            client,
            SystemClock(),
        )
        principal = await verifier.verify(token)
        assert principal.office_id == "etude-1"
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert (header["alg"], header["kid"]) == ("EdDSA", jwks["keys"][0]["kid"])


async def test_publishing_terms_too_soon_is_a_422_naming_the_earliest_date(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        operator = await operator_token(app, client, "ops")
        soon = (SystemClock().now() + timedelta(days=20)).isoformat()
        response = await client.post(
            "/v1/terms",
            json={"markdown": "# v2\n", "effective_at": soon},
            headers={"Authorization": f"Bearer {operator}"},
        )
        assert response.status_code == 422
        assert response.json()["type"] == "urn:securact:problem:terms-notice-too-short"
        assert "earliest_effective_at" in response.json()
        current = (await client.get("/v1/terms/current")).json()
        assert current["version"] == 1
        assert "<h1>" in current["html"]


async def test_dev_seeding_writes_working_credentials_once(tmp_path: Path, bus_prefix: str) -> None:
    seed = tmp_path / "var" / "dev-credentials.json"
    app = identity_app(tmp_path, bus_prefix, seed_dev_credentials_file=seed)
    async with running(app) as client:
        assert stat.S_IMODE(seed.stat().st_mode) == 0o600
        seeded = json.loads(seed.read_text())
        office = seeded["office_client"]
        assert office["scopes"] == ["acts:write", "registry:read", "registry:write"]
        token = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(office["client_id"], office["client_secret"]),
        )
        assert token.status_code == 200
        operator = seeded["operator"]
        login = await client.post(
            "/v1/sessions",
            json={"identifier": operator["identifier"], "password": operator["password"]},
        )
        assert login.json()["role"] == "operator"
    again = identity_app(tmp_path, bus_prefix, seed_dev_credentials_file=seed)
    async with running(again):
        assert json.loads(seed.read_text()) == seeded


async def test_no_seeding_outside_dev(tmp_path: Path, bus_prefix: str) -> None:
    seed = tmp_path / "dev-credentials.json"
    app = identity_app(
        tmp_path,
        bus_prefix,
        seed_dev_credentials_file=seed,
        env="test",
        amqp_url="amqp://guest:guest@127.0.0.1:5672/",
        ip_hash_pepper="test-pepper",
        notify_client_secret="test-notify-secret",
        delivery_client_secret="test-delivery-secret",
    )
    async with running(app) as client:
        assert (await client.get("/health/live")).status_code == 200
    assert not seed.exists()


async def test_every_route_is_described_in_openapi(tmp_path: Path, bus_prefix: str) -> None:
    app = identity_app(tmp_path, bus_prefix)
    schema = app.openapi()
    paths = set(schema["paths"])
    assert {
        "/oauth/token",
        "/.well-known/jwks.json",
        "/v1/sessions",
        "/v1/sessions/refresh",
        "/v1/sessions/current",
        "/v1/activations",
        "/v1/terms/current",
        "/v1/terms/current/acceptance",
        "/v1/terms/current/refusal",
        "/v1/terms",
        "/v1/clients",
        "/v1/accounts/{account_id}/suspension",
        "/v1/accounts/{account_id}/credential-revocation",
        "/v1/me/termination",
        "/v1/me/export",
        "/v1/link-checks",
        "/v1/clients/{client_id}",
        "/v1/clients/{client_id}/deactivation",
        "/v1/clients/{client_id}/secret-rotation",
    } <= paths
    token_body = schema["paths"]["/oauth/token"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in token_body


async def test_a_recipient_downloads_their_account_data_over_http(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        owner = await recipient(app, client, "decl-1")
        other = await recipient(app, client, "decl-2")
        await client.post(
            "/v1/sessions", json={"identifier": owner.identifier, "password": "mauvais-mot"}
        )
        export = await client.get("/v1/me/export", headers=owner.bearer)
        anonymous = await client.get("/v1/me/export")
    assert anonymous.status_code == 401
    assert export.status_code == 200, export.text
    assert export.headers["content-disposition"] == 'attachment; filename="mon-compte.json"'
    assert export.headers["cache-control"] == "no-store"
    data = export.json()
    assert data["account"]["identifier"] == owner.identifier
    assert data["account"]["email"] == "decl-1@example.org"
    assert [d["decision"] for d in data["terms_decisions"]] == ["accepted"]
    # Two logins (before and after the CGU), the latest one this token's.
    assert [s["state"] for s in data["sessions"]] == ["active", "active"]
    assert data["sessions"][-1]["session_id"] == owner.session_id
    assert all(s["last_token_issued_at"] for s in data["sessions"])
    assert data["failed_logins"]["consecutive_failures"] == 1
    assert "argon2" not in export.text
    assert other.account_id not in export.text
    assert other.identifier not in export.text


async def test_an_operator_disables_and_rotates_an_office_client_over_http(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        operator = {"Authorization": f"Bearer {await operator_token(app, client, 'op-1')}"}
        registered = await identity_of(app).clients.register(
            "etude-9", "Maître Neuf", ["registry:read"], operator="test"
        )
        base = f"/v1/clients/{registered.client_id}"

        async def token_status(secret: str) -> tuple[int, str | None]:
            answer = await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(registered.client_id, secret),
            )
            return answer.status_code, answer.json().get("error")

        assert await token_status(registered.client_secret) == (200, None)
        assert (await client.post(f"{base}/deactivation", headers=operator)).status_code == 204
        assert await token_status(registered.client_secret) == (401, "invalid_client")
        described = await client.get(base, headers=operator)
        assert described.json()["disabled"] is True
        assert "secret" not in json.dumps(described.json()).replace("secret_rotated_at", "")

        assert (await client.delete(f"{base}/deactivation", headers=operator)).status_code == 204
        rotated = await client.post(f"{base}/secret-rotation", headers=operator)
        assert rotated.status_code == 200
        assert rotated.headers["cache-control"] == "no-store"
        new_secret = rotated.json()["client_secret"]
        assert await token_status(registered.client_secret) == (401, "invalid_client")
        assert await token_status(new_secret) == (200, None)
        missing = await client.post("/v1/clients/office-nope/deactivation", headers=operator)
        assert missing.status_code == 404


async def test_a_link_can_be_checked_over_http_without_spending_it(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        account_id = await declare(app, "decl-1")
        token = (await activation_url(app, account_id)).split("token=")[1]
        body = {"token": token, "purpose": "activation"}

        checked = await client.post("/v1/link-checks", json=body)
        assert checked.status_code == 200
        assert checked.json()["purpose"] == "activation"
        activated = await client.post(
            "/v1/activations", json={"token": token, "password": PASSWORD}
        )
        assert activated.status_code == 200
        used = await client.post("/v1/link-checks", json=body)
        assert used.status_code == 410
        assert used.json()["type"] == "urn:securact:problem:link-invalid"
        wrong = await client.post("/v1/link-checks", json={**body, "purpose": "other"})
        assert wrong.status_code == 422


async def test_the_running_app_issues_cgu_notices_and_purges_in_the_background(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(
        tmp_path,
        bus_prefix,
        terms_notice_interval_seconds=0.1,
        purge_interval_seconds=0.1,
        terms_notice_batch_size=1,
    )
    async with running(app) as client:
        owners = [await recipient(app, client, f"decl-{n}") for n in range(3)]
        identity = identity_of(app)
        await identity.ctx.store.insert(
            "throttles",
            {"_id": "ip:old", "failures": 1, "forget_at": "2000-01-01T00:00:00.000000Z"},
        )
        effective = SystemClock().now() + timedelta(days=40)
        await identity.terms.publish("# CGU v2\n", effective, operator="op")

        async def all_warned() -> bool:
            notices = await outbox_envelopes(app, "identity.terms-notice-issued.v1")
            return len(notices) == len(owners)

        async def purged() -> bool:
            return await identity.ctx.store.get("throttles", "ip:old") is None

        await eventually(all_warned, within=10)
        await eventually(purged, within=10)
        notices = await outbox_envelopes(app, "identity.terms-notice-issued.v1")
        assert sorted(n.payload["account_id"] for n in notices) == sorted(
            o.account_id for o in owners
        )
