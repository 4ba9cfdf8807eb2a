"""A streaming `multipart/form-data` reader (RFC 7578) for uploads that must never be held
whole: each part's body is handed out chunk by chunk as it arrives from the socket.

Starlette's form parser spools every file to a temporary file before the route runs, so a size
limit could only be applied after the whole upload was read; this reader lets the caller stop
(and answer 413) at the first byte over the limit. The parsing itself is python-multipart's
push parser (`MultipartParser`, the one Starlette uses); this module only turns its callbacks
into a pull interface: one network chunk is written to the parser when the caller needs more,
and what the callbacks saw is queued in order. Memory stays at about one network chunk plus the
boundary length.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_HEADER_BYTES: Final = 8 * 1024
"""All of one part's header names and values together."""
MAX_HEADERS: Final = 8
"""Headers in one part: a browser sends two (Content-Disposition, Content-Type)."""
MAX_BOUNDARY: Final = 70  # RFC 2046 §5.1.1


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a `multipart/form-data` content type; MultipartError otherwise."""
    media_type, params = parse_options_header(content_type)
    if media_type != b"multipart/form-data":
        raise MultipartError("the body must be multipart/form-data")
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > MAX_BOUNDARY:
        raise MultipartError("the multipart content type has no boundary")
    return boundary


@dataclass(frozen=True)
class PartHeaders:
    name: str
    filename: str | None
    content_type: str | None


def _parse_headers(headers: list[tuple[bytes, bytes]]) -> PartHeaders:
    name: str | None = None
    filename: str | None = None
    content_type: str | None = None
    for raw_field, value in headers:
        field = raw_field.lower()
        if field == b"content-disposition":
            # The parser hands bytes as they came: browsers send UTF-8 names unescaped.
            disposition, params = parse_options_header(value)
            if disposition != b"form-data":
                raise MultipartError("parts must be form-data")
            if b"name" in params:
                name = params[b"name"].decode("utf-8", errors="replace")
            if b"filename" in params:
                filename = params[b"filename"].decode("utf-8", errors="replace")
        elif field == b"content-type":
            content_type = value.decode("latin-1").strip()
    if not name:
        raise MultipartError("a part has no name")
    return PartHeaders(name, filename, content_type)


@dataclass(frozen=True)
class _Begin:
    """A delimiter was read: a part's headers follow."""


@dataclass(frozen=True)
class _Headers:
    headers: list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class _End:
    """The current part's body ended at a delimiter."""


@dataclass(frozen=True)
class _Close:
    """The closing delimiter was read."""


@dataclass(frozen=True)
class _Failure:
    message: str


_Event = _Begin | _Headers | bytes | _End | _Close | _Failure


def _plain(error: MultipartParseError) -> str:
    # The parser's own messages quote the offending byte and offset; a client needs less.
    if str(error).startswith("Maximum header size"):
        return "part headers too long"
    if str(error).startswith("Maximum header count"):
        return "too many part headers"
    return "the body is not well-formed multipart/form-data"


class MultipartReader:
    """Reads parts in order: `await next_part()` gives a part's headers, then `chunks()`
    yields its body; asking for the next part skips whatever was left unread."""

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes) -> None:
        self._body = body
        self._events: deque[_Event] = deque()
        self._field = bytearray()
        self._value = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_bytes = 0
        self._stopped = False  # the body ended, or the parser failed: nothing more to write
        self._in_part = False
        self._finished = False
        callbacks: MultipartCallbacks = {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }
        self._parser = MultipartParser(
            boundary,
            callbacks,
            max_header_count=MAX_HEADERS,
            max_header_size=MAX_HEADER_BYTES,
        )

    # Parser callbacks: they run inside `write`, and only queue what they saw.

    def _on_part_begin(self) -> None:
        self._headers = []
        self._header_bytes = 0
        self._events.append(_Begin())

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:
            raise MultipartError("part headers too long")

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers.append((bytes(self._field).strip(), bytes(self._value).strip()))
        self._field.clear()
        self._value.clear()

    def _on_headers_finished(self) -> None:
        self._events.append(_Headers(self._headers))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._events.append(data[start:end])

    def _on_part_end(self) -> None:
        self._events.append(_End())

    def _on_end(self) -> None:
        self._events.append(_Close())

    async def _next_event(self, truncated: str) -> _Event:
        """The next thing the parser saw, feeding it one network chunk at a time."""
        while not self._events:
            if self._stopped:
                raise MultipartError(truncated)
            try:
                chunk = await self._body.__anext__()
            except StopAsyncIteration:
                self._stopped = True
                continue
            try:
                self._parser.write(chunk)
            except MultipartParseError as error:
                self._stopped = True
                self._events.append(_Failure(_plain(error)))
            except MultipartError as error:
                self._stopped = True
                self._events.append(_Failure(str(error)))
        event = self._events.popleft()
        if isinstance(event, _Failure):
            self._events.appendleft(event)  # the reader stays failed
            raise MultipartError(event.message)
        return event

    async def chunks(self) -> AsyncIterator[bytes]:
        """The current part's body, in chunks, up to its closing delimiter."""
        while self._in_part:
            event = await self._next_event("the body ends inside a part (truncated upload)")
            if isinstance(event, bytes):
                yield event
            elif isinstance(event, _End):
                self._in_part = False
            else:
                raise MultipartError("the body is not well-formed multipart/form-data")

    async def next_part(self) -> PartHeaders | None:
        """The next part's headers, or None after the closing delimiter."""
        if self._finished:
            return None
        async for _ in self.chunks():
            pass  # skip the unread rest of the previous part
        truncated = "the body ends inside a part header (truncated upload)"
        event = await self._next_event(truncated)
        if isinstance(event, _Close):
            self._finished = True
            return None
        if not isinstance(event, _Begin):
            raise MultipartError("the body is not well-formed multipart/form-data")
        event = await self._next_event(truncated)
        if not isinstance(event, _Headers):
            raise MultipartError("the body is not well-formed multipart/form-data")
        self._in_part = True
        return _parse_headers(event.headers)
