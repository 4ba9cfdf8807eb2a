"""No credential reaches the journal: over a real flow (an office registers a declaration →
the activation e-mail → activation → a password reset e-mail), every entry audit journaled is
read as an operator (who reads every payload) and none holds a live link token taken from the
dev mailbox. Notify's own store, its durable send queue, keeps neither once the mails are sent,
and no log line of the run holds one.

Real RabbitMQ, SeaweedFS and dev mailbox; identity, consent, notify and audit in this process,
notify fetching the links from identity over HTTP (ASGI) with its client-credentials token.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.clock import SystemClock
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import PASSWORD, consent_for, office_token
from tests.integration.consent.support import ready_bucket
from tests.integration.identity.support import identity_app, operator_token
from tests.support.services import eventually, running
from tests.support.stack import (
    LINK,
    Mailbox,
    audit_for,
    bearer,
    mail_to,
    notify_for,
    verifier_for,
)
from tests.unit.consent.support import NATURAL_FILES, multipart_body, natural_declaration


def token_in(message: dict[str, Any]) -> str:
    found = LINK.search(f"{message.get('Text', '')}\n{message.get('HTML', '')}")
    assert found is not None, "the e-mail carries no link"
    return httpx.URL(found.group(0).replace("&amp;", "&")).params["token"]


async def journal_as_operator(audit: httpx.AsyncClient, operator: str) -> list[dict[str, Any]]:
    """Every journal entry with its payload, read the way an operator reads them."""
    entries: list[dict[str, Any]] = []
    after = -1
    while True:
        page = (await audit.get("/v1/entries", params={"after": after, "limit": 1000})).json()
        for summary in page["entries"]:
            answer = await audit.get(f"/v1/entries/{summary['index']}", headers=bearer(operator))
            assert answer.status_code == 200, answer.text
            entries.append(answer.json())
        if page["next_after"] is None:
            return entries
        after = page["next_after"]


async def everything_stored(app: FastAPI) -> str:
    store = app.state.runtime.store
    rows = [await store.find(name) for name in ("notifications", "outbox", "contacts")]
    return json.dumps(rows, default=str)


@pytest.mark.slow
async def test_no_live_link_token_is_journaled_over_activation_and_password_reset(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        identity = identity_app(tmp_path / "identity", bus_prefix)
        consent = consent_for(tmp_path / "consent", bus_prefix, s3_server, identity)
        notify = notify_for(tmp_path, bus_prefix, box, identity)
        audit = audit_for(
            tmp_path,
            bus_prefix,
            checkpoint_every=3600,
            token_verifier=verifier_for(identity, "audit"),
        )
        async with (
            running(identity) as identity_client,
            running(consent) as consent_client,
            running(notify),
            running(audit) as audit_client,
        ):
            await ready_bucket(consent)
            office = bearer(await office_token(identity, identity_client))

            # Declaration → activation e-mail → activation.
            body, content_type = multipart_body(
                natural_declaration(SystemClock().now().date()), NATURAL_FILES
            )
            created = await consent_client.post(
                "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
            )
            assert created.status_code == 201, created.text
            activation_token = token_in(await mail_to(box, "Activez votre compte"))
            activated = await identity_client.post(
                "/v1/activations", json={"token": activation_token, "password": PASSWORD}
            )
            assert activated.status_code == 200, activated.text

            # Password reset e-mail (its link left unused: live while the journal is read).
            requested = await identity_client.post(
                "/v1/password-resets", json={"identifier": activated.json()["identifier"]}
            )
            assert requested.status_code == 202, requested.text
            reset_token = token_in(await mail_to(box, "Réinitialisation"))
            checked = await identity_client.post(
                "/v1/link-checks", json={"token": reset_token, "purpose": "reset"}
            )
            assert checked.status_code == 200, "the reset link is live"

            # Both e-mails' evidence is journaled: the whole flow is in audit.
            async def both_sent_journaled() -> bool:
                found = await audit_client.get(
                    "/v1/entries", params={"type": "notify.notification-sent.v1"}
                )
                return len(found.json()["entries"]) >= 2

            await eventually(both_sent_journaled, within=60, every=0.5)
            operator = await operator_token(identity, identity_client, "operateur-journal")
            entries = await journal_as_operator(audit_client, operator)
            notify_store = await everything_stored(notify)

        types = {entry["type"] for entry in entries}
        assert any(t.startswith("identity.activation-link-issued.") for t in types)
        assert any(t.startswith("identity.password-reset-requested.") for t in types)
        unread = [e["type"] for e in entries if e.get("payload_state") != "available"]
        assert unread == [], "the operator reads every payload"
        for token, what in ((activation_token, "activation"), (reset_token, "reset")):
            leaking = [e["type"] for e in entries if token in json.dumps(e)]
            assert leaking == [], f"the {what} link token is in the journal: {leaking}"
            assert token not in notify_store, f"notify's store kept the {what} link"
            assert token not in caplog.text, f"the {what} link token was logged"
    finally:
        box.stop()
