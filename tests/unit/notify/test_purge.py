"""Retention's purge requests: notify forgets the contacts of the party, scrubs the masked
addresses from its history, and says so with `notify.contacts-purged.v1`, once per request."""

from __future__ import annotations

from notify.contacts import CONTACTS
from notify.domain import State
from shared.contracts.notify import ContactsPurgedV1, NotificationFailedV1
from tests.unit.notify import events
from tests.unit.notify.conftest import Env

PURGED = ContactsPurgedV1.routing_key()
FAILED = NotificationFailedV1.routing_key()
QUEUE = "notify.retention"


async def test_a_contact_data_purge_forgets_the_account_and_scrubs_its_history(env: Env) -> None:
    await env.take(events.account_created(env.clock))
    await env.take(events.activation(env.clock))
    await env.take(events.act_served(env.clock, mobile="+33612345678"))
    await env.take(events.lettre_simple_due(env.clock))
    await env.drain()
    assert await env.store.count(CONTACTS) == 1

    request = events.contact_data_purge_requested(env.clock)
    assert await env.notify.contacts.purge_on_request(request, consumer=QUEUE)

    assert await env.store.count(CONTACTS) == 0
    mine = await env.rows(account_id="acc-1")
    assert len(mine) == 3  # activation, act served by e-mail and by SMS
    for row in mine:
        assert row["recipient_masked"] == ""
        assert row["contact_purged_at"] == "2031-03-03T10:00:00.000000Z"
        assert row["address"] is None
        assert row["state"] == State.SENT.value  # the evidence stays
    [office] = await env.rows(recipient="office:office-7")
    assert office["recipient_masked"] == "e***@huissiers.fr"  # not the person's data
    [purged] = await env.events(PURGED)
    assert purged["subject"] == "account:acc-1"
    assert purged["correlation_id"] == request.correlation_id
    assert purged["payload"] == {
        "erasure_id": "erasure-3",
        "account_id": "acc-1",
        "declaration_id": None,
        "purged_at": "2031-03-03T10:00:00Z",
    }
    # A later confirmation for that account has nobody to go to.
    await env.take(events.account_terminated(env.clock))
    assert await env.drain() == 0
    [failed] = await env.events(FAILED)
    assert failed["payload"]["reason"] == "no address known for this recipient"


async def test_the_same_purge_request_twice_purges_and_reports_once(env: Env) -> None:
    await env.take(events.activation(env.clock))
    request = events.contact_data_purge_requested(env.clock)
    assert await env.notify.contacts.purge_on_request(request, consumer=QUEUE)
    assert not await env.notify.contacts.purge_on_request(request, consumer=QUEUE)
    assert len(await env.events(PURGED)) == 1


async def test_a_declaration_purge_forgets_the_declaration_and_its_account(env: Env) -> None:
    await env.take(events.declaration_registered(env.clock, email="decl@example.fr"))
    await env.take(events.consent_revoked(env.clock, account_id=None))
    await env.take(events.account_created(env.clock))  # the account of declaration decl-1
    await env.take(events.activation(env.clock, account_id="acc-2", email="other@example.fr"))
    await env.drain()
    assert await env.store.count(CONTACTS) == 2

    request = events.declaration_purge_requested(env.clock)
    assert await env.notify.contacts.purge_on_request(request, consumer=QUEUE)

    [left] = await env.store.find(CONTACTS)
    assert left["account_id"] == "acc-2"
    [revoked] = await env.rows(recipient="declaration:decl-1")
    assert revoked["recipient_masked"] == ""
    [other] = await env.rows(account_id="acc-2")
    assert other["recipient_masked"] == "o***@example.fr"
    [purged] = await env.events(PURGED)
    assert purged["subject"] == "declaration:decl-1"
    assert purged["payload"]["declaration_id"] == "decl-1"
    assert purged["payload"]["account_id"] is None
    assert "example.fr" not in str(purged)


async def test_a_message_still_queued_is_sent_then_keeps_no_address(env: Env) -> None:
    await env.take(events.act_served(env.clock))
    await env.notify.contacts.purge_on_request(
        events.contact_data_purge_requested(env.clock), consumer=QUEUE
    )
    [queued] = await env.rows()
    assert queued["state"] == State.QUEUED.value
    assert queued["recipient_masked"] == ""
    assert await env.drain() == 1
    [message] = env.mail.sent
    assert message["To"] == "jean.dupont@example.fr"
    [row] = await env.rows()
    assert row["state"] == State.SENT.value
    assert row["address"] is None
    assert row["recipient_masked"] == ""


async def test_purge_contacts_forgets_the_account_and_its_declaration(env: Env) -> None:
    await env.take(events.declaration_registered(env.clock))
    await env.take(events.account_created(env.clock))
    await env.take(events.activation(env.clock))
    assert await env.notify.contacts.purge_contacts("acc-1") == 1
    assert await env.store.count(CONTACTS) == 0
