"""Consent while a dependency is down: the real SeaweedFS reached through a proxy the test cuts
(as when S3 stops), consent's SQLite store closed under it. A refusal is a 503 problem+json with
Retry-After, nothing is left half-recorded, the caller's retry succeeds once the dependency is
back, and a download is never a 200 that ends early as if it were whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from consent.proofs import PROOF_KEYS
from consent.repository import DECLARATIONS, PROOFS
from shared.clock import SystemClock
from shared.contracts.envelope import new_envelope
from shared.contracts.identity import AccountCreatedV1, AccountRole
from shared.runtime import ServiceRuntime
from shared.vault import PENDING_OBJECTS
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.support import (
    consent_app,
    outbox_envelopes,
    ready_bucket,
    registry_of,
    served,
)
from tests.support.proxy import CuttingProxy
from tests.support.services import running
from tests.unit.consent.support import (
    NATURAL_FILES,
    PDF,
    Tokens,
    multipart_body,
    natural_declaration,
    readable_pdf,
)

ACCOUNT = "acc-outage"


@dataclass
class Consent:
    app: FastAPI
    proxy: CuttingProxy
    tokens: Tokens

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    async def declare(
        self, client: httpx.AsyncClient, files: dict[str, tuple[str, bytes]] = NATURAL_FILES
    ) -> httpx.Response:
        today = SystemClock().now().date()
        body, content_type = multipart_body(natural_declaration(today), files)
        return await client.post(
            "/v1/declarations",
            content=body,
            headers={"Content-Type": content_type, **self.tokens.office()},
        )

    async def link(self, declaration_id: str) -> None:
        """Identity's account creation, as its consumer applies it."""
        created = AccountCreatedV1(
            account_id=ACCOUNT, role=AccountRole.RECIPIENT, declaration_id=declaration_id
        )
        envelope = new_envelope(
            created, subject=f"account:{ACCOUNT}", actor="service:identity", clock=SystemClock()
        )
        async with self.runtime.outbox.transaction() as tx:
            await registry_of(self.app).on_account_created(tx, created, envelope)


@asynccontextmanager
async def consent_behind_proxy(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> AsyncIterator[Consent]:
    proxy = CuttingProxy(s3_server.endpoint)
    await proxy.start()
    via_proxy = S3Server(proxy.endpoint, s3_server.access_key, s3_server.secret_key)
    tokens = Tokens(SystemClock())
    app = consent_app(tmp_path, bus_prefix, via_proxy, token_verifier=tokens.verifier())
    try:
        yield Consent(app, proxy, tokens)
    finally:
        await proxy.close()


def assert_retry_later(response: httpx.Response, unavailable: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"].endswith(f"{unavailable}-unavailable")


async def test_a_declaration_while_s3_is_down_is_a_503_that_records_nothing_and_can_be_retried(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async with (
        consent_behind_proxy(tmp_path, bus_prefix, s3_server) as consent,
        running(consent.app) as client,
    ):
        await ready_bucket(consent.app)
        consent.proxy.cut()
        refused = await consent.declare(client)
        assert_retry_later(refused, "object-store")
        store = consent.runtime.store
        for collection in (DECLARATIONS, PROOFS, PROOF_KEYS):
            assert await store.count(collection) == 0, collection
        assert await outbox_envelopes(consent.app, "consent.declaration-registered.v1") == []
        # What S3 may have kept has no key anywhere, and the sweeper knows of it.
        for pending in await store.find(PENDING_OBJECTS):
            assert await store.get(PROOF_KEYS, pending["_id"]) is None

        await consent.proxy.resume()
        retried = await consent.declare(client)
        assert retried.status_code == 201, retried.text
        assert await store.count(DECLARATIONS) == 1
        [registered] = await outbox_envelopes(consent.app, "consent.declaration-registered.v1")
        assert registered.payload["declaration_id"] == retried.json()["id"]


async def test_a_proof_download_while_s3_is_down_is_a_503_not_a_truncated_200(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async with (
        consent_behind_proxy(tmp_path, bus_prefix, s3_server) as consent,
        served(consent.app) as client,
    ):
        await ready_bucket(consent.app)
        created = await consent.declare(client)
        assert created.status_code == 201, created.text
        await consent.link(created.json()["id"])
        person = consent.tokens.recipient(ACCOUNT)
        proofs = (await client.get("/v1/me/declaration", headers=person)).json()["proofs"]
        url = next(p["download"] for p in proofs if p["media_type"] == "application/pdf")
        whole = await client.get(url, headers=person)
        assert (whole.status_code, whole.content) == (200, PDF)

        consent.proxy.cut()
        during = await client.get(url, headers=person)
        assert_retry_later(during, "object-store")

        await consent.proxy.resume()
        after = await client.get(url, headers=person)
        assert (after.status_code, after.content) == (200, PDF)


async def test_s3_failing_mid_download_never_looks_like_a_complete_file(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    big = readable_pdf(padding=2 * 1024 * 1024)
    files = {"id-card": ("cni.pdf", big), "address": NATURAL_FILES["address"]}
    async with (
        consent_behind_proxy(tmp_path, bus_prefix, s3_server) as consent,
        served(consent.app) as client,
    ):
        await ready_bucket(consent.app)
        created = await consent.declare(client, files)
        assert created.status_code == 201, created.text
        await consent.link(created.json()["id"])
        person = consent.tokens.recipient(ACCOUNT)
        proofs = (await client.get("/v1/me/declaration", headers=person)).json()["proofs"]
        url = next(p["download"] for p in proofs if p["type"] == "carte_identite")

        consent.proxy.cut_after_bytes_back = consent.proxy.received + 512 * 1024
        received = bytearray()

        async def read_all(response: httpx.Response) -> None:
            async for chunk in response.aiter_raw():
                received.extend(chunk)

        async with client.stream("GET", url, headers=person) as response:
            assert response.status_code == 200
            declared = int(response.headers["content-length"])
            assert declared == len(big)
            # The connection ends short of Content-Length: an error, never a whole file.
            with pytest.raises(httpx.RemoteProtocolError):
                await read_all(response)
        assert 0 < len(received) < declared


async def test_consents_store_down_is_a_503_on_the_office_and_the_person_routes(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    async with (
        consent_behind_proxy(tmp_path, bus_prefix, s3_server) as consent,
        running(consent.app) as client,
    ):
        await ready_bucket(consent.app)
        created = await consent.declare(client)
        assert created.status_code == 201, created.text
        await consent.link(created.json()["id"])
        await consent.runtime.store.close()  # the database goes away under the service
        office, person = consent.tokens.office(), consent.tokens.recipient(ACCOUNT)
        lookup = {"siren": "732829320", "purpose": "dossier 12"}
        for response in (
            await client.get(f"/v1/declarations/{created.json()['id']}", headers=office),
            await client.post("/v1/registry/search", json=lookup, headers=office),
            await client.get("/v1/me/declaration", headers=person),
            await consent.declare(client),
        ):
            assert_retry_later(response, "database")
