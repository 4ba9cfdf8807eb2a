"""Notify's use cases: intake, exactly-once, retries, failures, priorities, evidence events."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

from notify.domain import State
from notify.ports import PermanentDeliveryError, TransientDeliveryError
from notify.repository import NOTIFICATIONS
from shared.contracts.notify import NotificationFailedV1, NotificationSentV1
from shared.legal_calendar import Territory
from shared.messaging.consumer import RetryPolicy
from shared.store.port import from_iso
from tests.unit.notify import events
from tests.unit.notify.conftest import Env, EnvFactory

SENT = NotificationSentV1.routing_key()
FAILED = NotificationFailedV1.routing_key()


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


async def test_act_served_mails_the_recipient_with_escaped_office_name(env: Env) -> None:
    envelope = events.act_served(env.clock)
    assert await env.take(envelope)
    assert await env.drain() == 1

    [message] = env.mail.sent
    assert message["To"] == "jean.dupont@example.fr"
    assert message["Subject"] == "Un acte vous a été signifié sur SECURACT"
    assert message["Message-ID"].startswith(f"<{envelope.event_id}.email.")
    assert message["Message-ID"].endswith("@notify.securact.test>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] is None
    assert message["Content-Language"] == "fr"
    html = _html(message)
    assert "<script>" not in html
    assert "<b>Étude</b>" not in html
    assert "&lt;script&gt;" in html
    assert "Dupont &amp; Associés" in html
    label_html = events.ACT_NATURE_LABEL.replace("'", "&#39;")
    assert f"<strong>{label_html}</strong>" in html
    text = _text(message)
    assert "Un acte vous a été signifié" in text
    assert f"Nature de l'acte : {events.ACT_NATURE_LABEL}\n" in text
    assert events.ACT_NATURE not in text + html
    assert "https://portail.securact.test/actes" in text
    assert events.ACT_SECRET not in text + html
    [sent] = await env.events(SENT)
    assert sent["subject"] == "act:act-1"
    assert sent["payload"]["recipient_masked"] == "j***@example.fr"
    assert sent["payload"]["accepted_at"] == "2031-03-03T10:00:00Z"
    assert sent["payload"]["deemed_received_on"] is None
    assert "jean.dupont" not in str(sent)


async def test_act_served_with_a_mobile_also_sends_an_sms(env: Env) -> None:
    await env.take(events.act_served(env.clock, mobile="+33612345678"))
    assert await env.drain() == 2
    [sms] = env.sms.sent
    assert sms.to == "+33612345678"
    assert "un acte vous a été signifié" in sms.text
    channels = sorted(e["payload"]["channel"] for e in await env.events(SENT))
    assert channels == ["email", "sms"]


async def test_the_same_event_delivered_twice_sends_one_message(env: Env) -> None:
    envelope = events.act_served(env.clock)
    assert await env.take(envelope)
    assert not await env.take(envelope)
    await env.drain()
    assert not await env.take(envelope)  # after sending too
    await env.drain()
    assert len(env.mail.sent) == 1
    assert len(await env.rows()) == 1


async def test_a_batch_of_events_sends_one_message_per_event_and_address(env: Env) -> None:
    served = events.act_served(env.clock)
    other = events.act_served(env.clock, act_id="act-2")
    assert await env.take(served)  # delivered before, one by one

    intake = env.notify.intake
    taken = await intake.take_many([served, other, other], consumer="notify.urgent")
    assert taken == [False, True, False]
    assert await intake.take_many([other], consumer="notify.urgent") == [False]
    await env.drain()
    assert len(env.mail.sent) == 2
    assert len(await env.rows()) == 2


async def test_a_transient_failure_is_retried_after_a_backoff(env: Env) -> None:
    env.mail.failures.append(TransientDeliveryError("smtp 451 4.3.0 try later"))
    await env.take(events.act_served(env.clock))
    assert await env.drain() == 1
    [row] = await env.rows()
    assert row["state"] == State.QUEUED.value
    assert row["reason"] == "smtp 451 4.3.0 try later"
    assert await env.drain() == 0  # not due yet: the backoff holds it

    env.clock.advance(timedelta(seconds=10))
    assert await env.drain() == 1
    assert len(env.mail.sent) == 1
    [sent] = await env.events(SENT)
    assert sent["payload"]["attempts"] == 2
    assert await env.events(FAILED) == []


async def test_a_permanent_refusal_publishes_a_failure_with_its_reason(env: Env) -> None:
    env.mail.failures.append(PermanentDeliveryError("smtp 550 5.1.1 <adresse>: user unknown"))
    await env.take(events.act_served(env.clock))
    await env.drain()
    env.clock.advance(timedelta(hours=1))
    assert await env.drain() == 0
    [failed] = await env.events(FAILED)
    assert failed["payload"]["reason"] == "smtp 550 5.1.1 <adresse>: user unknown"
    assert failed["payload"]["permanent"] is True
    assert failed["subject"] == "act:act-1"
    [row] = await env.rows()
    assert row["state"] == State.FAILED.value
    assert row["address"] is None
    assert row["content"] is None


async def test_transient_failures_end_in_a_failure_after_the_bounded_attempts(env: Env) -> None:
    env.mail.failures.extend(TransientDeliveryError("smtp timeout") for _ in range(5))
    await env.take(events.act_served(env.clock))
    for _ in range(5):
        await env.drain()
        env.clock.advance(timedelta(minutes=2))
    assert env.mail.attempts == 3
    [failed] = await env.events(FAILED)
    assert failed["payload"]["reason"] == "gave up after 3 attempts: smtp timeout"
    assert failed["payload"]["permanent"] is False


async def test_backoff_grows_with_jitter_and_stays_bounded(make_env: EnvFactory) -> None:
    env = make_env(
        retry=RetryPolicy(
            max_attempts=8, first_delay=timedelta(seconds=10), max_delay=timedelta(seconds=30)
        )
    )
    env.mail.failures.extend(TransientDeliveryError("smtp 421") for _ in range(5))
    await env.take(events.act_served(env.clock))
    delays = []
    for _ in range(5):
        before = env.clock.now()
        assert await env.drain() == 1
        [row] = await env.rows()
        due = from_iso(row["next_attempt_at"])
        delays.append((due - before).total_seconds())
        env.clock.set(due)
    # Equal jitter: between half and all of 10, 20, 30 (capped), 30, 30 seconds.
    steps = [10, 20, 30, 30, 30]
    assert all(step / 2 <= delay <= step for delay, step in zip(delays, steps, strict=True))
    assert await env.drain() == 1
    assert len(env.mail.sent) == 1


async def test_an_invalid_mobile_number_is_a_failure_at_once(env: Env) -> None:
    await env.take(events.act_served(env.clock, mobile="0612"))
    await env.drain()
    assert len(env.mail.sent) == 1
    assert env.sms.sent == []
    [failed] = await env.events(FAILED)
    assert failed["payload"]["channel"] == "sms"
    assert failed["payload"]["reason"] == "invalid mobile number (E.164 expected)"


async def test_termination_confirmation_goes_to_the_address_identity_gave(env: Env) -> None:
    await env.take(events.account_created(env.clock))
    await env.take(events.activation(env.clock, email="jean@example.fr"))
    await env.take(events.account_terminated(env.clock))
    await env.drain()
    subjects = [(m["To"], m["Subject"]) for m in env.mail.sent]
    assert subjects[-1] == (
        "jean@example.fr",
        "Confirmation de la résiliation de votre compte SECURACT",
    )


async def test_confirmation_without_any_known_address_is_a_recorded_failure(env: Env) -> None:
    await env.take(events.account_terminated(env.clock, account_id="acc-unknown"))
    assert await env.drain() == 0
    [failed] = await env.events(FAILED)
    assert failed["payload"]["reason"] == "no address known for this recipient"


async def test_revocation_before_any_account_uses_the_declared_address(env: Env) -> None:
    await env.take(events.declaration_registered(env.clock, email="decl@example.fr"))
    await env.take(events.consent_revoked(env.clock, account_id=None))
    await env.drain()
    [message] = env.mail.sent
    assert message["To"] == "decl@example.fr"
    assert "révocation" in message["Subject"]


async def test_the_erasure_certificate_is_sent_and_the_contact_forgotten(env: Env) -> None:
    await env.take(events.activation(env.clock))
    await env.take(events.erasure_certificate(env.clock))
    await env.drain()
    assert env.mail.sent[-1]["Subject"] == "Certificat d'effacement de vos données SECURACT"
    assert await env.store.count("contacts") == 0
    # A later confirmation for that account has nobody to go to.
    await env.take(events.account_terminated(env.clock))
    assert await env.drain() == 0


async def test_purge_forgets_the_contact_data_of_an_account(env: Env) -> None:
    await env.take(events.account_created(env.clock))
    await env.take(events.activation(env.clock))
    assert await env.store.count("contacts") == 1
    assert await env.notify.contacts.purge_contacts("acc-1") == 1
    assert await env.store.count("contacts") == 0


async def test_terms_notice_is_deemed_received_on_the_next_business_day(env: Env) -> None:
    env.clock.set(events.instant(2031, 5, 23, 10))  # a Friday
    await env.take(events.terms_notice(env.clock), queue="notify.bulk")
    await env.drain()
    [sent] = await env.events(SENT)
    # Monday 26 May is a working day everywhere: deemed received then.
    assert sent["payload"]["deemed_received_on"] == "2031-05-26"


async def test_deemed_received_date_skips_a_holiday(make_env: EnvFactory) -> None:
    env = make_env(deemed_received_territories=(Territory.METROPOLE,))
    env.clock.set(events.instant(2031, 7, 11, 10))  # Friday before 14 July (a Monday)
    await env.take(events.terms_notice(env.clock), queue="notify.bulk")
    await env.drain()
    [sent] = await env.events(SENT)
    assert sent["payload"]["deemed_received_on"] == "2031-07-15"


async def test_an_act_overtakes_bulk_notices_already_queued(env: Env) -> None:
    for n in range(20):
        await env.take(events.terms_notice(env.clock, account_id=f"a{n}"), queue="notify.bulk")
    env.clock.advance(timedelta(seconds=1))
    await env.take(events.act_served(env.clock))
    assert await env.notify.sending.send_next()
    assert env.mail.sent[0]["Subject"] == "Un acte vous a été signifié sur SECURACT"


async def test_the_domain_rate_limit_spaces_messages(make_env: EnvFactory) -> None:
    env = make_env(domain_rate_per_second=1.0, domain_burst=2)
    for n in range(4):
        await env.take(events.terms_notice(env.clock, account_id=f"a{n}"), queue="notify.bulk")
    assert await env.drain() == 2
    env.clock.advance(timedelta(seconds=1))
    assert await env.drain() == 1
    env.clock.advance(timedelta(seconds=5))
    assert await env.drain() == 1
    assert len(env.mail.sent) == 4


async def test_the_rate_limit_is_per_destination_domain(make_env: EnvFactory) -> None:
    env = make_env(domain_rate_per_second=1.0, domain_burst=1)
    await env.take(events.terms_notice(env.clock, account_id="a", email="a@one.fr"), "notify.bulk")
    await env.take(events.terms_notice(env.clock, account_id="b", email="b@one.fr"), "notify.bulk")
    await env.take(events.terms_notice(env.clock, account_id="c", email="c@two.fr"), "notify.bulk")
    assert await env.drain() == 2
    assert sorted(m["To"] for m in env.mail.sent) == ["a@one.fr", "c@two.fr"]


async def test_a_stale_claim_after_data_is_sent_again_with_the_same_message_id(
    env: Env,
) -> None:
    await env.take(events.act_served(env.clock))
    [row] = await env.rows()
    # A sender claimed it, started DATA and died before recording the outcome.
    claimed = {
        **row,
        "state": State.SENDING.value,
        "claimed_at": row["created_at"],
        "data_sent_at": row["created_at"],
        "attempts": 1,
    }
    await env.store.replace(NOTIFICATIONS, claimed, expected_version=row["_version"])
    assert await env.drain() == 0
    assert await env.notify.sending.recover_stale_claims() == 0  # not stale yet
    env.clock.advance(timedelta(minutes=6))
    assert await env.notify.sending.recover_stale_claims() == 1
    assert await env.drain() == 1
    [message] = env.mail.sent
    assert message["Message-ID"] == f"<{row['message_id']}>"
    [after] = await env.rows()
    assert after["state"] == State.SENT.value
    assert after["resent_after_crash"] == 1


async def test_a_stale_claim_before_data_is_sent_as_a_first_send(env: Env) -> None:
    await env.take(events.act_served(env.clock))
    [row] = await env.rows()
    # A sender claimed it and died before DATA: the relay never had the message.
    claimed = {**row, "state": State.SENDING.value, "claimed_at": row["created_at"], "attempts": 1}
    await env.store.replace(NOTIFICATIONS, claimed, expected_version=row["_version"])
    env.clock.advance(timedelta(minutes=6))
    assert await env.notify.sending.recover_stale_claims() == 1
    assert await env.drain() == 1
    assert len(env.mail.sent) == 1
    [after] = await env.rows()
    assert after["state"] == State.SENT.value
    assert after["resent_after_crash"] == 0
    assert after["data_sent_at"] == "2031-03-03T10:06:00.000000Z"


async def test_every_message_kind_is_sent_in_french(env: Env) -> None:
    clock = env.clock
    for envelope in (
        events.activation(clock),
        events.password_reset(clock),
        events.act_served(clock),
        events.lettre_simple_due(clock),
        events.reply_received(clock),
        events.consent_revoked(clock),
        events.account_terminated(clock),
        events.erasure_certificate(clock),
    ):
        await env.take(envelope)
    await env.take(events.terms_notice(clock), queue="notify.bulk")
    await env.drain()
    subjects = sorted(m["Subject"] for m in env.mail.sent)
    assert len(subjects) == 9
    assert all("SECURACT" in s or "acte" in s or "consentement" in s for s in subjects)
    for message in env.mail.sent:
        assert "Bonjour," in _text(message)
        assert "Merci de ne pas y répondre." in _html(message)
    office = [m for m in env.mail.sent if m["To"] == "etude.dupont@huissiers.fr"]
    assert len(office) == 2
    lettre = next(m for m in office if "Lettre simple" in m["Subject"])
    assert "SCI &lt;Les Tilleuls&gt;" in _html(lettre)
    assert "mardi 4 mars 2031" in _text(lettre)
    assert f"Nature : {events.ACT_NATURE_LABEL}\n" in _text(lettre)
    assert events.ACT_NATURE_LABEL.replace("'", "&#39;") in _html(lettre)
    assert events.ACT_NATURE not in _text(lettre) + _html(lettre)
