"""The end-to-end path probe on retention's composition root (SQLite, manual clock), against
fake identity and delivery APIs over a mock transport: each step is recorded with its duration,
a path failing while every service is ready opens an incident after the threshold naming the
failing step's service, and its recovery closes it; outside the CPC 664 window it is not
probed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from retention.settings import Settings
from retention.status.path import synthetic_act
from retention.status.records import STATUS_INDEXES
from retention.status.service import Status, wire_status
from tests.unit.retention.conftest import Harness

FRIDAY_EVENING = datetime(2027, 5, 14, 16, 0, tzinfo=UTC)  # 18:00 in Paris: window open
THRESHOLD = timedelta(minutes=5)


@dataclass
class Platform:
    """Fake identity and delivery: ready; the act's notice is sent unless `notice_sent` is
    false; `corrupt` changes the downloaded bytes."""

    notice_sent: bool = True
    corrupt: bool = False
    garbled_token: bool = False
    acts: dict[str, bytes] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        host, path, method = request.url.host, request.url.path, request.method
        self.calls.append(f"{method} {host}{path}")
        if path == "/health/ready":
            return httpx.Response(200, json={})
        if (host, method, path) == ("identity.test", "POST", "/oauth/token"):
            if self.garbled_token:
                return httpx.Response(200, content=b"<html>maintenance</html>")
            return httpx.Response(200, json={"access_token": "office", "token_type": "Bearer"})
        if (host, method, path) == ("identity.test", "POST", "/v1/sessions"):
            return httpx.Response(201, json={"access_token": "recipient"})
        if (host, method, path) == ("identity.test", "DELETE", "/v1/sessions/current"):
            return httpx.Response(204)
        if (method, path) == ("POST", "/v1/acts"):
            assert request.headers["Authorization"] == "Bearer office"
            body = request.content
            document = body[body.index(b"%PDF") : body.index(b"%%EOF\n") + 6]
            act_id = f"act-{len(self.acts) + 1}"
            self.acts[act_id] = document
            return httpx.Response(201, json={"id": act_id})
        if method == "GET" and path.startswith("/v1/acts/"):
            sent = [{"status": "sent"}] if self.notice_sent else []
            return httpx.Response(200, json={"notifications": sent})
        if method == "GET" and path.startswith("/v1/inbox/"):
            assert request.headers["Authorization"] == "Bearer recipient"
            content = self.acts[path.split("/")[3]]
            return httpx.Response(200, content=content + (b"x" if self.corrupt else b""))
        return httpx.Response(404)


@pytest.fixture
async def probed(harness: Harness, tmp_path: Path) -> AsyncIterator[tuple[Status, Platform]]:
    await harness.store.ensure_indexes(STATUS_INDEXES)
    harness.clock.set(FRIDAY_EVENING)
    platform = Platform()
    settings = Settings(
        data_dir=tmp_path,
        log_json=False,
        identity_url="http://identity.test",
        delivery_url="http://delivery.test",
        notify_url="http://notify.test",
        audit_url="http://audit.test",
        status_probe_services=["identity", "delivery", "notify", "audit"],
        status_outage_threshold_seconds=THRESHOLD.total_seconds(),
        status_path_client_id="sonde",
        status_path_client_secret=SecretStr("office-secret"),
        status_path_declaration_id="decl-sonde",
        status_path_recipient="sonde@example.test",
        status_path_recipient_password=SecretStr("recipient-secret"),
        status_path_notice_timeout_seconds=0.05,
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(platform.handle)) as http:
        yield wire_status(harness.retention.ctx, settings, http), platform


async def path_state(status: Status) -> tuple[bool | None, list[str]]:
    feed = await status.feed()
    return feed.path.up, [f"{s.name}:{s.ok}" for s in feed.path.steps]


async def test_each_step_of_the_path_is_recorded_and_the_act_downloaded_byte_for_byte(
    probed: tuple[Status, Platform],
) -> None:
    status, platform = probed
    await status.probes.run_path()
    up, steps = await path_state(status)
    assert up is True
    assert steps == [
        "office-token:True",
        "deposit:True",
        "notice:True",
        "recipient-login:True",
        "download:True",
    ]
    assert platform.calls[-1] == "DELETE identity.test/v1/sessions/current"
    assert all(s.seconds >= 0 for s in (await status.feed()).path.steps)
    platform.corrupt = True
    await status.probes.run_path()
    feed = await status.feed()
    assert feed.path.up is False
    assert feed.path.steps[-1].detail == "the downloaded bytes differ from the deposited ones"
    assert not feed.operational
    platform.corrupt, platform.garbled_token = False, True
    await status.probes.run_path()
    [failed] = (await status.feed()).path.steps
    assert (failed.name, failed.ok, failed.detail) == ("office-token", False, "JSONDecodeError")


async def test_a_path_failing_while_every_service_is_ready_opens_an_incident_and_recovers(
    probed: tuple[Status, Platform], harness: Harness
) -> None:
    status, platform = probed
    await status.probes.run_once()
    await status.probes.run_path()
    assert (await status.feed()).operational
    platform.notice_sent = False
    await status.probes.run_path()
    failed_at = harness.clock.now()
    harness.clock.advance(THRESHOLD - timedelta(seconds=1))
    await status.probes.run_once()
    await status.probes.run_path()
    assert await status.incidents.current() == []
    feed = await status.feed()
    assert all(c.up for c in feed.components)  # readiness stays green
    assert feed.path.up is False
    assert [s.name for s in feed.path.steps if not s.ok] == ["notice"]
    harness.clock.advance(timedelta(seconds=1))
    await status.probes.run_path()
    await status.probes.run_path()  # one incident per outage
    [incident] = await status.incidents.current()
    assert incident.probe_service == "path"
    assert incident.services == ["notify"]
    assert incident.started_at == failed_at
    assert incident.cause.startswith("le parcours complet (dépôt, avis, téléchargement) échoue")
    assert "notice" in incident.cause
    platform.notice_sent = True
    harness.clock.advance(timedelta(minutes=2))
    await status.probes.run_path()
    assert await status.incidents.current() == []
    [closed] = await status.incidents.past()
    assert (closed.started_at, closed.ended_at) == (failed_at, harness.clock.now())
    assert len(await harness.payloads("retention.incident-opened.v1")) == 1
    assert len(await harness.payloads("retention.incident-closed.v1")) == 1


async def test_outside_the_service_window_the_path_is_not_probed(
    probed: tuple[Status, Platform], harness: Harness
) -> None:
    status, platform = probed
    harness.clock.set(datetime(2027, 5, 14, 20, 30, tzinfo=UTC))  # 22:30 in Paris
    await status.probes.run_path()
    assert platform.calls == []
    assert (await status.feed()).path.steps == []


def test_the_synthetic_act_is_a_pdf_naming_no_one_and_unique_per_run() -> None:
    first, second = synthetic_act("a1"), synthetic_act("b2")
    assert first.startswith(b"%PDF-1.4")
    assert first.endswith(b"%%EOF\n")
    assert first != second
    assert b"sonde a1" in first


def test_a_partly_configured_path_probe_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the path probe needs all of"):
        Settings(data_dir=tmp_path, status_path_client_id="sonde")
    assert Settings(data_dir=tmp_path).status_path_client_id is None
