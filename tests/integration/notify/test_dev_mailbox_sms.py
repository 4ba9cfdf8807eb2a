"""In dev, an act served to a person with a mobile number shows up in the dev mailbox twice:
the e-mail, and the SMS as a mail to `<number>@sms.invalid`."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.clock import SystemClock
from tests.integration.notify.support import free_port, notify_running, notify_settings
from tests.support.services import eventually
from tests.unit.notify import events


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[tuple[int, str]]:
    smtp_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.mailbox",
            f"--dir={tmp_path / 'mailbox'}",
            f"--smtp-port={smtp_port}",
            f"--http-port={http_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{http_port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail("the dev mailbox did not start")
            time.sleep(0.1)
        yield smtp_port, f"http://127.0.0.1:{http_port}/api/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_sms_lands_in_the_dev_mailbox_as_mail_to_the_number(
    tmp_path: Path, bus_prefix: str, mailbox: tuple[int, str]
) -> None:
    smtp_port, api = mailbox
    settings = notify_settings(tmp_path, bus_prefix, smtp_port, sms_mode="dev")
    async with notify_running(settings) as notify, httpx.AsyncClient() as http:
        await notify.publish(events.act_served(SystemClock(), mobile="+33612345678"))

        async def both_arrived() -> bool:
            return (await http.get(f"{api}/messages")).json()["total"] == 2

        await eventually(both_arrived)
        found = (await http.get(f"{api}/search", params={"query": "to:sms.invalid"})).json()
        [sms] = found["messages"]
        assert sms["To"] == [{"Name": "", "Address": "+33612345678@sms.invalid"}]
        assert sms["Snippet"].startswith("SECURACT : un acte vous a été signifié le")
        assert "<script>" in sms["Snippet"]  # plain text: shown as typed, never interpreted
