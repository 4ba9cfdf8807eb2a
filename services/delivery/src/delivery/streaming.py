"""A streamed download that knows whether it was delivered.

Starlette's `StreamingResponse` cannot tell: under an ASGI 2.3 server (uvicorn) a `send` after
the client went away returns without error and the transfer looks complete; a background task
runs even after a disconnect. `DeliveredStream` runs its `on_delivered` callback only once the
final body message was handed to the server with no disconnect reported before it: the last
byte was written to the client's connection. A failed or aborted transfer never calls it.

The body goes out in pieces of about `SEND_SIZE`: each ASGI `send` costs the same whatever its
size (the server's framing, the telemetry around it), and decryption yields 64 KiB segments.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

import anyio
import anyio.lowlevel
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

log = logging.getLogger(__name__)

SEND_SIZE: Final = 512 * 1024


async def coalesced(chunks: AsyncIterator[bytes], size: int = SEND_SIZE) -> AsyncIterator[bytes]:
    """`chunks` joined into pieces of at least `size` bytes (the last one may be smaller)."""
    pending: list[bytes] = []
    held = 0
    async for chunk in chunks:
        pending.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(pending)
            pending, held = [], 0
    if pending:
        yield b"".join(pending)


class _Aborted(Exception):  # noqa: N818 - a control-flow signal, not a failure
    """The client went away: stop producing the body."""


@dataclass
class _Transfer:
    completed: bool = False
    disconnected: bool = False


class DeliveredStream(StreamingResponse):
    def __init__(
        self,
        content: AsyncIterator[bytes],
        *,
        on_delivered: Callable[[], Awaitable[object]],
        media_type: str,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(coalesced(content), media_type=media_type, headers=headers)
        self._on_delivered = on_delivered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transfer = _Transfer()

        async def watch(group: anyio.abc.TaskGroup) -> None:
            # The server reports `http.disconnect` both when the client leaves and once the
            # response is complete: only the first before completion is an abort.
            await self.listen_for_disconnect(receive)
            if not transfer.completed:
                transfer.disconnected = True
                group.cancel_scope.cancel()

        async def guarded(message: Message) -> None:
            if transfer.disconnected:
                raise _Aborted
            final = message["type"] == "http.response.body" and not message.get("more_body")
            if final:
                # A disconnect the server already saw has woken the watcher: let it run before
                # the last send, which the server would otherwise drop silently.
                await anyio.lowlevel.checkpoint()
                if transfer.disconnected:
                    raise _Aborted
            await send(message)  # an ASGI 2.4 server raises OSError on a closed connection
            if final:
                transfer.completed = True

        failure: Exception | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(watch, group)
            try:
                await self.stream_response(guarded)
            except (_Aborted, OSError):
                transfer.disconnected = True
            except Exception as error:  # raised as itself, not in an exception group
                failure = error
            group.cancel_scope.cancel()
        if failure is not None:
            raise failure
        if transfer.completed and not transfer.disconnected:
            try:
                await self._on_delivered()
            except Exception:
                # The client has the content but its cognisance could not be recorded: the act
                # stays unread (à domicile), which says less than what happened, never more.
                log.exception("a completed download could not be recorded")
