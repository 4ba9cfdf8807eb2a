"""Helpers for consent's tests: tokens signed with a test Ed25519 key (as identity would), an
in-memory recording object store, sample declarations and proof files, multipart bodies."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Mapping
from datetime import date, timedelta
from typing import Any

from shared.clock import Clock
from shared.objects import ObjectNotFoundError
from tests.support.tokens import TokenSigner

AUDIENCE = "consent"


def readable_pdf(padding: int = 0) -> bytes:
    """A minimal readable PDF: one object, a catalogue, a cross-reference at the right offset;
    `padding` bytes of comment make it as large as a test needs."""
    head = b"%PDF-1.7\n" + (b"%" + b"0" * padding + b"\n" if padding else b"")
    catalogue = b"1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    xref = b"xref\n0 2\n0000000000 65535 f \n%010d 00000 n \n" % len(head)
    trailer = b"trailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(head) + len(catalogue)
    )
    return head + catalogue + xref + trailer


PDF = readable_pdf()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40) + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(64)

# The test person: the log scans look for these.
NOM = "Quenneville"
PRENOMS = "Éloïse Marguerite"
BIRTH = date(1984, 7, 19)
EMAIL = "eloise.quenneville@example.org"


class Tokens(TokenSigner):
    """Tokens for consent's callers (offices, recipients, the judicial authority…)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock, AUDIENCE)

    def token(  # type: ignore[override]
        self, *, sub: str, role: str, scopes: str = "", office_id: str | None = None
    ) -> str:
        return super().token(sub=sub, role=role, scope=scopes, office_id=office_id)

    def bearer(self, **kwargs: Any) -> dict[str, str]:  # type: ignore[override]
        return {"Authorization": f"Bearer {self.token(**kwargs)}"}

    def office(
        self, office_id: str = "etude-1", scopes: str = "registry:write registry:read"
    ) -> dict[str, str]:
        return self.bearer(
            sub=f"client-{office_id}", role="office", scopes=scopes, office_id=office_id
        )

    def recipient(
        self, account_id: str, scopes: str = "acts:read acts:reply account:write"
    ) -> dict[str, str]:
        """A person's token as identity issues it past the CGU gate (override `scopes` for a
        session facing the CGU, "terms:accept", or a terminated one, "acts:read")."""
        return self.bearer(sub=account_id, role="recipient", scopes=scopes)

    def operator(self, operator_id: str = "op-1") -> dict[str, str]:
        return self.bearer(sub=operator_id, role="operator")


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
