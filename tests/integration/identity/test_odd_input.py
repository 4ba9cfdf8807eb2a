"""Odd input on identity's HTTP API (non-ASCII credentials, instants at the edge of the calendar
or far ahead, oversized fields) is refused with a typed 4xx, never a 500: CGU publication,
revocations, the token endpoint."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

from shared.clock import SystemClock
from tests.integration.identity.support import (
    identity_app,
    operator_token,
)
from tests.support.services import running

PROBLEM = "application/problem+json"
EDGE_INSTANTS = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59Z"]
NON_ASCII_BASIC = ["Basic é", "Basic ✓✓✓✓", "Basic " + base64.b64encode(b"\xff:\xfe").decode()]


async def test_publishing_cgu_effective_more_than_a_year_ahead_is_a_422(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        operator = {"Authorization": f"Bearer {await operator_token(app, client, 'ops')}"}
        far = await client.post(
            "/v1/terms",
            json={"markdown": "# v2\n", "effective_at": "6709-01-01T00:00:00Z"},
            headers=operator,
        )
        assert far.status_code == 422, far.text
        assert far.headers["content-type"] == PROBLEM
        assert far.json()["type"] == "urn:securact:problem:terms-effective-too-late"
        assert "latest_effective_at" in far.json()
        just_over = SystemClock().now() + timedelta(days=367)
        over = await client.post(
            "/v1/terms",
            json={"markdown": "# v2\n", "effective_at": just_over.isoformat()},
            headers=operator,
        )
        assert over.status_code == 422
        # Between one month and one year: published.
        inside = SystemClock().now() + timedelta(days=200)
        published = await client.post(
            "/v1/terms",
            json={"markdown": "# v2\n", "effective_at": inside.isoformat()},
            headers=operator,
        )
        assert published.status_code == 201, published.text
        assert [v["version"] for v in (await client.get("/v1/terms/upcoming")).json()] == [2]


async def test_the_cgu_horizon_is_configurable(tmp_path: Path, bus_prefix: str) -> None:
    app = identity_app(tmp_path, bus_prefix, terms_max_lead_months=2)
    async with running(app) as client:
        operator = {"Authorization": f"Bearer {await operator_token(app, client, 'ops')}"}
        late = SystemClock().now() + timedelta(days=90)
        answer = await client.post(
            "/v1/terms",
            json={"markdown": "# v2\n", "effective_at": late.isoformat()},
            headers=operator,
        )
        assert answer.status_code == 422
        assert answer.json()["type"] == "urn:securact:problem:terms-effective-too-late"


async def test_instants_at_the_edge_of_the_calendar_are_4xx_not_500(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        operator = {"Authorization": f"Bearer {await operator_token(app, client, 'ops')}"}
        for instant in EDGE_INSTANTS:
            published = await client.post(
                "/v1/terms",
                json={"markdown": "# v2\n", "effective_at": instant},
                headers=operator,
            )
            assert published.status_code == 422, (instant, published.text)
            assert published.headers["content-type"] == PROBLEM
            revocations = await client.get("/v1/revocations", params={"since": instant})
            assert revocations.status_code in (200, 422), (instant, revocations.text)
            if revocations.status_code == 422:
                assert revocations.headers["content-type"] == PROBLEM


async def test_non_ascii_basic_credentials_are_an_oauth_invalid_client(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        for authorization in NON_ASCII_BASIC:
            answer = await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                headers={"Authorization": authorization.encode("utf-8")},
            )
            assert answer.status_code == 401, (authorization, answer.text)
            assert answer.headers["content-type"] == "application/json"
            assert answer.json()["error"] == "invalid_client"


async def test_an_oversized_token_request_is_refused_by_the_body_limit(
    tmp_path: Path, bus_prefix: str
) -> None:
    # A field over the form parser's limit cannot arrive: the platform's body limit (1 MiB)
    # refuses the request first, before reading it.
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        body = b"grant_type=client_credentials&client_secret=x&client_id=" + b"a" * 1_100_000
        answer = await client.post(
            "/oauth/token",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
