"""Consent running in-process against real SeaweedFS and real RabbitMQ (test prefix)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from consent.main import create_app
from consent.service import Registry
from consent.settings import Settings
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.messaging.outbox import OUTBOX
from shared.runtime import ServiceRuntime
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.support.services import service_env


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


def registry_of(app: FastAPI) -> Registry:
    registry: Registry = app.state.registry
    return registry


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
