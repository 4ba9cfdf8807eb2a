"""How many HTTP worker processes a service is served with."""

from __future__ import annotations

import os

import pytest

from delivery.settings import Settings as DeliverySettings
from shared.serve import worker_count

PRODUCTION = {
    "SECURACT_ENV": "production",
    "SECURACT_ALLOW_LOCAL_KEYS": "true",
    "SECURACT_DELIVERY_AMQP_URL": "amqp://d:delivery-pass@rabbit:5672/",
    "SECURACT_DELIVERY_S3_ACCESS_KEY": "delivery-access",
    "SECURACT_DELIVERY_S3_SECRET_KEY": "delivery-secret",
    "SECURACT_DELIVERY_CLIENT_SECRET": "delivery-client-secret",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("SECURACT_"):
            monkeypatch.delenv(name)


def test_dev_serves_with_one_worker() -> None:
    assert worker_count(DeliverySettings()) == 1


def test_production_serves_with_one_worker_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2})
    assert worker_count(DeliverySettings()) == 3


def test_an_explicit_count_wins_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**PRODUCTION, "SECURACT_DELIVERY_HTTP_WORKERS": "2"}.items():
        monkeypatch.setenv(name, value)
    assert worker_count(DeliverySettings()) == 2
    monkeypatch.setenv("SECURACT_ENV", "dev")
    assert worker_count(DeliverySettings()) == 2
