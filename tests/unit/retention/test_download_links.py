"""The certificate's download link is a credential: no event carries it. Retention keeps the
token hashed for downloads and sealed for notify, which fetches the link by `certificate_id`
over an internal route (scope `certificates:read`) when it sends the e-mail."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI

from retention.download_links import DownloadLinks, LinkUnavailable, UnknownCertificate
from retention.internal_api import internal_router
from retention.repository import CERTIFICATES
from shared.auth import install_token_verifier
from shared.messaging.outbox import OUTBOX
from shared.problems import install_problem_handlers
from shared.refusals import install_refusal_handlers
from tests.support.tokens import TokenSigner
from tests.unit.retention.conftest import Harness
from tests.unit.retention.test_retention import (
    EMAIL,
    ISSUED,
    confirm_all,
    download_token,
    fire_account_erasure,
)


async def certified(harness: Harness) -> str:
    erasure_id = await fire_account_erasure(harness, ["act-1"])
    await confirm_all(harness, erasure_id, ["act-1"])
    [issued] = await harness.published(ISSUED)
    return str(issued.payload["certificate_id"])


async def test_no_event_carries_the_download_token_and_the_link_downloads(
    harness: Harness,
) -> None:
    certificate_id = await certified(harness)
    [issued] = await harness.published(ISSUED)
    assert issued.payload["email"] == EMAIL
    assert "download_url" not in issued.payload

    link = await DownloadLinks(harness.retention.ctx).link(certificate_id)
    token = await download_token(harness, issued.payload)
    assert link.url == f"http://127.0.0.1:8106/v1/certificates/{certificate_id}/{token}.pdf"
    assert await harness.retention.certificates.read(certificate_id, token, "pdf")
    # Not in any event retention published, nor in clear in its store: sealed only.
    published = json.dumps([e.model_dump(mode="json") for e in await harness.published()])
    assert token not in published
    stored = json.dumps(await harness.store.find(CERTIFICATES), default=str)
    assert token not in stored
    assert "sealed_token" in stored
    assert token not in json.dumps(await harness.store.find(OUTBOX), default=str)


async def test_an_unknown_certificate_has_no_link(harness: Harness) -> None:
    with pytest.raises(UnknownCertificate):
        await DownloadLinks(harness.retention.ctx).link("no-such-certificate")


async def test_a_certificate_without_a_sealed_token_has_no_link_to_give(
    harness: Harness,
) -> None:
    # Issued before the token was kept sealed: its link went in the retired V1 event.
    certificate_id = await certified(harness)
    [row] = await harness.store.find(CERTIFICATES)
    row.pop("sealed_token")
    await harness.store.replace(CERTIFICATES, row, expected_version=row.pop("_version"))
    with pytest.raises(LinkUnavailable):
        await DownloadLinks(harness.retention.ctx).link(certificate_id)


async def test_a_sealed_token_moved_to_another_certificate_does_not_open(
    harness: Harness,
) -> None:
    certificate_id = await certified(harness)
    [row] = await harness.store.find(CERTIFICATES)
    row.pop("_version")
    other = {**row, "_id": "other-certificate", "erasure_id": "other-erasure"}
    await harness.store.insert(CERTIFICATES, other)
    with pytest.raises(LinkUnavailable):
        await DownloadLinks(harness.retention.ctx).link("other-certificate")
    assert (await DownloadLinks(harness.retention.ctx).link(certificate_id)).url


# -- the internal route -------------------------------------------------------------------------


def internal_app(harness: Harness, signer: TokenSigner) -> httpx.AsyncClient:
    app = FastAPI()
    install_problem_handlers(app)
    install_refusal_handlers(app)
    install_token_verifier(app, signer.verifier())
    app.include_router(internal_router(harness.retention))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://retention")


async def test_the_link_goes_only_to_a_caller_granted_certificates_read(
    harness: Harness,
) -> None:
    certificate_id = await certified(harness)
    signer = TokenSigner(harness.clock, "retention")
    route = f"/internal/v1/certificates/{certificate_id}/link"
    notify = signer.bearer(sub="service-notify", role="service", scope="certificates:read")
    links_only = signer.bearer(sub="service-notify", role="service", scope="links:read")
    async with internal_app(harness, signer) as client:
        anonymous = await client.get(route)
        refused = await client.get(route, headers=links_only)
        answer = await client.get(route, headers=notify)
        unknown = await client.get("/internal/v1/certificates/nope/link", headers=notify)

    assert anonymous.status_code == 401
    assert refused.status_code == 403
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    token = await download_token(harness, {"certificate_id": certificate_id})
    assert answer.json() == {
        "certificate_id": certificate_id,
        "url": f"http://127.0.0.1:8106/v1/certificates/{certificate_id}/{token}.pdf",
    }
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "urn:securact:problem:certificate-not-found"
    assert unknown.headers["content-type"] == "application/problem+json"


async def test_a_link_that_cannot_be_given_is_gone(harness: Harness) -> None:
    certificate_id = await certified(harness)
    [row] = await harness.store.find(CERTIFICATES)
    row.pop("sealed_token")
    await harness.store.replace(CERTIFICATES, row, expected_version=row.pop("_version"))
    signer = TokenSigner(harness.clock, "retention")
    notify = signer.bearer(sub="service-notify", role="service", scope="certificates:read")
    async with internal_app(harness, signer) as client:
        gone = await client.get(f"/internal/v1/certificates/{certificate_id}/link", headers=notify)
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
