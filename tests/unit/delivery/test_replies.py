"""Replies to an act: by content, size-limited, scanned by a real clamd when
configured (EICAR refused and journaled, never kept), encrypted, announced, read by the office."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from delivery.service import Delivery
from shared.malware import ClamAVScanner, ClamdAddress
from shared.vault import PENDING_OBJECTS
from tests.fixtures.clamd import EICAR, EICAR_SIGNATURE, ClamdServer
from tests.unit.delivery.conftest import MAX_REPLY, Harness, build_app
from tests.unit.delivery.support import PNG, pdf

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300) + b"\xff\xd9"
FULL_PNG = PNG + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def pdf_with(payload: bytes) -> bytes:
    """A well-formed PDF whose content stream holds `payload` (its xref offsets stay right:
    the payload replaces filler bytes of the same length)."""
    document = pdf(2000)
    start = document.index(b"stream\n") + len(b"stream\n") + 100
    return document[:start] + payload + document[start + len(payload) :]


def form(data: bytes, filename: str = "reponse.pdf") -> tuple[bytes, str]:
    boundary = "----reply" + secrets.token_hex(6)
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


async def reply(
    client: httpx.AsyncClient,
    harness: Harness,
    act_id: str,
    data: bytes,
    *,
    account: str = "acc-1",
    scopes: str = "acts:read acts:reply",
) -> httpx.Response:
    return await client.post(
        f"/v1/inbox/{act_id}/replies",
        content=data,
        headers={
            "Content-Type": "application/octet-stream",
            "X-Filename": "scan.bin",
            **harness.tokens.recipient(account, scopes),
        },
    )


async def test_reply_is_kept_encrypted_announced_and_readable_by_the_office(
    harness: Harness,
) -> None:
    act_id = await harness.served()
    body, content_type = form(pdf(5000, seed=b"reply"))
    response = await harness.client.post(
        f"/v1/inbox/{act_id}/replies",
        content=body,
        headers={"Content-Type": content_type, **harness.tokens.recipient("acc-1")},
    )
    assert response.status_code == 201, response.text
    kept = response.json()
    assert kept["media_type"] == "application/pdf"
    assert kept["filename"] == "reponse.pdf"
    assert kept["scan"] == {"outcome": "not_scanned", "scanner": "none"}
    stored = harness.objects.objects[f"replies/{kept['id']}"]
    assert pdf(5000, seed=b"reply")[:200] not in stored
    # Its Location is the person's view of what was kept; nobody else's.
    location = response.headers["location"]
    assert location == f"/v1/inbox/{act_id}/replies/{kept['id']}"
    mine = await harness.client.get(location, headers=harness.tokens.recipient("acc-1"))
    assert mine.status_code == 200
    assert mine.json() == kept
    stranger = await harness.client.get(location, headers=harness.tokens.recipient("acc-2"))
    assert stranger.status_code == 404
    unknown = await harness.client.get(
        f"/v1/inbox/{act_id}/replies/nope", headers=harness.tokens.recipient("acc-1")
    )
    assert unknown.status_code == 404

    (event,) = await harness.events("delivery.reply-received.v1")
    assert event.payload["reply_id"] == kept["id"]
    assert event.payload["office_email"] == "etude1@example.org"

    office = harness.tokens.office()
    listed = (await harness.client.get(f"/v1/acts/{act_id}/replies", headers=office)).json()
    assert [r["id"] for r in listed["items"]] == [kept["id"]]
    content = await harness.client.get(
        f"/v1/acts/{act_id}/replies/{kept['id']}/content", headers=office
    )
    assert content.status_code == 200
    assert content.headers["content-type"] == "application/pdf"
    assert content.content == pdf(5000, seed=b"reply")
    act = (await harness.client.get(f"/v1/acts/{act_id}", headers=office)).json()
    assert [r["id"] for r in act["replies"]] == [kept["id"]]
    evidence = (await harness.client.get(f"/v1/acts/{act_id}/evidence", headers=office)).json()
    received = [e for e in evidence["evidence"] if e["type"] == "ReplyReceived"]
    assert received[0]["details"]["reply_sha256"] == kept["sha256"]


@pytest.mark.parametrize(("data", "media_type"), [(JPEG, "image/jpeg"), (FULL_PNG, "image/png")])
async def test_images_are_recognised_by_content_whatever_their_name(
    harness: Harness, data: bytes, media_type: str
) -> None:
    act_id = await harness.served()
    response = await reply(harness.client, harness, act_id, data)
    assert response.status_code == 201, response.text
    assert response.json()["media_type"] == media_type


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "reply-empty"),
        (b"just some text, not a document", "reply-unsupported-type"),
        (PNG, "reply-corrupted"),  # no IEND: truncated
        (pdf(3000)[:-40], "reply-corrupted"),
    ],
)
async def test_bad_files_are_refused_by_content_and_nothing_is_left(
    harness: Harness, data: bytes, problem: str
) -> None:
    act_id = await harness.served()
    response = await reply(harness.client, harness, act_id, data)
    assert response.status_code == 422
    assert response.json()["type"].endswith(problem)
    assert not [k for k in harness.objects.objects if k.startswith("replies/")]
    assert await harness.store.find(PENDING_OBJECTS) == []


async def test_oversized_reply_is_refused_with_413(harness: Harness) -> None:
    act_id = await harness.served()
    response = await reply(harness.client, harness, act_id, pdf(MAX_REPLY))
    assert response.status_code == 413
    assert response.json()["limit_bytes"] == MAX_REPLY
    assert not [k for k in harness.objects.objects if k.startswith("replies/")]


async def test_terminated_account_with_read_only_scope_cannot_reply(harness: Harness) -> None:
    act_id = await harness.served()
    response = await reply(harness.client, harness, act_id, JPEG, scopes="acts:read")
    assert response.status_code == 403
    assert await harness.events("delivery.reply-received.v1") == []


async def test_other_recipient_and_other_office_see_nothing(harness: Harness) -> None:
    act_id = await harness.served()
    assert (await reply(harness.client, harness, act_id, JPEG, account="acc-2")).status_code == 404
    kept = (await reply(harness.client, harness, act_id, JPEG)).json()
    other = harness.tokens.office("etude-2")
    assert (await harness.client.get(f"/v1/acts/{act_id}/replies", headers=other)).status_code == (
        404
    )
    content = await harness.client.get(
        f"/v1/acts/{act_id}/replies/{kept['id']}/content", headers=other
    )
    assert content.status_code == 404


@pytest.fixture
async def scanned(
    harness: Harness, clamd: ClamdServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """The same gateway with replies scanned by the session's real clamd."""
    scanner = ClamAVScanner(ClamdAddress.parse(clamd.unix_url))
    delivery = Delivery.on(replace(harness.delivery.ctx, scanner=scanner))
    app = build_app(delivery, harness.store, harness.tokens)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://delivery") as client:
        yield client


async def test_eicar_reply_is_refused_journaled_and_never_kept(
    harness: Harness, scanned: httpx.AsyncClient
) -> None:
    act_id = await harness.served()
    response = await reply(scanned, harness, act_id, pdf_with(EICAR))
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("reply-infected")
    assert not [k for k in harness.objects.objects if k.startswith("replies/")]
    assert await harness.store.find("replies") == []
    assert await harness.store.find("reply_keys") == []
    assert await harness.store.find(PENDING_OBJECTS) == []
    assert await harness.events("delivery.reply-received.v1") == []
    (refused,) = await harness.events("delivery.reply-refused.v1")
    assert refused.payload["signature"] == EICAR_SIGNATURE
    assert refused.payload["outcome"] == "infected"
    assert EICAR.decode() not in refused.model_dump_json()


async def test_clean_reply_scanned_by_clamd_records_a_clean_verdict(
    harness: Harness, scanned: httpx.AsyncClient
) -> None:
    act_id = await harness.served()
    response = await reply(scanned, harness, act_id, pdf(100_000, seed=b"clean"))
    assert response.status_code == 201, response.text
    assert response.json()["scan"] == {"outcome": "clean", "scanner": "clamav"}
