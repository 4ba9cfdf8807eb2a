"""The declaration end to end: an office registers a declaration at consent → identity creates the
account → notify's activation e-mail reaches the dev mailbox → activation → CGU accepted → the
registry answers `active`; then the person revokes → the registry answers `revoked`. The logs
captured over the whole run never name the person (name, e-mail, birth date).

Real RabbitMQ, real SeaweedFS, a real dev mailbox process (SMTP + Mailpit-shaped HTTP), and
the identity, consent and notify apps in this process.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import PERSONAL, Parties, consent_for, run_consent_flow
from tests.integration.consent.support import assert_nothing_personal_logged
from tests.integration.identity.support import identity_app
from tests.support.services import eventually, running
from tests.support.stack import LINK, Mailbox, notify_for
from tests.unit.consent.support import EMAIL


@pytest.mark.slow
async def test_declaration_to_active_to_revoked_through_the_dev_mailbox(
    tmp_path: Path,
    bus_prefix: str,
    s3_server: S3Server,
    caplog: pytest.LogCaptureFixture,
) -> None:

    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        caplog.set_level(logging.INFO)
        identity = identity_app(tmp_path / "identity", bus_prefix)
        consent = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity)
        notify = notify_for(tmp_path, bus_prefix, box, identity)

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
