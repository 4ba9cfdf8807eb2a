"""What the end-to-end tests share: the dev mailbox on free ports, the links it carries, tokens
and times that make the flows independent of when they run."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from delivery.domain import check_window
from delivery.main import create_app as create_delivery
from retention.domain import Purpose, schedule_id
from retention.repository import SCHEDULES
from retention.service import Retention
from shared.auth import TokenVerifier, VerifierConfig
from shared.clock import ManualClock, SystemClock
from shared.legal_calendar import Territory
from shared.store.port import from_iso
from shared.telemetry import instrument_client
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import PASSWORD, consent_verifying_identity, login
from tests.integration.consent.support import consent_app
from tests.integration.delivery.test_delivery_service import settings as delivery_settings
from tests.integration.identity.support import identity_app
from tests.support.services import eventually, service_env
from tests.unit.consent.support import EMAIL, NATURAL_FILES, multipart_body, natural_declaration

LINK = re.compile(r"https?://[^\s\"'<>]+token=[A-Za-z0-9_\-.~%]+")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Mailbox:
    """The dev mailbox (`python -m devstack.mailbox`) on free ports."""

    def __init__(self, directory: Path) -> None:
        self.smtp_port = free_port()
        self.http_port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None
        self.log = ""  # what the process wrote to stderr, once stopped

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/api/v1"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devstack.mailbox",
                f"--dir={self.directory}",
                f"--smtp-port={self.smtp_port}",
                f"--http-port={self.http_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read() if self.process.stderr else b""
                pytest.fail(f"the dev mailbox exited at start: {stderr.decode(errors='replace')}")
            try:
                ready = httpx.get(f"http://127.0.0.1:{self.http_port}/readyz").status_code == 200
                if ready:
                    with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1):
                        return
            except (httpx.TransportError, OSError):
                pass
            time.sleep(0.1)
        pytest.fail("the dev mailbox did not start within 20 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stderr:
                self.log = self.process.stderr.read().decode(errors="replace")
                self.process.stderr.close()
            self.process = None


def verifier_for(identity: FastAPI, audience: str) -> TokenVerifier:
    issuer = identity.state.identity.ctx.settings.issuer
    http = instrument_client(httpx.AsyncClient(transport=httpx.ASGITransport(app=identity)))
    config = VerifierConfig(
        jwks_url=f"{issuer}/.well-known/jwks.json", issuer=issuer, audiences=frozenset({audience})
    )
    return TokenVerifier(config, http, SystemClock())


def next_open_morning(after: datetime) -> datetime:
    """10:00 in Paris on the first day after `after` whose CPC 664 window is open then."""
    zone = Territory.METROPOLE.time_zone
    day = after.astimezone(zone).date()
    for _ in range(15):
        day += timedelta(days=1)
        candidate = datetime.combine(day, clock_time(10, 0), tzinfo=zone)
        if check_window(candidate, Territory.METROPOLE, Territory.METROPOLE).open:
            return candidate
    raise AssertionError("no open window within two weeks")


async def mail_to(box: Mailbox, subject_part: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def delivered() -> bool:
        async with httpx.AsyncClient(base_url=box.api) as mail:
            for summary in (await mail.get("/messages")).json().get("messages", []):
                to_person = any(to.get("Address") == EMAIL for to in summary.get("To", []))
                if to_person and subject_part in summary.get("Subject", ""):
                    found.append((await mail.get(f"/message/{summary['ID']}")).json())
                    return True
        return False

    await eventually(delivered, within=30, every=0.3)
    return found[0]


def identity_http_for(identity: FastAPI) -> httpx.AsyncClient:
    """An HTTP client reaching the in-process identity app (its token endpoint, its internal
    API) the way another service reaches identity over the network."""
    issuer = identity.state.identity.ctx.settings.issuer
    # In process, like every client below: traced as the network clients are (W3C headers).
    return instrument_client(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=identity), base_url=issuer)
    )


class LateAppTransport(httpx.AsyncBaseTransport):
    """Reaches an in-process app set after the client was made (`app`), for a service built
    before the one it calls (notify before retention in the serving stack)."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.app is None:
            raise httpx.ConnectError("no app behind this transport yet", request=request)
        return await httpx.ASGITransport(app=self.app).handle_async_request(request)


def notify_for(
    tmp_path: Path,
    bus_prefix: str,
    box: Mailbox,
    identity: FastAPI,
    retention_http: httpx.AsyncClient | None = None,
    **extra: Any,
) -> FastAPI:
    """Notify sending to the dev mailbox `box`, fetching activation and reset links from
    `identity` (its dev client secret, which identity's dev settings also hold) and the
    certificates' links through `retention_http`; `extra` settings on top."""
    from notify.main import create_app
    from notify.settings import Settings

    return create_app(
        Settings(
            **service_env(
                tmp_path / "notify", bus_prefix, smtp_host="127.0.0.1", smtp_port=str(box.smtp_port)
            ),
            retry_first_delay_seconds=0.5,
            retry_max_delay_seconds=2.0,
            # The tests' receivers listen on loopback, without TLS, and retry quickly.
            webhook_allow_http=True,
            webhook_first_delay_seconds=1.0,
            webhook_max_delay_seconds=4.0,
            **extra,
        ),
        identity_http=identity_http_for(identity),
        retention_http=retention_http,
        token_verifier=verifier_for(identity, "notify"),
    )


def audit_for(
    tmp_path: Path,
    bus_prefix: str,
    *,
    checkpoint_every: float,
    token_verifier: TokenVerifier | None = None,
    **extra: Any,
) -> FastAPI:
    """Audit with its own keys; `checkpoint_every` seconds (long: the test signs when needed).
    With `token_verifier`, callers authenticate (an operator reads every payload)."""
    from audit.main import create_app
    from audit.settings import Settings

    return create_app(
        Settings(
            **service_env(tmp_path / "audit", bus_prefix),
            kek_file=tmp_path / "audit-kek.json",
            signing_key_file=tmp_path / "audit-signing.json",
            checkpoint_interval_seconds=checkpoint_every,
            **extra,
        ),
        token_verifier=token_verifier,
    )


async def bring_first_terms_into_force(retention_app: FastAPI, clock: ManualClock) -> None:
    """Identity's first start publishes CGU version 1, in force at once, and retention
    schedules that date like any other. Fire it first, so that the schedule a flow is about is
    the only one left for the scheduler."""
    store = retention_app.state.runtime.store
    retention: Retention = retention_app.state.retention
    terms_v1 = schedule_id(Purpose.TERMS_EFFECTIVE, "terms:v1")

    async def scheduled() -> bool:
        return await store.get(SCHEDULES, terms_v1) is not None

    await eventually(scheduled, within=30)
    row = await store.get(SCHEDULES, terms_v1)
    clock.set(max(clock.now(), from_iso(row["due_at"])))
    assert (await retention.schedules.run_due()).fired == 1


async def active_declaration(
    consent: httpx.AsyncClient,
    identity: httpx.AsyncClient,
    box: Mailbox,
    office: dict[str, str],
    **declaration: Any,
) -> tuple[str, dict[str, Any]]:
    """An office registers a natural person's declaration (fields overridden by
    `declaration`); the person activates the account from the link in the dev mailbox and
    accepts the CGU. The declaration id and the activation's answer (identifier, account id)."""
    today = SystemClock().now().date()
    body, content_type = multipart_body(natural_declaration(today, **declaration), NATURAL_FILES)
    created = await consent.post(
        "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"]), await activate_from_mailbox(identity, box)


async def activate_from_mailbox(identity: httpx.AsyncClient, box: Mailbox) -> dict[str, Any]:
    """The person activates the account from the link in the dev mailbox and accepts the CGU;
    the activation's answer (identifier, account id)."""
    activation = await mail_to(box, "")
    link = LINK.search(f"{activation.get('Text', '')}\n{activation.get('HTML', '')}")
    assert link is not None
    token = httpx.URL(link.group(0).replace("&amp;", "&")).params["token"]
    activated = await identity.post("/v1/activations", json={"token": token, "password": PASSWORD})
    assert activated.status_code == 200, activated.text
    first = await login(identity, str(activated.json()["identifier"]))
    accepted = await identity.post(
        "/v1/terms/current/acceptance", json={}, headers=bearer(first["access_token"])
    )
    assert accepted.status_code == 200, accepted.text
    return dict(activated.json())


@dataclass
class ServingStack:
    """Identity, consent, notify (to the dev mailbox), audit and delivery as the serving flows
    run them in one process; delivery on a manual clock set in the next open window, reading
    audit's receipts through `audit_http` (close it when done)."""

    identity: FastAPI
    consent: FastAPI
    notify: FastAPI
    audit: FastAPI
    delivery: FastAPI
    clock: ManualClock
    audit_http: httpx.AsyncClient
    # Notify reaches retention through it: set `retention.app` once retention is built.
    retention: LateAppTransport


def serving_stack(
    tmp_path: Path,
    bus_prefix: str,
    s3_server: S3Server,
    box: Mailbox,
    *,
    checkpoint_every: float,
    consent_http: httpx.AsyncClient | None = None,
    shared_clock: bool = False,
    audit_extra: dict[str, Any] | None = None,
    notify_extra: dict[str, Any] | None = None,
    **delivery_extra: Any,
) -> ServingStack:
    """The serving stack; delivery asks consent's registry with its own client-credentials
    token from identity, over `consent_http` when given (its base URL may be set later), else
    in process. `shared_clock`: consent runs on delivery's manual clock too (instants of both
    compare as in production)."""
    identity = identity_app(tmp_path / "identity", bus_prefix)
    audit = audit_for(
        tmp_path, bus_prefix, checkpoint_every=checkpoint_every, **(audit_extra or {})
    )
    clock = ManualClock(next_open_morning(SystemClock().now()))
    audit_http = instrument_client(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=audit), base_url="http://audit")
    )
    consent = consent_app(
        tmp_path / "consent",
        bus_prefix,
        s3_server,
        token_verifier=consent_verifying_identity(identity),
        clock=clock if shared_clock else None,
    )
    if consent_http is None:
        consent_http = instrument_client(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=consent), base_url="http://consent")
        )
    delivery = create_delivery(
        delivery_settings(tmp_path / "delivery", bus_prefix, s3_server, **delivery_extra),
        clock=clock,
        token_verifier=verifier_for(identity, "delivery"),
        audit_http=audit_http,
        consent_http=consent_http,
        identity_http=identity_http_for(identity),
    )
    retention = LateAppTransport()
    retention_http = instrument_client(
        httpx.AsyncClient(transport=retention, base_url="http://retention")
    )
    return ServingStack(
        identity=identity,
        consent=consent,
        notify=notify_for(
            tmp_path, bus_prefix, box, identity, retention_http, **(notify_extra or {})
        ),
        audit=audit,
        delivery=delivery,
        clock=clock,
        audit_http=audit_http,
        retention=retention,
    )
