"""Issue 5 end to end: an office registers a declaration at consent → identity creates the
account → notify's activation e-mail reaches the dev mailbox → activation → CGU accepted → the
registry answers `active`; then the person revokes → the registry answers `revoked`. The logs
captured over the whole run never name the person (name, e-mail, birth date).

Real RabbitMQ, real SeaweedFS, a real dev mailbox process (SMTP + Mailpit-shaped HTTP), and
the identity, consent and notify apps in this process. Skipped, with the reason, while notify
cannot send the activation e-mail yet.
"""

from __future__ import annotations

import importlib.resources
import logging
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import PERSONAL, Parties, consent_for, run_consent_flow
from tests.integration.consent.support import assert_nothing_personal_logged
from tests.integration.identity.support import identity_app
from tests.support.services import eventually, running, service_env
from tests.unit.consent.support import EMAIL

LINK = re.compile(r"https?://[^\s\"'<>]+token=[A-Za-z0-9_\-.~%]+")


def _notify_skip_reason() -> str | None:
    try:
        from notify.settings import Settings
    except ImportError as error:
        return f"notify cannot be imported ({error})"
    if not {"smtp_host", "smtp_port"} <= set(Settings.model_fields):
        return "notify has no SMTP settings yet (issue 7)"
    try:
        templates = importlib.resources.files("notify") / "templates"
        names = [entry.name for entry in templates.iterdir()]
    except (FileNotFoundError, NotADirectoryError, ModuleNotFoundError):
        return "notify has no templates yet (issue 7)"
    if not any(name.startswith("activation") for name in names):
        return "notify has no activation e-mail template yet (issue 7)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Mailbox:
    """The dev mailbox (`python -m devstack.mailbox`) on free ports."""

    def __init__(self, directory: Path) -> None:
        self.smtp_port = _free_port()
        self.http_port = _free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

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
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail("the dev mailbox exited at start")
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
            self.process = None


@pytest.mark.slow
async def test_declaration_to_active_to_revoked_through_the_dev_mailbox(
    tmp_path: Path,
    bus_prefix: str,
    s3_server: S3Server,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reason = _notify_skip_reason()
    if reason is not None:
        pytest.skip(f"needs notify's activation e-mail: {reason}")
    from notify.main import create_app as create_notify
    from notify.settings import Settings as NotifySettings

    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        caplog.set_level(logging.INFO)
        identity = identity_app(tmp_path / "identity", bus_prefix)
        consent = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity)
        notify = create_notify(
            NotifySettings(
                **service_env(
                    tmp_path / "notify",
                    bus_prefix,
                    smtp_host="127.0.0.1",
                    smtp_port=str(box.smtp_port),
                )
            )
        )

        async def link_from_mailbox(_account_id: str) -> str:
            found: list[str] = []

            async def delivered() -> bool:
                async with httpx.AsyncClient(base_url=box.api) as mail:
                    listing = (await mail.get("/messages")).json()
                    for summary in listing.get("messages", []):
                        if not any(to.get("Address") == EMAIL for to in summary.get("To", [])):
                            continue
                        detail = (await mail.get(f"/message/{summary['ID']}")).json()
                        match = LINK.search(f"{detail.get('Text', '')}\n{detail.get('HTML', '')}")
                        if match:
                            found.append(match.group(0).replace("&amp;", "&"))
                            return True
                return False

            await eventually(delivered, within=60, every=0.5)
            return found[0]

        async with (
            running(identity) as identity_client,
            running(consent) as consent_client,
            running(notify),
        ):
            await run_consent_flow(
                Parties(identity, identity_client, consent, consent_client), link_from_mailbox
            )
        assert_nothing_personal_logged(caplog.records, PERSONAL)
    finally:
        box.stop()
