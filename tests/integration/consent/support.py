"""Consent running in-process against real SeaweedFS and real RabbitMQ (test prefix)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from consent.main import create_app
from consent.service import Consent
from consent.settings import Settings
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.messaging.outbox import OUTBOX
from shared.runtime import ServiceRuntime
from tests.consent_probe import RegistryProbe
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.support.services import eventually, service_env


def consent_settings(data_dir: Path, bus_prefix: str, s3: S3Server, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        **service_env(data_dir, bus_prefix),
        "kek_file": data_dir / "kek.json",
        "s3_endpoint": s3.endpoint,
        "s3_access_key": s3.access_key,
        "s3_secret_key": s3.secret_key,
        "s3_bucket": random_bucket_name(),
        "search_pepper": "integration-pepper",
        **extra,
    }
    return Settings(**values)


def consent_app(
    data_dir: Path,
    bus_prefix: str,
    s3: S3Server,
    *,
    token_verifier: TokenVerifier,
    clock: Clock | None = None,
    **extra: Any,
) -> FastAPI:
    return create_app(
        consent_settings(data_dir, bus_prefix, s3, **extra),
        clock=clock,
        token_verifier=token_verifier,
    )


def registry_of(app: FastAPI) -> RegistryProbe:
    """The app's consent use cases, read back as the store holds them."""
    consent: Consent = app.state.consent
    return RegistryProbe(consent)


async def ready_bucket(app: FastAPI) -> None:
    runtime: ServiceRuntime = app.state.runtime
    assert runtime.objects is not None
    await runtime.objects.ensure_bucket()


async def outbox_envelopes(app: FastAPI, event_type: str | None = None) -> list[Envelope]:
    runtime: ServiceRuntime = app.state.runtime
    rows = await runtime.store.find(OUTBOX, sort=[("_id", 1)])
    envelopes = [Envelope.model_validate(row["envelope"]) for row in rows]
    return [e for e in envelopes if event_type is None or e.type == event_type]


async def status_of(client: httpx.AsyncClient, declaration_id: str, headers: dict[str, str]) -> str:
    response = await client.get(f"/v1/declarations/{declaration_id}", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def assert_nothing_personal_logged(
    records: Iterable[logging.LogRecord], secrets: Iterable[str]
) -> None:
    """Fail if any captured log line (message, arguments, traceback) names the person."""
    needles = [s.casefold() for s in secrets]
    for record in records:
        text = record.getMessage()
        if record.exc_text:
            text += record.exc_text
        if record.exc_info and record.exc_info[1] is not None:
            text += repr(record.exc_info[1])
        folded = text.casefold()
        for needle in needles:
            if needle in folded:
                pytest.fail(f"personal data in a log line of {record.name}: {record.levelname}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app under a real uvicorn on a free loopback port (what a client sees on the wire,
    e.g. a body cut short of its Content-Length), its broker connected; a client to it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # raises the start-up error
            raise AssertionError("uvicorn stopped during start-up")
        return server.started

    try:
        await eventually(started, within=30, every=0.05)
        runtime: ServiceRuntime = app.state.runtime
        await asyncio.wait_for(runtime.broker_started.wait(), 30)
        base = f"http://127.0.0.1:{config.port}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
