"""A personal data breach notice on the real stack (CGU §11.2, RGPD art. 34): two offices
serve acts to three people; the operator issues, through retention's API, a breach notice
scoped to étude Alpha. Notify e-mails it to the dev mailbox of each person étude Alpha served
and to étude Alpha, once each, with the texts article 34 requires and the date in the person's
legal time, named; the person étude Beta served and étude Beta get nothing. The notice's event
delivered again (the outbox relays it twice) and replayed in a new event change nothing: still
one message per address, one `notify.notification-sent.v1` per address.

Real RabbitMQ, SeaweedFS, SQLite and dev mailbox; identity, consent, notify, audit, delivery
and retention apps in this process.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from delivery.settings import OfficeProfile
from retention.main import create_app as create_retention
from retention.settings import Settings as RetentionSettings
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.registry import decode_payload
from shared.contracts.status import UserNoticeIssuedV1
from shared.legal_calendar import Territory
from shared.messaging.outbox import OUTBOX
from shared.store.port import DocumentStore
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.integration.consent.flow import PASSWORD, login, office_token
from tests.integration.consent.support import ready_bucket
from tests.integration.identity.support import operator_token
from tests.support.services import eventually, running, service_env
from tests.support.stack import LINK, Mailbox, bearer, serving_stack, verifier_for
from tests.unit.consent.support import NATURAL_FILES, multipart_body, natural_declaration
from tests.unit.consent.support import natural_person as person
from tests.unit.delivery.support import metadata, multipart, pdf

ALPHA, BETA = "etude-alpha", "etude-beta"
OFFICE_EMAILS = {ALPHA: "greffe@etude-alpha.example.fr", BETA: "greffe@etude-beta.example.fr"}
PEOPLE = [  # (address, nom, serving office)
    ("alice.marchand@example.org", "Marchand", ALPHA),
    ("bruno.lefevre@example.org", "Lefèvre", ALPHA),
    ("chloe.rivet@example.org", "Rivet", BETA),
]
BREACH = {
    "nature": "Un accès non autorisé à la base des adresses de notification, le 2 mars.",
    "consequences": "Des courriels frauduleux se présentant comme SECURACT pourraient vous "
    "être adressés.",
    "measures": "L'accès a été coupé et la CNIL informée. Ne communiquez jamais votre mot de "
    "passe.",
    "contact": "Délégué à la protection des données : dpo@securact.test",
    "offices": [ALPHA],
}
BREACH_SUBJECT = "violation de données"
NOTICE_TYPE = UserNoticeIssuedV1.routing_key()


async def messages(box: Mailbox) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=box.api) as mail:
        found: list[dict[str, Any]] = (await mail.get("/messages")).json().get("messages", [])
        return found


def to_addresses(summary: dict[str, Any]) -> list[str]:
    return [str(to.get("Address")) for to in summary.get("To", [])]


async def mail_for(box: Mailbox, address: str, subject_part: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def delivered() -> bool:
        for summary in await messages(box):
            if address in to_addresses(summary) and subject_part in summary.get("Subject", ""):
                async with httpx.AsyncClient(base_url=box.api) as mail:
                    found.append((await mail.get(f"/message/{summary['ID']}")).json())
                return True
        return False

    await eventually(delivered, within=60, every=0.3)
    return found[0]


async def breach_notices_by_address(box: Mailbox) -> dict[str, int]:
    counts: dict[str, int] = {}
    for summary in await messages(box):
        if BREACH_SUBJECT in summary.get("Subject", ""):
            for address in to_addresses(summary):
                counts[address] = counts.get(address, 0) + 1
    return counts


async def served_person(
    consent: httpx.AsyncClient,
    identity: httpx.AsyncClient,
    delivery: httpx.AsyncClient,
    box: Mailbox,
    office: dict[str, str],
    email: str,
    nom: str,
) -> None:
    """The office registers the person's declaration, the person activates the account and
    accepts the CGU, and the office serves an act: the person's notice reaches the mailbox."""
    from shared.clock import SystemClock

    today = SystemClock().now().date()
    declaration = natural_declaration(today, person=person(email=email, nom=nom, mobile=None))
    body, content_type = multipart_body(declaration, NATURAL_FILES)
    created = await consent.post(
        "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
    )
    assert created.status_code == 201, created.text
    declaration_id = str(created.json()["id"])
    activation = await mail_for(box, email, "")
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
    document = pdf(20_000, seed=email.encode())
    act_body, act_type = multipart(metadata(declaration_id), document)
    for _ in range(60):  # delivery learns the declaration from consent's event
        served = await delivery.post(
            "/v1/acts",
            content=act_body,
            headers={
                "Content-Type": act_type,
                "Idempotency-Key": f"act-{email.split('@')[0]}",
                **office,
            },
        )
        if served.status_code != 409 and served.status_code != 422:
            break
        await asyncio.sleep(0.5)
    assert served.status_code == 201, served.text
    await mail_for(box, email, "signifié")


async def notice_outcomes(store: DocumentStore, notice_id: str, fact: str) -> list[dict[str, Any]]:
    rows = await store.find(OUTBOX, {"envelope.type": f"notify.{fact}.v1"})
    return [r["envelope"] for r in rows if r["envelope"]["subject"] == f"notice:{notice_id}"]


@pytest.mark.slow
async def test_a_breach_notice_reaches_each_affected_address_once(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        stack = serving_stack(
            tmp_path,
            bus_prefix,
            s3_server,
            box,
            checkpoint_every=3600,
            notify_extra={"office_emails": OFFICE_EMAILS, "notice_fanout_interval_seconds": 0.3},
            offices={
                office: OfficeProfile(email=email, territory=Territory.METROPOLE)
                for office, email in OFFICE_EMAILS.items()
            },
        )
        identity = stack.identity
        retention_app = create_retention(
            RetentionSettings(
                **service_env(tmp_path / "retention", bus_prefix),
                kek_file=tmp_path / "retention-kek.json",
                signing_key_file=tmp_path / "retention-signing.json",
                s3_endpoint=s3_server.endpoint,
                s3_access_key=SecretStr(s3_server.access_key),
                s3_secret_key=SecretStr(s3_server.secret_key),
                s3_bucket=random_bucket_name(),
                scheduler_interval_seconds=3600,
                status_probe_services=[],
            ),
            audit_http=stack.audit_http,
            token_verifier=verifier_for(identity, "retention"),
        )
        stack.retention.app = retention_app
        async with (
            running(identity) as identity_client,
            running(stack.consent) as consent_client,
            running(stack.notify),
            running(stack.audit),
            running(stack.delivery) as delivery_client,
            running(retention_app) as retention_client,
        ):
            await ready_bucket(stack.consent)
            await ready_bucket(stack.delivery)
            await ready_bucket(retention_app)
            scopes = ("registry:write", "registry:read", "acts:write", "acts:read")
            offices = {
                office: bearer(await office_token(identity, identity_client, scopes, office))
                for office in (ALPHA, BETA)
            }
            for email, nom, office in PEOPLE:
                await served_person(
                    consent_client,
                    identity_client,
                    delivery_client,
                    box,
                    offices[office],
                    email,
                    nom,
                )

            operator = bearer(await operator_token(identity, identity_client, "operateur-rgpd"))
            issued = await retention_client.post(
                "/v1/notices/breach", json=BREACH, headers=operator
            )
            assert issued.status_code == 201, issued.text
            notice_id = str(issued.json()["id"])

            affected = [PEOPLE[0][0], PEOPLE[1][0], OFFICE_EMAILS[ALPHA]]
            for address in affected:
                mail = await mail_for(box, address, BREACH_SUBJECT)
                text = str(mail.get("Text", ""))
                for field in ("nature", "measures", "contact"):
                    assert " ".join(str(BREACH[field]).split()[:4]) in " ".join(text.split())
                assert "(heure légale de Paris)" in text
            notify_store = stack.notify.state.runtime.store

            async def all_sent() -> bool:
                sent = await notice_outcomes(notify_store, notice_id, "notification-sent")
                return len(sent) == len(affected)

            await eventually(all_sent, within=30)

            # The same event relayed again, and the notice replayed in a new event.
            retention_store = retention_app.state.runtime.store
            [row] = await retention_store.find(OUTBOX, {"envelope.type": NOTICE_TYPE})
            envelope = Envelope.model_validate(row["envelope"])
            await retention_store.update(OUTBOX, {"_id": row["_id"]}, {"sent": False})
            replay = new_envelope(
                decode_payload(envelope, UserNoticeIssuedV1),
                subject=envelope.subject,
                actor=envelope.actor,
                clock=retention_app.state.runtime.clock,
            )
            outbox = retention_app.state.retention.ctx.outbox
            await outbox.publish_alone(replay)
            outbox.pending.set()

            async def both_taken() -> bool:
                rows = await retention_store.find(OUTBOX, {"envelope.type": NOTICE_TYPE})
                relayed = all(r["sent"] for r in rows) and len(rows) == 2
                inbox = await notify_store.find("inbox", {"event_id": replay.event_id})
                return relayed and bool(inbox)

            await eventually(both_taken, within=30)
            await asyncio.sleep(3)  # a fan-out and a sender round, were anything queued

            counts = await breach_notices_by_address(box)
            assert counts == dict.fromkeys(affected, 1), counts
            assert PEOPLE[2][0] not in counts
            assert OFFICE_EMAILS[BETA] not in counts
            sent = await notice_outcomes(notify_store, notice_id, "notification-sent")
            assert sorted(e["payload"]["recipient"] for e in sent) == sorted(
                [*(f"account:{a}" for a in await _accounts_of(notify_store, 2)), f"office:{ALPHA}"]
            )
            assert await notice_outcomes(notify_store, notice_id, "notification-failed") == []
            for event in sent:
                assert all(address not in str(event) for address in affected)
    finally:
        box.stop()


async def _accounts_of(store: DocumentStore, expected: int) -> list[str]:
    """The account ids of the people étude Alpha served (from notify's contact book)."""
    rows = await store.find("contacts")
    accounts = [str(r["account_id"]) for r in rows if r.get("offices") == [ALPHA]]
    assert len(accounts) == expected
    return accounts
