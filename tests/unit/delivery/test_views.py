"""What each party sees: the recipient's inbox, the office's views with cursor pagination and
notification status, the 404 for anybody else's act, and the signed evidence set that the
offline command verifies."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from delivery import cli
from delivery.service import Delivery
from shared.contracts.envelope import new_envelope
from shared.contracts.notify import (
    Channel,
    NotificationFailedV1,
    NotificationKind,
    NotificationSentV1,
)
from shared.crypto import IntegrityError
from shared.store.port import Document, Filter, SortKey, StoreUnavailableError
from tests.support.store_wrappers import DelegatingStore
from tests.unit.delivery.conftest import Harness, build_app
from tests.unit.delivery.support import metadata, pdf


async def test_inbox_lists_the_recipients_acts_with_read_status(harness: Harness) -> None:
    act_id = await harness.served()
    recipient = harness.tokens.recipient("acc-1")
    listed = (await harness.client.get("/v1/inbox", headers=recipient)).json()["items"]
    assert [(a["id"], a["read"], a["nature"], a["requester_name"]) for a in listed] == [
        (act_id, False, "signification_jugement", "SCI Les Tilleuls")
    ]
    await harness.download(act_id)
    detail = (await harness.client.get(f"/v1/inbox/{act_id}", headers=recipient)).json()
    assert detail["read"] is True


async def test_another_recipient_gets_404(harness: Harness) -> None:
    act_id = await harness.served()
    await harness.consent("decl-2", "acc-2")
    other = harness.tokens.recipient("acc-2")
    assert (await harness.client.get(f"/v1/inbox/{act_id}", headers=other)).status_code == 404
    assert (await harness.download(act_id, "acc-2")).status_code == 404
    assert (await harness.client.get("/v1/inbox", headers=other)).json()["items"] == []
    assert await harness.events("delivery.act-handed-over.v1") == []


async def test_terminated_account_can_still_list_and_download(harness: Harness) -> None:
    act_id = await harness.served()
    read_only = harness.tokens.recipient("acc-1", scopes="acts:read")
    assert (await harness.client.get("/v1/inbox", headers=read_only)).status_code == 200
    response = await harness.client.get(f"/v1/inbox/{act_id}/content", headers=read_only)
    assert response.status_code == 200
    no_scope = harness.tokens.recipient("acc-1", scopes="terms:accept")
    assert (await harness.client.get("/v1/inbox", headers=no_scope)).status_code == 403


async def test_another_office_gets_404(harness: Harness) -> None:
    act_id = await harness.served()
    other = harness.tokens.office("etude-2")
    assert (await harness.client.get(f"/v1/acts/{act_id}", headers=other)).status_code == 404
    assert (
        await harness.client.get(f"/v1/acts/{act_id}/evidence", headers=other)
    ).status_code == 404
    assert (await harness.client.get("/v1/acts", headers=other)).json()["items"] == []
    mine = await harness.client.get(f"/v1/acts/{act_id}", headers=harness.tokens.office())
    assert mine.status_code == 200


async def test_office_view_shows_notification_status(harness: Harness) -> None:
    act_id = await harness.served()
    for payload in (
        NotificationFailedV1(
            notification_id="n-sms",
            kind=NotificationKind.ACT_SERVED,
            channel=Channel.SMS,
            recipient="account:acc-1",
            recipient_masked="+336******78",
            message_id="m1",
            source_event_id="e",
            source_type="delivery.act-served.v1",
            attempts=5,
            act_id=act_id,
            office_id="etude-1",
            failed_at=harness.clock.now(),
            reason="provider down",
            permanent=False,
        ),
        NotificationSentV1(
            notification_id="n-mail",
            kind=NotificationKind.ACT_SERVED,
            channel=Channel.EMAIL,
            recipient="account:acc-1",
            recipient_masked="a***@example.org",
            message_id="m2",
            source_event_id="e",
            source_type="delivery.act-served.v1",
            attempts=1,
            act_id=act_id,
            office_id="etude-1",
            accepted_at=harness.clock.now() + timedelta(seconds=3),
        ),
    ):
        envelope = new_envelope(
            payload, subject=f"act:{act_id}", actor="service:notify", clock=harness.clock
        )
        await harness.notify(envelope)
        await harness.notify(envelope)  # redelivered: no second record
    view = (await harness.client.get(f"/v1/acts/{act_id}", headers=harness.tokens.office())).json()
    assert [(n["channel"], n["status"]) for n in view["notifications"]] == [
        ("sms", "failed"),
        ("email", "sent"),
    ]
    assert view["replies"] == []
    evidence = (
        await harness.client.get(f"/v1/acts/{act_id}/evidence", headers=harness.tokens.office())
    ).json()
    types = [r["type"] for r in evidence["evidence"]]
    assert types.count("ConsignmentNotificationFailure") == 1
    assert types.count("ConsignmentNotification") == 1


async def test_office_polls_its_acts_page_by_page(harness: Harness) -> None:
    ids = []
    for n in range(5):
        harness.clock.advance(timedelta(minutes=1))
        ids.append(await harness.served(key=f"k{n}"))
    office = harness.tokens.office()
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await harness.client.get("/v1/acts", params=params, headers=office)).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    # A change moves an act to the end: polling from the last cursor finds it.
    harness.clock.advance(timedelta(seconds=1))
    await harness.download(ids[0])
    since = (
        await harness.client.get(
            "/v1/acts", params={"since": "2031-04-08T08:04:30Z"}, headers=office
        )
    ).json()
    assert [a["id"] for a in since["items"]] == [ids[4], ids[0]]
    served = await harness.client.get("/v1/acts", params={"status": "scheduled"}, headers=office)
    assert served.json()["items"] == []
    bad = await harness.client.get("/v1/acts", params={"status": "nope"}, headers=office)
    assert bad.status_code == 422


async def test_evidence_set_verifies_offline_and_detects_tampering(
    harness: Harness, tmp_path: Path
) -> None:
    act_id = await harness.served()
    await harness.download(act_id)
    harness.clock.advance(timedelta(days=1))
    await harness.delivery.handover.finalise_due()
    response = await harness.client.get(
        f"/v1/inbox/{act_id}/evidence", headers=harness.tokens.recipient("acc-1")
    )
    evidence = response.json()
    assert [r["type"] for r in evidence["evidence"]] == [
        "SubmissionAcceptance",
        "ContentConsignment",
        "ContentHandover",
        "ServiceQualityDetermination",
    ]
    for record in evidence["evidence"]:
        assert record["act_sha256"] == evidence["act_sha256"]
        assert record["signature"]["alg"] == "Ed25519"
        assert record["instant"]
    assert evidence["evidence"][0]["actors"]["sender"] == "office:etude-1"
    keys = (await harness.client.get("/v1/evidence/keys")).json()["keys"]
    saved = tmp_path / "evidence.json"
    saved.write_text(json.dumps(evidence))
    out = io.StringIO()
    assert cli.main(["verify-evidence", str(saved), "--public-key", keys[0]], out) == 0
    assert "4 evidence record(s)" in out.getvalue()

    evidence["evidence"][2]["instant"] = "2031-04-08T19:00:00.000000Z"
    saved.write_text(json.dumps(evidence))
    out = io.StringIO()
    assert cli.main(["verify-evidence", str(saved), "--public-key", keys[0]], out) == 1
    assert "INVALID" in out.getvalue()


async def test_cpc_662_1_evidence_of_an_a_domicile_service_names_the_task_not_a_relay(
    harness: Harness,
) -> None:
    """Finalised à domicile, the office is only asked to post the letter: the evidence says
    so, and holds no `RelayToNonERDS` until the office declares it posted."""
    act_id = await harness.served(meta=metadata())
    harness.clock.advance(timedelta(days=1))
    await harness.delivery.handover.finalise_due()
    evidence = (
        await harness.client.get(f"/v1/acts/{act_id}/evidence", headers=harness.tokens.office())
    ).json()
    types = [r["type"] for r in evidence["evidence"]]
    assert types[-2:] == ["ServiceQualityDetermination", "LettreSimpleTaskIssued"]
    assert "RelayToNonERDS" not in types


async def test_a_download_whose_stored_ciphertext_was_altered_breaks_instead_of_ending_well(
    harness: Harness,
) -> None:
    # Four 64 KiB segments; one byte flipped in the third.
    document = pdf(200_000, seed=b"tampered")
    act_id = await harness.served(document=document)
    key = f"acts/{act_id}"
    stored = bytearray(harness.objects.objects[key])
    stored[140_000] ^= 0x01
    harness.objects.objects[key] = bytes(stored)
    received = bytearray()
    statuses: list[int] = []

    async def download() -> None:
        async with harness.client.stream(
            "GET", f"/v1/inbox/{act_id}/content", headers=harness.tokens.recipient("acc-1")
        ) as response:
            statuses.append(response.status_code)
            async for chunk in response.aiter_bytes():
                received.extend(chunk)

    # The response fails where the bad segment is reached. (httpx's ASGI transport buffers
    # the body, so nothing arrives here; a real server has sent the headers and part of the
    # body, then drops the connection short of its Content-Length.)
    with pytest.raises(IntegrityError):
        await download()
    assert statuses in ([], [200])
    assert len(received) < len(document)
    assert document.startswith(bytes(received))


class UnreachableStore(DelegatingStore):
    """The database is down: every read fails as the engines report it."""

    async def get(self, collection: str, doc_id: str) -> Document | None:
        raise StoreUnavailableError("connection refused by 10.0.0.5")

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        sort: Sequence[SortKey] = (),
        limit: int | None = None,
    ) -> list[Document]:
        raise StoreUnavailableError("connection refused by 10.0.0.5")


async def test_a_database_outage_on_a_view_answers_503_with_retry_after(harness: Harness) -> None:
    act_id = await harness.served()
    down = Delivery.on(replace(harness.delivery.ctx, store=UnreachableStore(harness.store)))
    app = build_app(down, harness.store, harness.tokens)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://delivery") as client:
        for path, headers in (
            ("/v1/inbox", harness.tokens.recipient("acc-1")),
            (f"/v1/inbox/{act_id}", harness.tokens.recipient("acc-1")),
            (f"/v1/acts/{act_id}", harness.tokens.office()),
            ("/v1/acts", harness.tokens.office()),
        ):
            response = await client.get(path, headers=headers)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["retry-after"] == "10"
            assert response.json()["type"] == "urn:securact:problem:database-unavailable"
            assert "10.0.0.5" not in response.text
