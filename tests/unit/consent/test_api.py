"""Consent's HTTP API through ASGI, with tokens signed as identity signs them: the upload
(validation, content sniffing, 413 before the body is read), the person's routes and the
authorization matrix."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from consent.api import consent_router
from consent.intake import Limits
from consent.lookup import LookupLimits
from consent.repository import CONSULTATIONS
from shared.auth import install_token_verifier
from shared.contracts.identity import AccountCreatedV1, AccountRole, TermsAcceptedV1
from shared.problems import install_problem_handlers
from shared.refusals import install_refusal_handlers
from tests.unit.consent.conftest import START, TODAY, Harness, build
from tests.unit.consent.support import (
    BIRTH,
    EMAIL,
    EXE,
    JPEG,
    LEGAL_FILES,
    NATURAL_FILES,
    NOM,
    PDF,
    PNG,
    PRENOMS,
    Tokens,
    legal_declaration,
    multipart_body,
    natural_declaration,
    natural_person,
)

MAX_PROOF = 64 * 1024
LIMITS = Limits(
    max_request_bytes=4 * MAX_PROOF, max_proof_bytes=MAX_PROOF, max_proofs=4, max_json_bytes=16_384
)


class Api:
    def __init__(self, harness: Harness, client: httpx.AsyncClient, tokens: Tokens) -> None:
        self.h = harness
        self.client = client
        self.tokens = tokens

    async def register(
        self,
        declaration: dict[str, Any] | bytes | None = None,
        files: dict[str, tuple[str, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> httpx.Response:
        body, content_type = multipart_body(
            natural_declaration(TODAY) if declaration is None else declaration,
            NATURAL_FILES if files is None else files,
            **options,
        )
        return await self.client.post(
            "/v1/declarations",
            content=body,
            headers={"Content-Type": content_type, **(headers or self.tokens.office())},
        )

    async def registered(self, **kwargs: Any) -> str:
        response = await self.register(**kwargs)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def link(self, declaration_id: str, account_id: str) -> None:
        await self.h.deliver(
            AccountCreatedV1(
                account_id=account_id, role=AccountRole.RECIPIENT, declaration_id=declaration_id
            )
        )

    async def activate(self, declaration_id: str, account_id: str) -> None:
        await self.h.deliver(
            TermsAcceptedV1(
                account_id=account_id,
                declaration_id=declaration_id,
                terms_version=1,
                content_hash="h",
                accepted_at=START,
            )
        )


@asynccontextmanager
async def serving(harness: Harness, tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    install_refusal_handlers(app)
    app.include_router(consent_router(harness.consent, LIMITS))
    install_token_verifier(app, tokens.verifier())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://consent") as client:
        yield client


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[Api]:
    tokens = Tokens(harness.clock)
    async with serving(harness, tokens) as client:
        yield Api(harness, client, tokens)


def search_params(**overrides: str) -> dict[str, str]:
    params = {
        "nom": "QUENNEVILLE",
        "prenoms": "Eloise Marguerite",
        "date_naissance": "1984-07-19",
        "purpose": "dossier 2031-0042",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v}


# -- upload ----------------------------------------------------------------------------------


async def test_an_office_registers_a_natural_person_with_proofs(api: Api) -> None:
    response = await api.register()
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "registered"
    assert len(api.h.objects.objects) == 2


async def test_parts_may_come_in_any_order(api: Api) -> None:
    response = await api.register(legal_declaration(TODAY), LEGAL_FILES, declaration_last=True)
    assert response.status_code == 201, response.text
    assert response.json()["territory"] == "alsace_moselle"


async def test_a_pdf_named_file_that_is_a_png_is_kept_as_png(api: Api) -> None:
    declaration_id = await api.registered(
        files={"id-card": ("cni.pdf", PNG), "address": ("facture.pdf", JPEG)}
    )
    proofs = await api.h.registry.proofs_of(declaration_id)
    assert sorted(p["media_type"] for p in proofs) == ["image/jpeg", "image/png"]


@pytest.mark.parametrize(
    ("content", "words"),
    [(EXE, "neither"), (b"", "empty"), (b"%PDF-1.4\nno trailer", "trailer")],
    ids=["executable-renamed-pdf", "empty", "truncated-pdf"],
)
async def test_files_that_are_not_documents_are_refused_and_nothing_stays_stored(
    api: Api, content: bytes, words: str
) -> None:
    response = await api.register(
        files={"id-card": ("cni.pdf", PDF), "address": ("facture.pdf", content)}
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["loc"] == ["proofs", "address"]
    assert words in error["msg"]
    assert api.h.objects.objects == {}
    assert await api.h.store.count("declarations") == 0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        # A trailer keyword and nothing a reader could open: no cross-reference.
        (
            b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
            "trailer",
        ),
        (PNG[:-12], "PNG is truncated"),
        (JPEG[:-2], "JPEG is truncated"),
    ],
    ids=["pdf-without-cross-reference", "png-without-iend", "jpeg-without-eoi"],
)
async def test_proofs_are_held_to_the_same_strictness_as_delivery_holds_replies(
    api: Api, content: bytes, words: str
) -> None:
    response = await api.register(
        files={"id-card": ("cni.pdf", PDF), "address": ("facture.pdf", content)}
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["loc"] == ["proofs", "address"]
    assert words in error["msg"]
    assert api.h.objects.objects == {}


class CountingBody:
    """A request body that records how much of it the server pulled."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.sent += len(chunk)
            yield chunk

    @property
    def total(self) -> int:
        return sum(len(c) for c in self.chunks)


async def test_an_oversized_file_is_refused_with_413_before_the_body_is_read(api: Api) -> None:
    huge = PDF[:-6] + bytes(3 * MAX_PROOF) + b"%%EOF\n"
    body, content_type = multipart_body(
        natural_declaration(TODAY), {"id-card": ("cni.pdf", huge), "address": ("f.jpg", JPEG)}
    )
    stream = CountingBody([body[i : i + 4096] for i in range(0, len(body), 4096)])
    # Chunked: no Content-Length, so the limit applies while the file streams.
    response = await api.client.post(
        "/v1/declarations",
        content=stream,
        headers={"Content-Type": content_type, **api.tokens.office()},
    )
    assert response.status_code == 413, response.text
    assert response.json()["limit_bytes"] == MAX_PROOF
    assert stream.sent < MAX_PROOF + 3 * 4096 < stream.total
    assert api.h.objects.objects == {}
    assert api.h.objects.aborted == 1


async def test_a_declared_content_length_over_the_limit_is_refused_unread(api: Api) -> None:
    stream = CountingBody([b"x" * 1024] * 8)
    response = await api.client.post(
        "/v1/declarations",
        content=stream,
        headers={
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(LIMITS.max_request_bytes + 1),
            **api.tokens.office(),
        },
    )
    assert response.status_code == 413
    assert stream.sent <= 1024


@pytest.mark.parametrize(
    ("declaration", "files", "detail"),
    [
        (b"{not json", NATURAL_FILES, "declaration part is invalid"),
        (None, NATURAL_FILES, "missing"),
        (natural_declaration(TODAY), {"id-card": ("a.pdf", PDF)}, "breaks a rule"),
        (
            natural_declaration(TODAY),
            {**NATURAL_FILES, "extra": ("x.pdf", PDF)},
            "breaks a rule",
        ),
    ],
    ids=["malformed-json", "no-declaration-part", "described-part-missing", "undescribed-file"],
)
async def test_incomplete_uploads_are_refused(
    api: Api,
    declaration: dict[str, Any] | bytes | None,
    files: dict[str, tuple[str, bytes]],
    detail: str,
) -> None:
    body, content_type = multipart_body(declaration, files)
    response = await api.client.post(
        "/v1/declarations",
        content=body,
        headers={"Content-Type": content_type, **api.tokens.office()},
    )
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]
    assert api.h.objects.objects == {}


async def test_field_errors_name_the_field_and_never_echo_the_value(api: Api) -> None:
    declaration = natural_declaration(TODAY, person=natural_person(email="quenneville-at-home"))
    response = await api.register(declaration)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["declaration", "person", "natural", "email"]
    assert "quenneville-at-home" not in response.text


async def test_a_stale_proof_of_address_is_refused_with_its_field(api: Api) -> None:
    declaration = natural_declaration(TODAY)
    declaration["proofs"][1]["issued_on"] = "2031-01-10"  # exactly 3 months before 10 April
    response = await api.register(declaration)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["proofs[1]", "issued_on"]


async def test_a_duplicate_declaration_gets_409_with_the_existing_id(api: Api) -> None:
    first = await api.registered()
    response = await api.register(headers=api.tokens.office("etude-2"))
    assert response.status_code == 409
    assert response.json()["declaration_id"] == first
    # The refused upload's objects are gone: only the first declaration's two remain.
    assert len(api.h.objects.objects) == 2


# -- the person ------------------------------------------------------------------------------


async def test_the_person_views_exports_and_downloads_their_own_proofs(api: Api) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    await api.activate(declaration_id, "acc-1")
    mine = await api.client.get("/v1/me/declaration", headers=api.tokens.recipient("acc-1"))
    assert mine.status_code == 200
    assert mine.json()["status"] == "active"
    assert [h["status"] for h in mine.json()["history"]] == ["registered", "active"]
    export = await api.client.get("/v1/me/export", headers=api.tokens.recipient("acc-1"))
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    data = export.json()
    assert data["declaration"]["person"]["email"] == "eloise.quenneville@example.org"
    contents = set()
    for proof in data["proofs"]:
        download = await api.client.get(proof["download"], headers=api.tokens.recipient("acc-1"))
        assert download.status_code == 200
        assert download.headers["content-type"] == proof["media_type"]
        contents.add(download.content)
    assert contents == {PDF, JPEG}


async def test_revocation_needs_the_confirmation_then_the_registry_answers_revoked(
    api: Api,
) -> None:
    declaration_id = await api.registered()
    await api.activate(declaration_id, "acc-1")
    person = api.tokens.recipient("acc-1")
    for body in ({}, {"confirmation": False}, {"confirmation": "yes"}):
        refused = await api.client.post("/v1/me/declaration/revocation", json=body, headers=person)
        assert refused.status_code == 422
    done = await api.client.post(
        "/v1/me/declaration/revocation", json={"confirmation": True}, headers=person
    )
    assert done.status_code == 200
    assert done.json()["status"] == "revoked"
    again = await api.client.post(
        "/v1/me/declaration/revocation", json={"confirmation": True}, headers=person
    )
    assert again.status_code == 409
    lookup = await api.client.get(
        "/v1/registry/search", params=search_params(), headers=api.tokens.office("etude-5")
    )
    assert lookup.json()["status"] == "revoked"


async def test_a_restriction_request_is_recorded(api: Api) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    response = await api.client.post(
        "/v1/me/restriction-requests",
        json={"kind": "restriction", "text": "Merci de limiter le traitement."},
        headers=api.tokens.recipient("acc-1"),
    )
    assert response.status_code == 201
    assert response.json()["state"] == "open"


async def test_a_session_still_facing_the_cgu_reaches_none_of_the_persons_routes(
    api: Api,
) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    pending = api.tokens.recipient("acc-1", scopes="terms:accept")
    calls = [
        ("GET", "/v1/me/declaration", None),
        ("GET", "/v1/me/export", None),
        ("POST", "/v1/me/declaration/revocation", {"confirmation": True}),
        ("POST", "/v1/me/restriction-requests", {"kind": "objection", "text": "x"}),
        ("GET", "/v1/me/restriction-requests", None),
    ]
    for method, path, body in calls:
        response = await api.client.request(method, path, json=body, headers=pending)
        assert response.status_code == 403, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    document = await api.h.registry.get(declaration_id)
    assert document is not None
    assert document["status"] == "registered"


async def test_a_terminated_account_reads_its_data_but_cannot_revoke(api: Api) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    read_only = api.tokens.recipient("acc-1", scopes="acts:read")
    assert (await api.client.get("/v1/me/declaration", headers=read_only)).status_code == 200
    assert (await api.client.get("/v1/me/export", headers=read_only)).status_code == 200
    revocation = await api.client.post(
        "/v1/me/declaration/revocation", json={"confirmation": True}, headers=read_only
    )
    assert revocation.status_code == 403
    assert revocation.json()["required_scopes"] == ["account:write"]


async def _requested(api: Api, account_id: str, kind: str = "restriction") -> str:
    response = await api.client.post(
        "/v1/me/restriction-requests",
        json={"kind": kind, "text": "Merci de limiter le traitement."},
        headers=api.tokens.recipient(account_id),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_the_operator_answers_a_restriction_request_once(api: Api) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    first = await _requested(api, "acc-1")
    second = await _requested(api, "acc-1", "objection")

    queue = await api.client.get("/v1/restriction-requests", headers=api.tokens.operator())
    assert queue.status_code == 200, queue.text
    assert [(r["id"], r["kind"], r["declaration_id"]) for r in queue.json()["requests"]] == [
        (first, "restriction", declaration_id),
        (second, "objection", declaration_id),
    ]

    answered = await api.client.post(
        f"/v1/restriction-requests/{first}/answer",
        json={"outcome": "refused", "reason": "Le registre doit rester consultable (art. 21)."},
        headers=api.tokens.operator(),
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["state"] == "refused"
    again = await api.client.post(
        f"/v1/restriction-requests/{first}/answer",
        json={"outcome": "granted", "reason": "Changement d'avis."},
        headers=api.tokens.operator(),
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"

    # Only the open one is left in the queue; "all" shows both.
    still_open = await api.client.get("/v1/restriction-requests", headers=api.tokens.operator())
    assert [r["id"] for r in still_open.json()["requests"]] == [second]
    every = await api.client.get(
        "/v1/restriction-requests", params={"state": "all"}, headers=api.tokens.operator()
    )
    assert [r["state"] for r in every.json()["requests"]] == ["refused", "open"]

    # The person reads the answer and its reason.
    mine = await api.client.get(
        "/v1/me/restriction-requests", headers=api.tokens.recipient("acc-1")
    )
    assert mine.status_code == 200
    [refused, pending] = mine.json()["requests"]
    assert refused["state"] == "refused"
    assert refused["reason"].startswith("Le registre")
    assert "reason" not in pending

    # The event carries the outcome, not the operator's words.
    [event] = await api.h.events("consent.restriction-answered.v1")
    assert event.payload["outcome"] == "refused"
    assert event.payload["request_id"] == first
    assert event.actor == "operator:op-1"
    assert "Le registre" not in event.model_dump_json()


async def test_restriction_requests_are_the_operators_alone(api: Api) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    request_id = await _requested(api, "acc-1")
    for headers in (api.tokens.recipient("acc-1"), api.tokens.office()):
        listed = await api.client.get("/v1/restriction-requests", headers=headers)
        assert listed.status_code == 403
        answered = await api.client.post(
            f"/v1/restriction-requests/{request_id}/answer",
            json={"outcome": "granted", "reason": "ok"},
            headers=headers,
        )
        assert answered.status_code == 403


async def test_answering_badly_is_a_clear_error(api: Api) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    request_id = await _requested(api, "acc-1")
    unknown = await api.client.post(
        "/v1/restriction-requests/nope/answer",
        json={"outcome": "granted", "reason": "ok"},
        headers=api.tokens.operator(),
    )
    assert unknown.status_code == 404
    assert unknown.json()["type"].endswith("restriction-request-not-found")
    for body in (
        {"outcome": "maybe", "reason": "ok"},
        {"outcome": "granted", "reason": "   "},
        {"outcome": "granted"},
    ):
        refused = await api.client.post(
            f"/v1/restriction-requests/{request_id}/answer",
            json=body,
            headers=api.tokens.operator(),
        )
        assert refused.status_code == 422, body
    bad_state = await api.client.get(
        "/v1/restriction-requests", params={"state": "closed"}, headers=api.tokens.operator()
    )
    assert bad_state.status_code == 422
    queue = await api.client.get("/v1/restriction-requests", headers=api.tokens.operator())
    assert [r["state"] for r in queue.json()["requests"]] == ["open"]


async def test_the_operator_queue_pages(api: Api) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    ids = [await _requested(api, "acc-1") for _ in range(3)]
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"after": after} if after else {})}
        page = await api.client.get(
            "/v1/restriction-requests", params=params, headers=api.tokens.operator()
        )
        seen += [r["id"] for r in page.json()["requests"]]
        after = page.json()["next_after"]
        if after is None:
            break
    assert seen == ids


# -- registry lookup -------------------------------------------------------------------------


async def test_lookup_answers_only_what_serving_needs(api: Api) -> None:
    declaration_id = await api.registered()
    response = await api.client.get(
        "/v1/registry/search", params=search_params(), headers=api.tokens.office("etude-2")
    )
    assert response.status_code == 200
    assert response.json() == {
        "found": True,
        "declaration_id": declaration_id,
        "status": "registered",
        "scope": ["signification_jugement", "assignation"],
        "valid_until": natural_declaration(TODAY)["duration"]["until"],
        "territory": "metropole",
    }


@pytest.mark.parametrize(
    "params",
    [
        search_params(purpose=""),
        search_params(nom=""),
        search_params(date_naissance=""),
        {**search_params(), "siren": "732829320"},
        {"siren": "732829321", "purpose": "x"},
        {"siren": "7328293", "purpose": "x"},
    ],
    ids=["no-purpose", "no-nom", "no-birth-date", "both-kinds", "bad-siren-key", "short-siren"],
)
async def test_incomplete_or_mixed_lookups_are_refused_without_journal(
    api: Api, params: dict[str, str]
) -> None:
    response = await api.client.get(
        "/v1/registry/search", params=params, headers=api.tokens.office()
    )
    assert response.status_code == 422
    assert await api.h.events("consent.registry-consulted.v1") == []


async def test_the_post_form_keeps_the_keys_out_of_the_url_and_answers_the_same(
    api: Api,
) -> None:
    declaration_id = await api.registered()
    response = await api.client.post(
        "/v1/registry/search",
        json={**search_params(), "lieu_naissance": "BESANCON"},
        headers=api.tokens.office("etude-2"),
    )
    assert response.status_code == 200
    assert response.json()["declaration_id"] == declaration_id
    recipient = await api.client.post(
        "/v1/registry/search", json=search_params(), headers=api.tokens.recipient("acc-1")
    )
    assert recipient.status_code == 403


@pytest.mark.parametrize("who", ["office", "judicial"])
async def test_a_lookup_is_journaled_on_its_own_subject_naming_the_declaration_by_id_only(
    api: Api, who: str
) -> None:
    declaration_id = await api.registered()
    response = await api.client.post(
        "/v1/registry/search",
        json={**search_params(), "lieu_naissance": "Besançon"},
        headers=_headers(api, "other-office" if who == "office" else who),
    )
    assert response.status_code == 200, response.text
    [event] = await api.h.events("consent.registry-consulted.v1")
    # Not the declaration's subject: a consulting office must become a party of its own
    # lookup only, never of the person's declaration and its payloads.
    consultation_id = event.payload["consultation_id"]
    assert event.subject == f"registry-lookup:{consultation_id}"
    declaration_subjects = {e.subject for e in await api.h.events() if e.type != event.type}
    assert declaration_subjects == {f"declaration:{declaration_id}"}
    assert event.payload["declaration_id"] == declaration_id
    assert event.payload["purpose"] == "dossier 2031-0042"
    assert event.payload["office_id"] == ("etude-2" if who == "office" else None)
    assert set(event.payload) == {
        "consultation_id",
        "consulter_role",
        "office_id",
        "consulter",
        "purpose",
        "declaration_id",
        "consulted_at",
    }
    text = json.dumps(event.model_dump(mode="json")).casefold()
    for personal in (NOM, "eloise", PRENOMS, BIRTH.isoformat(), EMAIL, "besan"):
        assert personal.casefold() not in text


async def test_a_miss_is_an_answer_and_is_journaled(api: Api) -> None:
    response = await api.client.get(
        "/v1/registry/search",
        params={"siren": "552100554", "purpose": "dossier 9"},
        headers=api.tokens.office(),
    )
    assert response.json() == {"found": False}
    [event] = await api.h.events("consent.registry-consulted.v1")
    assert event.payload["declaration_id"] is None


# -- lookup rate limit ------------------------------------------------------------------------


@asynccontextmanager
async def replicas(
    api: Api, tmp_path: Path, limits: LookupLimits
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two consent replicas with these limits: each its own registry and app, one store."""
    async with (
        serving(build(api.h.store, api.h.clock, tmp_path, limits), api.tokens) as first,
        serving(build(api.h.store, api.h.clock, tmp_path, limits), api.tokens) as second,
    ):
        yield first, second


async def test_an_office_over_its_lookups_per_minute_gets_429_on_every_replica_unjournaled(
    api: Api, tmp_path: Path
) -> None:
    await api.registered()
    etude_2, other_client_of_etude_2 = (
        api.tokens.office("etude-2"),
        api.tokens.bearer(
            sub="client-etude-2-bis", role="office", scopes="registry:read", office_id="etude-2"
        ),
    )
    async with replicas(api, tmp_path, LookupLimits(per_office=3)) as (one, two):
        for replica in (one, two, one):
            allowed = await replica.post(
                "/v1/registry/search", json=search_params(), headers=etude_2
            )
            assert allowed.status_code == 200, allowed.text
        api.h.clock.advance(timedelta(seconds=20))
        for replica, headers in ((two, etude_2), (one, other_client_of_etude_2)):
            refused = await replica.post(
                "/v1/registry/search", json=search_params(), headers=headers
            )
            assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["retry-after"] == "40"
            assert refused.json()["retry_after_seconds"] == 40
            assert "found" not in refused.json()
        # A refused lookup is none: nothing searched, nothing journaled.
        assert len(await api.h.events("consent.registry-consulted.v1")) == 3
        assert await api.h.store.count(CONSULTATIONS) == 3
        other_office = await two.post(
            "/v1/registry/search", json=search_params(), headers=api.tokens.office("etude-3")
        )
        assert other_office.status_code == 200
        api.h.clock.advance(timedelta(seconds=40))
        again = await two.post("/v1/registry/search", json=search_params(), headers=etude_2)
        assert again.status_code == 200


async def test_a_judicial_client_has_its_own_lookup_limit(api: Api, tmp_path: Path) -> None:
    judge, other_judge = (
        api.tokens.bearer(sub=sub, role="judicial_authority", scopes="registry:read")
        for sub in ("juge-1", "juge-2")
    )
    limits = LookupLimits(per_office=1, per_judicial_client=2)
    async with replicas(api, tmp_path, limits) as (one, two):
        lookup = {"siren": "732829320", "purpose": "RG 31/00042"}
        statuses = [
            (await replica.post("/v1/registry/search", json=lookup, headers=judge)).status_code
            for replica in (one, two, one)
        ]
        assert statuses == [200, 200, 429]
        assert (await two.post("/v1/registry/search", json=lookup, headers=other_judge)).is_success
        office = await two.post("/v1/registry/search", json=lookup, headers=api.tokens.office())
        assert office.status_code == 200


# -- authorization matrix --------------------------------------------------------------------


def _headers(api: Api, who: str) -> dict[str, str]:
    t = api.tokens
    return {
        "anonymous": {},
        "recipient": t.recipient("acc-1"),
        "other-recipient": t.recipient("acc-2"),
        "office": t.office("etude-1"),
        "other-office": t.office("etude-2"),
        "office-without-read": t.office("etude-1", scopes="registry:write acts:write"),
        "office-without-write": t.office("etude-1", scopes="registry:read"),
        "judicial": t.bearer(sub="juge-1", role="judicial_authority", scopes="registry:read"),
        "judicial-without-scope": t.bearer(sub="juge-1", role="judicial_authority"),
        "operator": t.bearer(sub="op-1", role="operator", scopes="registry:read"),
        "recipient-with-scope": t.bearer(sub="acc-1", role="recipient", scopes="registry:read"),
    }[who]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("recipient", 403),
        ("recipient-with-scope", 403),
        ("office-without-read", 403),
        ("judicial-without-scope", 403),
        ("operator", 403),
        ("office", 200),
        ("judicial", 200),
    ],
)
async def test_registry_reads_are_for_bailiffs_and_the_judicial_authority(
    api: Api, who: str, status: int
) -> None:
    await api.registered()
    response = await api.client.get(
        "/v1/registry/search", params=search_params(), headers=_headers(api, who)
    )
    assert response.status_code == status, response.text
    journaled = await api.h.events("consent.registry-consulted.v1")
    assert len(journaled) == (1 if status == 200 else 0)
    if who == "judicial":
        assert journaled[0].payload["consulter_role"] == "judicial_authority"
        assert journaled[0].actor == "judicial_authority:juge-1"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("recipient", 403),
        ("office-without-write", 403),
        ("judicial", 403),
        ("operator", 403),
    ],
)
async def test_only_office_clients_with_registry_write_register(
    api: Api, who: str, status: int
) -> None:
    response = await api.register(headers=_headers(api, who) or {"X-None": "1"})
    assert response.status_code == status
    assert api.h.objects.objects == {}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("office", 200),
        ("office-without-write", 200),
        ("other-office", 404),
        ("recipient", 200),
        ("other-recipient", 404),
        ("operator", 200),
        ("judicial", 403),
    ],
)
async def test_a_declaration_is_read_by_its_office_its_person_and_the_operator(
    api: Api, who: str, status: int
) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    response = await api.client.get(
        f"/v1/declarations/{declaration_id}", headers=_headers(api, who)
    )
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["id"] == declaration_id


async def test_a_person_never_sees_another_persons_declaration_or_proofs(api: Api) -> None:
    declaration_id = await api.registered()
    await api.link(declaration_id, "acc-1")
    other = api.tokens.recipient("acc-2")
    assert (await api.client.get("/v1/me/declaration", headers=other)).status_code == 404
    assert (await api.client.get("/v1/me/export", headers=other)).status_code == 404
    proof_id = (await api.h.registry.proofs_of(declaration_id))[0]["_id"]
    assert (await api.client.get(f"/v1/me/proofs/{proof_id}", headers=other)).status_code == 404
    revoke = await api.client.post(
        "/v1/me/declaration/revocation", json={"confirmation": True}, headers=other
    )
    assert revoke.status_code == 404
    document = await api.h.registry.get(declaration_id)
    assert document is not None
    assert document["status"] == "registered"


@pytest.mark.parametrize("path", ["/v1/me/declaration", "/v1/me/export"])
async def test_me_routes_are_for_recipients_only(api: Api, path: str) -> None:
    assert (await api.client.get(path, headers=api.tokens.office())).status_code == 403
    assert (await api.client.get(path)).status_code == 401


def test_the_openapi_description_documents_the_multipart_upload(api: Api) -> None:
    app = FastAPI()
    app.include_router(consent_router(api.h.consent, LIMITS))
    operation = app.openapi()["paths"]["/v1/declarations"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert "/v1/registry/search" in app.openapi()["paths"]
