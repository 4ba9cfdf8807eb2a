"""Helpers for delivery's tests: well-formed PDFs built with a correct cross-reference, tokens
signed as identity signs them, multipart bodies, and an in-memory object store that records
what it holds and can be told to fail."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from shared.clock import Clock
from shared.objects import ObjectNotFoundError, ObjectStoreUnavailableError
from tests.support.tokens import TokenSigner

AUDIENCE = "delivery"

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)


def _filler(size: int, seed: bytes = b"act") -> Iterator[bytes]:
    """Deterministic incompressible bytes, in 64 KiB pieces."""
    counter = 0
    remaining = size
    block = hashlib.sha256(seed).digest() * 2048  # 64 KiB
    while remaining > 0:
        piece = block[: min(remaining, len(block))]
        # Vary each block cheaply so it is not one repeated pattern.
        yield counter.to_bytes(8, "big") + piece[8:] if len(piece) > 8 else piece
        remaining -= len(piece)
        counter += 1


def pdf_chunks(content_size: int = 1000, seed: bytes = b"act") -> Iterator[bytes]:
    """A minimal, structurally valid one-page PDF whose content stream holds `content_size`
    bytes, produced piece by piece (it may be far larger than memory should hold)."""
    offset = 0
    offsets: list[int] = []

    def emit(data: bytes) -> bytes:
        nonlocal offset
        offset += len(data)
        return data

    yield emit(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    for number, body in (
        (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"),
    ):
        offsets.append(offset)
        yield emit(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    offsets.append(offset)
    yield emit(b"4 0 obj\n<< /Length %d >>\nstream\n" % content_size)
    for piece in _filler(content_size, seed):
        yield emit(piece)
    yield emit(b"\nendstream\nendobj\n")
    xref_at = offset
    table = b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    yield emit(table + b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref_at)


def pdf(content_size: int = 1000, seed: bytes = b"act") -> bytes:
    return b"".join(pdf_chunks(content_size, seed))


class Tokens(TokenSigner):
    """Tokens for delivery's callers: offices (with their bailiff) and recipients."""

    def __init__(self, clock: Clock) -> None:
        # Issued a little in the past and valid an hour: tests move the clock within a day.
        super().__init__(
            clock, AUDIENCE, lifetime=timedelta(hours=1), backdate=timedelta(seconds=5)
        )

    def bearer(self, *, sub: str, role: str, scopes: str, **claims: Any) -> dict[str, str]:  # type: ignore[override]
        return super().bearer(sub=sub, role=role, scope=scopes, **claims)

    def office(
        self, office_id: str = "etude-1", scopes: str = "acts:write acts:read"
    ) -> dict[str, str]:
        return self.bearer(
            sub=f"client-{office_id}",
            role="office",
            scopes=scopes,
            office_id=office_id,
            bailiff_name=f"Me Bailiff {office_id}",
        )

    def recipient(self, account_id: str, scopes: str = "acts:read acts:reply") -> dict[str, str]:
        return self.bearer(sub=account_id, role="recipient", scopes=scopes)


def metadata(declaration_id: str = "decl-1", **overrides: Any) -> dict[str, Any]:
    return {
        "declaration_id": declaration_id,
        "nature": "signification_jugement",
        "title": "Signification du jugement du 3 mars",
        "requester_name": "SCI Les Tilleuls",
        "office_reference": "DOS-2031-0042",
        **overrides,
    }


def multipart(
    meta: Mapping[str, Any] | bytes | None,
    document: bytes | None,
    *,
    filename: str = "acte.pdf",
    leave: bytes | None = None,
    extra_parts: list[tuple[str, str | None, bytes]] | None = None,
) -> tuple[bytes, str]:
    """A multipart body in the API's order: metadata, optional judge_leave, document."""
    boundary = "----delivery" + secrets.token_hex(8)
    parts: list[tuple[str, str | None, bytes]] = []
    if meta is not None:
        raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
        parts.append(("metadata", None, raw))
    if leave is not None:
        parts.append(("judge_leave", "ordonnance.pdf", leave))
    if document is not None:
        parts.append(("document", filename, document))
    parts.extend(extra_parts or [])
    body = bytearray()
    for name, file_name, data in parts:
        body += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{name}"'
        if file_name is not None:
            disposition += f'; filename="{file_name}"'
        body += f"Content-Disposition: {disposition}\r\n".encode()
        if file_name is not None:
            body += b"Content-Type: application/pdf\r\n"
        body += b"\r\n" + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return bytes(body), f"multipart/form-data; boundary={boundary}"


class MemoryObjects:
    """An object store in memory with the calls the vault makes; `fail_puts` makes every put
    fail after reading part of its stream, as an S3 outage mid-upload would; `during_put` runs
    once the first chunk of a put has arrived (the world moving on while a document uploads)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self.fail_puts = False
        self.fail_deletes = False
        self.during_put: Callable[[], Awaitable[None]] | None = None

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> object:
        data = bytearray()
        async for chunk in chunks:
            if not data and self.during_put is not None:
                await self.during_put()
            data += chunk
            if self.fail_puts:
                raise ObjectStoreUnavailableError("object store unreachable during put")
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
        if self.fail_deletes:
            raise ObjectStoreUnavailableError("object store unreachable during delete")
        self.deleted.append(key)
        self.objects.pop(key, None)
