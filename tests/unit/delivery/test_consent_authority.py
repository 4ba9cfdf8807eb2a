"""Consent is the authority at the sending instant (CPC 748-2, 664-1): delivery asks the
registry at each deposit (its projection only addresses the recipient and serves views), fails
closed when the registry cannot answer, records the answer in the act's evidence, and flags
the acts a consent end learnt later preceded."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

from delivery import cli
from shared.contracts.consent import (
    ConsentRevokedV1,
    DeclarationTerminatedV1,
)
from shared.contracts.delivery import ConsentEndReason
from shared.contracts.identity import AccountTerminatedV1, TerminationReason
from tests.unit.delivery.conftest import Harness
from tests.unit.delivery.support import metadata


async def test_cpc_748_2_an_end_the_registry_knows_refuses_the_act_before_its_event_arrives(
    harness: Harness,
) -> None:
    harness.registry.end("decl-1", ConsentEndReason.REVOKED, harness.clock.now())
    refused = await harness.post()
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "urn:securact:problem:consent-not-active"
    assert refused.json()["detail"] == "the consent is revoked"
    assert await harness.store.count("acts") == 0
    # Delivery's projection still says active: the registry decided.
    row = await harness.store.get("declarations", "decl-1")
    assert row is not None
    assert row["status"] == "active"


async def test_cpc_748_2_registry_unreachable_answers_503_and_records_nothing(
    harness: Harness,
) -> None:
    harness.registry.unavailable = True
    response = await harness.post()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    assert response.json()["type"] == "urn:securact:problem:consent-registry-unavailable"
    assert await harness.store.count("acts") == 0
    assert await harness.store.count("idempotency") == 0
    assert harness.objects.objects == {}
    assert await harness.events() == []  # not even a rejection: nothing was decided
    # The office retries with the same key once the registry answers.
    harness.registry.unavailable = False
    assert (await harness.post()).status_code == 201


async def test_cpc_748_2_registry_down_at_the_deposit_instant_discards_the_upload(
    harness: Harness,
) -> None:
    async def registry_goes_down() -> None:
        harness.registry.unavailable = True

    harness.objects.during_put = registry_goes_down
    response = await harness.post()
    assert response.status_code == 503
    assert await harness.store.count("acts") == 0
    assert harness.objects.objects == {}


async def test_cpc_664_1_the_consignment_evidence_records_what_the_registry_answered(
    harness: Harness,
) -> None:
    act_id = await harness.served()
    evidence = (
        await harness.client.get(f"/v1/acts/{act_id}/evidence", headers=harness.tokens.office())
    ).json()
    consignment = next(r for r in evidence["evidence"] if r["type"] == "ContentConsignment")
    consent = consignment["details"]["consent"]
    assert consent["source"] == "consent-registry"
    assert consent["active"] is True
    assert consent["declaration_id"] == "decl-1"
    assert consent["ended_at"] is None
    assert consent["as_of"] <= consignment["instant"]
    assert harness.registry.asked == ["decl-1", "decl-1"]  # before the upload, at the deposit


async def test_scheduled_act_waits_while_the_registry_cannot_answer(harness: Harness) -> None:
    harness.clock.advance(timedelta(hours=12))  # 22:00 in Paris: closed
    accepted = await harness.post(meta=metadata(schedule_if_closed=True))
    assert accepted.status_code == 202, accepted.text
    harness.clock.advance(timedelta(hours=10))  # the next morning
    harness.registry.unavailable = True
    assert await harness.delivery.scheduler.deposit_scheduled() == 0
    act = await harness.act(accepted.json()["id"])
    assert act["status"] == "scheduled"
    harness.registry.unavailable = False
    assert await harness.delivery.scheduler.deposit_scheduled() == 1
    assert (await harness.act(accepted.json()["id"]))["status"] == "served"


async def test_cpc_748_2_an_act_served_after_a_revocation_learnt_late_is_flagged(
    harness: Harness, tmp_path: Path
) -> None:
    before = await harness.served(key="before")
    revoked_at = harness.clock.now() + timedelta(seconds=30)
    harness.clock.advance(timedelta(minutes=1))
    after = await harness.served(key="after")  # the registry answered before the revocation
    office = harness.tokens.office()
    harness.clock.advance(timedelta(minutes=5))
    learnt = harness.clock.now()
    await harness.deliver(
        ConsentRevokedV1(declaration_id="decl-1", account_id="acc-1", revoked_at=revoked_at)
    )

    view = (await harness.client.get(f"/v1/acts/{after}", headers=office)).json()
    assert view["served_after_consent_end"]["reason"] == "revoked"
    untouched = (await harness.client.get(f"/v1/acts/{before}", headers=office)).json()
    assert untouched["served_after_consent_end"] is None  # never retroactive
    # The office's polling feed shows the flagged act again (its cursor moved), alone.
    since = {"since": learnt.isoformat()}
    feed = (await harness.client.get("/v1/acts", params=since, headers=office)).json()
    assert [item["id"] for item in feed["items"]] == [after]
    events = await harness.events("delivery.act-served-after-consent-end.v1")
    assert [(e.payload["act_id"], e.payload["reason"]) for e in events] == [(after, "revoked")]
    evidence = (await harness.client.get(f"/v1/acts/{after}/evidence", headers=office)).json()
    negative = [r for r in evidence["evidence"] if r["type"] == "ServedAfterConsentEnd"]
    assert len(negative) == 1
    assert negative[0]["details"]["reasons"][0]["code"] == "consent_revoked"
    assert negative[0]["event_id"] == events[0].event_id
    saved = tmp_path / "evidence.json"
    saved.write_text(json.dumps(evidence))
    keys = (await harness.client.get("/v1/evidence/keys")).json()["keys"]
    out = io.StringIO()
    assert cli.main(["verify-evidence", str(saved), "--public-key", keys[0]], out) == 0


async def test_a_termination_told_twice_flags_the_act_once(harness: Harness) -> None:
    terminated_at = harness.clock.now() - timedelta(minutes=1)
    act_id = await harness.served()
    await harness.deliver(
        AccountTerminatedV1(
            account_id="acc-1",
            declaration_id="decl-1",
            terminated_at=terminated_at,
            reason=TerminationReason.TERMS_REFUSED,
        )
    )
    await harness.deliver(
        DeclarationTerminatedV1(
            declaration_id="decl-1", account_id="acc-1", terminated_at=terminated_at
        )
    )
    events = await harness.events("delivery.act-served-after-consent-end.v1")
    assert [(e.payload["act_id"], e.payload["reason"]) for e in events] == [(act_id, "terminated")]
