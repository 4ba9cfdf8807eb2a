"""Token verification against a JWKS served by a recording fake (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import Depends, FastAPI

from shared.auth import (
    InMemoryRevocationList,
    Principal,
    TokenError,
    TokenErrorReason,
    TokenVerifier,
    VerifierConfig,
    current_principal,
    install_token_verifier,
    require_role,
    require_scopes,
)
from shared.clock import ManualClock
from shared.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

JWKS_URL = "http://identity.test/.well-known/jwks.json"
ISSUER = "http://identity.test"
AUDIENCE = "delivery"
START = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(self.public_raw()),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        }


@dataclass
class FakeIdentity:
    """Serves a JWKS and records every fetch; can be switched off."""

    keys: list[SigningKey]
    up: bool = True
    fetches: int = 0
    extra_jwks: list[object] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == JWKS_URL
        self.fetches += 1
        if not self.up:
            return httpx.Response(503)
        return httpx.Response(
            200, json={"keys": [*self.extra_jwks, *(key.jwk() for key in self.keys)]}
        )


@dataclass
class Env:
    clock: ManualClock
    identity: FakeIdentity
    verifier: TokenVerifier
    revocations: InMemoryRevocationList
    key: SigningKey

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(self.clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "client-42",
            "iat": now,
            "exp": now + 300,
            "scope": "acts:write registry:read",
            "role": "bailiff",
            "sid": "session-1",
            "office_id": "office-7",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: SigningKey | None = None, **overrides: Any) -> str:
        signer = key or self.key
        return jwt.encode(
            self.claims(**overrides), signer.private, algorithm="EdDSA", headers={"kid": signer.kid}
        )


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    clock = ManualClock(START)
    key = SigningKey("k1")
    identity = FakeIdentity([key])
    revocations = InMemoryRevocationList(clock, retention=timedelta(hours=1))
    config = VerifierConfig(
        jwks_url=JWKS_URL,
        issuer=ISSUER,
        audiences=frozenset({AUDIENCE}),
        leeway=timedelta(seconds=30),
        cache_ttl=timedelta(minutes=5),
        min_refetch_interval=timedelta(seconds=10),
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(identity.handle)) as http:
        yield Env(
            clock, identity, TokenVerifier(config, http, clock, revocations), revocations, key
        )


async def refused(env: Env, token: str) -> TokenErrorReason:
    with pytest.raises(TokenError) as error:
        await env.verifier.verify(token)
    if token:
        assert token not in str(error.value)
    return error.value.reason


async def test_valid_token_yields_its_principal(env: Env) -> None:
    principal = await env.verifier.verify(env.token())

    assert principal.subject == "client-42"
    assert principal.role == "bailiff"
    assert principal.scopes == frozenset({"acts:write", "registry:read"})
    assert principal.sid == "session-1"
    assert principal.office_id == "office-7"
    assert principal.expires_at == START + timedelta(seconds=300)
    assert principal.claims["iss"] == ISSUER
    assert principal.has_scopes("acts:write")
    assert not principal.has_scopes("acts:write", "operator:admin")


async def test_token_without_optional_claims_has_empty_scopes_and_no_office(env: Env) -> None:
    principal = await env.verifier.verify(
        env.token(scope=None, role=None, sid=None, office_id=None)
    )

    assert principal.scopes == frozenset()
    assert (principal.role, principal.sid, principal.office_id) == (None, None, None)


async def test_expired_token_is_refused_beyond_the_leeway(env: Env) -> None:
    token = env.token()

    env.clock.advance(timedelta(seconds=300 + 29))
    assert (await env.verifier.verify(token)).subject == "client-42"
    env.clock.advance(timedelta(seconds=1))
    assert await refused(env, token) is TokenErrorReason.EXPIRED


async def test_token_issued_in_the_future_or_not_yet_valid_is_refused(env: Env) -> None:
    now = int(START.timestamp())

    assert await refused(env, env.token(iat=now + 60)) is TokenErrorReason.NOT_YET_VALID
    assert await refused(env, env.token(nbf=now + 60)) is TokenErrorReason.NOT_YET_VALID
    assert (await env.verifier.verify(env.token(nbf=now + 20))).subject == "client-42"


async def test_wrong_audience_is_refused_and_an_audience_list_containing_ours_is_accepted(
    env: Env,
) -> None:
    assert await refused(env, env.token(aud="consent")) is TokenErrorReason.WRONG_AUDIENCE
    assert await refused(env, env.token(aud=["consent", "audit"])) is (
        TokenErrorReason.WRONG_AUDIENCE
    )
    assert (await env.verifier.verify(env.token(aud=["consent", AUDIENCE]))).subject


async def test_wrong_issuer_is_refused(env: Env) -> None:
    assert await refused(env, env.token(iss="http://evil.test")) is TokenErrorReason.WRONG_ISSUER


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub"])
async def test_token_missing_a_required_claim_is_refused(env: Env, claim: str) -> None:
    assert await refused(env, env.token(**{claim: None})) is TokenErrorReason.MISSING_CLAIM


@pytest.mark.parametrize(
    "overrides",
    [{"exp": "tomorrow"}, {"exp": True}, {"sub": ""}, {"scope": ["acts:write"]}, {"role": 3}],
)
async def test_token_with_an_ill_typed_claim_is_refused(
    env: Env, overrides: dict[str, Any]
) -> None:
    assert await refused(env, env.token(**overrides)) is TokenErrorReason.INVALID_CLAIM


async def test_hmac_token_keyed_with_our_public_key_is_refused_without_fetching(env: Env) -> None:
    forged = jwt.encode(
        env.claims(), env.key.public_raw(), algorithm="HS256", headers={"kid": env.key.kid}
    )

    assert await refused(env, forged) is TokenErrorReason.UNSUPPORTED_ALGORITHM
    assert env.identity.fetches == 0


async def test_unsigned_token_is_refused(env: Env) -> None:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": env.key.kid}).encode())
    payload = b64url(json.dumps(env.claims()).encode())

    assert await refused(env, f"{header}.{payload}.") is TokenErrorReason.UNSUPPORTED_ALGORITHM


async def test_token_signed_by_another_key_under_a_known_kid_is_refused(env: Env) -> None:
    impostor = SigningKey(env.key.kid)

    assert await refused(env, env.token(key=impostor)) is TokenErrorReason.BAD_SIGNATURE


async def test_tampered_payload_is_refused(env: Env) -> None:
    header, _, signature = env.token().split(".")
    payload = b64url(json.dumps(env.claims(scope="operator:admin")).encode())

    assert await refused(env, f"{header}.{payload}.{signature}") is TokenErrorReason.BAD_SIGNATURE


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c"])
async def test_garbage_is_refused_as_missing_or_malformed(env: Env, token: str) -> None:
    assert await refused(env, token) in {TokenErrorReason.MISSING, TokenErrorReason.MALFORMED}


async def test_token_without_kid_is_refused(env: Env) -> None:
    token = jwt.encode(env.claims(), env.key.private, algorithm="EdDSA")

    assert await refused(env, token) is TokenErrorReason.MALFORMED


async def test_keys_are_cached_until_the_ttl_expires(env: Env) -> None:
    for _ in range(5):
        await env.verifier.verify(env.token())
    assert env.identity.fetches == 1

    env.clock.advance(timedelta(minutes=5))
    await env.verifier.verify(env.token())
    assert env.identity.fetches == 2


async def test_unknown_kid_triggers_one_refetch_then_the_rotated_key_works(env: Env) -> None:
    await env.verifier.verify(env.token())
    rotated = SigningKey("k2")
    env.identity.keys.append(rotated)
    env.clock.advance(timedelta(seconds=10))

    principal = await env.verifier.verify(env.token(key=rotated))
    await env.verifier.verify(env.token(key=rotated))

    assert principal.subject == "client-42"
    assert env.identity.fetches == 2


async def test_flood_of_unknown_kids_fetches_at_most_once_per_interval(env: Env) -> None:
    await env.verifier.verify(env.token())
    env.clock.advance(timedelta(seconds=10))
    forged = [env.token(key=SigningKey(secrets.token_hex(4))) for _ in range(50)]

    results = await asyncio.gather(
        *(env.verifier.verify(token) for token in forged), return_exceptions=True
    )

    assert all(
        isinstance(r, TokenError) and r.reason is TokenErrorReason.UNKNOWN_KEY for r in results
    )
    assert env.identity.fetches == 2
    for token in forged:
        await refused(env, token)
    assert env.identity.fetches == 2
    env.clock.advance(timedelta(seconds=10))
    await refused(env, forged[0])
    assert env.identity.fetches == 3


async def test_key_removed_from_the_jwks_is_refused_after_refresh(env: Env) -> None:
    await env.verifier.verify(env.token())
    env.identity.keys = [SigningKey("k2")]
    env.clock.advance(timedelta(minutes=5))

    assert await refused(env, env.token()) is TokenErrorReason.UNKNOWN_KEY


async def test_cached_keys_survive_an_identity_outage(env: Env) -> None:
    await env.verifier.verify(env.token())
    env.identity.up = False
    env.clock.advance(timedelta(minutes=6))

    assert (await env.verifier.verify(env.token())).subject == "client-42"
    assert env.identity.fetches == 2


async def test_no_keys_at_all_is_reported_as_keys_unavailable(env: Env) -> None:
    env.identity.up = False

    assert await refused(env, env.token()) is TokenErrorReason.KEYS_UNAVAILABLE


async def test_unusable_jwks_entries_are_skipped(env: Env) -> None:
    env.identity.extra_jwks = [
        {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
        {"kty": "OKP", "crv": "X25519", "kid": "x", "x": b64url(bytes(32))},
        {"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": b64url(bytes(5))},
        "not even an object",
    ]

    assert (await env.verifier.verify(env.token())).subject == "client-42"


async def test_revoked_session_is_refused_and_other_sessions_are_not(env: Env) -> None:
    env.revocations.revoke_session("session-1")

    assert await refused(env, env.token()) is TokenErrorReason.REVOKED
    assert (await env.verifier.verify(env.token(sid="session-2"))).sid == "session-2"


async def test_revoked_subject_refuses_tokens_issued_up_to_the_revocation(env: Env) -> None:
    old = env.token(sid="a")
    env.revocations.revoke_subject("client-42", issued_up_to=env.clock.now())
    env.clock.advance(timedelta(seconds=1))
    fresh = env.token(sid="b")

    assert await refused(env, old) is TokenErrorReason.REVOKED
    assert (await env.verifier.verify(fresh)).sid == "b"


async def test_session_revocations_are_forgotten_after_their_retention(env: Env) -> None:
    revocations = InMemoryRevocationList(env.clock, retention=timedelta(hours=1))
    revocations.revoke_session("old")
    env.clock.advance(timedelta(hours=2))
    revocations.revoke_session("new")
    now = env.clock.now()

    def principal(sid: str) -> Principal:
        return Principal("s", None, frozenset(), sid, None, now, now + timedelta(minutes=5))

    assert not await revocations.is_revoked(principal("old"))
    assert await revocations.is_revoked(principal("new"))


# --- FastAPI edge ----------------------------------------------------------------------------


def build_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_token_verifier(app, verifier)

    @app.post("/acts")
    async def post_act(
        principal: Annotated[Principal, Depends(require_scopes("acts:write"))],
    ) -> dict[str, str]:
        return {"subject": principal.subject}

    @app.get("/admin")
    async def admin(
        principal: Annotated[Principal, Depends(require_scopes("operator:admin"))],
    ) -> dict[str, str]:
        return {"subject": principal.subject}

    @app.get("/portal")
    async def portal(
        principal: Annotated[Principal, Depends(require_role("recipient"))],
    ) -> dict[str, str]:
        return {"subject": principal.subject}

    @app.get("/me")
    async def me(principal: Annotated[Principal, Depends(current_principal)]) -> dict[str, str]:
        return {"subject": principal.subject}

    return app


@pytest.fixture
async def client(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(env.verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://delivery.test") as client:
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"]
    assert body["title"]
    assert body["detail"]
    return body


async def test_request_without_token_gets_401_problem_with_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/acts")

    body = assert_problem(response, 401)
    assert body["reason"] == "missing"
    assert response.headers["www-authenticate"] == 'Bearer realm="securact"'


async def test_invalid_token_gets_401_problem_naming_the_reason(
    client: httpx.AsyncClient, env: Env
) -> None:
    env.clock.advance(timedelta(hours=1))
    token = jwt.encode(
        env.claims(exp=int(START.timestamp())),
        env.key.private,
        algorithm="EdDSA",
        headers={"kid": env.key.kid},
    )

    response = await client.post("/acts", headers={"Authorization": f"Bearer {token}"})

    body = assert_problem(response, 401)
    assert body["reason"] == "expired"
    assert response.headers["www-authenticate"].startswith('Bearer realm="securact", ')
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert token not in response.text


async def test_non_bearer_scheme_is_treated_as_missing(client: httpx.AsyncClient, env: Env) -> None:
    response = await client.get("/me", headers={"Authorization": f"Basic {env.token()}"})

    assert assert_problem(response, 401)["reason"] == "missing"


async def test_token_with_the_scope_reaches_the_route(client: httpx.AsyncClient, env: Env) -> None:
    response = await client.post("/acts", headers={"Authorization": f"bearer {env.token()}"})

    assert response.status_code == 200
    assert response.json() == {"subject": "client-42"}


async def test_token_lacking_the_scope_gets_403_problem(
    client: httpx.AsyncClient, env: Env
) -> None:
    response = await client.get("/admin", headers={"Authorization": f"Bearer {env.token()}"})

    body = assert_problem(response, 403)
    assert body["required_scopes"] == ["operator:admin"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_wrong_role_gets_403_and_right_role_passes(
    client: httpx.AsyncClient, env: Env
) -> None:
    bailiff = await client.get("/portal", headers={"Authorization": f"Bearer {env.token()}"})
    recipient = await client.get(
        "/portal", headers={"Authorization": f"Bearer {env.token(role='recipient')}"}
    )

    assert_problem(bailiff, 403)
    assert recipient.status_code == 200


async def test_unreachable_keys_give_503_problem(client: httpx.AsyncClient, env: Env) -> None:
    env.identity.up = False

    response = await client.get("/me", headers={"Authorization": f"Bearer {env.token()}"})

    assert_problem(response, 503)
    assert response.headers["retry-after"]


async def test_principal_can_be_overridden_in_service_tests(env: Env) -> None:
    app = build_app(env.verifier)
    stub = Principal("someone", "recipient", frozenset(), None, None, START, START)
    app.dependency_overrides[current_principal] = lambda: stub
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/portal")

    assert response.json() == {"subject": "someone"}
