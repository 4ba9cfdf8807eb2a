"""Local verification of identity's access tokens (DESIGN §7).

Identity signs short-lived JWTs with Ed25519 (`alg` EdDSA) and publishes its public keys at
`/.well-known/jwks.json`. Every other service verifies tokens locally with `TokenVerifier`:
keys are cached for a TTL; a token signed with an unknown key id triggers one JWKS refetch
(key rotation), rate-limited so a flood of forged key ids cannot hammer identity. Time claims
are checked against the injected `Clock`, and sessions revoked by identity are refused through a
`RevocationList` that the revocation-event consumer feeds.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.clock import Clock
from shared.jsondoc import JsonObject

logger = logging.getLogger(__name__)

ALGORITHM: Final = "EdDSA"
# Claim names shared with identity, which issues the tokens.
CLAIM_ROLE: Final = "role"
CLAIM_SCOPE: Final = "scope"  # space-separated, as OAuth 2.0 (RFC 9068 §2.2.3)
CLAIM_SID: Final = "sid"
CLAIM_OFFICE: Final = "office_id"
REQUIRED_CLAIMS: Final = ("exp", "iat", "iss", "aud", "sub")


class TokenErrorReason(StrEnum):
    """Why a token was refused: safe to return to the client and to log."""

    MISSING = "missing"
    MALFORMED = "malformed"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"
    REVOKED = "revoked"
    KEYS_UNAVAILABLE = "keys_unavailable"


class TokenError(Exception):
    """A token was refused. `reason` is a stable code; the message never quotes the token."""

    def __init__(self, reason: TokenErrorReason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}")


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    subject: str
    role: str | None
    scopes: frozenset[str]
    sid: str | None
    office_id: str | None
    issued_at: datetime
    expires_at: datetime
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def has_scopes(self, *scopes: str) -> bool:
        """Whether the token grants every one of `scopes`."""
        return self.scopes.issuperset(scopes)


class RevocationList(Protocol):
    """Sessions and credentials revoked by identity, consulted on every verification."""

    async def is_revoked(self, principal: Principal) -> bool: ...


class InMemoryRevocationList:
    """Revocations kept in process memory, fed by the revocation-event consumer.

    A revoked session id is remembered for `retention` (longer than any token lives) and then
    forgotten: its tokens have expired by then. Revoking a subject refuses every token issued
    to it up to an instant (credential revocation: all sessions die).
    """

    def __init__(self, clock: Clock, retention: timedelta = timedelta(days=1)) -> None:
        self._clock = clock
        self._retention = retention
        self._sessions: dict[str, datetime] = {}
        self._subjects: dict[str, tuple[datetime, datetime]] = {}

    def revoke_session(self, sid: str) -> None:
        """Refuse every token of session `sid` from now on."""
        self._prune()
        self._sessions[sid] = self._clock.now() + self._retention

    def revoke_subject(self, subject: str, issued_up_to: datetime) -> None:
        """Refuse every token of `subject` issued at or before `issued_up_to`."""
        self._prune()
        previous = self._subjects.get(subject)
        if previous is not None and previous[0] > issued_up_to:
            issued_up_to = previous[0]
        self._subjects[subject] = (issued_up_to, self._clock.now() + self._retention)

    async def is_revoked(self, principal: Principal) -> bool:
        if principal.sid is not None and principal.sid in self._sessions:
            return True
        cutoff = self._subjects.get(principal.subject)
        return cutoff is not None and principal.issued_at <= cutoff[0]

    def _prune(self) -> None:
        now = self._clock.now()
        self._sessions = {sid: until for sid, until in self._sessions.items() if until > now}
        self._subjects = {s: entry for s, entry in self._subjects.items() if entry[1] > now}


@dataclass(frozen=True)
class VerifierConfig:
    """What a service accepts: identity's JWKS, issuer, its own audience(s), time tolerance."""

    jwks_url: str
    issuer: str
    audiences: frozenset[str]
    leeway: timedelta = timedelta(seconds=30)
    cache_ttl: timedelta = timedelta(minutes=5)
    min_refetch_interval: timedelta = timedelta(seconds=10)
    fetch_timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not self.audiences:
            raise ValueError("a verifier needs at least one accepted audience")
        if not self.issuer:
            raise ValueError("a verifier needs the expected issuer")


class JwksCache:
    """Identity's public keys by key id, refreshed on TTL expiry and on unknown key ids.

    Fetches are single-flight and at most one per `min_refetch_interval`, whatever triggers
    them. When a fetch fails the last good key set stays in use, so a short identity outage
    does not log everybody out.
    """

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        clock: Clock,
        *,
        ttl: timedelta,
        min_refetch_interval: timedelta,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._url = url
        self._http = http
        self._clock = clock
        self._ttl = ttl
        self._min_interval = min_refetch_interval
        self._timeout = timeout_seconds
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at: datetime | None = None
        self._attempted_at: datetime | None = None
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def key(self, kid: str) -> Ed25519PublicKey:
        """The public key `kid`, fetching the key set when stale or when `kid` is new."""
        if self._is_stale(self._clock.now()):
            await self._refresh(reason="ttl")
        found = self._keys.get(kid)
        if found is None:
            await self._refresh(reason="unknown key id")
            found = self._keys.get(kid)
        if found is not None:
            return found
        if not self._keys:
            raise TokenError(
                TokenErrorReason.KEYS_UNAVAILABLE, "the token signing keys cannot be fetched"
            )
        raise TokenError(TokenErrorReason.UNKNOWN_KEY, "the token's signing key is not known")

    def _is_stale(self, now: datetime) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= self._ttl

    def _may_fetch(self, now: datetime) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._min_interval

    async def _refresh(self, *, reason: str) -> None:
        async with self._lock:
            # Whoever held the lock before may just have fetched: the interval check covers it.
            now = self._clock.now()
            if not self._may_fetch(now):
                return
            self._attempted_at = now
            self.fetch_count += 1
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:
                logger.warning(
                    "JWKS fetch (%s) failed: %s; keeping %d cached keys",
                    reason,
                    type(exc).__name__,
                    len(self._keys),
                )
                return
            self._keys = keys
            self._fetched_at = now
            logger.info("JWKS fetched (%s): %d signing keys", reason, len(keys))

    async def _fetch(self) -> dict[str, Ed25519PublicKey]:
        response = await self._http.get(
            self._url, timeout=self._timeout, headers={"Accept": "application/json"}
        )
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("JWKS document has no key list")
        keys: dict[str, Ed25519PublicKey] = {}
        for jwk in document["keys"]:
            parsed = _ed25519_jwk(jwk)
            if parsed is not None:
                keys[parsed[0]] = parsed[1]
        return keys


def _ed25519_jwk(jwk: object) -> tuple[str, Ed25519PublicKey] | None:
    """(kid, key) for an Ed25519 signing JWK; None for keys this verifier cannot use."""
    if not isinstance(jwk, dict):
        return None
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        return None
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", ALGORITHM) != ALGORITHM:
        return None
    kid, x = jwk.get("kid"), jwk.get("x")
    if not isinstance(kid, str) or not kid or not isinstance(x, str):
        return None
    try:
        raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
        return kid, Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        logger.warning("JWKS key %s is not a valid Ed25519 key: skipped", kid)
        return None


class TokenVerifier:
    """Turns a bearer token into a `Principal`, or raises `TokenError`."""

    def __init__(
        self,
        config: VerifierConfig,
        http: httpx.AsyncClient,
        clock: Clock,
        revocations: RevocationList | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._revocations = revocations
        self.keys = JwksCache(
            config.jwks_url,
            http,
            clock,
            ttl=config.cache_ttl,
            min_refetch_interval=config.min_refetch_interval,
            timeout_seconds=config.fetch_timeout_seconds,
        )

    async def verify(self, token: str) -> Principal:
        """Check signature, algorithm, issuer, audience, time claims and revocation."""
        if not token:
            raise TokenError(TokenErrorReason.MISSING, "no token was presented")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenError(TokenErrorReason.MALFORMED, "the token is not a JWT") from None
        # Checked before any key lookup: `none` and HMAC (keyed with our public key) are the
        # classic algorithm-confusion forgeries.
        if header.get("alg") != ALGORITHM:
            raise TokenError(
                TokenErrorReason.UNSUPPORTED_ALGORITHM, f"only {ALGORITHM} tokens are accepted"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenError(TokenErrorReason.MALFORMED, "the token has no key id")
        key = await self.keys.key(kid)
        claims = _decode(token, key)
        principal = self._check_claims(claims)
        if self._revocations is not None and await self._revocations.is_revoked(principal):
            raise TokenError(TokenErrorReason.REVOKED, "the session has been revoked")
        return principal

    def _check_claims(self, claims: JsonObject) -> Principal:
        missing = [name for name in REQUIRED_CLAIMS if name not in claims]
        if missing:
            raise TokenError(
                TokenErrorReason.MISSING_CLAIM, f"required claims missing: {', '.join(missing)}"
            )
        now = self._clock.now()
        leeway = self._config.leeway
        expires_at = _instant(claims, "exp")
        issued_at = _instant(claims, "iat")
        if now >= expires_at + leeway:
            raise TokenError(TokenErrorReason.EXPIRED, "the token has expired")
        if issued_at > now + leeway:
            raise TokenError(TokenErrorReason.NOT_YET_VALID, "the token is issued in the future")
        if "nbf" in claims and _instant(claims, "nbf") > now + leeway:
            raise TokenError(TokenErrorReason.NOT_YET_VALID, "the token is not valid yet")
        if claims["iss"] != self._config.issuer:
            raise TokenError(TokenErrorReason.WRONG_ISSUER, "the token is from another issuer")
        audience = claims["aud"]
        audiences = {audience} if isinstance(audience, str) else audience
        if not isinstance(audiences, list | set) or not all(
            isinstance(value, str) for value in audiences
        ):
            raise TokenError(TokenErrorReason.INVALID_CLAIM, "aud must be a string or strings")
        if self._config.audiences.isdisjoint(audiences):
            raise TokenError(TokenErrorReason.WRONG_AUDIENCE, "the token is for another audience")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise TokenError(TokenErrorReason.INVALID_CLAIM, "sub must be a non-empty string")
        return Principal(
            subject=subject,
            role=_optional_str(claims, CLAIM_ROLE),
            scopes=_scopes(claims),
            sid=_optional_str(claims, CLAIM_SID),
            office_id=_optional_str(claims, CLAIM_OFFICE),
            issued_at=issued_at,
            expires_at=expires_at,
            claims=MappingProxyType(claims),
        )


def _decode(token: str, key: Ed25519PublicKey) -> JsonObject:
    """Signature check only: claims are validated by us, against the injected clock."""
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,
                "verify_jti": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise TokenError(TokenErrorReason.BAD_SIGNATURE, "the token signature is invalid") from None
    except jwt.InvalidAlgorithmError:
        raise TokenError(
            TokenErrorReason.UNSUPPORTED_ALGORITHM, f"only {ALGORITHM} tokens are accepted"
        ) from None
    except jwt.InvalidTokenError:
        raise TokenError(TokenErrorReason.MALFORMED, "the token cannot be decoded") from None


def _instant(claims: Mapping[str, Any], name: str) -> datetime:
    value = claims[name]
    # bool is an int subclass: `"exp": true` must not read as 1970-01-01T00:00:01.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenError(TokenErrorReason.INVALID_CLAIM, f"{name} must be a NumericDate")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise TokenError(TokenErrorReason.INVALID_CLAIM, f"{name} is out of range") from None


def _optional_str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TokenError(TokenErrorReason.INVALID_CLAIM, f"{name} must be a string")
    return value


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    value = claims.get(CLAIM_SCOPE)
    if value is None:
        return frozenset()
    if not isinstance(value, str):
        raise TokenError(TokenErrorReason.INVALID_CLAIM, "scope must be a space-separated string")
    return frozenset(value.split())
