"""Every error leaves a service as RFC 9457 problem+json, internals never included."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from shared.problems import (
    INTERNAL_PROBLEM_TYPE,
    PROBLEM_MEDIA_TYPE,
    VALIDATION_PROBLEM_TYPE,
    Problem,
    install_problem_handlers,
    problem_type,
)


class Declaration(BaseModel):
    email: str
    days: int


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/window")
    async def window() -> None:
        raise Problem(
            422,
            "Outside the legal window",
            "Acts cannot be served at this hour.",
            type=problem_type("outside-legal-window"),
            extra={"next_window_opens_at": "2030-03-05T06:00:00+01:00"},
        )

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    @app.post("/declarations")
    async def declare(declaration: Declaration) -> dict[str, int]:
        return {"days": declaration.days}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: Starlette re-raises after answering 500, as for a real server.
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as client:
        yield client


async def test_raised_problem_is_rendered_with_its_extension_members(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/window")

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json() == {
        "type": "urn:securact:problem:outside-legal-window",
        "title": "Outside the legal window",
        "status": 422,
        "detail": "Acts cannot be served at this hour.",
        "next_window_opens_at": "2030-03-05T06:00:00+01:00",
    }


async def test_unexpected_exception_is_a_bare_500_problem(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="shared.problems"):
        response = await client.get("/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["type"] == INTERNAL_PROBLEM_TYPE
    assert body["status"] == 500
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert any("RuntimeError" in record.getMessage() for record in caplog.records)


async def test_validation_error_is_422_problem_without_echoing_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/declarations", json={"email": "jeanne.dupont@example.fr", "days": "many"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["type"] == VALIDATION_PROBLEM_TYPE
    assert [error["loc"] for error in body["errors"]] == [["body", "days"]]
    assert "many" not in response.text
    assert "jeanne.dupont" not in response.text


async def test_unknown_route_and_wrong_method_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    wrong_method = await client.delete("/window")

    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert missing.json() == {"type": "about:blank", "title": "Not Found", "status": 404}
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "allow" in wrong_method.headers


def test_extension_members_cannot_override_standard_ones() -> None:
    with pytest.raises(ValueError, match="status"):
        Problem(400, extra={"status": 200})
