"""Notify's part in a contact change and a contested declaration: the confirmation link goes to
the new address (fetched from identity when sent, never from the event), the previous address
(notify's own, not the event's) is told once the change is confirmed and the book then holds
the new one, and the registering office is e-mailed which parts the person contested."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest

from notify.context import Config, Originator
from notify.service import wire
from shared.contracts import consent, identity
from shared.contracts.envelope import Envelope
from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore
from tests.unit.notify.conftest import (
    Env,
    EnvFactory,
    RecordingLinks,
    RecordingMail,
    RecordingSms,
    policy,
)
from tests.unit.notify.events import wrap

OLD = "ancienne@example.fr"
NEW = "nouvelle@example.net"
LINK_ID = "01JLINKEMAILCHANGE"
LINK_URL = "https://portail.securact.test/donnees/courriel/confirmation?token=s3cr3t"


def _body(message: object) -> str:
    assert isinstance(message, EmailMessage)
    return "\n".join(
        str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"
    )


@pytest.fixture
async def office_env(make_env: EnvFactory, sqlite_store: DocumentStore) -> Env:
    base = make_env()  # indexes and clock
    outbox = Outbox(sqlite_store, base.clock)
    links = RecordingLinks()
    links.urls[LINK_ID] = LINK_URL
    mail, sms = RecordingMail(), RecordingSms()
    notify = wire(
        Config(
            Originator("SECURACT <ne-pas-repondre@securact.test>", "notify.securact.test", "S"),
            policy(),
            office_emails={"etude-1": "greffe@etude-1.example.fr"},
        ),
        store=sqlite_store,
        outbox=outbox,
        inbox=lambda consumer: Inbox(
            sqlite_store, consumer, base.clock, transaction=outbox.transaction
        ),
        clock=base.clock,
        mail=mail,
        sms=sms,
        links=links,
    )
    return Env(sqlite_store, base.clock, mail, sms, notify, links)


def _registered(env: Env) -> Envelope:
    payload = consent.DeclarationRegisteredV1(
        declaration_id="decl-1", person_kind=consent.PersonKind.NATURAL, email=OLD
    )
    return wrap(payload, env.clock, "declaration:decl-1")


def _created(env: Env) -> Envelope:
    payload = identity.AccountCreatedV1(
        account_id="acc-1", role=identity.AccountRole.RECIPIENT, declaration_id="decl-1"
    )
    return wrap(payload, env.clock, "account:acc-1")


async def test_the_confirmation_link_goes_to_the_new_address_fetched_when_sent(
    office_env: Env,
) -> None:
    env = office_env
    requested = identity.EmailChangeRequestedV1(
        account_id="acc-1",
        email=NEW,
        link_id=LINK_ID,
        expires_at=env.clock.now() + timedelta(hours=24),
    )
    assert await env.take(wrap(requested, env.clock, "account:acc-1"))
    await env.drain()
    [message] = env.mail.sent
    assert message["To"] == NEW
    assert LINK_URL in _body(message)
    assert env.links.asked == [LINK_ID]
    # The link is never kept: not in the stored notification.
    [row] = await env.rows()
    assert "s3cr3t" not in str(row)


async def test_the_previous_address_is_told_once_the_change_is_confirmed(
    office_env: Env,
) -> None:
    env = office_env
    await env.take(_registered(env), "notify.urgent")
    await env.take(_created(env), "notify.urgent")
    changed = identity.EmailChangedV1(
        account_id="acc-1", declaration_id="decl-1", email=NEW, changed_at=env.clock.now()
    )
    await env.take(wrap(changed, env.clock, "account:acc-1"))
    await env.drain()
    [message] = env.mail.sent
    assert message["To"] == OLD
    text = _body(message)
    assert "n***@example.net" in text
    assert NEW not in text
    # Later notices (a revocation, whose event has no address) go to the new address.
    revoked = consent.ConsentRevokedV1(
        declaration_id="decl-1", account_id="acc-1", revoked_at=env.clock.now()
    )
    await env.take(wrap(revoked, env.clock, "declaration:decl-1"))
    await env.drain()
    assert env.mail.sent[-1]["To"] == NEW


async def test_a_contested_declaration_is_emailed_to_the_registering_office(
    office_env: Env,
) -> None:
    env = office_env
    contested = consent.DeclarationContestedV1(
        declaration_id="decl-1",
        account_id="acc-1",
        office_id="etude-1",
        parts=[consent.DeclarationPart.IDENTITY, consent.DeclarationPart.DURATION],
        content_hash="ab" * 32,
        contested_at=env.clock.now(),
    )
    await env.take(wrap(contested, env.clock, "declaration:decl-1"))
    await env.drain()
    [message] = env.mail.sent
    assert message["To"] == "greffe@etude-1.example.fr"
    text = _body(message)
    assert "decl-1" in message["Subject"]
    assert "l'identité de la personne" in text  # the text part
    assert "la durée du consentement" in text
    [sent] = await env.events("notify.notification-sent.v1")
    assert sent["payload"]["recipient"] == "office:etude-1"
    assert sent["payload"]["office_id"] == "etude-1"


async def test_an_office_missing_from_the_directory_is_a_recorded_failure(
    office_env: Env,
) -> None:
    env = office_env
    contested = consent.DeclarationContestedV1(
        declaration_id="decl-2",
        account_id="acc-2",
        office_id="etude-inconnue",
        parts=[consent.DeclarationPart.OTHER],
        content_hash="cd" * 32,
        contested_at=env.clock.now(),
    )
    await env.take(wrap(contested, env.clock, "declaration:decl-2"))
    assert env.mail.sent == []
    [failed] = await env.events("notify.notification-failed.v1")
    assert failed["payload"]["recipient"] == "office:etude-inconnue"


async def test_the_person_is_told_by_email_when_the_sms_number_changes(office_env: Env) -> None:
    env = office_env
    await env.take(_registered(env))
    await env.take(_created(env))
    for mobile in ("+590690123456", None):
        changed = identity.MobileChangedV1(
            account_id="acc-1", declaration_id="decl-1", mobile=mobile, changed_at=env.clock.now()
        )
        await env.take(wrap(changed, env.clock, "account:acc-1"))
    await env.drain()
    first, second = env.mail.sent
    assert first["To"] == second["To"] == OLD
    assert "+590*******56" in _body(first)
    assert "+590690123456" not in _body(first)
    assert "plus d'avis de SECURACT par SMS" in " ".join(_body(second).split())
