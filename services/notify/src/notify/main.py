"""App factory of the notify service. Nothing connects until the app's lifespan starts.

Queues: `notify.urgent` (every transactional event), `notify.bulk` (CGU notices, notices to
users) and
`notify.retention` (retention's purge requests). The bus handlers only record what must be sent
and ack; a background sender hands messages over, so a slow or absent SMTP relay never holds
the bus. At a stop, the attempts under way finish (within a grace) before the store closes.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from notify.api import notifications_router
from notify.consumers import intake_subscriptions, subscriptions
from notify.context import Config
from notify.links import CertificateLinks, IdentityLinks, Links
from notify.notices import NOTICE_INDEXES
from notify.ports import MailTransport, SmsGateway
from notify.repository import INDEXES
from notify.service import wire
from notify.settings import Settings
from notify.sms import DevMailboxSmsGateway, HttpSmsGateway
from notify.smtp import SmtpConfig, SmtpTransport
from notify.webhooks.api import webhooks_router
from notify.webhooks.repository import INDEXES as WEBHOOK_INDEXES
from notify.webhooks.service import SEALED_FORMAT, WebhookPolicy, Webhooks
from shared.auth import TokenVerifier, install_token_verifier
from shared.auth.client_credentials import ClientCredentials, ClientCredentialsConfig
from shared.clock import Clock
from shared.crypto import KeyRing
from shared.crypto.backends import kek_source
from shared.crypto.sealed import Sealer
from shared.messaging.consumer import RetryPolicy
from shared.refusals import install_refusal_handlers
from shared.runtime import ServiceRuntime


def smtp_transport(settings: Settings) -> SmtpTransport:
    return SmtpTransport(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            implicit_tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout_seconds=settings.smtp_timeout_seconds,
            connections=settings.smtp_connections,
            ca_file=settings.smtp_ca_file,
        )
    )


def sms_gateway(settings: Settings, mail: MailTransport, clock: Clock) -> SmsGateway | None:
    if settings.sms_mode == "off":
        return None
    if settings.sms_mode == "http":
        assert settings.sms_token is not None  # checked by the settings
        return HttpSmsGateway(
            settings.sms_endpoint, settings.sms_token.get_secret_value(), httpx.AsyncClient()
        )
    return DevMailboxSmsGateway(mail, clock, settings.mail_from)


def offices_webhooks(
    settings: Settings, runtime: ServiceRuntime, http: httpx.AsyncClient | None
) -> Webhooks:
    """The offices' webhooks: secrets sealed under notify's key ring, deliveries over `http`."""
    if http is None:
        http = httpx.AsyncClient(follow_redirects=False)
        runtime.on_shutdown(http.aclose)
    sealer = Sealer(
        KeyRing(kek_source(settings, runtime.clock)),
        format=SEALED_FORMAT,
        domain=b"securact-ng notify webhook secret v1",
    )
    policy = WebhookPolicy(
        retry=RetryPolicy(
            max_attempts=settings.webhook_max_attempts,
            first_delay=timedelta(seconds=settings.webhook_first_delay_seconds),
            max_delay=timedelta(seconds=settings.webhook_max_delay_seconds),
        ),
        timeout=timedelta(seconds=settings.webhook_timeout_seconds),
        secret_grace=timedelta(hours=settings.webhook_secret_grace_hours),
        allow_http=settings.webhook_allow_http,
    )
    return Webhooks(runtime.store, runtime.clock, runtime.inbox, sealer, http, policy)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    span_exporter: SpanExporter | None = None,
    token_verifier: TokenVerifier | None = None,
    mail: MailTransport | None = None,
    sms: SmsGateway | None = None,
    identity_http: httpx.AsyncClient | None = None,
    retention_http: httpx.AsyncClient | None = None,
    webhook_http: httpx.AsyncClient | None = None,
) -> FastAPI:
    """`identity_http` reaches identity for the links and notify's tokens, `retention_http`
    retention for the certificates' links, `webhook_http` the offices' receivers (defaults:
    clients on `settings.identity_url` and `settings.retention_url`, and one without a base,
    closed when the app stops)."""
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        clock=clock,
        indexes=(*INDEXES, *WEBHOOK_INDEXES, *NOTICE_INDEXES),
        span_exporter=span_exporter,
    )
    mail = mail or smtp_transport(settings)
    sms = sms or sms_gateway(settings, mail, runtime.clock)

    own_identity_http = identity_http is None
    if identity_http is None:
        identity_http = httpx.AsyncClient(
            base_url=settings.identity_url, timeout=settings.identity_timeout_seconds
        )
    own_retention_http = retention_http is None
    if retention_http is None:
        retention_http = httpx.AsyncClient(
            base_url=settings.retention_url, timeout=settings.retention_timeout_seconds
        )

    def credentials(scope: str) -> ClientCredentials:
        # One token per owner, each with only the scope that owner checks.
        return ClientCredentials(
            ClientCredentialsConfig(
                token_url="/oauth/token",  # noqa: S106 - a path, not a secret
                client_id=settings.client_id,
                client_secret=settings.client_secret.get_secret_value(),
                scope=scope,
            ),
            identity_http,
            runtime.clock,
        )

    notify = wire(
        Config.from_settings(settings, instance=runtime.instance_id),
        store=runtime.store,
        outbox=runtime.outbox,
        inbox=runtime.inbox,
        clock=runtime.clock,
        mail=mail,
        sms=sms,
        links=Links(
            IdentityLinks(identity_http, credentials("links:read")),
            CertificateLinks(retention_http, credentials("certificates:read")),
        ),
    )
    for batches in intake_subscriptions(notify):
        runtime.subscribe_batches(batches)
    for subscription in subscriptions(notify):
        runtime.subscribe(subscription)
    webhooks = offices_webhooks(settings, runtime, webhook_http)
    runtime.subscribe_batches(webhooks.subscription())
    runtime.background("notify-webhooks", webhooks.run)
    # Notices to users are written in batches, apart from the bus handlers (`notify.notices`).
    runtime.every(
        "notify-notices",
        timedelta(seconds=settings.notice_fanout_interval_seconds),
        notify.notices.run,
    )
    # The sender starts once the store is connected and stops before it closes.
    runtime.background("notify-sender", notify.sending.run)
    # The runtime cancels the sender, then runs these hooks in order, then closes the store:
    # the attempts under way finish their hand-over and bookkeeping first, then the transports
    # they use close.
    runtime.on_shutdown(notify.sending.finish_in_flight)

    async def close_transports() -> None:
        await mail.close()
        if sms is not None:
            await sms.close()

    runtime.on_shutdown(close_transports)
    # After the attempts in flight, which may still be fetching their link.
    if own_identity_http:
        runtime.on_shutdown(identity_http.aclose)
    if own_retention_http:
        runtime.on_shutdown(retention_http.aclose)
    app = runtime.create_app(
        title="Notify: e-mail, SMS and webhooks",
        routers=[notifications_router(notify), webhooks_router(webhooks)],
    )
    install_refusal_handlers(app)
    if token_verifier is not None:
        install_token_verifier(app, token_verifier)
    app.state.notify = notify
    app.state.webhooks = webhooks
    return app
