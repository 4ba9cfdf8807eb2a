"""The webhook rules that need no receiver: production refuses plain-HTTP receivers; an
endpoint URL with credentials or without HTTPS is refused; a rotated secret signs beside the
new one only for its grace period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from notify.settings import Settings
from notify.webhooks.model import Endpoint, SealedSecret, WebhookEvent
from notify.webhooks.refusals import EndpointUrlRefused
from notify.webhooks.service import WebhookPolicy, Webhooks
from shared.crypto.sealed import SealedValue

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


def _sealed(tag: str) -> SealedValue:
    return SealedValue(format="test", dek={}, nonce=tag, ciphertext=tag)


def test_production_refuses_plain_http_webhook_receivers() -> None:
    with pytest.raises(ValidationError, match="webhook_allow_http"):
        Settings(env="production", webhook_allow_http=True, allow_local_keys=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://etude.example/hooks",
        "https://user:pw@etude.example/hooks",
        "https://etude.example/hooks#frag",
        "ftp://etude.example/hooks",
        "/hooks",
    ],
)
def test_an_endpoint_url_must_be_https_without_credentials(url: str) -> None:
    hooks = Webhooks.__new__(Webhooks)
    hooks.policy = WebhookPolicy()
    with pytest.raises(EndpointUrlRefused):
        hooks._check_url(url)


def test_a_rotated_secret_signs_beside_the_new_one_for_its_grace_only() -> None:
    old = SealedSecret(sealed=_sealed("old"), created_at=NOW - timedelta(days=30))
    endpoint = Endpoint(
        id="e1",
        office_id="etude-1",
        url="https://etude.example/hooks",
        events=(WebhookEvent.ACT_SERVED,),
        secret=old,
        created_at=old.created_at,
        updated_at=old.created_at,
    )
    fresh = SealedSecret(sealed=_sealed("new"), created_at=NOW)
    rotated = endpoint.rotated(fresh, NOW, timedelta(hours=24))
    assert len(rotated.signing_secrets(NOW + timedelta(hours=23))) == 2
    assert rotated.signing_secrets(NOW + timedelta(hours=25)) == (fresh,)
