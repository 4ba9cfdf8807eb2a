"""Identity's token keys and the JWTs it signs with them.

Keys live in a private (0600) JSON file, each with the instant it starts signing and, once
superseded, the instant it stops being published. Rotation adds a key that is **published before
it signs** (`key_publish_lead`, longer than the verifiers' JWKS cache TTL) and schedules the
previous key's removal from the JWKS for when the last token it signed has expired. The file is
re-read when it changes, so a rotation made by the CLI needs no restart.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, TypedDict

import jwt

from shared.auth import ALGORITHM, CLAIM_OFFICE, CLAIM_ROLE, CLAIM_SCOPE, CLAIM_SID
from shared.clock import Clock
from shared.crypto.errors import ConfigurationError
from shared.crypto.keyfile import create_private_json, read_private_json, replace_private_json
from shared.crypto.signing import SigningKey
from shared.store.port import from_iso, to_iso

log = logging.getLogger(__name__)

TOKEN_KEYS_FORMAT: Final = "securact-ng/identity-token-keys/v1"  # noqa: S105
KEY_NAME: Final = "securact-identity-tokens"

# A JWT claim's value as identity writes them (strings, instants, the audience list).
ClaimValue = str | int | float | list[str]


class TokenKeyRecord(TypedDict):
    """One key as the key file stores it."""

    skey: str
    signs_from: str
    published_until: str | None


class TokenKeyFileRecord(TypedDict):
    """The key file: its format tag and its keys."""

    format: str
    keys: list[TokenKeyRecord]


@dataclass(frozen=True)
class TokenKey:
    key: SigningKey
    signs_from: datetime
    published_until: datetime | None = None

    def document(self) -> TokenKeyRecord:
        return TokenKeyRecord(
            skey=self.key.to_private_string(),
            signs_from=to_iso(self.signs_from),
            published_until=to_iso(self.published_until) if self.published_until else None,
        )

    @classmethod
    def parse(cls, document: TokenKeyRecord) -> TokenKey:
        until = document.get("published_until")
        return cls(
            SigningKey.from_private_string(document["skey"]),
            from_iso(document["signs_from"]),
            from_iso(until) if until else None,
        )


class TokenKeys:
    """The key set of one key file, as of any instant."""

    def __init__(self, keys: list[TokenKey]) -> None:
        if not keys:
            raise ConfigurationError("identity needs at least one token key")
        self.keys = sorted(keys, key=lambda k: k.signs_from)

    def signing_key(self, now: datetime) -> SigningKey:
        """The newest key whose signing time has come."""
        eligible = [k for k in self.keys if k.signs_from <= now]
        return (eligible[-1] if eligible else self.keys[0]).key

    def jwks(self, now: datetime) -> dict[str, list[dict[str, str]]]:
        """Every key not yet retired, including one scheduled to sign soon."""
        return {
            "keys": [
                k.key.verifier.jwk()
                for k in self.keys
                if k.published_until is None or k.published_until > now
            ]
        }

    def rotated(self, now: datetime, publish_lead: timedelta, token_ttl: timedelta) -> TokenKeys:
        """A new key signing from `now + publish_lead`; older keys stay published until every
        token they can still sign has expired (plus a minute of leeway)."""
        starts = now + publish_lead
        retire = starts + token_ttl + timedelta(minutes=1)
        kept = [
            TokenKey(k.key, k.signs_from, k.published_until or retire)
            for k in self.keys
            if k.published_until is None or k.published_until > now
        ]
        return TokenKeys([*kept, TokenKey(SigningKey.generate(KEY_NAME), starts)])


class TokenKeyFile:
    """`TokenKeys` backed by a private JSON file, reloaded when the file changes."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self._path = path
        self._clock = clock
        self._stamp: tuple[int, int] | None = None
        self._keys: TokenKeys | None = None

    def ensure(self) -> None:
        """Create the file with a first key if it does not exist yet."""
        first = TokenKey(SigningKey.generate(KEY_NAME), self._clock.now())
        if create_private_json(self._path, _file_document(TokenKeys([first]))):
            log.info("created token key file with key %s", first.key.key_id)

    def current(self) -> TokenKeys:
        stat = os.stat(self._path)
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._keys is None or stamp != self._stamp:
            document = read_private_json(self._path)
            if document.get("format") != TOKEN_KEYS_FORMAT:
                raise ConfigurationError(f"{self._path} is not a {TOKEN_KEYS_FORMAT} file")
            try:
                self._keys = TokenKeys([TokenKey.parse(item) for item in document["keys"]])
            except (KeyError, TypeError, ValueError) as error:
                raise ConfigurationError(f"{self._path} is malformed") from error
            self._stamp = stamp
        return self._keys

    def rotate(self, publish_lead: timedelta, token_ttl: timedelta) -> TokenKeys:
        keys = self.current().rotated(self._clock.now(), publish_lead, token_ttl)
        replace_private_json(self._path, _file_document(keys))
        return self.current()


def _file_document(keys: TokenKeys) -> dict[str, object]:
    return dict(
        TokenKeyFileRecord(format=TOKEN_KEYS_FORMAT, keys=[k.document() for k in keys.keys])
    )


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


class TokenIssuer:
    """Signs access tokens (EdDSA, `kid` header) with the key that is active now."""

    def __init__(
        self,
        keys: TokenKeyFile | TokenKeys,
        clock: Clock,
        *,
        issuer: str,
        audiences: tuple[str, ...],
        ttl: timedelta,
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._issuer = issuer
        self._audiences = list(audiences)
        self.ttl = ttl

    def key_set(self) -> TokenKeys:
        return self._keys.current() if isinstance(self._keys, TokenKeyFile) else self._keys

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return self.key_set().jwks(self._clock.now())

    def issue(
        self,
        subject: str,
        *,
        role: str,
        scopes: frozenset[str],
        sid: str | None = None,
        office_id: str | None = None,
        extra: Mapping[str, str | list[str]] | None = None,
    ) -> IssuedToken:
        now = self._clock.now()
        expires_at = now + self.ttl
        jti = secrets.token_urlsafe(16)
        claims: dict[str, ClaimValue] = {
            "iss": self._issuer,
            "aud": self._audiences,
            "sub": subject,
            # Microsecond `iat` (a NumericDate may be fractional): a credential revocation
            # refuses tokens issued up to its instant, and a token issued right after it, in
            # the same second, must not fall under the cut.
            "iat": now.timestamp(),
            "exp": int(expires_at.timestamp()),
            "jti": jti,
            CLAIM_ROLE: role,
            CLAIM_SCOPE: " ".join(sorted(scopes)),
            **(extra or {}),
        }
        if sid is not None:
            claims[CLAIM_SID] = sid
        if office_id is not None:
            claims[CLAIM_OFFICE] = office_id
        key = self.key_set().signing_key(now)
        token = jwt.encode(
            claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.key_id}
        )
        return IssuedToken(token, jti, expires_at.replace(microsecond=0))
