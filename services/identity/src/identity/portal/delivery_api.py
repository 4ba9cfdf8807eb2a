"""Delivery's `/v1/inbox` API on behalf of a portal session, and the reply's relay: the
browser's file part streamed into delivery's multipart body, under the reply limit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

import httpx

from identity.portal.sessions import PortalSession
from identity.portal.upstream import UpstreamApi, UpstreamUnavailableError, json_body
from identity.service import Identity
from shared.jsondoc import JsonObject

DELIVERY_AUDIENCE: Final = "delivery"
_UNSAFE_NAME: Final = re.compile(r'[\x00-\x1f\x7f"\\/]')
_MEDIA_TYPE: Final = re.compile(r"[a-z0-9.+-]+/[a-z0-9.+-]+")


class DeliveryUnavailableError(UpstreamUnavailableError):
    """Delivery did not answer, or answered what the portal cannot show."""


class ReplyTooLargeError(Exception):
    """The browser's file went past the reply limit while being relayed."""


def reply_filename(raw: str | None) -> str:
    """The browser's file name as delivery may journal it: its last path segment, without
    control characters or quotes, 120 characters at most."""
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .")[:120]
    return cleaned or "reponse"


class DeliveryApi(UpstreamApi):
    """Delivery's `/v1/inbox` API on behalf of one portal session."""

    unavailable = DeliveryUnavailableError

    def __init__(self, identity: Identity, http: httpx.AsyncClient) -> None:
        super().__init__(identity, http, audience=DELIVERY_AUDIENCE)

    async def get(self, session: PortalSession, path: str) -> httpx.Response:
        return await self.request(session, "GET", path)

    async def post_stream(
        self, session: PortalSession, path: str, body: AsyncIterator[bytes], content_type: str
    ) -> httpx.Response:
        """POST a body produced as it goes (chunked: its length is not known in advance)."""
        return await self.request(session, "POST", path, content=body, content_type=content_type)

    async def json(self, session: PortalSession, path: str) -> JsonObject | None:
        """Delivery's JSON answer, or None on 404 (no such act for this recipient)."""
        response = await self.get(session, path)
        if response.status_code == 404:
            return None
        body = json_body(response) if response.status_code == 200 else {}
        if not body:
            raise self.unexpected(f"GET {path}", response)
        return body


async def _limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise ReplyTooLargeError
        yield chunk


@dataclass(frozen=True)
class Upload:
    """The browser's file part, its first bytes already read (an empty file has none)."""

    filename: str
    content_type: str
    first: bytes
    rest: AsyncIterator[bytes]


async def relayed_form(upload: Upload, boundary: str, limit: int) -> AsyncIterator[bytes]:
    """Delivery's `multipart/form-data` body: one `file` part, streamed from the browser's."""

    async def file_bytes() -> AsyncIterator[bytes]:
        yield upload.first
        async for chunk in upload.rest:
            yield chunk

    yield (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{upload.filename}"\r\n'
        f"Content-Type: {upload.content_type}\r\n\r\n"
    ).encode()
    async for chunk in _limited(file_bytes(), limit):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def part_media_type(value: str | None) -> str:
    """The browser's claimed type, if it is a plain `type/subtype` (delivery checks the bytes
    anyway); `application/octet-stream` otherwise."""
    media = (value or "").split(";")[0].strip().lower()
    return media if _MEDIA_TYPE.fullmatch(media) else "application/octet-stream"
