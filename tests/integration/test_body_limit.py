"""Every route's request body is limited before it is read (real HTTP, uvicorn): a body
announced over the limit is refused at once, a chunked body is cut as soon as it passes it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.integration.identity.support import identity_app
from tests.support.services import serving

LIMIT = 1024 * 1024


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines if line)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


def _request(port: int, framing: str) -> bytes:
    return (
        f"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


async def test_a_body_announced_over_the_limit_is_refused_before_it_is_sent(
    tmp_path: Path, bus_prefix: str
) -> None:
    async with serving(identity_app(tmp_path, bus_prefix)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_request(port, f"Content-Length: {512 * 1024 * 1024}"))
        writer.write(b'{"identifier": "')  # a start, and nothing more: nobody waits for it
        await writer.drain()
        status, headers, body = await asyncio.wait_for(_read_head(reader), 5)
        writer.close()

    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["type"] == "urn:securact:problem:request-body-too-large"
    assert problem["max_bytes"] == LIMIT


async def test_a_chunked_body_that_never_ends_is_cut_past_the_limit(
    tmp_path: Path, bus_prefix: str
) -> None:
    async with serving(identity_app(tmp_path, bus_prefix)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_request(port, "Transfer-Encoding: chunked"))
        answer = asyncio.create_task(_read_head(reader))
        chunk = b'{"identifier": "' + b"a" * 65_000
        sent = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        try:
            while not answer.done() and loop.time() < deadline:
                writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
                await asyncio.wait_for(writer.drain(), 1)
        except (ConnectionError, TimeoutError):
            pass  # the server stopped reading: its answer is on its way
        status, headers, body = await asyncio.wait_for(answer, 5)
        writer.close()

    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["max_bytes"] == LIMIT
    assert sent < 16 * LIMIT  # cut near the limit, not after the sender gave up


async def test_a_body_under_the_limit_reaches_the_route(tmp_path: Path, bus_prefix: str) -> None:
    async with serving(identity_app(tmp_path, bus_prefix)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = json.dumps({"identifier": "x" * 500_000, "password": "y"}).encode()
        writer.write(_request(port, f"Content-Length: {len(body)}") + body)
        await writer.drain()
        status, headers, _ = await asyncio.wait_for(_read_head(reader), 10)
        writer.close()

    assert status != 413
    assert headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("limit", [4096])
async def test_the_platform_limit_is_a_setting(tmp_path: Path, bus_prefix: str, limit: int) -> None:
    async with serving(identity_app(tmp_path, bus_prefix, max_body_bytes=limit)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_request(port, f"Content-Length: {limit + 1}"))
        await writer.drain()
        status, _, body = await asyncio.wait_for(_read_head(reader), 5)
        writer.close()

    assert status == 413
    assert json.loads(body)["max_bytes"] == limit
