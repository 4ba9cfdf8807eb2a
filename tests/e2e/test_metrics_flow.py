"""The platform's metrics after a real flow, read as the exporter would send them.

Real RabbitMQ, SeaweedFS and dev mailbox; identity, consent, notify, audit and delivery in this
process, recording into one in-memory reader. A declaration is activated, an act served (its
notice e-mailed), one scheduled and one refused outside the window, a malformed message
dead-lettered, logins fail and get throttled; then each metric says exactly that.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from notify.consumers import URGENT_QUEUE
from shared.runtime import ServiceRuntime
from shared.store.port import from_iso
from tests.fixtures.metrics import Exported, MetricsProbe
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import login, office_token
from tests.integration.consent.support import ready_bucket
from tests.support.services import eventually, running
from tests.support.stack import Mailbox, active_declaration, bearer, mail_to, serving_stack
from tests.unit.delivery.support import metadata, multipart, pdf

SERVICES = ("identity", "consent", "notify", "audit", "delivery")


def route_count(exported: Exported, method: str, route: str, status: int) -> float:
    return exported.value(
        "http.server.request.duration",
        http__request__method=method,
        http__route=route,
        http__response__status_code=status,
    )


@pytest.mark.slow
async def test_metrics_of_a_served_act_journey(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server, metrics_probe: MetricsProbe
) -> None:
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        stack = serving_stack(tmp_path, bus_prefix, s3_server, box, checkpoint_every=3600)
        async with (
            running(stack.identity) as identity_client,
            running(stack.consent) as consent_client,
            running(stack.notify),
            running(stack.audit) as audit_client,
            running(stack.delivery) as delivery_client,
        ):
            await ready_bucket(stack.consent)
            await ready_bucket(stack.delivery)
            office = bearer(
                await office_token(
                    stack.identity,
                    identity_client,
                    ("registry:write", "registry:read", "acts:write", "acts:read"),
                )
            )
            declaration_id, activated = await active_declaration(
                consent_client, identity_client, box, office
            )

            async def delivery_knows_consent() -> bool:
                row = await stack.delivery.state.runtime.store.get("declarations", declaration_id)
                return row is not None and row.get("status") == "active"

            await eventually(delivery_knows_consent, within=30)

            # Served in the window; the notice reaches the mailbox.
            body, content_type = multipart(metadata(declaration_id), pdf(20_000, b"m-1"))
            served = await delivery_client.post(
                "/v1/acts",
                content=body,
                headers={"Content-Type": content_type, "Idempotency-Key": "m-1", **office},
            )
            assert served.status_code == 201, served.text
            await mail_to(box, "Un acte vous a été signifié")
            person = bearer(
                (await login(identity_client, str(activated["identifier"])))["access_token"]
            )
            read = await delivery_client.get(
                f"/v1/inbox/{served.json()['id']}/content", headers=person
            )
            assert read.status_code == 200

            # At 22:30 (legal time) the window is closed: scheduled when asked, else refused.
            day = stack.clock.now().astimezone(ZoneInfo("Europe/Paris")).date()
            stack.clock.set(datetime.combine(day, time(22, 30), tzinfo=ZoneInfo("Europe/Paris")))
            later_meta = metadata(declaration_id, schedule_if_closed=True)
            body, content_type = multipart(later_meta, pdf(20_000, b"m-2"))
            scheduled = await delivery_client.post(
                "/v1/acts",
                content=body,
                headers={"Content-Type": content_type, "Idempotency-Key": "m-2", **office},
            )
            assert scheduled.status_code == 202, scheduled.text
            body, content_type = multipart(metadata(declaration_id), pdf(20_000, b"m-3"))
            refused = await delivery_client.post(
                "/v1/acts",
                content=body,
                headers={"Content-Type": content_type, "Idempotency-Key": "m-3", **office},
            )
            assert refused.status_code == 422, refused.text

            # The end of the legal day: the act read that day is finalised à personne.
            act = await stack.delivery.state.runtime.store.get("acts", served.json()["id"])
            stack.clock.set(from_iso(act["finalise_after"]) + timedelta(seconds=1))
            assert await stack.delivery.state.delivery.handover.finalise_due() == 1

            # A message no retry can fix, straight into notify's urgent queue.
            notify_runtime: ServiceRuntime = stack.notify.state.runtime
            urgent = notify_runtime.topology.queue_name(URGENT_QUEUE)
            await notify_runtime.broker.publish(b"not an envelope", queue=urgent)

            # Logins with a wrong password until the identifier's throttle refuses them.
            statuses: list[int] = []
            for _ in range(8):
                answer: httpx.Response = await identity_client.post(
                    "/v1/sessions", json={"identifier": "nobody-m", "password": "wrong-password"}
                )
                statuses.append(answer.status_code)
            assert set(statuses) == {401, 429}, statuses

            await stack.audit.state.checkpoints.sign_if_grown()

            async def outboxes_drained() -> bool:
                exported = await metrics_probe.collect()
                return exported.value("securact.outbox.backlog") == 0 and all(
                    exported.value("securact.outbox.backlog", securact__service=s) == 0
                    for s in SERVICES
                )

            await eventually(outboxes_drained, within=30, every=0.5)

            async def mails() -> int:
                async with httpx.AsyncClient(base_url=box.api) as mail:
                    return len((await mail.get("/messages")).json().get("messages", []))

            async def all_settled() -> bool:
                exported = await metrics_probe.collect()
                # The dev SMS provider delivers its texts to the dev mailbox too.
                emails = exported.value("securact.notifications.sent")
                depth = exported.value("securact.messaging.dlq.depth")
                seen.append((emails, await mails(), depth))
                return seen[-1] == (emails, emails, 1)

            seen: list[tuple[float, int, float]] = []
            try:
                await eventually(all_settled, within=30, every=0.5)
            except AssertionError:
                pytest.fail(
                    f"(notifications counted, messages in the mailbox, DLQ depth): {seen[-3:]}"
                )
            collected: list[tuple[Exported, int]] = []

            async def journal_quiet() -> bool:
                # The journal stops growing once every event above has been journaled.
                exported = await metrics_probe.collect()
                size = (await audit_client.get("/v1/head")).json()["size"]
                collected.append((exported, size))
                return exported.value("securact.journal.size") == size

            await eventually(journal_quiet, within=30, every=0.5)
            exported, journal_size = collected[-1]
        await stack.audit_http.aclose()
    finally:
        box.stop()

    # RED per route: one point per (method, route template, status), never the raw path.
    assert route_count(exported, "POST", "/v1/acts", 201) == 1
    assert route_count(exported, "POST", "/v1/acts", 202) == 1
    assert route_count(exported, "POST", "/v1/acts", 422) == 1
    assert route_count(exported, "GET", "/v1/inbox/{act_id}/content", 200) == 1
    assert route_count(exported, "POST", "/v1/sessions", 401) == statuses.count(401)
    assert exported.units["http.server.request.duration"] == "s"
    routes = {p.attributes["http.route"] for p in exported["http.server.request.duration"]}
    assert not any(served.json()["id"] in route for route in routes)
    assert not any(r.startswith("/health") for r in routes)

    # Acts: served, scheduled, refused by reason.
    assert exported.value("securact.acts.served") == 1
    assert exported.value("securact.acts.scheduled", securact__act__status="scheduled") == 1
    assert exported.value("securact.acts.refused") == 1
    assert exported.value("securact.acts.finalised") == 1
    assert exported.value("securact.acts.finalised", securact__act__quality="a_personne") == 1
    assert exported.value("securact.acts.refused", securact__refusal__reason="window_closed") == 1

    # Notifications: every mail in the mailbox counted once, by channel; the act's notice gives
    # one latency (notify's real clock is behind delivery's manual one here: 0, not negative).
    assert (
        exported.value("securact.notifications.sent", securact__notification__channel="email") >= 2
    )
    assert exported.value("securact.notifications.failed") == 0
    latency = [
        p
        for p in exported["securact.notifications.latency"]
        if p.attributes["securact.event.type"].startswith("delivery.act-served")
    ]
    # The act's notice goes by e-mail and by SMS (the dev provider): one latency each.
    by_channel = {p.attributes["securact.notification.channel"]: p.value for p in latency}
    assert by_channel == {"email": 1, "sms": 1}, latency
    assert exported.value("securact.notifications.sent", securact__notification__channel="sms") == 1
    assert all(p.total is not None and p.total >= 0 for p in latency)
    assert exported.units["securact.notifications.latency"] == "s"

    # Outboxes drained, per service; the oldest unsent age is then 0.
    for service in SERVICES:
        backlog = exported["securact.outbox.backlog"]
        assert [p.value for p in backlog if p.attributes["securact.service"] == service] == [0]
        ages = exported["securact.outbox.oldest_age"]
        assert [p.value for p in ages if p.attributes["securact.service"] == service] == [0]

    # The malformed message: one dead letter on notify's urgent queue, and it waits in its DLQ.
    assert (
        exported.value(
            "securact.messaging.dead_letters",
            messaging__destination__name=urgent,
            error__type="malformed",
        )
        == 1
    )
    assert (
        exported.value("securact.messaging.dlq.depth", messaging__destination__name=f"{urgent}.dlq")
        == 1
    )
    assert exported.value("securact.messaging.retries") == 0
    # Every consumer queue of the five services is sampled, and all were drained.
    lag = exported["securact.messaging.queue.depth"]
    assert urgent in {p.attributes["messaging.destination.name"] for p in lag}
    assert len(lag) >= len(SERVICES)
    assert sum(p.value for p in lag) == 0

    # Journal: its size as audit reports it, a checkpoint signed moments ago, no gap.
    assert exported.value("securact.journal.size") == journal_size > 0
    assert 0 <= exported.value("securact.journal.checkpoint.age") < 60
    assert exported.value("securact.journal.gaps") == 0

    # Logins: each refused attempt counted once, as a failure or a throttle.
    assert exported.value("securact.logins.failed", securact__login__outcome="failed") == (
        statuses.count(401)
    )
    assert exported.value("securact.logins.throttled") == statuses.count(429)

    # No personal datum in any attribute: no e-mail address, identifier or act id.
    values = {
        str(v) for points in exported.points.values() for p in points for v in p.attributes.values()
    }
    assert not any("@" in v for v in values)
    assert not any(str(activated["identifier"]) in v or "nobody-m" in v for v in values)
    assert served.json()["id"] not in values
