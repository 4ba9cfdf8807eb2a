"""The body limit per route: the default, a route's own limit, a route that streams itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel

from shared.bodylimit import BodyLimitMiddleware, body_limit
from shared.problems import install_problem_handlers


class Note(BaseModel):
    text: str


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/notes")
    async def note(body: Note) -> dict[str, int]:
        return {"length": len(body.text)}

    @app.post("/large")
    @body_limit(64 * 1024)
    async def large(body: Note) -> dict[str, int]:
        return {"length": len(body.text)}

    @app.post("/streamed")
    @body_limit(None)
    async def streamed(request: Request) -> dict[str, int]:
        return {"length": sum([len(chunk) async for chunk in request.stream()])}

    # As the services build theirs: routes on a router included with a prefix.
    router = APIRouter(prefix="/v1")

    @router.post("/notes")
    async def routed_note(body: Note) -> dict[str, int]:
        return {"length": len(body.text)}

    @router.post("/uploads")
    @body_limit(None)
    async def upload(request: Request) -> dict[str, int]:
        return {"length": sum([len(chunk) async for chunk in request.stream()])}

    app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, default=1024)
    return app


async def _post(path: str, content: Any, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post(
            path, content=content, headers={"content-type": "application/json", **headers}
        )


def _note(size: int) -> bytes:
    return b'{"text": "' + b"a" * size + b'"}'


async def _chunks(count: int, size: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b"a" * size


async def test_the_default_limit_refuses_a_larger_body_as_a_problem() -> None:
    response = await _post("/notes", _note(2000))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["max_bytes"] == 1024
    assert (await _post("/notes", _note(900))).json() == {"length": 900}


async def test_a_route_with_its_own_limit_takes_more() -> None:
    assert (await _post("/large", _note(60_000))).json() == {"length": 60_000}
    assert (await _post("/large", _note(70_000))).status_code == 413


async def test_a_body_without_length_is_counted_as_it_streams() -> None:
    response = await _post("/notes", _chunks(10, 512))
    assert response.status_code == 413
    assert response.json()["type"] == "urn:securact:problem:request-body-too-large"


async def test_a_route_that_streams_itself_is_left_to_its_own_checks() -> None:
    assert (await _post("/streamed", _chunks(100, 1024))).json() == {"length": 102_400}


async def test_routes_of_an_included_router_get_their_own_limits() -> None:
    assert (await _post("/v1/notes", _note(2000))).status_code == 413
    assert (await _post("/v1/notes", _note(900))).json() == {"length": 900}
    assert (await _post("/v1/uploads", _chunks(100, 1024))).json() == {"length": 102_400}
    assert (await _post("/v1/uploads", b"a" * 50_000)).json() == {"length": 50_000}
