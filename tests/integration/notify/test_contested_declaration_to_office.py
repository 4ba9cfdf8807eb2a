"""A declaration the person contested is e-mailed to the office that registered it, over the
real bus into the dev mailbox: which parts are wrong, never the person's own words."""

from __future__ import annotations

from pathlib import Path

import httpx

from shared.clock import SystemClock
from shared.contracts import consent
from tests.integration.notify.support import notify_running, notify_settings
from tests.integration.notify.test_dev_mailbox_sms import mailbox as mailbox
from tests.support.services import eventually
from tests.unit.notify.events import wrap

OFFICE_EMAIL = "greffe@etude-bus.example.fr"


async def test_a_contested_declaration_reaches_the_registering_office_by_email(
    tmp_path: Path, bus_prefix: str, mailbox: tuple[int, str]
) -> None:
    smtp_port, api = mailbox
    settings = notify_settings(
        tmp_path,
        bus_prefix,
        smtp_port,
        office_emails={"etude-bus": OFFICE_EMAIL},
    )
    clock = SystemClock()
    contested = consent.DeclarationContestedV1(
        declaration_id="decl-bus-1",
        account_id="acc-bus-1",
        office_id="etude-bus",
        parts=[consent.DeclarationPart.NATURES],
        content_hash="ef" * 32,
        contested_at=clock.now(),
    )
    async with notify_running(settings) as notify, httpx.AsyncClient() as http:
        await notify.publish(wrap(contested, clock, "declaration:decl-bus-1", "recipient:x"))

        async def arrived() -> bool:
            found = await http.get(f"{api}/search", params={"query": f"to:{OFFICE_EMAIL}"})
            return bool(found.json()["messages"])

        await eventually(arrived)
        [summary] = (
            await http.get(f"{api}/search", params={"query": f"to:{OFFICE_EMAIL}"})
        ).json()["messages"]
        detail = (await http.get(f"{api}/message/{summary['ID']}")).json()
        assert "decl-bus-1" in detail["Subject"]
        assert "les natures d'actes couvertes" in detail["Text"]

        async def recorded() -> bool:
            return bool(await notify.outbox_events("notify.notification-sent.v1"))

        await eventually(recorded)
        [sent] = await notify.outbox_events("notify.notification-sent.v1")
        assert sent["payload"]["recipient"] == "office:etude-bus"
