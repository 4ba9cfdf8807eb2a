"""Every route of every service says what it answers: a JSON route has a response model (its
return type), a route answering anything else (a file, a redirect, HTML) documents its success
responses, so that each service's OpenAPI describes every answer an integrator can receive."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Final

import pytest
from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts

from tests.support.services import service_env

SERVICES: Final = ("audit", "consent", "delivery", "identity", "notify", "retention")


def _app(name: str, tmp_path: Path) -> FastAPI:
    settings: Any = importlib.import_module(f"{name}.settings").Settings
    values = {
        **service_env(tmp_path, "never-"),
        "kek_file": tmp_path / "kek.json",
        "signing_key_file": tmp_path / "signing.json",
    }
    app: FastAPI = importlib.import_module(f"{name}.main").create_app(settings(**values))
    return app


def _response_class(route: APIRoute) -> Any:
    response_class = route.response_class
    if isinstance(response_class, DefaultPlaceholder):
        return response_class.value
    return response_class


def _documented_success(route: APIRoute) -> bool:
    """A 2xx answer declared in `responses=`, with its content or its model."""
    return any(
        str(status).startswith("2") and (response.get("content") or response.get("model"))
        for status, response in route.responses.items()
    )


def _described(route: APIRoute) -> bool:
    if _documented_success(route):
        return True
    response_class = _response_class(route)
    if issubclass(response_class, JSONResponse):
        return route.response_model is not None
    # Text and other fixed media types are documented by their class (a string); a class
    # without one (a stream, a bare `Response`) must declare what it answers.
    return response_class.media_type is not None


def _undocumented(app: FastAPI) -> list[str]:
    lacking = []
    for context in iter_route_contexts(list(app.routes)):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        if route.status_code == 204:
            continue  # no content, by definition
        if not _described(route):
            lacking.append(f"{sorted(route.methods)} {context.path} ({route.endpoint.__name__})")
    return lacking


@pytest.mark.parametrize("name", SERVICES)
def test_every_route_has_a_response_model_or_documented_answers(name: str, tmp_path: Path) -> None:
    lacking = _undocumented(_app(name, tmp_path))
    assert not lacking, f"{name}: routes without a response model: {lacking}"
