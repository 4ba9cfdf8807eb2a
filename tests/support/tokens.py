"""Access tokens signed the way identity signs them, and a verifier that trusts them: for
service tests that need callers without running identity."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.auth import TokenVerifier, VerifierConfig
from shared.clock import Clock

ISSUER = "http://identity.test"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class TokenSigner:
    """An Ed25519 key standing in for identity's, for tokens with one audience."""

    clock: Clock
    audience: str
    kid: str = "test-key"
    lifetime: timedelta = timedelta(minutes=10)
    backdate: timedelta = timedelta(0)
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def jwks(self) -> dict[str, Any]:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": self.kid}
        return {"keys": [{**jwk, "use": "sig", "alg": "EdDSA"}]}

    def jwks_transport(self) -> httpx.MockTransport:
        """Identity's JWKS endpoint, served from memory."""
        return httpx.MockTransport(lambda _request: httpx.Response(200, json=self.jwks()))

    def verifier(self) -> TokenVerifier:
        config = VerifierConfig(
            jwks_url=JWKS_URL, issuer=ISSUER, audiences=frozenset({self.audience})
        )
        http = httpx.AsyncClient(transport=self.jwks_transport())
        return TokenVerifier(config, http, self.clock)

    def token(self, *, sub: str, **claims: Any) -> str:
        """A token for `sub`; `claims` (role, scope, office_id…) are added as given."""
        now = self.clock.now()
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": [self.audience],
            "sub": sub,
            "iat": int((now - self.backdate).timestamp()),
            "exp": int((now + self.lifetime).timestamp()),
            **{name: value for name, value in claims.items() if value is not None},
        }
        return jwt.encode(body, self.private, algorithm="EdDSA", headers={"kid": self.kid})

    def bearer(self, *, sub: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub=sub, **claims)}"}
