"""shared.auth.client_credentials: a service's token from identity, cached until shortly
before it expires; failures say whether trying later may help and never show the secret."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.auth.client_credentials import (
    ClientCredentials,
    ClientCredentialsConfig,
    ServiceTokenError,
)
from shared.clock import ManualClock

START = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)
SECRET = "the-client-secret"


class TokenEndpoint:
    def __init__(self, status: int = 200, expires_in: int = 600) -> None:
        self.status = status
        self.expires_in = expires_in
        self.calls = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        assert request.url.path == "/oauth/token"
        if self.status != 200:
            return httpx.Response(self.status, json={"error": "invalid_client"})
        return httpx.Response(
            200, json={"access_token": f"token-{self.calls}", "expires_in": self.expires_in}
        )


def credentials(endpoint: TokenEndpoint, clock: ManualClock) -> ClientCredentials:
    http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint.handle), base_url="http://id")
    config = ClientCredentialsConfig(
        "/oauth/token", "service-notify", SECRET, "links:read", timedelta(seconds=60)
    )
    return ClientCredentials(config, http, clock)


async def test_a_token_is_reused_until_a_margin_before_it_expires() -> None:
    endpoint, clock = TokenEndpoint(expires_in=600), ManualClock(START)
    tokens = credentials(endpoint, clock)

    assert await tokens.headers() == {"Authorization": "Bearer token-1"}
    clock.advance(timedelta(seconds=539))
    assert await tokens.token() == "token-1"
    clock.advance(timedelta(seconds=1))  # 60 s before expiry
    assert await tokens.token() == "token-2"
    assert endpoint.calls == 2


async def test_a_short_lived_token_is_renewed_at_half_its_life() -> None:
    endpoint, clock = TokenEndpoint(expires_in=40), ManualClock(START)
    tokens = credentials(endpoint, clock)
    await tokens.token()
    clock.advance(timedelta(seconds=19))
    assert await tokens.token() == "token-1"
    clock.advance(timedelta(seconds=1))
    assert await tokens.token() == "token-2"


async def test_concurrent_callers_share_one_request() -> None:
    endpoint = TokenEndpoint()
    tokens = credentials(endpoint, ManualClock(START))
    got = await asyncio.gather(*(tokens.token() for _ in range(5)))
    assert set(got) == {"token-1"}
    assert endpoint.calls == 1


async def test_invalidate_forces_a_new_token() -> None:
    endpoint = TokenEndpoint()
    tokens = credentials(endpoint, ManualClock(START))
    await tokens.token()
    tokens.invalidate()
    assert await tokens.token() == "token-2"


@pytest.mark.parametrize(("status", "transient"), [(401, False), (400, False), (503, True)])
async def test_a_refusal_says_whether_to_try_later(status: int, transient: bool) -> None:
    tokens = credentials(TokenEndpoint(status=status), ManualClock(START))
    with pytest.raises(ServiceTokenError) as error:
        await tokens.token()
    assert error.value.transient is transient
    assert SECRET not in str(error.value)
    assert str(status) in error.value.reason


async def test_identity_unreachable_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse), base_url="http://id")
    config = ClientCredentialsConfig("/oauth/token", "service-notify", SECRET, "links:read")
    with pytest.raises(ServiceTokenError) as error:
        await ClientCredentials(config, http, ManualClock(START)).token()
    assert error.value.transient is True
    assert error.value.reason == "token endpoint unreachable (ConnectError)"
