"""Activation, reset and erasure-certificate e-mails: the event names the link by a reference,
notify fetches it from its owner (identity, retention) only when it sends, and the link is never
stored, logged or put in an event."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from notify.domain import State
from notify.links import CertificateLinks, IdentityLinks, Links
from notify.ports import PermanentDeliveryError, TransientDeliveryError
from shared.auth.client_credentials import ClientCredentials, ClientCredentialsConfig
from shared.clock import ManualClock
from shared.contracts.notify import NotificationFailedV1, NotificationSentV1
from shared.messaging.outbox import OUTBOX
from tests.unit.notify import events
from tests.unit.notify.conftest import START, Env

SENT = NotificationSentV1.routing_key()
FAILED = NotificationFailedV1.routing_key()


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


async def _everything_stored(env: Env) -> str:
    rows = await env.store.find("notifications")
    outbox = await env.store.find(OUTBOX)
    return json.dumps([rows, outbox], default=str)


async def test_the_activation_link_is_fetched_when_sent_and_never_stored(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await env.take(events.activation(env.clock))
    assert env.links.asked == []
    queued = await _everything_stored(env)
    assert "token" not in queued

    assert await env.drain() == 1

    assert env.links.asked == [events.ACTIVATION_LINK_ID]
    [message] = env.mail.sent
    assert message["Subject"] == "Activez votre compte SECURACT"
    assert events.ACTIVATION_URL in _text(message)
    assert events.ACTIVATION_URL in _html(message)
    assert "jdupont-42" in _text(message)
    [row] = await env.rows()
    assert row["state"] == State.SENT.value
    assert row["link"] == {"link_id": events.ACTIVATION_LINK_ID}, "template values forgotten"
    stored = await _everything_stored(env)
    assert events.ACTIVATION_URL not in stored
    assert "activation-token-42" not in stored
    assert "activation-token-42" not in caplog.text


async def test_the_reset_link_is_fetched_when_sent(env: Env) -> None:
    await env.take(events.password_reset(env.clock))
    assert await env.drain() == 1
    [message] = env.mail.sent
    assert message["Subject"] == "Réinitialisation de votre mot de passe SECURACT"
    assert events.RESET_URL in _text(message)
    assert events.RESET_URL not in await _everything_stored(env)


async def test_identity_unreachable_is_retried_with_the_usual_backoff(env: Env) -> None:
    env.links.identity_down(times=1)
    await env.take(events.activation(env.clock))

    assert await env.drain() == 1
    assert env.mail.sent == []
    [row] = await env.rows()
    assert row["state"] == State.QUEUED.value
    assert row["reason"] == "identity unreachable for the link (ConnectError)"
    assert row["link"]["context"]["values"]["identifier"] == "jdupont-42"

    env.clock.advance(timedelta(seconds=10))
    assert await env.drain() == 1
    assert len(env.mail.sent) == 1
    assert env.links.asked == [events.ACTIVATION_LINK_ID] * 2


async def test_a_link_used_or_replaced_before_sending_is_a_failure_not_a_retry(env: Env) -> None:
    env.links.gone.add(events.ACTIVATION_LINK_ID)
    await env.take(events.activation(env.clock))

    assert await env.drain() == 1
    env.clock.advance(timedelta(hours=1))
    assert await env.drain() == 0

    assert env.mail.sent == []
    assert env.links.asked == [events.ACTIVATION_LINK_ID]
    [row] = await env.rows()
    assert row["state"] == State.FAILED.value
    assert row["permanent"] is True
    assert row["link"] == {"link_id": events.ACTIVATION_LINK_ID}
    [failed] = await env.events(FAILED)
    assert failed["payload"]["kind"] == "activation"
    assert failed["payload"]["reason"] == "the link is no longer valid"


async def test_the_certificate_link_is_fetched_from_retention_when_sent_and_never_stored(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await env.take(events.erasure_certificate(env.clock))
    assert env.links.asked == []
    assert "download-token-5" not in await _everything_stored(env)

    assert await env.drain() == 1

    assert env.links.asked == [events.CERTIFICATE_REFERENCE]
    [message] = env.mail.sent
    assert message["Subject"] == "Certificat d'effacement de vos données SECURACT"
    assert message["To"] == "jean.dupont@example.fr"
    assert events.CERTIFICATE_URL in _text(message)
    assert events.CERTIFICATE_URL in _html(message)
    assert events.CERTIFICATE_ID in _text(message)
    [row] = await env.rows()
    assert row["state"] == State.SENT.value
    assert row["link"] == {"link_id": events.CERTIFICATE_REFERENCE}
    stored = await _everything_stored(env)
    assert "download-token-5" not in stored
    assert "download-token-5" not in caplog.text
    [sent] = await env.events(SENT)
    assert "download-token-5" not in json.dumps(sent)


async def test_retention_unreachable_is_retried_and_a_gone_certificate_link_fails(
    env: Env,
) -> None:
    env.links.failures.append(
        TransientDeliveryError("retention unreachable for the link (ConnectError)")
    )
    await env.take(events.erasure_certificate(env.clock))
    assert await env.drain() == 1
    [row] = await env.rows()
    assert row["state"] == State.QUEUED.value
    assert row["reason"] == "retention unreachable for the link (ConnectError)"

    env.links.gone.add(events.CERTIFICATE_REFERENCE)
    env.clock.advance(timedelta(seconds=10))
    assert await env.drain() == 1
    assert env.mail.sent == []
    [row] = await env.rows()
    assert row["state"] == State.FAILED.value
    assert row["permanent"] is True
    [failed] = await env.events(FAILED)
    assert failed["payload"]["kind"] == "erasure_certificate"


# -- the adapter over identity's internal API --------------------------------------------------


class FakeIdentity:
    """Identity's token endpoint and links route over httpx.MockTransport, scripted."""

    def __init__(self) -> None:
        self.token_requests = 0
        self.link_answers: list[int] = []
        self.tokens_refused_once = False
        self.seen_authorization: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            self.token_requests += 1
            body = dict(httpx.QueryParams(request.content.decode()))
            assert body == {"grant_type": "client_credentials", "scope": "links:read"}
            assert request.headers["authorization"].startswith("Basic ")
            token = f"token-{self.token_requests}"
            return httpx.Response(200, json={"access_token": token, "expires_in": 600})
        assert request.url.path == "/internal/v1/links/link-1"
        self.seen_authorization.append(request.headers["authorization"])
        status = self.link_answers.pop(0) if self.link_answers else 200
        if status == 200:
            return httpx.Response(200, json={"url": "https://portail.test/activation?token=t"})
        return httpx.Response(status, json={"status": status})


def adapter(fake: FakeIdentity, clock: ManualClock) -> IdentityLinks:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handle), base_url="http://id")
    config = ClientCredentialsConfig("/oauth/token", "service-notify", "s3cret", "links:read")
    return IdentityLinks(http, ClientCredentials(config, http, clock))


async def test_the_adapter_fetches_the_link_with_a_cached_service_token() -> None:
    fake, clock = FakeIdentity(), ManualClock(START)
    links = adapter(fake, clock)

    assert await links.link_url("link-1") == "https://portail.test/activation?token=t"
    assert await links.link_url("link-1") == "https://portail.test/activation?token=t"

    assert fake.token_requests == 1
    assert fake.seen_authorization == ["Bearer token-1", "Bearer token-1"]


@pytest.mark.parametrize("status", [404, 410])
async def test_the_adapter_reports_a_gone_link_as_permanent(status: int) -> None:
    fake = FakeIdentity()
    fake.link_answers = [status]
    with pytest.raises(PermanentDeliveryError):
        await adapter(fake, ManualClock(START)).link_url("link-1")


@pytest.mark.parametrize("status", [429, 500, 503, 403])
async def test_the_adapter_reports_identity_trouble_as_transient(status: int) -> None:
    fake = FakeIdentity()
    fake.link_answers = [status]
    with pytest.raises(TransientDeliveryError):
        await adapter(fake, ManualClock(START)).link_url("link-1")


async def test_the_adapter_reports_identity_unreachable_as_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse), base_url="http://id")
    config = ClientCredentialsConfig("/oauth/token", "service-notify", "s3cret", "links:read")
    links = IdentityLinks(http, ClientCredentials(config, http, ManualClock(START)))
    with pytest.raises(TransientDeliveryError) as error:
        await links.link_url("link-1")
    assert "s3cret" not in error.value.reason


async def test_a_refused_token_is_renewed_once() -> None:
    fake = FakeIdentity()
    fake.link_answers = [401]
    links = adapter(fake, ManualClock(START))
    assert await links.link_url("link-1") == "https://portail.test/activation?token=t"
    assert fake.seen_authorization == ["Bearer token-1", "Bearer token-2"]


def test_production_settings_refuse_the_dev_client_secret() -> None:
    from notify.settings import Settings
    from shared.settings import MissingSecretError

    production = {
        "env": "production",
        "amqp_url": "amqp://n:s@rabbit:5672/",
        "allow_local_keys": True,
    }
    with pytest.raises(MissingSecretError, match="SECURACT_NOTIFY_CLIENT_SECRET"):
        Settings(**production)
    assert Settings(**production, client_secret="s3cret").client_id == "service-notify"


def test_the_dev_stack_gives_identity_and_notify_the_same_client_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack.stack import StackLayout, stack_environment
    from identity.settings import Settings as IdentitySettings
    from notify.settings import Settings as NotifySettings

    env = stack_environment(StackLayout(tmp_path), {})
    for name, value in env.items():
        if name.startswith("SECURACT_"):
            monkeypatch.setenv(name, value)
    identity = IdentitySettings().notify_client_secret.get_secret_value()
    assert identity == NotifySettings().client_secret.get_secret_value()
    # A caller's own secret reaches both through the one variable.
    override = stack_environment(StackLayout(tmp_path), {"SECURACT_NOTIFY_CLIENT_SECRET": "x"})
    monkeypatch.setenv("SECURACT_NOTIFY_CLIENT_SECRET", override["SECURACT_NOTIFY_CLIENT_SECRET"])
    assert IdentitySettings().notify_client_secret.get_secret_value() == "x"
    assert NotifySettings().client_secret.get_secret_value() == "x"


# -- the adapter over retention's internal API, and the one source the sender asks ---------------


def certificate_adapter(answers: list[int], seen: list[str]) -> CertificateLinks:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            body = dict(httpx.QueryParams(request.content.decode()))
            assert body["scope"] == "certificates:read"
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 600})
        seen.append(request.url.path)
        status = answers.pop(0) if answers else 200
        if status == 200:
            url = "https://retention.test/v1/certificates/cert-5/tok-5.pdf"
            return httpx.Response(200, json={"certificate_id": "cert-5", "url": url})
        return httpx.Response(status, json={"status": status})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url="http://rt")
    config = ClientCredentialsConfig(
        "/oauth/token", "service-notify", "s3cret", "certificates:read"
    )
    return CertificateLinks(http, ClientCredentials(config, http, ManualClock(START)))


async def test_the_certificate_adapter_asks_retention_by_certificate_id() -> None:
    seen: list[str] = []
    links = certificate_adapter([], seen)
    url = await links.link_url("certificate:cert-5")
    assert url == "https://retention.test/v1/certificates/cert-5/tok-5.pdf"
    assert seen == ["/internal/v1/certificates/cert-5/link"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, PermanentDeliveryError),
        (410, PermanentDeliveryError),
        (503, TransientDeliveryError),
        (403, TransientDeliveryError),
    ],
)
async def test_the_certificate_adapter_maps_retention_answers(
    status: int, error: type[Exception]
) -> None:
    with pytest.raises(error) as raised:
        await certificate_adapter([status], []).link_url("certificate:cert-5")
    assert "tok-5" not in str(raised.value)


async def test_each_reference_goes_to_the_service_owning_it() -> None:
    class Owner:
        def __init__(self) -> None:
            self.asked: list[str] = []

        async def link_url(self, link_id: str) -> str:
            self.asked.append(link_id)
            return "https://owner.test/"

    identity, retention = Owner(), Owner()
    links = Links(identity, retention)
    await links.link_url("0190a1b2-link")
    await links.link_url("certificate:cert-5")
    assert identity.asked == ["0190a1b2-link"]
    assert retention.asked == ["certificate:cert-5"]
