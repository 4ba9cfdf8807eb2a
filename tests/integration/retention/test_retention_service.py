"""Retention as a process on the real bus and real SeaweedFS: events in → schedules; a due
schedule → requests out through the outbox relay; confirmations in → an encrypted, signed
certificate and its event; holds through the operator API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

from retention.certificate import verify_certificate
from retention.consumers import QUEUES
from retention.main import create_app
from retention.repository import SCHEDULES
from retention.service import Retention
from retention.settings import Settings
from shared.clock import ManualClock
from shared.contracts.consent import DeclarationRegisteredV1, PersonKind
from shared.contracts.delivery import ActServedV1
from shared.contracts.envelope import EventPayload, new_envelope
from shared.contracts.identity import (
    AccountCreatedV1,
    AccountRole,
    AccountTerminatedV1,
    TerminationReason,
)
from shared.contracts.retention import (
    AccountActsErasedV1,
    ContactDataPurgedV1,
    ErasedAct,
    SubjectKeysShreddedV1,
)
from shared.crypto import load_or_create_signing_ring
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.outbox import OUTBOX
from shared.messaging.topology import Topology
from shared.runtime import ServiceRuntime
from tests.fixtures.rabbit import AMQP_URL
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.support.services import eventually, running, service_env
from tests.unit.consent.support import Tokens

START = datetime(2030, 12, 31, 9, 0, tzinfo=UTC)
# Terminated 31 Dec: readable until 28 Feb 24:00 in Paris (CPC 641/642 counting), then erased.
DUE = datetime(2031, 2, 28, 23, 0, tzinfo=UTC)
SERVED = datetime(2030, 11, 4, 9, 30, tzinfo=UTC)
EMAIL = "camille.durand@example.org"


def act(act_id: str) -> ActServedV1:
    return ActServedV1(
        act_id=act_id,
        declaration_id="decl-1",
        recipient_account_id="acc-1",
        recipient_email=EMAIL,
        act_nature="signification de jugement",
        office_id="office-1",
        office_name="Étude Martin",
        served_at=SERVED,
        portal_url="http://portal",
        act_sha256="ab" * 32,
    )


async def test_termination_to_certificate_over_the_real_bus_and_s3(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    clock = ManualClock(START)
    tokens = Tokens(clock)
    settings = Settings(
        **service_env(tmp_path, bus_prefix),
        kek_file=tmp_path / "kek.json",
        signing_key_file=tmp_path / "signing.json",
        s3_endpoint=s3_server.endpoint,
        s3_access_key=SecretStr(s3_server.access_key),
        s3_secret_key=SecretStr(s3_server.secret_key),
        s3_bucket=random_bucket_name(),
        scheduler_interval_seconds=0.2,
    )
    app = create_app(settings, clock=clock, token_verifier=tokens.verifier())
    runtime: ServiceRuntime = app.state.runtime
    retention: Retention = app.state.retention
    broker = create_broker(AMQP_URL)
    async with running(app) as client:
        assert runtime.objects is not None
        await runtime.objects.ensure_bucket()
        await broker.connect()
        publisher = EventPublisher(broker, Topology(bus_prefix))

        async def publish(payload: EventPayload, subject: str) -> None:
            await publisher.publish(
                new_envelope(payload, subject=subject, actor="test", clock=clock)
            )

        try:
            await publish(
                DeclarationRegisteredV1(
                    declaration_id="decl-1", person_kind=PersonKind.NATURAL, email=EMAIL
                ),
                "declaration:decl-1",
            )
            await publish(
                AccountCreatedV1(
                    account_id="acc-1", role=AccountRole.RECIPIENT, declaration_id="decl-1"
                ),
                "account:acc-1",
            )
            await publish(act("act-1"), "act:act-1")
            terminated = AccountTerminatedV1(
                account_id="acc-1",
                declaration_id="decl-1",
                terminated_at=START,
                reason=TerminationReason.RECIPIENT_REQUEST,
            )
            await publish(terminated, "account:acc-1")
            await publish(terminated, "account:acc-1")

            async def scheduled() -> bool:
                return await runtime.store.count(SCHEDULES) == 1 and (
                    await runtime.store.count("served_acts") == 1
                )

            await eventually(scheduled, within=15)
            operator = tokens.bearer(sub="op-1", role="operator")
            listed = await client.get(
                "/v1/schedules", params={"subject": "account:acc-1"}, headers=operator
            )
            assert listed.status_code == 200, listed.text
            [schedule] = listed.json()["schedules"]
            assert schedule["due_at"] == DUE.isoformat()
            assert schedule["state"] == "pending"
            placed = await client.post(
                "/v1/holds",
                json={"subject": "account:acc-1", "reference": "RG 31/1"},
                headers=operator,
            )
            assert placed.status_code == 201, placed.text
            hold_id = placed.json()["id"]
            again = await client.post(
                "/v1/holds",
                json={"subject": "account:acc-1", "reference": "RG 31/1"},
                headers=operator,
            )
            assert (again.status_code, again.json()["id"]) == (200, hold_id)
            recipient = tokens.bearer(sub="acc-1", role="recipient")
            refused = await client.delete(f"/v1/holds/{hold_id}", headers=recipient)
            assert refused.status_code == 403
            not_operator = await client.post(
                "/v1/holds", json={"subject": "account:acc-1", "reference": "x"}, headers=recipient
            )
            assert not_operator.status_code == 403

            clock.set(DUE + timedelta(minutes=1))
            await asyncio.sleep(0.6)  # scheduler passes happen: held, nothing fires
            assert (await retention.erasures.get("erasure|account_erasure|account:acc-1")) is None
            operator = tokens.bearer(sub="op-1", role="operator")  # fresh after the jump
            lifted = await client.delete(f"/v1/holds/{hold_id}", headers=operator)
            assert lifted.status_code == 204
            assert (
                await client.delete(f"/v1/holds/{hold_id}", headers=operator)
            ).status_code == 404

            async def sent(event_type: str) -> list[dict[str, object]]:
                rows = await runtime.store.find(OUTBOX, {"sent": True})
                return [
                    r["envelope"]["payload"] for r in rows if r["envelope"]["type"] == event_type
                ]

            async def requested() -> bool:
                return bool(await sent("retention.account-acts-erasure-requested.v1"))

            await eventually(requested, within=15)
            [request] = await sent("retention.account-acts-erasure-requested.v1")
            erasure_id = str(request["erasure_id"])
            now = clock.now()
            await publish(
                AccountActsErasedV1(
                    erasure_id=erasure_id,
                    account_id="acc-1",
                    acts=[
                        ErasedAct(act_id="act-1", sha256="ab" * 32, served_at=SERVED, erased_at=now)
                    ],
                    erased_at=now,
                ),
                "account:acc-1",
            )
            await publish(
                ContactDataPurgedV1(erasure_id=erasure_id, account_id="acc-1", purged_at=now),
                "account:acc-1",
            )

            async def shred_requested() -> bool:
                return bool(await sent("retention.subject-keys-shred-requested.v1"))

            await eventually(shred_requested, within=15)
            await publish(
                SubjectKeysShreddedV1(
                    erasure_id=erasure_id, subjects=["account:acc-1"], shredded_at=now
                ),
                "account:acc-1",
            )

            async def certified() -> bool:
                return bool(await sent("retention.erasure-certificate-issued.v2"))

            await eventually(certified, within=15)
            [issued] = await sent("retention.erasure-certificate-issued.v2")
            assert issued["email"] == EMAIL
            assert "download_url" not in issued
            # The link, as notify fetches it when it sends the e-mail.
            certificate_id = issued["certificate_id"]
            notify = tokens.bearer(sub="service-notify", role="service", scopes="certificates:read")
            answer = await client.get(
                f"/internal/v1/certificates/{certificate_id}/link", headers=notify
            )
            assert answer.status_code == 200, answer.text
            url = str(answer.json()["url"])
            path = url.removeprefix(settings.public_url)
            pdf = await client.get(path)
            assert pdf.status_code == 200
            assert pdf.content.startswith(b"%PDF-1.4")
            signed = await client.get(path.removesuffix(".pdf") + ".json")
            ring = load_or_create_signing_ring(tmp_path / "signing.json", "unused", clock)
            document = verify_certificate(signed.content, ring.published, pdf.content)
            assert [a["act_id"] for a in document["acts"]] == ["act-1"]
            guessed = path.replace(path.rsplit("/", 1)[1], "guess.pdf")
            assert (await client.get(guessed)).status_code == 404
        finally:
            await broker.stop()


def test_queues_are_exported_for_the_platform_topology() -> None:
    assert set(QUEUES) == {"retention.lifecycle", "retention.confirmations"}
    assert "identity.account-terminated.v1" in QUEUES["retention.lifecycle"]
    assert "delivery.account-acts-erased.v1" in QUEUES["retention.confirmations"]
