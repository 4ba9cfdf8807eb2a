"""Retention stopped in the middle of an erasure, on the real bus and real SeaweedFS:
the requests were published, the process stops before any confirmation is
processed, a new process starts on the same store. Nothing fires twice; the confirmations
then complete the erasure with exactly one certificate; and a participant that never confirms
raises `retention.erasure-overdue.v1` once the deadline passes — never a silent partial
erasure.

What leaves retention is watched on the bus itself (a queue of the test's own bound to
`retention.#`), so "published once" means published once, not "written once to the outbox".
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aio_pika
import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from retention.erasure import ErasureState
from retention.main import create_app
from retention.repository import CERTIFICATES, ERASURES, SCHEDULES
from retention.service import Retention
from retention.settings import Settings
from shared.clock import ManualClock
from shared.contracts.consent import DeclarationRegisteredV1, PersonKind
from shared.contracts.delivery import ActServedV1
from shared.contracts.envelope import Envelope, EventPayload, new_envelope
from shared.contracts.identity import AccountTerminatedV1, TerminationReason
from shared.contracts.retention import (
    AccountActsErasedV1,
    ContactDataPurgedV1,
    ErasedAct,
    SubjectKeysShreddedV1,
)
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.topology import Topology
from shared.store.port import DocumentStore
from tests.fixtures.rabbit import AMQP_URL
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.support.services import eventually, running, service_env

TERMINATED = datetime(2030, 12, 31, 9, 0, tzinfo=UTC)
# Terminated 31 Dec: readable until 28 Feb 24:00 in Paris (CPC 641/642 counting), then erased.
DUE = datetime(2031, 2, 28, 23, 0, tzinfo=UTC)
SERVED = datetime(2030, 11, 4, 9, 30, tzinfo=UTC)
EMAIL = "camille.durand@example.org"
ERASURE_ID = "erasure|account_erasure|account:acc-1"
TIMEOUT_HOURS = 72.0
IN_PROGRESS, COMPLETED = ErasureState.IN_PROGRESS, ErasureState.COMPLETED

ACTS_REQUESTED = "retention.account-acts-erasure-requested.v1"
CONTACTS_REQUESTED = "retention.contact-data-purge-requested.v1"
SHRED_REQUESTED = "retention.subject-keys-shred-requested.v1"
CERTIFIED = "retention.erasure-certificate-issued.v2"
OVERDUE = "retention.erasure-overdue.v1"


def retention_settings(tmp_path: Path, bus_prefix: str, s3: S3Server, bucket: str) -> Settings:
    """One deployment: a restarted process gets the same store, keys and bucket."""
    return Settings(
        **service_env(tmp_path / "retention", bus_prefix),
        kek_file=tmp_path / "kek.json",
        signing_key_file=tmp_path / "signing.json",
        s3_endpoint=s3.endpoint,
        s3_access_key=SecretStr(s3.access_key),
        s3_secret_key=SecretStr(s3.secret_key),
        s3_bucket=bucket,
        scheduler_interval_seconds=3600,  # one pass at start; the test drives the others
        confirmation_timeout_hours=TIMEOUT_HOURS,
        receipt_attempts=1,
        receipt_retry_seconds=0,
    )


def _audit_unavailable(_request: httpx.Request) -> httpx.Response:
    # Receipts are not what this test is about: the certificate lists them as missing.
    return httpx.Response(503, json={"title": "audit unavailable"})


def retention_app(settings: Settings, clock: ManualClock) -> FastAPI:
    audit = httpx.AsyncClient(
        transport=httpx.MockTransport(_audit_unavailable), base_url="http://audit"
    )
    return create_app(settings, clock=clock, audit_http=audit)


class Published:
    """Every `retention.*` event that reached the bus, in arrival order."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    def of(self, event_type: str) -> list[Envelope]:
        return [e for e in self.envelopes if e.type == event_type]

    def counts(self) -> Counter[str]:
        return Counter(e.type for e in self.envelopes)


@asynccontextmanager
async def watching(bus_prefix: str) -> AsyncIterator[Published]:
    published = Published()

    async def received(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            published.envelopes.append(Envelope.model_validate_json(message.body))

    connection = await aio_pika.connect_robust(AMQP_URL)
    try:
        channel = await connection.channel()
        events = Topology(bus_prefix).events
        exchange = await channel.declare_exchange(
            events.name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(f"{bus_prefix}test.watch", exclusive=True)
        await queue.bind(exchange, routing_key="retention.#")
        await queue.consume(received)
        yield published
    finally:
        await connection.close()


class Participants:
    """Publishes on the real bus what the other services would."""

    def __init__(self, publisher: EventPublisher, clock: ManualClock) -> None:
        self._publisher = publisher
        self._clock = clock

    async def publish(self, payload: EventPayload, subject: str = "account:acc-1") -> None:
        await self._publisher.publish(
            new_envelope(payload, subject=subject, actor="test", clock=self._clock)
        )

    async def account_with_an_act_terminated(self) -> None:
        await self.publish(
            DeclarationRegisteredV1(
                declaration_id="decl-1", person_kind=PersonKind.NATURAL, email=EMAIL
            ),
            "declaration:decl-1",
        )
        await self.publish(
            ActServedV1(
                act_id="act-1",
                declaration_id="decl-1",
                recipient_account_id="acc-1",
                recipient_email=EMAIL,
                act_nature="signification de jugement",
                office_id="office-1",
                office_name="Étude Martin",
                served_at=SERVED,
                portal_url="http://portal",
                act_sha256="ab" * 32,
            ),
            "act:act-1",
        )
        await self.publish(
            AccountTerminatedV1(
                account_id="acc-1",
                declaration_id="decl-1",
                terminated_at=TERMINATED,
                reason=TerminationReason.RECIPIENT_REQUEST,
            )
        )

    async def delivery_erased(self) -> None:
        now = self._clock.now()
        await self.publish(
            AccountActsErasedV1(
                erasure_id=ERASURE_ID,
                account_id="acc-1",
                acts=[ErasedAct(act_id="act-1", sha256="ab" * 32, served_at=SERVED, erased_at=now)],
                erased_at=now,
            )
        )

    async def identity_purged(self) -> None:
        await self.publish(
            ContactDataPurgedV1(
                erasure_id=ERASURE_ID, account_id="acc-1", purged_at=self._clock.now()
            )
        )

    async def audit_shredded(self) -> None:
        await self.publish(
            SubjectKeysShreddedV1(
                erasure_id=ERASURE_ID,
                subjects=["account:acc-1", "declaration:decl-1", "act:act-1"],
                shredded_at=self._clock.now(),
            ),
            f"erasure:{ERASURE_ID}",
        )


@asynccontextmanager
async def participants(bus_prefix: str, clock: ManualClock) -> AsyncIterator[Participants]:
    broker = create_broker(AMQP_URL)
    await broker.connect()
    try:
        yield Participants(EventPublisher(broker, Topology(bus_prefix)), clock)
    finally:
        await broker.stop()


async def fire_then_stop(
    settings: Settings, clock: ManualClock, others: Participants, published: Published
) -> None:
    """First process: schedule from the events, fire at the due date, see the requests
    published, then stop before any confirmation is processed."""
    first = retention_app(settings, clock)
    retention: Retention = first.state.retention
    store: DocumentStore = first.state.runtime.store
    async with running(first):
        await first.state.runtime.objects.ensure_bucket()
        await others.account_with_an_act_terminated()

        async def scheduled() -> bool:
            return await store.count(SCHEDULES) == 1 and await store.count("served_acts") == 1

        await eventually(scheduled, within=15)
        clock.set(DUE + timedelta(minutes=1))
        assert (await retention.schedules.run_due()).fired == 1

        async def requested() -> bool:
            return bool(published.of(ACTS_REQUESTED) and published.of(CONTACTS_REQUESTED))

        await eventually(requested, within=15)
        erasure = await store.get(ERASURES, ERASURE_ID)
        assert erasure is not None
        assert erasure["state"] == IN_PROGRESS
        assert erasure["confirmations"] == {}


async def test_restart_mid_erasure_fires_nothing_twice_and_issues_one_certificate(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    clock = ManualClock(TERMINATED)
    settings = retention_settings(tmp_path, bus_prefix, s3_server, random_bucket_name())
    async with watching(bus_prefix) as published, participants(bus_prefix, clock) as others:
        await fire_then_stop(settings, clock, others, published)
        # While retention is down the confirmations wait in its durable queue; a participant
        # confirming twice (it saw the request twice) changes nothing.
        await others.delivery_erased()
        await others.identity_purged()
        await others.identity_purged()

        second = retention_app(settings, clock)
        retention: Retention = second.state.retention
        store: DocumentStore = second.state.runtime.store
        async with running(second):
            # The restarted process's first pass found nothing left to fire.
            assert (await retention.schedules.run_due()).fired == 0

            async def shred_requested() -> bool:
                return bool(published.of(SHRED_REQUESTED))

            await eventually(shred_requested, within=15)
            await others.audit_shredded()

            async def certified() -> bool:
                return bool(published.of(CERTIFIED))

            await eventually(certified, within=15)
            # Later passes (this replica, or one more restart) issue nothing more.
            assert (await retention.schedules.run_due()).fired == 0
            assert await retention.certificates.issue_pending() == 0
            await asyncio.sleep(1.0)  # anything published twice would have arrived by now

            assert await store.count(CERTIFICATES) == 1
            erasure = await store.get(ERASURES, ERASURE_ID)
            assert erasure is not None
            assert erasure["state"] == COMPLETED
            assert set(erasure["confirmations"]) == {"delivery", "identity", "audit"}
            assert not erasure["alerted"]
            counts = published.counts()
            assert counts[ACTS_REQUESTED] == 1
            assert counts[CONTACTS_REQUESTED] == 1
            assert counts[SHRED_REQUESTED] == 1
            assert counts[CERTIFIED] == 1
            assert counts[OVERDUE] == 0
            [certificate] = published.of(CERTIFIED)
            assert certificate.payload["email"] == EMAIL
            assert retention.alerts_raised == 0


async def test_participant_that_never_confirms_raises_the_overdue_alert_after_a_restart(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    clock = ManualClock(TERMINATED)
    settings = retention_settings(tmp_path, bus_prefix, s3_server, random_bucket_name())
    async with watching(bus_prefix) as published, participants(bus_prefix, clock) as others:
        await fire_then_stop(settings, clock, others, published)

        second = retention_app(settings, clock)
        retention: Retention = second.state.retention
        store: DocumentStore = second.state.runtime.store
        async with running(second):
            await others.delivery_erased()
            await others.identity_purged()  # audit never confirms

            async def shred_requested() -> bool:
                return bool(published.of(SHRED_REQUESTED))

            await eventually(shred_requested, within=15)

            async def two_confirmations() -> bool:
                erasure = await store.get(ERASURES, ERASURE_ID)
                return erasure is not None and len(erasure["confirmations"]) == 2

            await eventually(two_confirmations, within=15)

            # Just before the deadline: still waiting, no alert.
            started = DUE + timedelta(minutes=1)
            clock.set(started + timedelta(hours=TIMEOUT_HOURS) - timedelta(seconds=1))
            assert await retention.erasures.check_overdue() == 0
            # Past it: one alert naming who is missing; a second pass does not repeat it.
            clock.set(started + timedelta(hours=TIMEOUT_HOURS, minutes=1))
            assert await retention.erasures.check_overdue() == 1
            assert await retention.erasures.check_overdue() == 0

            async def alerted() -> bool:
                return bool(published.of(OVERDUE))

            await eventually(alerted, within=15)
            [alert] = published.of(OVERDUE)
            assert alert.payload["erasure_id"] == ERASURE_ID
            assert alert.payload["missing"] == ["audit"]
            assert alert.payload["purpose"] == "account_erasure"
            # Never a silent partial erasure: incomplete, so no certificate claims otherwise.
            erasure = await store.get(ERASURES, ERASURE_ID)
            assert erasure is not None
            assert erasure["state"] == IN_PROGRESS
            assert erasure["alerted"]
            assert await retention.certificates.issue_pending() == 0
            assert await store.count(CERTIFICATES) == 0

        # A third process does not alert again, nor fire anything.
        third = retention_app(settings, clock)
        async with running(third):
            assert await third.state.retention.erasures.check_overdue() == 0
            assert (await third.state.retention.schedules.run_due()).fired == 0
            await asyncio.sleep(1.0)
        counts = published.counts()
        assert counts[OVERDUE] == 1
        assert counts[ACTS_REQUESTED] == 1
        assert counts[SHRED_REQUESTED] == 1
        assert counts[CERTIFIED] == 0
