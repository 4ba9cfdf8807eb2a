"""Helpers for consent's tests: tokens signed with a test Ed25519 key (as identity would), an
in-memory recording object store, sample declarations and proof files, multipart bodies."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.auth import TokenVerifier, VerifierConfig
from shared.clock import Clock
from shared.objects import ObjectNotFoundError

ISSUER = "http://identity.test"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
AUDIENCE = "consent"

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40) + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(64)

# The test person: the log scans look for these.
NOM = "Quenneville"
PRENOMS = "Éloïse Marguerite"
BIRTH = date(1984, 7, 19)
EMAIL = "eloise.quenneville@example.org"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Tokens:
    """Signs access tokens the way identity does and serves the matching JWKS."""

    clock: Clock
    kid: str = "test-key"
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def jwks(self) -> dict[str, Any]:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": self.kid}
        return {"keys": [{**jwk, "use": "sig", "alg": "EdDSA"}]}

    def verifier(self) -> TokenVerifier:
        def serve(_request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json=self.jwks())

        config = VerifierConfig(jwks_url=JWKS_URL, issuer=ISSUER, audiences=frozenset({AUDIENCE}))
        http = httpx.AsyncClient(transport=httpx.MockTransport(serve))
        return TokenVerifier(config, http, self.clock)

    def token(
        self,
        *,
        sub: str,
        role: str,
        scopes: str = "",
        office_id: str | None = None,
    ) -> str:
        now = int(self.clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": [AUDIENCE],
            "sub": sub,
            "iat": now,
            "exp": now + 600,
            "role": role,
            "scope": scopes,
        }
        if office_id is not None:
            claims["office_id"] = office_id
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})

    def bearer(self, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**kwargs)}"}

    def office(
        self, office_id: str = "etude-1", scopes: str = "registry:write registry:read"
    ) -> dict[str, str]:
        return self.bearer(
            sub=f"client-{office_id}", role="office", scopes=scopes, office_id=office_id
        )

    def recipient(self, account_id: str) -> dict[str, str]:
        return self.bearer(sub=account_id, role="recipient")


class MemoryObjects:
    """An object store in memory with the `ObjectStore` calls the vault makes; records them."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self.aborted = 0

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> object:
        data = bytearray()
        try:
            async for chunk in chunks:
                data += chunk
        except BaseException:
            self.aborted += 1
            raise
        self.objects[key] = bytes(data)
        return key

    async def get(self, key: str) -> AsyncIterator[bytes]:
        if key not in self.objects:
            raise ObjectNotFoundError(key)
        data = self.objects[key]

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), 7000):
                yield data[start : start + 7000]

        return chunks()

    async def delete(self, key: str) -> None:
        self.deleted.append(key)
        self.objects.pop(key, None)


def natural_person(**overrides: Any) -> dict[str, Any]:
    person: dict[str, Any] = {
        "kind": "natural",
        "nom": NOM,
        "prenoms": PRENOMS,
        "date_naissance": BIRTH.isoformat(),
        "lieu_naissance": "Besançon",
        "domicile": {
            "adresse": "12 rue des Granges",
            "code_postal": "25000",
            "commune": "Besançon",
        },
        "email": EMAIL,
        "mobile": "+33612345678",
    }
    person.update(overrides)
    return person


def legal_person(**overrides: Any) -> dict[str, Any]:
    person: dict[str, Any] = {
        "kind": "legal",
        "denomination": "Menuiserie Quenneville SAS",
        "forme_juridique": "SAS",
        "siren": "732829320",
        "representant": {"nom": "Quenneville", "prenoms": "Paul", "qualite": "président"},
        "siege": {"adresse": "3 quai Vauban", "code_postal": "67000", "commune": "Strasbourg"},
        "email": "contact@menuiserie-q.example.org",
    }
    person.update(overrides)
    return person


def natural_declaration(today: date, **overrides: Any) -> dict[str, Any]:
    declaration: dict[str, Any] = {
        "person": natural_person(),
        "scope": ["signification_jugement", "assignation"],
        "duration": {"type": "until", "until": (today + timedelta(days=365)).isoformat()},
        "revocation_modalities": "Depuis le portail, rubrique « Mon consentement ».",
        "proofs": [
            {
                "part": "id-card",
                "type": "carte_identite",
                "issued_on": (today - timedelta(days=900)).isoformat(),
            },
            {
                "part": "address",
                "type": "justificatif_domicile",
                "issued_on": (today - timedelta(days=20)).isoformat(),
            },
        ],
    }
    declaration.update(overrides)
    return declaration


def legal_declaration(today: date, **overrides: Any) -> dict[str, Any]:
    declaration: dict[str, Any] = {
        "person": legal_person(),
        "duration": {"type": "indefinite"},
        "revocation_modalities": "Depuis le portail.",
        "proofs": [
            {
                "part": "kbis",
                "type": "extrait_kbis",
                "issued_on": (today - timedelta(days=5)).isoformat(),
            },
            {
                "part": "rep-id",
                "type": "passeport",
                "issued_on": (today - timedelta(days=1200)).isoformat(),
            },
            {
                "part": "capacity",
                "type": "justificatif_pouvoir",
                "issued_on": (today - timedelta(days=60)).isoformat(),
            },
        ],
    }
    declaration.update(overrides)
    return declaration


NATURAL_FILES = {"id-card": ("cni.pdf", PDF), "address": ("facture.jpg", JPEG)}
LEGAL_FILES = {
    "kbis": ("kbis.pdf", PDF),
    "rep-id": ("passeport.png", PNG),
    "capacity": ("pv.pdf", PDF),
}


def multipart_body(
    declaration: Mapping[str, Any] | bytes | None,
    files: Mapping[str, tuple[str, bytes]],
    *,
    boundary: str | None = None,
    declaration_last: bool = False,
) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type."""
    boundary = boundary or f"----consent{secrets.token_hex(8)}"
    parts: list[bytes] = []
    if declaration is not None:
        raw = declaration if isinstance(declaration, bytes) else json.dumps(declaration).encode()
        parts.append(
            b'Content-Disposition: form-data; name="declaration"\r\n'
            b"Content-Type: application/json\r\n\r\n" + raw
        )
    file_parts = [
        f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode()
        + b"Content-Type: application/octet-stream\r\n\r\n"
        + content
        for name, (filename, content) in files.items()
    ]
    parts = [*file_parts, *parts] if declaration_last else [*parts, *file_parts]
    delimiter = f"--{boundary}".encode()
    body = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts) + delimiter + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"
