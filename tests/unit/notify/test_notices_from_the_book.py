"""The act-served notice of `delivery.act-served.v3` names ids only: notify reaches the person
through its own contact book (e-mail and mobile, learnt from the registry's and identity's
events, purged with the rest). A notice whose recipient the book does not know yet is not
consumed (the consumer's retry policy brings it back, then parks it): never dropped."""

from __future__ import annotations

import pytest

from notify.contacts import CONTACTS
from notify.planning import RecipientNotKnownYet
from shared.contracts.notify import NotificationSentV1
from shared.legal_calendar import Territory
from tests.unit.notify import events
from tests.unit.notify.conftest import Env

SENT = NotificationSentV1.routing_key()
MOBILE = "+33612345678"


async def _known(env: Env, mobile: str | None = MOBILE) -> None:
    await env.take(events.declaration_registered(env.clock, mobile=mobile))
    await env.take(events.account_created(env.clock))
    await env.take(events.activation(env.clock))


async def test_the_notice_goes_to_the_books_address_and_mobile(env: Env) -> None:
    await _known(env)
    assert await env.take(events.act_served_v3(env.clock))
    assert await env.drain() == 3  # the activation link, the notice by e-mail and by SMS
    assert [m["To"] for m in env.mail.sent] == ["jean.dupont@example.fr"] * 2
    [sms] = env.sms.sent
    assert sms.to == MOBILE
    assert "un acte vous a été signifié" in sms.text
    served = [e for e in await env.events(SENT) if e["subject"] == "act:act-1"]
    assert sorted(e["payload"]["channel"] for e in served) == ["email", "sms"]


async def test_no_mobile_given_no_sms(env: Env) -> None:
    await _known(env, mobile=None)
    assert await env.take(events.act_served_v3(env.clock))
    assert await env.drain() == 2
    assert env.sms.sent == []


async def test_the_declarations_contacts_serve_before_the_account_is_linked(env: Env) -> None:
    await env.take(events.declaration_registered(env.clock, mobile=MOBILE))
    assert await env.take(events.act_served_v3(env.clock))
    assert await env.drain() == 2
    assert env.sms.sent[0].to == MOBILE


async def test_an_unknown_recipient_is_not_consumed_and_is_taken_once_known(env: Env) -> None:
    notice = events.act_served_v3(env.clock)
    with pytest.raises(RecipientNotKnownYet) as raised:
        await env.take(notice)
    assert "jean.dupont" not in str(raised.value)
    assert await env.rows() == []
    assert await env.events(SENT) == []
    # The retry, once the registry's event has arrived: the notice is sent, once.
    await _known(env)
    assert await env.take(notice)
    assert not await env.take(notice)
    assert await env.drain() == 3
    assert env.sms.sent[0].to == MOBILE


async def test_an_address_learnt_without_the_mobile_waits_for_it(env: Env) -> None:
    # The activation link's event (e-mail only) came before the registry's: the book cannot
    # tell "no mobile" from "not known yet", so the notice waits rather than lose the SMS.
    await env.take(events.activation(env.clock))
    await env.take(events.account_created(env.clock))
    with pytest.raises(RecipientNotKnownYet):
        await env.take(events.act_served_v3(env.clock))
    await env.take(events.declaration_registered(env.clock, mobile=MOBILE))
    assert await env.take(events.act_served_v3(env.clock))
    await env.drain()
    assert env.sms.sent[0].to == MOBILE


async def test_a_changed_mobile_receives_the_next_notices_and_a_removed_one_none(env: Env) -> None:
    await _known(env)
    await env.take(events.mobile_changed(env.clock, "+590690123456"))
    await env.take(events.act_served_v3(env.clock, act_id="act-1"))
    await env.drain()
    assert [s.to for s in env.sms.sent] == ["+590690123456"]
    await env.take(events.mobile_changed(env.clock, None))
    await env.take(events.act_served_v3(env.clock, act_id="act-2"))
    await env.drain()
    assert [s.to for s in env.sms.sent] == ["+590690123456"]


async def test_a_replaced_v2_in_flight_teaches_the_book_its_mobile(env: Env) -> None:
    await env.take(events.activation(env.clock))
    await env.take(events.act_served(env.clock, act_id="act-1", mobile=MOBILE))
    await env.take(events.act_served_v3(env.clock, act_id="act-2"))
    await env.drain()
    assert [s.to for s in env.sms.sent] == [MOBILE, MOBILE]


async def test_the_mobile_leaves_with_the_purge_and_a_later_notice_waits(env: Env) -> None:
    await _known(env)
    rows = await env.store.find(CONTACTS)
    assert [row["mobile"] for row in rows] == [MOBILE]
    request = events.declaration_purge_requested(env.clock)
    assert await env.notify.contacts.purge_on_request(request, consumer="notify.retention")
    assert await env.store.count(CONTACTS) == 0
    with pytest.raises(RecipientNotKnownYet):
        await env.take(events.act_served_v3(env.clock))


async def test_the_book_learns_the_territory_and_office_that_scope_notices_to_users(
    env: Env,
) -> None:
    await _known(env)
    assert await env.take(events.act_served_v3(env.clock, territory=Territory.REUNION))
    [row] = await env.store.find(CONTACTS)
    assert (row["territory"], row["offices"]) == ("reunion", ["office-7"])
