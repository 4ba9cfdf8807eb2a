"""Two replicas of every service, as real processes behind one broker and the same stores: the
whole flow (declaration → activation → CGU → act → notice → download → evidence → audit
proofs) with requests alternating between replicas, and one replica of delivery and one of
audit killed with SIGKILL in the middle of it. Nothing is lost and nothing happens twice:

- every event is journaled once (no event id twice in audit's journal; its tree verifies with
  `securact-audit verify`), the activation and act notices reach the dev mailbox once each;
- retention's scheduler fires the first CGU's schedule once, delivery's finaliser finalises
  each act once, though both replicas run them;
- the evidence verifies with the keys either delivery replica publishes (one key set).

Audit's journal queue has a single active consumer: audit-1, started first, journals; killing
it hands the queue to audit-2. The platform runs with a dev clock offset into the next CPC 664
window; to reach the end of the sending day, delivery's and identity's replicas restart one day
later.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.clock import SystemClock
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import PASSWORD
from tests.support.replicas import ReplicaStack, replica_stack
from tests.support.services import eventually
from tests.support.stack import LINK, Mailbox, bearer, next_open_morning
from tests.unit.consent.support import EMAIL, NATURAL_FILES, multipart_body, natural_declaration
from tests.unit.delivery.support import metadata, multipart, pdf

SERVICES_IN_START_ORDER = ("audit", "retention", "consent", "notify", "delivery", "identity")
ACT_NOTICE = "Un acte vous a été signifié"
ACTIVATION = "Activez votre compte"


async def _messages(box: Mailbox, subject: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=box.api) as mail:
        listing = (await mail.get("/messages")).json().get("messages", [])
    return [
        m
        for m in listing
        if subject in m.get("Subject", "") and any(t.get("Address") == EMAIL for t in m["To"])
    ]


async def _journal(audit: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    after = -1
    async with httpx.AsyncClient(base_url=audit, timeout=10) as client:
        while True:
            page = (await client.get("/v1/entries", params={"after": after, "limit": 1000})).json()
            entries += page["entries"]
            if page["next_after"] is None:
                return entries
            after = page["next_after"]


def _types(entries: list[dict[str, Any]], subject: str | None = None) -> Counter[str]:
    return Counter(e["type"] for e in entries if subject is None or e["subject"] == subject)


async def _office(stack: ReplicaStack) -> dict[str, str]:
    """The demo office identity seeds (client credentials), its token from identity-2."""
    path = Path(stack.env["SECURACT_IDENTITY_SEED_DEV_CREDENTIALS_FILE"])
    creds = json.loads(await asyncio.to_thread(path.read_text))
    client = creds["office_client"]
    async with httpx.AsyncClient(base_url=stack.url("identity", 2)) as identity:
        token = await identity.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
        )
    assert token.status_code == 200, token.text
    return bearer(token.json()["access_token"])


@pytest.mark.slow
@pytest.mark.timeout(900)  # twelve processes, a restart a day later: slow on a loaded host
async def test_two_replicas_of_every_service_lose_and_duplicate_nothing(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    now = SystemClock().now()
    offset = (next_open_morning(now) - now).total_seconds()
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    stack = replica_stack(
        tmp_path / "stack",
        bus_prefix,
        s3_server,
        box,
        SECURACT_CLOCK_OFFSET_SECONDS=str(offset),
        SECURACT_DELIVERY_FINALISER_INTERVAL_SECONDS="1",
        SECURACT_RETENTION_SCHEDULER_INTERVAL_SECONDS="1",
    )
    try:
        # audit-1 first: it becomes the journal's active consumer; then the others.
        stack.start("audit", 1)
        stack.start_together([(s, 1) for s in SERVICES_IN_START_ORDER[1:]])
        stack.start_together([(s, 2) for s in SERVICES_IN_START_ORDER])
        await _flow(stack, box, tmp_path, offset)
    finally:
        stack.stop_all()
        box.stop()


async def _flow(stack: ReplicaStack, box: Mailbox, tmp_path: Path, offset: float) -> None:
    office = await _office(stack)
    consent = [httpx.AsyncClient(base_url=stack.url("consent", n), timeout=30) for n in (1, 2)]
    identity = [httpx.AsyncClient(base_url=stack.url("identity", n), timeout=30) for n in (1, 2)]

    # Declaration at consent-1; activation at identity-2; CGU at identity-1.
    body, content_type = multipart_body(
        natural_declaration(SystemClock().now().date()), NATURAL_FILES
    )
    created = await consent[0].post(
        "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
    )
    assert created.status_code == 201, created.text
    declaration_id = str(created.json()["id"])

    async def mailed(subject: str, count: int) -> None:
        async def arrived() -> bool:
            return len(await _messages(box, subject)) >= count

        await eventually(arrived, within=60, every=0.5)

    await mailed(ACTIVATION, 1)
    async with httpx.AsyncClient(base_url=box.api) as mail:
        summary = (await _messages(box, ACTIVATION))[0]
        message = (await mail.get(f"/message/{summary['ID']}")).json()
    link = LINK.search(f"{message.get('Text', '')}\n{message.get('HTML', '')}")
    assert link is not None
    token = httpx.URL(link.group(0).replace("&amp;", "&")).params["token"]
    activated = await identity[1].post(
        "/v1/activations", json={"token": token, "password": PASSWORD}
    )
    assert activated.status_code == 200, activated.text
    identifier = str(activated.json()["identifier"])
    session = await identity[0].post(
        "/v1/sessions", json={"identifier": identifier, "password": PASSWORD}
    )
    assert session.status_code == 201, session.text
    accepted = await identity[0].post(
        "/v1/terms/current/acceptance", json={}, headers=bearer(session.json()["access_token"])
    )
    assert accepted.status_code == 200, accepted.text

    # Two acts, one at each delivery replica, once delivery knows the consent is active.
    delivery = [httpx.AsyncClient(base_url=stack.url("delivery", n), timeout=30) for n in (1, 2)]
    documents = [pdf(30_000, seed=b"replica-1"), pdf(20_000, seed=b"replica-2")]
    act_ids: list[str] = []
    refused: list[str] = []
    for number, document in enumerate(documents):
        act_body, act_type = multipart(metadata(declaration_id), document)
        headers = {"Content-Type": act_type, "Idempotency-Key": f"replicas-{number}", **office}

        async def deposited(
            client: httpx.AsyncClient = delivery[number],
            act_body: bytes = act_body,
            headers: dict[str, str] = headers,
        ) -> bool:
            answer = await client.post("/v1/acts", content=act_body, headers=headers)
            if answer.status_code == 201:
                act_ids.append(str(answer.json()["id"]))
                return True
            refused.append(f"{answer.status_code} {answer.text}")
            return False

        try:
            await eventually(deposited, within=30, every=0.5)
        except AssertionError as error:
            raise AssertionError(refused[-3:]) from error

    # SIGKILL audit-1 (the active consumer) and delivery-1 right after its act was served:
    # audit-2 takes over the journal, delivery-2's relay takes over the outbox's lease.
    stack.kill("audit", 1)
    stack.kill("delivery", 1)
    await mailed(ACT_NOTICE, 2)

    # The recipient reads the first act at delivery-2 the same legal day.
    person = bearer(
        (
            await identity[1].post(
                "/v1/sessions", json={"identifier": identifier, "password": PASSWORD}
            )
        ).json()["access_token"]
    )
    download = await delivery[1].get(f"/v1/inbox/{act_ids[0]}/content", headers=person)
    assert download.status_code == 200, download.text
    assert download.content == documents[0]

    # The end of the sending day: delivery's replicas back one day later, both finalising
    # (and identity's, whose tokens delivery checks against its own clock).
    stack.kill("delivery", 2)
    later = {"SECURACT_CLOCK_OFFSET_SECONDS": str(offset + timedelta(days=1).total_seconds())}
    for number in (1, 2):
        stack.kill("identity", number, signal.SIGTERM)
    stack.start("identity", 1, **later)
    stack.start_together([("identity", 2), ("delivery", 1), ("delivery", 2)], **later)
    stack.start("audit", 1)
    office = await _office(stack)
    audit = stack.url("audit", 2)

    async def finalised() -> bool:
        entries = await _journal(audit)
        return all(
            _types(entries, f"act:{act}")["delivery.service-quality-determined.v1"] >= 1
            for act in act_ids
        )

    await eventually(finalised, within=60, every=1)

    # Evidence at delivery-1, verified with the keys delivery-2 publishes: one key set.
    keys = [(await client.get("/v1/evidence/keys")).json()["keys"] for client in delivery]
    assert keys[0] == keys[1]
    evidence = await delivery[0].get(f"/v1/acts/{act_ids[0]}/evidence", headers=office)
    assert evidence.status_code == 200, evidence.text
    saved = tmp_path / "evidence.json"
    saved.write_text(evidence.text)
    verified = stack.cli("delivery", "verify-evidence", str(saved), "--public-key", keys[1][0])
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # Audit: a checkpoint and an inclusion proof from either replica, the same tree.
    await _settle(stack, box)
    entries = await _journal(audit)
    ids = Counter(e["event_id"] for e in entries)
    assert [event for event, n in ids.items() if n > 1] == []
    assert [e["index"] for e in entries] == list(range(len(entries)))
    for act in act_ids:
        per_act = _types(entries, f"act:{act}")
        assert per_act["delivery.service-quality-determined.v1"] == 1, per_act
        assert per_act["delivery.act-served.v3"] == 1, per_act
    everything = _types(entries)
    assert everything["retention.terms-effective.v1"] == 1, everything
    assert everything["consent.declaration-registered.v1"] == 1
    assert len(await _messages(box, ACTIVATION)) == 1
    assert len(await _messages(box, ACT_NOTICE)) == 2
    heads = []
    for number in (1, 2):
        async with httpx.AsyncClient(base_url=stack.url("audit", number)) as client:
            heads.append((await client.get("/v1/head")).json())
            proof = await client.get("/v1/proofs/inclusion", params={"index": 0})
            assert proof.status_code == 200, proof.text
    assert heads[0] == heads[1]
    assert heads[0]["size"] == len(entries)
    stack.stop_all()
    checked = stack.cli("audit", "verify", "--expect-entries", str(len(entries)))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for client in (*consent, *identity, *delivery):
        await client.aclose()


async def _settle(stack: ReplicaStack, box: Mailbox) -> None:
    """Wait until the journal stops growing (every outbox relayed, every queue drained)."""
    audit = stack.url("audit", 2)
    sizes: list[int] = []

    async def stable() -> bool:
        async with httpx.AsyncClient(base_url=audit) as client:
            sizes.append((await client.get("/v1/head")).json()["size"])
        return len(sizes) >= 4 and len(set(sizes[-4:])) == 1

    await eventually(stable, within=60, every=1)
