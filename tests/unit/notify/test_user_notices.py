"""Notices to users (maintenance, breach): who is in scope, one message per address however
often the notice arrives or its fan-out runs, the person's legal time named, and a notice
counted as sent only when the relay accepted it."""

from __future__ import annotations

import json
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from notify.api import notifications_router
from notify.contacts import Contact
from notify.context import Config, Originator
from notify.notices import NOTICE_FANOUTS, NOTICE_INDEXES, account_in_scope, offices_in_scope
from notify.ports import PermanentDeliveryError
from notify.service import Notify, wire
from shared.auth import install_token_verifier
from shared.contracts.envelope import Envelope
from shared.contracts.notify import NotificationKind
from shared.contracts.status import BreachFacts, MaintenanceFacts, NoticeKind, UserNoticeIssuedV1
from shared.legal_calendar import Territory
from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox
from shared.problems import install_problem_handlers
from shared.refusals import install_refusal_handlers
from shared.store.port import DocumentStore
from tests.support.tokens import TokenSigner
from tests.unit.notify.conftest import (
    Env,
    EnvFactory,
    RecordingLinks,
    RecordingMail,
    RecordingSms,
    policy,
)
from tests.unit.notify.events import act_served, declaration_registered, instant, wrap

OFFICES = {
    "etude-a": "greffe@etude-a.example.fr",
    "etude-b": "greffe@etude-b.example.fr",
    "etude-c": "greffe@etude-c.example.fr",
}
BREACH = BreachFacts(
    nature="Un accès non autorisé à la base des adresses de notification.",
    consequences="Des courriels d'hameçonnage pourraient vous être adressés.",
    measures="L'accès a été coupé ; ne communiquez jamais votre mot de passe.",
    contact="Délégué à la protection des données : dpo@securact.test",
)
QUEUE = "notify.bulk"


def _body(message: EmailMessage) -> str:
    return "\n".join(
        str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"
    )


def _notify(env: Env, store: DocumentStore, batch: int) -> Notify:
    outbox = Outbox(store, env.clock)
    return wire(
        Config(
            Originator("SECURACT <ne-pas-repondre@securact.test>", "notify.securact.test", "S"),
            policy(),
            office_emails=OFFICES,
            notice_batch_size=batch,
        ),
        store=store,
        outbox=outbox,
        inbox=lambda consumer: Inbox(store, consumer, env.clock, transaction=outbox.transaction),
        clock=env.clock,
        mail=env.mail,
        sms=env.sms,
        links=env.links,
    )


@pytest.fixture
async def notice_env(make_env: EnvFactory, sqlite_store: DocumentStore) -> Env:
    base = make_env()
    await sqlite_store.ensure_indexes(NOTICE_INDEXES)
    env = Env(
        sqlite_store, base.clock, RecordingMail(), RecordingSms(), base.notify, RecordingLinks()
    )
    env.notify = _notify(env, sqlite_store, batch=2)
    return env


def _notice(env: Env, notice_id: str = "notice-1", **scope: Any) -> UserNoticeIssuedV1:
    return UserNoticeIssuedV1(
        notice_id=notice_id,
        kind=NoticeKind.BREACH,
        territories=scope.get("territories", []),
        offices=scope.get("offices", []),
        issued_at=env.clock.now(),
        issued_by="operateur-1",
        breach=BREACH,
    )


def _event(env: Env, notice: UserNoticeIssuedV1) -> Envelope:
    return wrap(notice, env.clock, f"notice:{notice.notice_id}", "account:operateur-1")


async def _served(env: Env) -> None:
    """Three accounts: two served by étude A (one in La Réunion), one by étude B; and a
    declaration whose account does not exist yet."""
    served = [
        ("acc-1", "paul@example.fr", "etude-a", Territory.METROPOLE),
        ("acc-2", "lea@example.re", "etude-a", Territory.REUNION),
        ("acc-3", "marc@example.fr", "etude-b", Territory.GUADELOUPE),
    ]
    for n, (account, email, office, territory) in enumerate(served):
        event = act_served(
            env.clock,
            act_id=f"act-{n}",
            account_id=account,
            email=email,
            office_id=office,
            territory=territory,
        )
        assert await env.notify.intake.take(event, consumer="notify.urgent")
    await env.notify.intake.take(
        declaration_registered(env.clock, email="pas-encore@example.fr"), consumer="notify.urgent"
    )
    await env.drain()
    env.mail.sent.clear()


async def _evidence(env: Env, fact: str) -> list[dict[str, Any]]:
    """The outcomes of the notices (not of the acts' notices before them)."""
    events = await env.events(f"notify.{fact}.v1")
    return [e for e in events if e["subject"].startswith("notice:")]


async def _notices_sent(env: Env) -> dict[str, EmailMessage]:
    await env.drain()
    return {str(m["To"]): m for m in env.mail.sent}


def _contact(territory: Territory | None, offices: list[str]) -> Contact:
    return Contact(
        _id="account:a",
        account_id="a",
        declaration_id=None,
        email="a@example.fr",
        updated_at=instant(2031, 3, 3),
        territory=territory,
        offices=offices,
    )


def test_scope_rules(notice_env: Env) -> None:
    everyone = _notice(notice_env)
    reunion = _notice(notice_env, territories=["reunion"])
    office_a = _notice(notice_env, offices=["etude-a"])
    unknown = _contact(None, [])
    assert account_in_scope(unknown, everyone)
    assert not account_in_scope(unknown, reunion)
    assert account_in_scope(_contact(Territory.REUNION, []), reunion)
    assert not account_in_scope(_contact(Territory.METROPOLE, ["etude-b"]), reunion)
    assert account_in_scope(_contact(None, ["etude-b", "etude-a"]), office_a)
    assert not account_in_scope(_contact(Territory.REUNION, ["etude-b"]), office_a)
    assert offices_in_scope(everyone, ["etude-b", "etude-a"], []) == ["etude-a", "etude-b"]
    assert offices_in_scope(office_a, ["etude-a", "etude-b"], ["etude-c"]) == [
        "etude-a",
        "etude-c",
    ]


def test_a_breach_notice_carries_what_article_34_requires(notice_env: Env) -> None:
    with pytest.raises(ValueError, match="facts of its kind"):
        UserNoticeIssuedV1(
            notice_id="n",
            kind=NoticeKind.BREACH,
            territories=[],
            offices=[],
            issued_at=notice_env.clock.now(),
            issued_by="op",
        )
    with pytest.raises(ValueError, match="consequences"):
        BreachFacts(nature="x", consequences="", measures="y", contact="z")


async def test_breach_notice_to_everyone_once_per_address(notice_env: Env) -> None:
    env = notice_env
    await _served(env)
    event = _event(env, _notice(env))
    assert await env.notify.notices.take(event, consumer=QUEUE)
    assert not await env.notify.notices.take(event, consumer=QUEUE)  # redelivered
    # The same notice in another event (a replay): nothing more.
    replay = _event(env, _notice(env))
    assert replay.event_id != event.event_id
    assert await env.notify.notices.take(replay, consumer=QUEUE)
    assert await env.notify.notices.fan_out() == 6  # three accounts, three offices
    assert await env.notify.notices.fan_out() == 0
    sent = await _notices_sent(env)
    assert sorted(sent) == sorted(
        ["paul@example.fr", "lea@example.re", "marc@example.fr", *OFFICES.values()]
    )
    assert len(env.mail.sent) == 6
    reunion = _body(sent["lea@example.re"])
    assert BREACH.nature in reunion
    assert BREACH.contact in reunion
    assert "heure légale de La Réunion" in reunion
    assert "heure légale de la Guadeloupe" in _body(sent["marc@example.fr"])
    assert "violation de données" in str(sent["paul@example.fr"]["Subject"])
    # The evidence: one notification-sent per address, naming the party, not the address.
    evidence = await _evidence(env, "notification-sent")
    assert len(evidence) == 6
    parties = sorted(e["payload"]["recipient"] for e in evidence)
    assert parties == sorted(
        ["account:acc-1", "account:acc-2", "account:acc-3", *(f"office:{o}" for o in OFFICES)]
    )
    assert {e["payload"]["kind"] for e in evidence} == {NotificationKind.BREACH_NOTICE.value}
    assert {e["subject"] for e in evidence} == {"notice:notice-1"}
    assert not any(address in json.dumps(e) for address in sent for e in evidence)


async def test_scoped_to_an_office_reaches_only_the_accounts_it_served(notice_env: Env) -> None:
    env = notice_env
    await _served(env)
    await env.notify.notices.take(_event(env, _notice(env, offices=["etude-a"])), QUEUE)
    await env.notify.notices.fan_out()
    sent = await _notices_sent(env)
    assert sorted(sent) == ["greffe@etude-a.example.fr", "lea@example.re", "paul@example.fr"]


async def test_scoped_to_a_territory_reaches_its_accounts_and_their_offices(
    notice_env: Env,
) -> None:
    env = notice_env
    await _served(env)
    await env.notify.notices.take(_event(env, _notice(env, territories=["guadeloupe"])), QUEUE)
    await env.notify.notices.fan_out()
    sent = await _notices_sent(env)
    assert sorted(sent) == ["greffe@etude-b.example.fr", "marc@example.fr"]


async def test_a_restart_mid_fan_out_sends_nobody_twice(
    notice_env: Env, sqlite_store: DocumentStore
) -> None:
    env = notice_env
    await _served(env)
    await env.notify.notices.take(_event(env, _notice(env)), QUEUE)
    assert await env.notify.notices.fan_out(max_batches=1) == 2  # then the process stops
    [job] = await sqlite_store.find(NOTICE_FANOUTS)
    assert not job["done"]
    # A batch written again (its cursor lost) records nothing twice.
    await sqlite_store.update(NOTICE_FANOUTS, {"_id": job["_id"]}, {"cursor": ""})
    restarted = _notify(env, sqlite_store, batch=2)
    await restarted.notices.fan_out()
    await restarted.notices.fan_out()
    while await restarted.sending.send_next():
        pass
    assert len(env.mail.sent) == 6
    assert len({str(m["To"]) for m in env.mail.sent}) == 6
    [job] = await sqlite_store.find(NOTICE_FANOUTS)
    assert job["done"]
    assert job["offices"] == 3


async def test_two_accounts_sharing_an_address_get_one_message(notice_env: Env) -> None:
    env = notice_env
    for account in ("acc-1", "acc-2"):
        event = act_served(env.clock, act_id=account, account_id=account, email="foyer@example.fr")
        await env.notify.intake.take(event, consumer="notify.urgent")
    await env.drain()
    env.mail.sent.clear()
    await env.notify.notices.take(_event(env, _notice(env, offices=["office-7"])), QUEUE)
    await env.notify.notices.fan_out()
    sent = await _notices_sent(env)
    assert list(sent) == ["foyer@example.fr"]
    # office-7 is not in the directory: its failure is evidence, no message.
    failed = await _evidence(env, "notification-failed")
    assert [f["payload"]["recipient"] for f in failed] == ["office:office-7"]


async def test_counted_as_sent_only_when_the_relay_accepted_it(notice_env: Env) -> None:
    env = notice_env
    await _served(env)
    env.mail.failures.append(PermanentDeliveryError("smtp 550 5.1.1 <adresse>: user unknown"))
    await env.notify.notices.take(_event(env, _notice(env, offices=["etude-b"])), QUEUE)
    await env.notify.notices.fan_out()
    await env.drain()
    sent = await _evidence(env, "notification-sent")
    failed = await _evidence(env, "notification-failed")
    assert len(sent) == 1
    assert len(failed) == 1
    assert failed[0]["payload"]["permanent"] is True
    assert {sent[0]["payload"]["recipient"], failed[0]["payload"]["recipient"]} == {
        "account:acc-3",
        "office:etude-b",
    }


async def test_maintenance_notice_in_each_persons_legal_time(notice_env: Env) -> None:
    env = notice_env
    await _served(env)
    starts = env.clock.now() + timedelta(days=3)
    notice = UserNoticeIssuedV1(
        notice_id="notice-m",
        kind=NoticeKind.MAINTENANCE,
        territories=["reunion"],
        offices=[],
        issued_at=env.clock.now(),
        issued_by="operateur-1",
        maintenance=MaintenanceFacts(
            maintenance_id="m-1",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            services=["delivery"],
            description="Mise à jour du stockage des actes.",
        ),
    )
    await env.notify.notices.take(_event(env, notice), QUEUE)
    await env.notify.notices.fan_out()
    sent = await _notices_sent(env)
    assert sorted(sent) == ["greffe@etude-a.example.fr", "lea@example.re"]
    person = _body(sent["lea@example.re"])
    # 6 March 2031, 10:00 UTC: 14:00 in La Réunion (UTC+4), 11:00 in Paris.
    assert "jeudi 6 mars 2031 à 14 h 00 (heure légale de La Réunion)" in person
    assert "Mise à jour du stockage des actes." in person
    assert "11 h 00 (heure légale de Paris)" in _body(sent["greffe@etude-a.example.fr"])
    assert "Maintenance programmée" in str(sent["lea@example.re"]["Subject"])


async def test_the_operator_follows_a_notices_sending(notice_env: Env) -> None:
    env = notice_env
    await _served(env)
    env.mail.failures.append(PermanentDeliveryError("smtp 550 5.1.1 <adresse>: user unknown"))
    await env.notify.notices.take(_event(env, _notice(env, offices=["etude-a"])), QUEUE)
    await env.notify.notices.fan_out()
    signer = TokenSigner(env.clock, "notify", lifetime=timedelta(minutes=5))
    app = FastAPI()
    install_problem_handlers(app)
    install_refusal_handlers(app)
    app.include_router(notifications_router(env.notify))
    install_token_verifier(app, signer.verifier())
    operator = {"Authorization": f"Bearer {signer.token(sub='op-1', role='operator')}"}
    office = {
        "Authorization": f"Bearer {signer.token(sub='o', role='office', office_id='etude-a')}"
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notify") as http:
        before = await http.get("/v1/notices/notice-1", headers=operator)
        assert before.status_code == 200, before.text
        assert before.json()["fanned_out"] is True
        assert (before.json()["queued"], before.json()["sent"]) == (3, 0)
        await env.drain()
        after = (await http.get("/v1/notices/notice-1", headers=operator)).json()
        assert (after["accounts"], after["offices"]) == (2, 1)
        assert (after["sent"], after["failed"], after["queued"]) == (2, 1, 0)
        assert (await http.get("/v1/notices/notice-1", headers=office)).status_code == 403
        unknown = await http.get("/v1/notices/nope", headers=operator)
        assert unknown.status_code == 404
        assert unknown.json()["type"].endswith("notice-not-found")
