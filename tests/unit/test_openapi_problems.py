"""The OpenAPI of a service documents its errors as the problems it answers, and a store that
does not answer is a 503 problem, not a 500."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.clock import SystemClock
from shared.openapi import problem_responses
from shared.problems import PROBLEM_MEDIA_TYPE
from tests.support.services import service_env
from tests.support.tokens import TokenSigner

SERVICES = ("audit", "consent", "delivery", "identity", "notify", "retention")


def _app(name: str, tmp_path: Path, **kwargs: Any) -> FastAPI:
    settings: Any = importlib.import_module(f"{name}.settings").Settings
    values = {
        **service_env(tmp_path, "never-"),
        "kek_file": tmp_path / "kek.json",
        "signing_key_file": tmp_path / "signing.json",
    }
    app: FastAPI = importlib.import_module(f"{name}.main").create_app(settings(**values), **kwargs)
    return app


def _operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


@pytest.mark.parametrize("name", SERVICES)
def test_every_documented_error_is_a_problem(name: str, tmp_path: Path) -> None:
    spec = _app(name, tmp_path).openapi()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert {"Problem", "ValidationProblem"} <= set(schemas)
    for label, operation in _operations(spec):
        if label == "POST /oauth/token":
            continue  # RFC 6749 errors, not problems
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response.get("content", {})) == [PROBLEM_MEDIA_TYPE], (label, status)
        if "422" in operation["responses"]:
            content = operation["responses"]["422"]["content"][PROBLEM_MEDIA_TYPE]
            assert content["schema"] == {"$ref": "#/components/schemas/ValidationProblem"}


def test_the_statuses_a_route_can_answer_are_derived_from_it(tmp_path: Path) -> None:
    paths = _app("retention", tmp_path).openapi()["paths"]

    def statuses(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    # Needs a token, takes a body, uses the store.
    assert statuses("/v1/holds", "post") == {"201", "400", "401", "403", "413", "422", "503"}
    # Names a resource in its path.
    assert {"401", "403", "404", "503"} <= statuses("/v1/holds/{hold_id}", "delete")
    # Public, no parameter: only the store can fail it.
    assert statuses("/v1/certificates/keys", "get") == {"200", "503"}
    assert statuses("/health/live", "get") == {"200"}
    assert statuses("/health/ready", "get") == {"200", "503"}


def test_a_route_adds_its_own_problems() -> None:
    documented = problem_responses(404, 409)
    assert set(documented) == {404, 409}
    assert documented[409]["content"] == {
        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
    }


async def test_a_store_that_does_not_answer_is_a_503_problem(tmp_path: Path) -> None:
    # The app's lifespan has not run: its store is not connected, as when the database is away.
    signer = TokenSigner(SystemClock(), "notify")
    app = _app("notify", tmp_path, token_verifier=signer.verifier())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://notify") as client:
        response = await client.get(
            "/v1/notifications",
            params={"subject": "act:1"},
            headers=signer.bearer(sub="op-1", role="operator"),
        )
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["retry-after"] == "10"
    assert response.json()["type"] == "urn:securact:problem:database-unavailable"
