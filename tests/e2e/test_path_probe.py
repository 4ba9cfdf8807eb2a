"""The end-to-end path probe on the real components: retention, on its schedule, deposits a
synthetic act as the probe office, waits for its notice and downloads it as the probe recipient.
With notify's SMTP relay gone (the dev mailbox stopped) every service stays ready, but the path
fails at its notice; longer than the threshold, an incident opens by itself for the path,
naming notify; once the relay is back, the next run succeeds and closes it. The probe's acts
are flagged `probe` by delivery (from the office's profile) and left out of its counts.

Real RabbitMQ, SeaweedFS and dev mailbox; identity, delivery and notify served over HTTP (the
probe reaches them as it does in production), consent, audit and retention in this process.
Delivery and retention run on manual clocks inside the next CPC 664 window.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from delivery.settings import OfficeProfile
from identity.service import Identity
from retention.main import create_app as create_retention
from retention.settings import Settings as RetentionSettings
from retention.status.service import Status
from shared.clock import ManualClock
from shared.legal_calendar import Territory
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import PASSWORD
from tests.integration.consent.support import ready_bucket
from tests.integration.delivery.test_delivery_service import OFFICES
from tests.support.services import eventually, running, serving
from tests.support.stack import Mailbox, active_declaration, bearer, serving_stack, verifier_for

PROBE_OFFICE = "etude-sonde"
THRESHOLD_SECONDS = 60.0


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    async with serving(app) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.slow
async def test_a_path_failing_while_every_service_is_ready_opens_and_closes_an_incident(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    probe_profile = OfficeProfile(
        email="sonde@example.org", territory=Territory.METROPOLE, probe=True
    )
    stack = serving_stack(
        tmp_path,
        bus_prefix,
        s3_server,
        box,
        checkpoint_every=3600,
        offices={**OFFICES, PROBE_OFFICE: probe_profile},
    )
    try:
        async with AsyncExitStack() as apps:
            identity_url = await apps.enter_async_context(served(stack.identity))
            delivery_url = await apps.enter_async_context(served(stack.delivery))
            notify_url = await apps.enter_async_context(served(stack.notify))
            consent = await apps.enter_async_context(running(stack.consent))
            await apps.enter_async_context(running(stack.audit))
            identity = await apps.enter_async_context(httpx.AsyncClient(base_url=identity_url))
            await ready_bucket(stack.consent)
            await ready_bucket(stack.delivery)

            # The operator's provisioning: the probe office's client, and a recipient
            # onboarded on its declaration like any other.
            service: Identity = stack.identity.state.identity
            client = await service.clients.register(
                PROBE_OFFICE,
                "Sonde de disponibilité",
                ["registry:write", "registry:read", "acts:write", "acts:read"],
                operator="test",
            )
            token = await identity.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client.client_id, client.client_secret),
            )
            office = bearer(token.json()["access_token"])
            declaration_id, activated = await active_declaration(
                consent, identity, box, office, scope=["autre"]
            )

            async def delivery_knows_consent() -> bool:
                row = await stack.delivery.state.runtime.store.get("declarations", declaration_id)
                return row is not None and row.get("status") == "active" and bool(row["email"])

            await eventually(delivery_knows_consent, within=30)

            clock = ManualClock(stack.clock.now())
            retention = create_retention(
                RetentionSettings(
                    data_dir=tmp_path / "retention",
                    bus_prefix=bus_prefix,
                    log_json=False,
                    outbox_poll_seconds=0.2,
                    kek_file=tmp_path / "retention-kek.json",
                    signing_key_file=tmp_path / "retention-signing.json",
                    identity_url=identity_url,
                    delivery_url=delivery_url,
                    notify_url=notify_url,
                    status_probe_services=["identity", "delivery", "notify"],
                    status_probe_interval_seconds=0.3,
                    status_outage_threshold_seconds=THRESHOLD_SECONDS,
                    status_path_client_id=client.client_id,
                    status_path_client_secret=SecretStr(client.client_secret),
                    status_path_declaration_id=declaration_id,
                    status_path_recipient=str(activated["identifier"]),
                    status_path_recipient_password=SecretStr(PASSWORD),
                    status_path_interval_seconds=0.3,
                    status_path_notice_timeout_seconds=4,
                ),
                clock=clock,
                token_verifier=verifier_for(stack.identity, "retention"),
            )
            status: Status = retention.state.status
            await apps.enter_async_context(running(retention))

            async def path_is(up: bool) -> bool:
                # A path not probed yet shows readiness's state and no steps: wait for a run.
                path = (await status.feed()).path
                return path.up is up and bool(path.steps)

            await eventually(lambda: path_is(True), within=60)
            feed = await status.feed()
            assert [s.name for s in feed.path.steps] == [
                "office-token",
                "deposit",
                "notice",
                "recipient-login",
                "download",
            ]
            acts = await stack.delivery.state.runtime.store.find("acts")
            assert acts
            assert all(a["probe"] and a["office_id"] == PROBE_OFFICE for a in acts)

            # The SMTP relay goes away: the services stay ready, the path fails at its notice.
            box.stop()
            await eventually(lambda: path_is(False), within=60)
            feed = await status.feed()
            assert all(c.up for c in feed.components)
            assert [s.name for s in feed.path.steps if not s.ok] == ["notice"]
            assert await status.incidents.current() == []
            clock.advance(timedelta(seconds=THRESHOLD_SECONDS + 1))

            async def opened() -> bool:
                return bool(await status.incidents.current())

            await eventually(opened, within=60)
            [incident] = await status.incidents.current()
            assert (incident.probe_service, incident.services) == ("path", ["notify"])
            assert not (await status.feed()).operational

            box.start()
            clock.advance(timedelta(minutes=2))

            async def closed() -> bool:
                return not await status.incidents.current()

            await eventually(closed, within=90)
            [done] = await status.incidents.past()
            assert done.id == incident.id
            assert (await status.feed()).path.up is True
    finally:
        box.stop()
        await stack.audit_http.aclose()
