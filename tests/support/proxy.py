"""A TCP proxy in front of a real server (SeaweedFS's S3, a service) that a test can cut, as when
the server stops: at once, after so many bytes sent to it, or after so many bytes received from
it; or whose answers it can hold back for a while (a slow server, an answer still on its way)."""

from __future__ import annotations

import asyncio
import contextlib


class CuttingProxy:
    """Forwards every connection to `target` ("host:port") until cut; a cut aborts every
    connection at once and refuses new ones."""

    def __init__(self, target: str) -> None:
        self._host, port = target.rsplit(":", 1)
        self._port = int(port)
        self._writers: list[asyncio.StreamWriter] = []
        self.cut_after_bytes: int | None = None
        """Cut once `sent` passes this (mid-upload)."""
        self.cut_after_bytes_back: int | None = None
        """Cut once `received` passes this (mid-download)."""
        self.sent = 0
        """Bytes forwarded to the server so far, every connection counted."""
        self.received = 0
        """Bytes forwarded back from the server so far."""
        self.hold_after_bytes_back: int | None = None
        """Hold what the server sends once `received` would pass this, until `release()`."""
        self.holding = asyncio.Event()
        """Set while an answer is held back."""
        self._released = asyncio.Event()
        self.server: asyncio.Server | None = None
        self._listening = 0

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self._listening}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self._listening = int(self.server.sockets[0].getsockname()[1])

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool
    ) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                if upstream:
                    self.sent += len(data)
                    limit, count = self.cut_after_bytes, self.sent
                else:
                    hold = self.hold_after_bytes_back
                    if hold is not None and self.received + len(data) > hold:
                        self.holding.set()
                        await self._released.wait()
                    self.received += len(data)
                    limit, count = self.cut_after_bytes_back, self.received
                if limit is not None and count > limit:
                    # What fits under the limit still passes: the cut lands mid-message.
                    writer.write(data[: max(0, len(data) - (count - limit))])
                    with contextlib.suppress(Exception):
                        await writer.drain()
                    self.cut()
                    return
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        self._writers += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer, True), self._pipe(up_reader, writer, False)
        )

    def release(self) -> None:
        """Let the held answers through, and hold nothing more."""
        self.hold_after_bytes_back = None
        self._released.set()

    def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self._writers:
            with contextlib.suppress(Exception):
                writer.transport.abort()

    async def resume(self) -> None:
        """The server is back: accept connections again, on the same port."""
        self.cut_after_bytes = self.cut_after_bytes_back = None
        self._writers.clear()
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self._listening)

    async def close(self) -> None:
        self.cut()
        assert self.server is not None
        await self.server.wait_closed()
