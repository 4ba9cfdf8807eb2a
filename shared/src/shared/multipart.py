"""A streaming `multipart/form-data` reader (RFC 7578) for uploads that must never be held
whole: each part's body is handed out chunk by chunk as it arrives from the socket.

Starlette's form parser spools every file to a temporary file before the route runs, so a size
limit could only be applied after the whole upload was read; this reader lets the caller stop
(and answer 413) at the first byte over the limit. Memory stays at about one network chunk plus
the delimiter length.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

MAX_HEADER_BYTES: Final = 8 * 1024
_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')
_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"]{1,70})"|([^;\s]{1,70}))', re.IGNORECASE)


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a `multipart/form-data` content type; MultipartError otherwise."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise MultipartError("the body must be multipart/form-data")
    found = _BOUNDARY.search(content_type)
    if found is None:
        raise MultipartError("the multipart content type has no boundary")
    return (found.group(1) or found.group(2)).encode("latin-1")


@dataclass(frozen=True)
class PartHeaders:
    name: str
    filename: str | None
    content_type: str | None


def _parse_headers(raw: bytes) -> PartHeaders:
    name: str | None = None
    filename: str | None = None
    content_type: str | None = None
    for line in raw.decode("utf-8", errors="replace").split("\r\n"):
        if not line:
            continue
        field, sep, value = line.partition(":")
        if not sep:
            raise MultipartError("malformed part header")
        field = field.strip().lower()
        if field == "content-disposition":
            disposition, _, params = value.strip().partition(";")
            if disposition.strip().lower() != "form-data":
                raise MultipartError("parts must be form-data")
            for match in _PARAM.finditer(";" + params):
                key = match.group(1).lower()
                text = match.group(2) if match.group(2) is not None else match.group(3)
                if key == "name":
                    name = text
                elif key == "filename":
                    filename = text
        elif field == "content-type":
            content_type = value.strip()
    if not name:
        raise MultipartError("a part has no name")
    return PartHeaders(name, filename, content_type)


class MultipartReader:
    """Reads parts in order: `await next_part()` gives a part's headers, then `chunks()`
    yields its body; asking for the next part skips whatever was left unread."""

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes) -> None:
        self._body = body
        # A leading CRLF makes the first delimiter look like every other one.
        self._buffer = bytearray(b"\r\n")
        self._delimiter = b"\r\n--" + boundary
        self._eof = False
        self._in_part = True  # the preamble counts as a part nobody reads
        self._finished = False

    async def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            chunk = await self._body.__anext__()
        except StopAsyncIteration:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    async def chunks(self) -> AsyncIterator[bytes]:
        """The current part's body, in chunks, up to its closing delimiter."""
        keep = len(self._delimiter) - 1
        while self._in_part:
            found = self._buffer.find(self._delimiter)
            if found >= 0:
                if found:
                    yield bytes(self._buffer[:found])
                del self._buffer[: found + len(self._delimiter)]
                self._in_part = False
                return
            # Bytes that cannot be the start of a delimiter are safe to hand out.
            safe = len(self._buffer) - keep
            if safe > 0:
                data = bytes(self._buffer[:safe])
                del self._buffer[:safe]
                yield data
            if not await self._fill():
                raise MultipartError("the body ends inside a part (truncated upload)")

    async def _need(self, size: int) -> None:
        while len(self._buffer) < size:
            if not await self._fill():
                raise MultipartError("the body ends inside a part header")

    async def next_part(self) -> PartHeaders | None:
        """The next part's headers, or None after the closing delimiter."""
        if self._finished:
            return None
        async for _ in self.chunks():
            pass  # skip the unread rest of the previous part (or the preamble)
        await self._need(2)
        if self._buffer[:2] == b"--":
            self._finished = True
            return None
        end = self._buffer.find(b"\r\n\r\n")
        while end < 0:
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise MultipartError("part headers too long")
            if not await self._fill():
                raise MultipartError("the body ends inside a part header")
            end = self._buffer.find(b"\r\n\r\n")
        if end > MAX_HEADER_BYTES:
            raise MultipartError("part headers too long")
        # After the delimiter: optional transport padding, then CRLF, then the headers.
        line_end = self._buffer.find(b"\r\n")
        if self._buffer[:line_end].strip(b" \t"):
            raise MultipartError("garbage after a boundary")
        raw = bytes(self._buffer[line_end + 2 : end])
        del self._buffer[: end + 4]
        self._in_part = True
        return _parse_headers(raw)
