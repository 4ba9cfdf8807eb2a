"""A service's refusals become RFC 9457 problems through one handler, and an unreachable store
or object store becomes 503 with Retry-After — never a 500."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from shared.objects import ObjectStoreUnavailableError
from shared.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from shared.refusals import DependencyUnavailable, Refusal, install_refusal_handlers
from shared.store.port import StoreUnavailableError


class WindowClosed(Refusal):
    status = 422
    code = "service-window-closed"
    title = "Outside the service window"


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_refusal_handlers(app)

    @app.get("/")
    async def route() -> None:
        raise error

    return app


async def answer(error: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_raising(error), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/")


async def test_a_refusal_subclass_is_answered_with_its_status_code_title_and_members() -> None:
    response = await answer(
        WindowClosed("closed on Sundays", extra={"next": "Monday"}, headers={"X-Why": "cpc"})
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["x-why"] == "cpc"
    assert response.json() == {
        "type": "urn:securact:problem:service-window-closed",
        "title": "Outside the service window",
        "status": 422,
        "detail": "closed on Sundays",
        "next": "Monday",
    }


async def test_a_refusal_may_choose_its_code_and_status_per_instance() -> None:
    response = await answer(Refusal("no", code="reply-infected", status=409, title="Refused"))
    assert response.status_code == 409
    assert response.json()["type"] == "urn:securact:problem:reply-infected"
    assert response.json()["title"] == "Refused"


async def test_a_refusal_without_a_title_takes_the_status_phrase() -> None:
    class Gone(Refusal):
        status = 410
        code = "act-erased"

    assert (await answer(Gone("erased"))).json()["title"] == "Gone"


async def test_an_unreachable_database_is_a_503_with_retry_after() -> None:
    response = await answer(StoreUnavailableError("connection refused at 10.0.0.5"))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    body = response.json()
    assert body["type"] == "urn:securact:problem:database-unavailable"
    assert "10.0.0.5" not in response.text


async def test_an_unreachable_object_store_is_a_503_with_retry_after() -> None:
    response = await answer(ObjectStoreUnavailableError("s3 down"))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    assert response.json()["type"] == "urn:securact:problem:object-store-unavailable"


async def test_a_dependency_named_by_the_use_case_is_a_503_of_its_own_type() -> None:
    response = await answer(DependencyUnavailable("malware scanner"))
    assert response.status_code == 503
    assert response.json()["type"] == "urn:securact:problem:malware-scanner-unavailable"
