"""Notify against a real SMTP server (aiosmtpd) and the real RabbitMQ: every
message kind, escaping, headers, French wording; 451 then accept; 550; relay down then up; the
same event twice; bulk CGU notices while acts are served."""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from notify.repository import NOTIFICATIONS
from shared.clock import SystemClock
from shared.contracts.notify import NotificationFailedV1, NotificationSentV1
from shared.messaging.outbox import OUTBOX
from tests.integration.notify.support import (
    SmtpServer,
    free_port,
    notify_running,
    notify_settings,
)
from tests.support.services import eventually
from tests.unit.notify import events

log = logging.getLogger(__name__)
SENT = NotificationSentV1.routing_key()
DASH = "\u2013"  # the en dash of the office subjects
FAILED = NotificationFailedV1.routing_key()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


async def _received(smtp: SmtpServer, count: int, within: float = 20.0) -> None:
    async def enough() -> bool:
        return len(smtp.handler.messages()) >= count

    await eventually(enough, within=within, every=0.05)


async def test_every_message_kind_arrives_in_french_with_its_headers(
    tmp_path: Path, bus_prefix: str, smtp: SmtpServer
) -> None:
    clock = SystemClock()
    async with notify_running(notify_settings(tmp_path, bus_prefix, smtp.port)) as notify:
        activation = events.activation(clock)
        await notify.publish(events.account_created(clock), activation)
        await _received(smtp, 1)
        act = events.act_served(clock)
        await notify.publish(
            events.password_reset(clock),
            act,
            events.lettre_simple_due(clock),
            events.reply_received(clock),
            events.consent_revoked(clock),
            events.account_terminated(clock),
            events.terms_notice(clock),
        )
        await _received(smtp, 8)
        await notify.publish(events.erasure_certificate(clock))
        await _received(smtp, 9)

        by_subject = {r.message["Subject"]: r for r in smtp.handler.messages()}
        assert set(by_subject) == {
            "Activez votre compte SECURACT",
            "Réinitialisation de votre mot de passe SECURACT",
            "Un acte vous a été signifié sur SECURACT",
            f"Lettre simple à envoyer {DASH} acte act-1",
            f"Réponse reçue {DASH} acte act-1",
            "Confirmation de la révocation de votre consentement",
            "Confirmation de la résiliation de votre compte SECURACT",
            "Nouvelles conditions générales d'utilisation de SECURACT",
            "Certificat d'effacement de vos données SECURACT",
        }
        for received in by_subject.values():
            message = received.message
            assert message["From"] == "SECURACT <ne-pas-repondre@securact.fr>"
            assert message["Auto-Submitted"] == "auto-generated"
            assert message["Content-Language"] == "fr"
            assert message["List-Unsubscribe"] is None
            assert message["Message-ID"].endswith("@notify.securact.test>")
            assert message.get_content_type() == "multipart/alternative"
            assert "Bonjour," in _text(message)
            assert '<html lang="fr">' in _html(message)

        # Its download link fetched from retention when sent.
        certificate = by_subject["Certificat d'effacement de vos données SECURACT"]
        assert events.CERTIFICATE_URL in _text(certificate.message)

        served = by_subject["Un acte vous a été signifié sur SECURACT"]
        assert served.rcpt_tos == ("jean.dupont@example.fr",)
        assert served.message["Message-ID"].startswith(f"<{act.event_id}.email.")
        html, text = _html(served.message), _text(served.message)
        assert "<script>" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;Étude&lt;/b&gt;" in html
        assert f"Nature de l'acte : {events.ACT_NATURE_LABEL}\r\n" in text
        assert events.ACT_NATURE_LABEL.replace("'", "&#39;") in html
        assert events.ACT_NATURE not in html + text
        assert "https://portail.securact.test/actes" in text
        assert events.ACT_SECRET not in html + text
        activation_mail = by_subject["Activez votre compte SECURACT"].message
        assert activation_mail["Message-ID"].startswith(f"<{activation.event_id}.email.")
        assert "jdupont-42" in _text(activation_mail)
        # Fetched from identity (here its stand-in) when sent: the event only names it.
        assert events.ACTIVATION_URL in _text(activation_mail)
        office = by_subject[f"Lettre simple à envoyer {DASH} acte act-1"]
        assert office.rcpt_tos == ("etude.dupont@huissiers.fr",)

        async def all_recorded() -> bool:
            return len(await notify.outbox_events(SENT)) == 9

        await eventually(all_recorded)
        notice = next(
            e for e in await notify.outbox_events(SENT) if e["payload"]["kind"] == "terms_notice"
        )
        assert notice["payload"]["deemed_received_on"] is not None


async def test_451_then_accept_delivers_one_message(
    tmp_path: Path, bus_prefix: str, smtp: SmtpServer
) -> None:
    smtp.handler.data_script.append("451 4.3.0 Try again later")
    async with notify_running(notify_settings(tmp_path, bus_prefix, smtp.port)) as notify:
        await notify.publish(events.act_served(SystemClock()))
        await _received(smtp, 1)

        async def recorded() -> bool:
            return len(await notify.outbox_events(SENT)) == 1

        await eventually(recorded)
        await asyncio.sleep(0.5)
        assert len(smtp.handler.messages()) == 1
        assert smtp.handler.refusals == 1
        [sent] = await notify.outbox_events(SENT)
        assert sent["payload"]["attempts"] == 2
        assert await notify.outbox_events(FAILED) == []


async def test_550_publishes_a_failure_with_the_reason(
    tmp_path: Path, bus_prefix: str, smtp: SmtpServer
) -> None:
    smtp.handler.rcpt_script.append("550 5.1.1 <jean.dupont@example.fr>: Recipient unknown")
    async with notify_running(notify_settings(tmp_path, bus_prefix, smtp.port)) as notify:
        await notify.publish(events.act_served(SystemClock()))

        async def failed() -> bool:
            return len(await notify.outbox_events(FAILED)) == 1

        await eventually(failed)
        [failure] = await notify.outbox_events(FAILED)
        assert failure["payload"]["reason"] == (
            "smtp 550 recipient refused: 5.1.1 <adresse>: Recipient unknown"
        )
        assert failure["payload"]["permanent"] is True
        assert failure["payload"]["attempts"] == 1
        assert failure["subject"] == "act:act-1"
        assert "jean.dupont" not in str(failure)
        assert smtp.handler.messages() == []


async def test_a_relay_that_is_down_gets_the_message_when_it_comes_back(
    tmp_path: Path, bus_prefix: str
) -> None:
    smtp = SmtpServer(free_port())  # nothing listens yet
    settings = notify_settings(tmp_path, bus_prefix, smtp.port, retry_max_attempts=50)
    async with notify_running(settings) as notify:
        await notify.publish(events.act_served(SystemClock()))

        async def retried() -> bool:
            rows = await notify.runtime.store.find(NOTIFICATIONS, {})
            return bool(rows) and rows[0]["attempts"] >= 2

        await eventually(retried)
        [row] = await notify.runtime.store.find(NOTIFICATIONS, {})
        assert row["reason"].startswith("smtp connection failed")
        smtp.start()
        try:
            await _received(smtp, 1)
            await asyncio.sleep(0.5)
            assert len(smtp.handler.messages()) == 1
        finally:
            smtp.stop()
        assert await notify.outbox_events(FAILED) == []


async def test_the_same_event_delivered_twice_sends_one_message(
    tmp_path: Path, bus_prefix: str, smtp: SmtpServer
) -> None:
    async with notify_running(notify_settings(tmp_path, bus_prefix, smtp.port)) as notify:
        envelope = events.act_served(SystemClock())
        await notify.publish(envelope)
        await _received(smtp, 1)
        # The relay publishes the same row again (as after a crash before marking it sent).
        store = notify.runtime.store
        assert await store.update(OUTBOX, {"_id": envelope.event_id}, {"sent": False})
        notify.runtime.outbox.pending.set()

        async def republished() -> bool:
            row = await store.get(OUTBOX, envelope.event_id)
            return row is not None and row["sent"] is True

        await eventually(republished)
        await asyncio.sleep(1.0)
        assert len(smtp.handler.messages()) == 1
        assert len(await notify.outbox_events(SENT)) == 1


async def test_bulk_cgu_notices_do_not_delay_act_notifications(
    tmp_path: Path, bus_prefix: str, smtp: SmtpServer
) -> None:
    notices, acts = 1000, 20
    clock = SystemClock()
    settings = notify_settings(tmp_path, bus_prefix, smtp.port, domain_rate_per_second=2000.0)
    async with notify_running(settings) as notify:
        await notify.publish(
            *(
                events.terms_notice(clock, account_id=f"a{n}", email=f"user{n}@example.fr")
                for n in range(notices)
            )
        )
        await _received(smtp, 50, within=60)  # the bulk run is under way
        published: dict[str, float] = {}
        for n in range(acts):
            envelope = events.act_served(
                clock, act_id=f"act-{n}", email=f"dest{n}@example.fr", account_id=f"r{n}"
            )
            published[f"dest{n}@example.fr"] = envelope.occurred_at.timestamp()
            await notify.publish(envelope)
            await asyncio.sleep(0.05)
        await _received(smtp, notices + acts, within=120)

        received = smtp.handler.messages()
        delays = sorted(
            r.at - published[r.rcpt_tos[0]] for r in received if r.rcpt_tos[0] in published
        )
        assert len(delays) == acts
        p95 = statistics.quantiles(delays, n=20)[-1]
        last_act = max(i for i, r in enumerate(received) if r.rcpt_tos[0] in published)
        log.warning(
            "act e-mail delay during a %d-notice bulk run: p50 %.3f s, p95 %.3f s, max %.3f s",
            notices,
            statistics.median(delays),
            p95,
            delays[-1],
        )
        # Acts did not queue behind the notices: all delivered while notices still flowed.
        assert last_act < len(received) - 100
        assert p95 < 2.0
