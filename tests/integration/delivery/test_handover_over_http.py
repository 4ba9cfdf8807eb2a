"""CPC 663 on the wire: the *prise de connaissance* is the complete download. Delivery runs
under a real uvicorn on a loopback port; a raw socket client with a small receive buffer reads
part of the act and drops the connection (the act stays unread), then reads a whole act slowly
(the cognisance is the instant its last byte was written, on the dev clock, not the opening).
The act is far larger than the kernel's socket buffers, so the server cannot have written it
all before the client reads it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from shared.clock import Clock, SystemClock
from shared.messaging.outbox import OUTBOX
from shared.runtime import ServiceRuntime
from shared.store.port import from_iso
from tests.fixtures.seaweed import S3Server
from tests.integration.delivery.test_delivery_service import (
    PARIS_TUESDAY_10H,
    give_consent,
    offset_to,
    ready,
    settings,
)
from tests.support.consent_registry import delivery_on_events
from tests.support.services import eventually
from tests.unit.delivery.support import Tokens, metadata, multipart, pdf

ACT_BYTES = 12 * 1024 * 1024
PART = 1024 * 1024
RECEIVE_BUFFER = 16 * 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def on_the_wire(app: FastAPI) -> AsyncIterator[int]:
    """The app under uvicorn on a free loopback port, its broker connected; yields the port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
            raise AssertionError("uvicorn stopped during start-up")
        return server.started

    try:
        await eventually(started, within=30, every=0.05)
        runtime: ServiceRuntime = app.state.runtime
        await asyncio.wait_for(runtime.broker_started.wait(), 30)
        yield config.port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


class RawDownload:
    """`GET …/content` on a socket whose receive buffer is small: the server can only write
    as fast as this client reads."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.port, self.path, self.headers = port, path, headers
        self.length = 0

    async def __aenter__(self) -> RawDownload:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
        self.reader, self.writer = await asyncio.open_connection(sock=sock, limit=RECEIVE_BUFFER)
        lines = [f"GET {self.path} HTTP/1.1", "Host: delivery", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        assert b" 200 " in status, head
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                self.length = int(value.strip())
        return self

    async def read(self, count: int) -> bytes:
        return await self.reader.readexactly(count)

    def drop(self) -> None:
        """Close without reading the rest: the kernel answers the server with a reset."""
        self.writer.transport.abort()

    async def __aexit__(self, *_exc: object) -> None:
        self.writer.transport.abort()


async def events_of(app: FastAPI, event_type: str, act_id: str) -> list[dict[str, object]]:
    runtime: ServiceRuntime = app.state.runtime
    rows = await runtime.store.find(OUTBOX, sort=[("_id", 1)])
    return [
        r["envelope"]["payload"]
        for r in rows
        if r["envelope"]["type"] == event_type and r["envelope"]["payload"]["act_id"] == act_id
    ]


@pytest.mark.slow
async def test_cpc_663_cognisance_is_the_complete_download_over_real_http(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    tokens = Tokens(SystemClock())
    document = pdf(ACT_BYTES, seed=b"wire")
    offset = offset_to(PARIS_TUESDAY_10H)
    service_clock: Clock = SystemClock(timedelta(seconds=offset))
    app = delivery_on_events(
        settings(
            tmp_path,
            bus_prefix,
            s3_server,
            clock_offset_seconds=offset,
            max_act_bytes=2 * ACT_BYTES,
        ),
        token_verifier=tokens.verifier(),
    )
    async with on_the_wire(app) as port:
        await give_consent(bus_prefix, "decl-int", "acc-int")
        runtime = await ready(app, "decl-int")
        body, content_type = multipart(metadata("decl-int"), document)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            response = await client.post(
                "/v1/acts",
                content=body,
                headers={
                    "Content-Type": content_type,
                    "Idempotency-Key": "wire",
                    **tokens.office(),
                },
            )
        assert response.status_code == 201, response.text
        act_id = response.json()["id"]
        path = f"/v1/inbox/{act_id}/content"

        # An aborted transfer: opened and journaled, no cognisance.
        async with RawDownload(port, path, tokens.recipient("acc-int")) as aborted:
            assert aborted.length == len(document)
            assert await aborted.read(PART) == document[:PART]
            aborted.drop()

        async def opened_once() -> bool:
            return len(await events_of(app, "delivery.act-content-opened.v1", act_id)) == 1

        await eventually(opened_once, within=10)
        await asyncio.sleep(1.5)  # the server notices the reset and abandons the stream
        act = await runtime.store.get("acts", act_id)
        assert act is not None
        assert act["handed_over_at"] is None
        assert await events_of(app, "delivery.act-handed-over.v1", act_id) == []

        # A complete download, slowly: the cognisance is when its last byte was written.
        async with RawDownload(port, path, tokens.recipient("acc-int")) as complete:
            received = await complete.read(PART)
            await asyncio.sleep(1.5)
            before_the_end = service_clock.now()
            received += await complete.read(complete.length - PART)
            after_the_end = service_clock.now()
        assert received == document

        async def handed_over() -> bool:
            found = await runtime.store.get("acts", act_id)
            return found is not None and found["handed_over_at"] is not None

        await eventually(handed_over, within=10)
        # The server records the instant after its last send returned, which may come a moment
        # after the client has read the last byte: bound it by when the record was seen.
        after_the_end = service_clock.now()
        act = await runtime.store.get("acts", act_id)
        assert act is not None
        cognisance = from_iso(act["handed_over_at"])
        # Written after the client had read the first part and waited: not the opening.
        assert before_the_end - timedelta(seconds=1) <= cognisance <= after_the_end
        opened = await events_of(app, "delivery.act-content-opened.v1", act_id)
        assert len(opened) == 2
        assert cognisance - from_iso(str(opened[1]["opened_at"])) >= timedelta(seconds=1)
        handed = await events_of(app, "delivery.act-handed-over.v1", act_id)
        assert len(handed) == 1
