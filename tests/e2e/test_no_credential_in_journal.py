"""No credential reaches the journal: over a real flow (an office registers a declaration →
the activation e-mail → activation → a password reset e-mail), every entry audit journaled is
read as an operator (who reads every payload) and none holds a live link token taken from the
dev mailbox. Notify's own store, its durable send queue, keeps neither once the mails are sent,
and no log line of the run holds one. Nor does a personal contact datum: once an act is served,
the journal's readable payloads of the act hold neither the recipient's e-mail nor mobile
(`delivery.act-served.v3` names the account; notify found the address and number in its own
book, and its evidence masks them), while the notice did reach both.

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

from audit.service import JOURNAL
from notify.sms import DEV_SMS_DOMAIN
from shared.clock import SystemClock
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import PASSWORD, consent_for, office_token
from tests.integration.consent.support import ready_bucket
from tests.integration.identity.support import identity_app, operator_token
from tests.support.services import eventually, running
from tests.support.stack import (
    LINK,
    Mailbox,
    active_declaration,
    audit_for,
    bearer,
    mail_to,
    notify_for,
    serving_stack,
    verifier_for,
)
from tests.unit.consent.support import EMAIL, NATURAL_FILES, multipart_body, natural_declaration
from tests.unit.delivery.support import metadata, multipart, pdf

MOBILE = "+33612345678"  # the declaration's (`natural_declaration`)
MOBILE_FORMS = (MOBILE, "0612345678", "06 12 34 56 78")


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


async def sms_to(box: Mailbox, number: str) -> dict[str, Any]:
    """The dev SMS gateway's mail for `number`."""
    found: list[dict[str, Any]] = []

    async def delivered() -> bool:
        async with httpx.AsyncClient(base_url=box.api) as mail:
            for summary in (await mail.get("/messages")).json().get("messages", []):
                if any(
                    to.get("Address") == f"{number}@{DEV_SMS_DOMAIN}"
                    for to in summary.get("To", [])
                ):
                    found.append((await mail.get(f"/message/{summary['ID']}")).json())
                    return True
        return False

    await eventually(delivered, within=30, every=0.3)
    return found[0]


@pytest.mark.slow
async def test_the_journal_of_a_served_act_holds_no_contact_datum_of_the_recipient(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        stack = serving_stack(tmp_path, bus_prefix, s3_server, box, checkpoint_every=3600)
        async with (
            running(stack.identity) as identity_client,
            running(stack.consent) as consent_client,
            running(stack.notify),
            running(stack.audit),
            running(stack.delivery) as delivery_client,
        ):
            await ready_bucket(stack.consent)
            await ready_bucket(stack.delivery)
            scopes = ("registry:write", "registry:read", "acts:write", "acts:read")
            office = bearer(await office_token(stack.identity, identity_client, scopes))
            declaration_id, _ = await active_declaration(
                consent_client, identity_client, box, office
            )
            delivery_store = stack.delivery.state.runtime.store

            async def delivery_knows_consent() -> bool:
                row = await delivery_store.get("declarations", declaration_id)
                return row is not None and row.get("status") == "active"

            await eventually(delivery_knows_consent, within=30)
            body, content_type = multipart(metadata(declaration_id), pdf(8_000, seed=b"j"))
            served = await delivery_client.post(
                "/v1/acts",
                content=body,
                headers={"Content-Type": content_type, "Idempotency-Key": "j-1", **office},
            )
            assert served.status_code == 201, served.text
            act_id = str(served.json()["id"])

            # The notice reached the address and the number notify keeps, not the event's.
            await mail_to(box, "Un acte vous a été signifié")
            sms = await sms_to(box, MOBILE)
            assert "acte" in sms.get("Text", "")

            audit_store = stack.audit.state.runtime.store
            journal = stack.audit.state.journal
            subject = f"act:{act_id}"

            async def both_notices_journaled() -> bool:
                rows = await audit_store.find(JOURNAL, {"subject": subject})
                sent = [r for r in rows if r["type"] == "notify.notification-sent.v1"]
                return len(sent) == 2

            await eventually(both_notices_journaled, within=60, every=0.5)
            readable: list[tuple[str, str]] = []
            for entry in await audit_store.find(JOURNAL, {"subject": subject}):
                opened = await journal.payload(entry)
                assert opened.record is not None, entry["type"]
                readable.append((str(entry["type"]), json.dumps(opened.record)))

        types = {kind for kind, _ in readable}
        assert "delivery.act-served.v3" in types
        [served_payload] = [text for kind, text in readable if kind == "delivery.act-served.v3"]
        assert "recipient_account_id" in served_payload
        for kind, text in readable:
            assert EMAIL.lower() not in text.lower(), f"the recipient's e-mail is in {kind}"
            for form in MOBILE_FORMS:
                assert form not in text, f"the recipient's mobile is in {kind}"
    finally:
        box.stop()
