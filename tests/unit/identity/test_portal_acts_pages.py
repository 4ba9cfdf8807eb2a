"""The portal's acts pages ("Mes actes", an act's page, its download, the reply form) on the
unit rig's identity, with delivery played by a recording fake behind `httpx.MockTransport`:
what the pages show, what they send to delivery (with which token), that bodies are relayed
as streams, and what they do when delivery refuses or is away."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import shared.portal
from identity.portal import portal_router
from identity.portal.act_views import file_size
from identity.portal.acts_pages import acts_pages_router
from identity.portal.delivery_api import reply_filename
from shared.auth import TokenError
from shared.multipart import MultipartReader, boundary_of
from tests.unit.identity.support import PASSWORD, Rig, plain_verifier
from tests.unit.identity.test_portal_helpers import (
    BASE_URL,
    accessibility_problems,
    activate,
    csrf_of,
    outline,
    signed_in_recipient,
    submit,
)

DELIVERY_URL = "http://delivery.test"
ACT = "act-01"
PDF = b"%PDF-1.7\n" + b"x" * 5000 + b"\n%%EOF\n"
REPLY_LIMIT = 4096
# Split so that this file does not itself look like the test virus to a scanner.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def act_view(account_id: str, *, read: bool = False, quality: str | None = None) -> dict[str, Any]:
    return {
        "id": ACT,
        "status": "served",
        "nature": "commandement_payer",
        "title": "Commandement de payer du 2 mars",
        "requester_name": "SCI Les Tilleuls",
        "office_name": "Étude Demo",
        "served_at": "2031-03-04T08:30:00.000000Z",
        "legal_local_time": "2031-03-04T09:30:00+01:00",
        "recipient_territory": "metropole",
        "read": read,
        "handed_over_at": "2031-03-04T21:30:00.000000Z" if read else None,
        "quality": quality,
        "size": len(PDF),
        "sha256": "ab" * 32,
        "recipient": account_id,
    }


def evidence_set(read: bool) -> dict[str, Any]:
    records: list[dict[str, Any]] = [
        {"type": "SubmissionAcceptance", "instant": "2031-03-04T08:30:00.000000Z"},
        {"type": "ContentConsignment", "instant": "2031-03-04T08:30:00.000000Z"},
        {
            "type": "ConsignmentNotification",
            "instant": "2031-03-04T08:31:00.000000Z",
            "details": {"channel": "email"},
        },
        {
            "type": "ConsignmentNotification",
            "instant": "2031-03-04T08:32:00.000000Z",
            "details": {"channel": "sms"},
        },
    ]
    if read:
        records.append({"type": "ContentHandover", "instant": "2031-03-04T21:30:00.000000Z"})
        records.append(
            {
                "type": "ServiceQualityDetermination",
                "instant": "2031-03-04T23:00:00.000000Z",
                "details": {"quality": "a_personne"},
            }
        )
    return {"format": "securact-ng/evidence-set/v1", "act_id": ACT, "evidence": records}


@dataclass
class FakeDelivery:
    """Delivery's `/v1/inbox` API as the pages use it, recording every request (the body of a
    reply as received, and how it came: chunked, or with a length)."""

    acts: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False
    requests: list[httpx.Request] = field(default_factory=list)
    replies: list[tuple[str, str, bytes]] = field(default_factory=list)
    content_chunks: int = 3

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        account_id = self.subject_of(request)
        mine = {k: v for k, v in self.acts.items() if v["recipient"] == account_id}
        path = request.url.path
        if request.method == "GET" and path == "/v1/inbox":
            return httpx.Response(200, json={"items": list(mine.values())})
        act_id = path.split("/")[3] if path.startswith("/v1/inbox/") else ""
        act = mine.get(act_id)
        if act is None:
            return httpx.Response(404, json={"type": "urn:securact:problem:act-not-found"})
        suffix = path.removeprefix(f"/v1/inbox/{act_id}")
        if request.method == "GET" and suffix == "":
            return httpx.Response(200, json=act)
        if request.method == "GET" and suffix == "/evidence":
            return httpx.Response(200, json=evidence_set(act["read"]))
        if request.method == "GET" and suffix == "/content":
            act.update(read=True, handed_over_at="2031-03-04T21:30:00.000000Z")
            return httpx.Response(
                200,
                stream=self.pdf_stream(),
                headers={
                    "Content-Type": "application/pdf",
                    "Content-Length": str(len(PDF)),
                    "X-Content-SHA256": act["sha256"],
                },
            )
        if request.method == "POST" and suffix == "/replies":
            return await self.reply(request, act_id)
        return httpx.Response(404)

    def pdf_stream(self) -> httpx.AsyncByteStream:
        size = -(-len(PDF) // self.content_chunks)
        chunks = [PDF[i : i + size] for i in range(0, len(PDF), size)]

        class Stream(httpx.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                for chunk in chunks:
                    yield chunk

        return Stream()

    async def reply(self, request: httpx.Request, act_id: str) -> httpx.Response:
        body = await request.aread()

        async def once() -> AsyncIterator[bytes]:
            yield body

        parts = MultipartReader(once(), boundary_of(request.headers["content-type"]))
        part = await parts.next_part()
        assert part is not None
        assert part.name == "file"
        content = b"".join([c async for c in parts.chunks()])
        assert await parts.next_part() is None
        self.replies.append((act_id, str(part.filename), content))
        if len(content) > REPLY_LIMIT:
            return httpx.Response(413, json={"type": "urn:securact:problem:upload-too-large"})
        if EICAR in content:
            return httpx.Response(422, json={"type": "urn:securact:problem:reply-infected"})
        if not content.startswith(b"%PDF-"):
            return httpx.Response(422, json={"type": "urn:securact:problem:reply-not-accepted"})
        return httpx.Response(201, json={"id": "reply-1", "received_at": "2031-03-04T10:00:00Z"})

    @staticmethod
    def subject_of(request: httpx.Request) -> str:
        # Unverified here: the test checks the token's signature and claims separately.
        token = request.headers["authorization"].removeprefix("Bearer ")
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims["sub"])

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path) for r in self.requests]


def acts_app(rig: Rig, http: httpx.AsyncClient) -> FastAPI:
    app = FastAPI()
    app.include_router(portal_router(rig.identity))
    app.include_router(acts_pages_router(rig.identity, http, reply_max_bytes=REPLY_LIMIT))
    return app


@asynccontextmanager
async def browser(
    rig: Rig, delivery: FakeDelivery, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    http = httpx.AsyncClient(
        transport=transport or httpx.MockTransport(delivery.handle), base_url=DELIVERY_URL
    )
    app = acts_app(rig, http)
    asgi = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with http, httpx.AsyncClient(transport=asgi, base_url=BASE_URL) as client:
        yield client, app


async def served_recipient(
    rig: Rig, client: httpx.AsyncClient, delivery: FakeDelivery, **view: Any
) -> str:
    account_id = await signed_in_recipient(rig, client)
    delivery.acts[ACT] = act_view(account_id, **view)
    return account_id


def multipart_form(csrf: str, content: bytes, filename: str = "reponse.pdf") -> tuple[bytes, str]:
    """The body a browser sends for the reply form: the CSRF field first, then the file."""
    boundary = "----navigateur7MA4YWxkTrZu0gW"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="fichier"; '
            f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


async def post_reply(
    client: httpx.AsyncClient, content: bytes, filename: str = "reponse.pdf", csrf: str = ""
) -> httpx.Response:
    if not csrf:
        csrf = csrf_of((await client.get(f"/actes/{ACT}")).text)
    body, content_type = multipart_form(csrf, content, filename)
    return await client.post(
        f"/actes/{ACT}/reponses", content=body, headers={"Content-Type": content_type}
    )


# -- list and act page -------------------------------------------------------------------------


async def test_the_inbox_lists_nature_requester_date_reading_and_status(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        account_id = await served_recipient(rig, client, delivery)
        delivery.acts["act-02"] = {
            **act_view(account_id, read=True, quality="a_personne"),
            "id": "act-02",
            "nature": "assignation",
            "title": "Assignation devant le tribunal judiciaire",
        }
        delivery.acts["act-other"] = {**act_view("someone-else"), "id": "act-other"}
        page = await client.get("/actes")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Mes actes</h1>" in text
    assert "Commandements de payer : Commandement de payer du 2 mars" in text
    assert "Assignations : Assignation devant le tribunal judiciaire" in text
    assert "SCI Les Tilleuls" in text
    # 08:30 UTC is 9 h 30 in Paris in March.
    assert "4 mars 2031 à 9 h 30 (heure légale de Paris)" in text
    assert "<strong>Non lu</strong>" in text
    assert "Lu le 4 mars 2031 à 22 h 30" in text
    assert "Signifié à personne" in text
    assert 'href="/actes/act-01"' in text
    assert 'href="/actes/act-02"' in text
    assert "act-other" not in text
    assert accessibility_problems(text) == []
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert delivery.calls() == [("GET", "/v1/inbox")]


async def test_an_empty_inbox_says_so(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await signed_in_recipient(rig, client)
        page = await client.get("/actes")
    assert "Aucun acte ne vous a été signifié" in page.text
    assert accessibility_problems(page.text) == []


async def test_delivery_is_called_with_a_short_lived_delivery_token_the_browser_never_sees(
    rig: Rig,
) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        account_id = await served_recipient(rig, client, delivery)
        page = await client.get("/actes")
        rig.clock.advance(timedelta(seconds=2))
        await client.get(f"/actes/{ACT}")
    tokens = [r.headers["authorization"].removeprefix("Bearer ") for r in delivery.requests]
    assert len(set(tokens)) == len(tokens) == 3  # one fresh token per call
    principal = await plain_verifier(rig, "delivery").verify(tokens[0])
    assert principal.subject == account_id
    assert principal.role == "recipient"
    assert {"acts:read", "acts:reply"} <= principal.scopes
    assert principal.sid is not None
    assert principal.expires_at - principal.issued_at <= rig.issuer.ttl
    # Audience delivery only: the same token is refused by identity and by consent.
    for other in ("identity", "consent"):
        with pytest.raises(TokenError):
            await plain_verifier(rig, other).verify(tokens[0])
    assert tokens[0] not in page.text
    assert all(tokens[0] not in value for value in page.headers.values())


async def test_the_act_page_shows_metadata_and_evidence_and_is_no_prise_de_connaissance(
    rig: Rig,
) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        page = await client.get(f"/actes/{ACT}")
    assert page.status_code == 200
    text = page.text
    assert "SCI Les Tilleuls" in text
    assert "Étude Demo" in text
    assert "4 mars 2031 à 9 h 30 (heure légale de Paris)" in text
    assert "Dépôt de l&#39;acte sur la plateforme" in text
    assert "Avis de signification envoyé par courriel" in text
    assert "4 mars 2031 à 9 h 31" in text
    assert "Avis de signification envoyé par SMS" in text
    assert "pas encore : le document n'a jamais été ouvert" in text
    assert "Consulter cette page ne vaut pas prise de connaissance" in text
    assert f'href="/actes/{ACT}/contenu"' in text
    assert f'action="/actes/{ACT}/reponses"' in text
    assert 'enctype="multipart/form-data"' in text
    assert "maximale : 4 Ko" in text
    assert accessibility_problems(text) == []
    # Only the act and its evidence were read: never the content.
    assert delivery.calls() == [("GET", f"/v1/inbox/{ACT}"), ("GET", f"/v1/inbox/{ACT}/evidence")]
    assert delivery.acts[ACT]["read"] is False


async def test_the_act_page_of_a_read_act_shows_the_prise_de_connaissance_and_quality(
    rig: Rig,
) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery, read=True, quality="a_personne")
        page = await client.get(f"/actes/{ACT}")
    assert "le 4 mars 2031 à 22 h 30 (heure légale de Paris)" in page.text
    assert "Prise de connaissance (première ouverture du document)" in page.text
    assert "Qualification de la signification : Signifié à personne" in page.text


async def test_an_overseas_recipient_reads_dates_in_their_legal_time(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        account_id = await served_recipient(rig, client, delivery)
        # 2031-03-05T00:30Z: 4 March at 20:30 in Guadeloupe, 5 March in Paris and in UTC.
        delivery.acts[ACT] = {
            **act_view(account_id),
            "served_at": "2031-03-05T00:30:00.000000Z",
            "legal_local_time": "2031-03-04T20:30:00-04:00",
            "recipient_territory": "guadeloupe",
        }
        page = await client.get(f"/actes/{ACT}")
    assert "4 mars 2031 à 20 h 30 (heure légale de la Guadeloupe)" in page.text
    assert "5 mars 2031" not in page.text


async def test_an_act_whose_territory_is_not_named_is_dated_in_paris_legal_time_named(
    rig: Rig,
) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        account_id = await served_recipient(rig, client, delivery)
        view = {**act_view(account_id), "served_at": "2031-03-05T00:30:00.000000Z"}
        del view["recipient_territory"]
        delivery.acts[ACT] = view
        page = await client.get(f"/actes/{ACT}")
    assert "5 mars 2031 à 1 h 30 (heure légale de Paris)" in page.text


async def test_another_recipients_act_and_odd_ids_are_not_found(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await signed_in_recipient(rig, client)
        delivery.acts[ACT] = act_view("someone-else")
        page = await client.get(f"/actes/{ACT}")
        content = await client.get(f"/actes/{ACT}/contenu")
        odd = await client.get("/actes/a%20b")
        odd_content = await client.get("/actes/a%20b/contenu")
        traversal = await client.get("/actes/..%2Fevidence/contenu")
    for response in (page, content, odd, odd_content):
        assert response.status_code == 404
        assert "Acte introuvable" in response.text
    assert traversal.status_code == 404
    assert accessibility_problems(page.text) == []
    assert delivery.calls() == [("GET", f"/v1/inbox/{ACT}"), ("GET", f"/v1/inbox/{ACT}/content")]


# -- download ----------------------------------------------------------------------------------


async def test_the_download_relays_delivery_pdf_as_an_attachment(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        download = await client.get(f"/actes/{ACT}/contenu")
        after = await client.get(f"/actes/{ACT}")
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == f'attachment; filename="acte-{ACT}.pdf"'
    assert download.headers["content-length"] == str(len(PDF))
    assert download.headers["x-content-sha256"] == "ab" * 32
    assert download.headers["cache-control"] == "no-store"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert ("GET", f"/v1/inbox/{ACT}/content") in delivery.calls()
    # Delivery recorded the prise de connaissance: the act's page now says when.
    assert "le 4 mars 2031 à 22 h 30" in after.text


async def drive(
    app: FastAPI,
    client: httpx.AsyncClient,
    method: str,
    path: str,
    pieces: list[bytes] | None = None,
    content_type: str = "",
    events: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One request straight into the ASGI app with the browser's cookies, the body in
    `pieces` (one `receive` each, noted in `events`); every ASGI message sent is returned.
    httpx's ASGI transport would gather both bodies whole, hiding how they flow."""
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    headers = [(b"host", b"portail.test"), (b"cookie", cookie.encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("198.51.100.7", 40000),
        "server": ("portail.test", 80),
    }
    body = list(pieces or [b""])
    sent: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not body:
            await done.wait()
            return {"type": "http.disconnect"}
        await asyncio.sleep(0)
        piece = body.pop(0)
        if events is not None:
            events.append("browser sent")
        return {"type": "http.request", "body": piece, "more_body": bool(body)}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app(scope, receive, send)
    return sent


async def test_the_download_streams_chunk_by_chunk_without_buffering_the_pdf(rig: Rig) -> None:
    delivery = FakeDelivery(content_chunks=5)
    async with browser(rig, delivery) as (client, app):
        await served_recipient(rig, client, delivery)
        sent = await drive(app, client, "GET", f"/actes/{ACT}/contenu")
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]
    # Each of delivery's chunks went out as it came: the PDF was never held whole.
    assert len(bodies) == 5
    assert b"".join(bodies) == PDF


async def test_a_download_delivery_cannot_serve_is_a_503_page_not_a_broken_pdf(
    rig: Rig,
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"type": "urn:securact:problem:object-store-unavailable"})

    delivery = FakeDelivery()
    async with browser(rig, delivery, httpx.MockTransport(broken)) as (client, _):
        await served_recipient(rig, client, delivery)
        download = await client.get(f"/actes/{ACT}/contenu")
    assert download.status_code == 503
    assert download.headers["content-type"].startswith("text/html")
    assert "Service momentanément indisponible" in download.text


# -- replies -----------------------------------------------------------------------------------


async def test_a_reply_is_relayed_to_delivery_and_confirmed_after_a_redirect(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        sent = await post_reply(client, PDF[:3000], filename="C:\\Documents\\ma réponse.pdf")
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/actes/{ACT}?info=reponse-deposee"
        confirmation = await client.get(sent.headers["location"])
    assert delivery.replies == [(ACT, "ma réponse.pdf", PDF[:3000])]
    [post] = [r for r in delivery.requests if r.method == "POST"]
    assert post.url.path == f"/v1/inbox/{ACT}/replies"
    # Relayed as a stream: chunked, no length known in advance, nothing spooled first.
    assert post.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in post.headers
    assert "Votre réponse a été transmise au commissaire de justice." in confirmation.text


async def test_the_reply_is_forwarded_while_the_browser_is_still_uploading(rig: Rig) -> None:
    """The portal reads the browser's upload chunk by chunk and delivery receives each piece
    before the browser has sent the next: the file is never held whole."""
    events: list[str] = []
    browser_pieces = 6
    delivery = FakeDelivery()

    class StreamingDelivery(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.method != "POST":
                return await delivery.handle(request)
            assert isinstance(request.stream, httpx.AsyncByteStream)
            async for chunk in request.stream:
                if b"x" * 64 in chunk:
                    events.append("delivery got file bytes")
            return httpx.Response(201, json={"id": "reply-1"})

    async with browser(rig, delivery, StreamingDelivery()) as (client, app):
        await served_recipient(rig, client, delivery)
        csrf = csrf_of((await client.get(f"/actes/{ACT}")).text)
        body, content_type = multipart_form(csrf, PDF[:3000])
        step = -(-len(body) // browser_pieces)
        pieces = [body[i : i + step] for i in range(0, len(body), step)]
        sent = await drive(
            app, client, "POST", f"/actes/{ACT}/reponses", pieces, content_type, events
        )
    assert sent[0]["status"] == 303
    first_relayed = events.index("delivery got file bytes")
    last_browser = max(i for i, e in enumerate(events) if e == "browser sent")
    assert first_relayed < last_browser


async def test_delivery_refusals_are_told_politely_next_to_the_field(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        infected = await post_reply(client, b"%PDF-1.4\n" + EICAR)
        wrong_type = await post_reply(client, b"GIF89a not a pdf", filename="photo.gif")
    assert infected.status_code == 422
    assert "antivirus a détecté un logiciel malveillant" in infected.text
    assert wrong_type.status_code == 422
    assert "envoyez un document PDF ou une image JPEG" in wrong_type.text
    for page in (infected, wrong_type):
        assert outline(page.text).summary_links == ["fichier"]
        assert 'aria-invalid="true"' in page.text
        assert accessibility_problems(page.text) == []
    assert len(delivery.replies) == 2


async def test_a_reply_over_the_limit_is_refused_with_the_limit_given(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        # Declared too large: refused before a byte is read or relayed.
        csrf = csrf_of((await client.get(f"/actes/{ACT}")).text)
        body, content_type = multipart_form(csrf, b"%PDF-" + b"0" * 40_000)
        declared = await client.post(
            f"/actes/{ACT}/reponses", content=body, headers={"Content-Type": content_type}
        )
        posts_after_declared = [r for r in delivery.requests if r.method == "POST"]
        # Sent without a length (chunked): cut off as soon as it passes the limit.

        async def chunked() -> AsyncIterator[bytes]:
            yield body[:8000]
            yield body[8000:]

        streamed = await client.post(
            f"/actes/{ACT}/reponses", content=chunked(), headers={"Content-Type": content_type}
        )
    for page in (declared, streamed):
        assert page.status_code == 413
        assert page.headers["connection"] == "close"
        assert "dépasse la taille maximale de 4 Ko" in page.text
        assert accessibility_problems(page.text) == []
    assert posts_after_declared == []
    assert delivery.replies == []  # the truncated relay never completed at delivery


async def test_a_reply_without_a_file_or_with_an_empty_one_never_reaches_delivery(
    rig: Rig,
) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        empty = await post_reply(client, b"")
        none = await post_reply(client, b"", filename="")
    assert empty.status_code == 422
    assert "Le fichier choisi est vide" in empty.text
    assert none.status_code == 422
    assert "Choisissez le fichier de votre réponse." in none.text
    assert [r for r in delivery.requests if r.method == "POST"] == []


async def test_a_forged_reply_is_refused_without_calling_delivery(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        forged = await post_reply(client, PDF, csrf="x" * 43)
        not_multipart = await client.post(f"/actes/{ACT}/reponses", data={"csrf_token": "x" * 43})
    assert forged.status_code == 403
    assert not_multipart.status_code == 403
    assert [r for r in delivery.requests if r.method == "POST"] == []


async def test_a_terminated_account_lists_and_downloads_but_cannot_reply(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        account_id = await served_recipient(rig, client, delivery)
        ended = await submit(
            client, "/compte", "/compte/resiliation", {"confirmation_resiliation": "oui"}
        )
        assert ended.status_code == 200
        rig.clock.advance(timedelta(seconds=1))
        back = await submit(
            client,
            "/connexion",
            "/connexion",
            {"identifiant": await rig.identifier(account_id), "mot_de_passe": PASSWORD},
        )
        assert back.status_code == 303
        listing = await client.get("/actes")
        page = await client.get(f"/actes/{ACT}")
        download = await client.get(f"/actes/{ACT}/contenu")
        refused = await post_reply(client, PDF[:100], csrf=csrf_of(page.text))
    assert listing.status_code == 200
    assert "SCI Les Tilleuls" in listing.text
    assert page.status_code == 200
    assert f'action="/actes/{ACT}/reponses"' not in page.text
    assert "Votre compte est résilié" in page.text
    assert download.status_code == 200
    assert download.content == PDF
    assert refused.status_code == 403
    assert [r for r in delivery.requests if r.method == "POST"] == []
    token = delivery.requests[-1].headers["authorization"].removeprefix("Bearer ")
    assert (await plain_verifier(rig, "delivery").verify(token)).scopes == {"acts:read"}


# -- access and failures -----------------------------------------------------------------------


async def test_delivery_unreachable_gives_a_polite_503_page(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        csrf = csrf_of((await client.get("/compte")).text)
        delivery.down = True
        responses = [
            await client.get("/actes"),
            await client.get(f"/actes/{ACT}"),
            await client.get(f"/actes/{ACT}/contenu"),
            await post_reply(client, PDF[:100], csrf=csrf),
        ]
    for response in responses:
        assert response.status_code == 503
        assert response.headers["retry-after"] == "60"
        assert response.headers["cache-control"] == "no-store"
        assert "Service momentanément indisponible" in response.text
        assert accessibility_problems(response.text) == []


async def test_an_unexpected_answer_from_delivery_is_not_shown_as_acts(rig: Rig) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="Internal Server Error")

    delivery = FakeDelivery()
    async with browser(rig, delivery, httpx.MockTransport(broken)) as (client, _):
        await signed_in_recipient(rig, client)
        page = await client.get("/actes")
    assert page.status_code == 503
    assert "Internal Server Error" not in page.text


async def test_the_pages_need_a_recipient_session_past_the_cgu(rig: Rig) -> None:
    delivery = FakeDelivery()
    paths = ("/actes", f"/actes/{ACT}", f"/actes/{ACT}/contenu")
    async with browser(rig, delivery) as (client, _):
        for path in paths:
            assert (await client.get(path)).headers["location"] == "/connexion"
        await activate(rig, client)
        for path in paths:
            assert (await client.get(path)).headers["location"] == "/cgu"
    await rig.identity.accounts.create_operator("operateur-test", PASSWORD)
    async with browser(rig, delivery) as (client, _):
        signed = await submit(
            client,
            "/connexion",
            "/connexion",
            {"identifiant": "operateur-test", "mot_de_passe": PASSWORD},
        )
        assert signed.status_code == 303
        page = await client.get("/actes")
    assert page.status_code == 403
    assert "réservée aux destinataires" in page.text
    assert delivery.requests == []


async def test_the_account_page_links_to_the_acts(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await signed_in_recipient(rig, client)
        account = await client.get("/compte")
    assert 'href="/actes"' in account.text
    assert accessibility_problems(account.text) == []


def test_sizes_are_written_the_french_way() -> None:
    assert file_size(4096) == "4 Ko"
    assert file_size(20 * 1024 * 1024) == "20 Mo"
    assert file_size(3 * 1024 * 1024 // 2) == "1,5 Mo"


def test_reply_file_names_keep_only_a_safe_last_segment() -> None:
    assert reply_filename("../../etc/passwd") == "passwd"
    assert reply_filename("C:\\Users\\a\\réponse.pdf") == "réponse.pdf"
    assert reply_filename('a"b\r\nc.pdf') == "a_b__c.pdf"
    assert reply_filename("") == "reponse"
    assert reply_filename("..") == "reponse"


async def test_an_sms_notice_is_labelled_as_an_sms_not_as_an_email(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        page = await client.get(f"/actes/{ACT}")
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", page.text)
    labels = dict(rows)
    assert (
        labels["4 mars 2031 à 9 h 32 (heure légale de Paris)"]
        == "Avis de signification envoyé par SMS"
    )
    assert (
        labels["4 mars 2031 à 9 h 31 (heure légale de Paris)"]
        == "Avis de signification envoyé par courriel"
    )


async def test_the_act_page_says_service_takes_effect_at_sending_and_time_limits_may_run(
    rig: Rig,
) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        page = await client.get(f"/actes/{ACT}")
    notice = re.search(r'<div[^>]*id="effet-signification".*?</div>', page.text, re.S)
    assert notice is not None
    text = " ".join(notice.group(0).split())
    assert "signifié à la date et à l'heure de son envoi" in text
    assert "664-1" in text
    assert "délais légaux" in text


async def test_a_recipient_lands_on_mes_actes_and_every_page_header_links_to_it(
    rig: Rig,
) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        assert (await client.get("/")).headers["location"] == "/actes"
        for path in ("/actes", f"/actes/{ACT}", "/compte"):
            page = await client.get(path)
            menu = re.search(r'<nav aria-label="Menu du compte">.*?</nav>', page.text, re.S)
            assert menu is not None, path
            assert '<a href="/actes">Mes actes</a>' in menu.group(0), path


async def test_the_sha256_of_the_act_may_wrap_on_a_narrow_screen(rig: Rig) -> None:
    delivery = FakeDelivery()
    async with browser(rig, delivery) as (client, _):
        await served_recipient(rig, client, delivery)
        page = await client.get(f"/actes/{ACT}")
    css = (Path(shared.portal.__file__).parent / "static" / "portail.css").read_text()
    assert re.search(r'<code class="coupable">[0-9a-f]{64}</code>', page.text)
    assert re.search(r"code, \.coupable \{[^}]*overflow-wrap: anywhere", css)
