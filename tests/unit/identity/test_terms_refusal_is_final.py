"""A refusal of the CGU is final (consent keeps the declaration refused): after it the account
has no access. Accepting afterwards is a 409 problem, never a crash; refusing again changes
nothing; login opens no session; the portal shows the refusal, not the acceptance form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI

from identity.api import identity_router, install_identity_errors
from identity.main import own_token_verifier
from identity.records import SESSIONS, TERMS_DECISIONS
from shared.auth import install_token_verifier
from shared.problems import install_problem_handlers
from tests.unit.identity.support import IP, PASSWORD, Rig, refused
from tests.unit.identity.test_portal_helpers import activate, browser, csrf_of, submit

REFUSED = "identity.terms-refused.v1"
ACCEPTED = "identity.terms-accepted.v1"
PROBLEM = "urn:securact:problem:terms-refused"


@asynccontextmanager
async def api(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    """Identity's JSON API on the unit rig (its own verifier, store as revocation list)."""
    app = FastAPI()
    app.include_router(identity_router(rig.identity))
    install_problem_handlers(app)
    install_identity_errors(app)
    install_token_verifier(app, own_token_verifier(rig.identity, rig.settings, rig.clock))
    transport = httpx.ASGITransport(app=app, client=(IP, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
        yield client


async def refuse_first_version(rig: Rig) -> tuple[str, str]:
    """A recipient who activated, logged in and refused version 1; (account id, session id)."""
    account_id, tokens = await rig.active_recipient(accept_terms=False)
    decision = await rig.identity.terms.refuse(
        account_id, version=1, session_id=tokens.session_id, ip=IP, user_agent="x"
    )
    assert (decision.version, decision.accepted, decision.terminated) == (1, False, False)
    rig.clock.advance(timedelta(seconds=1))
    return account_id, tokens.session_id


async def test_accepting_after_a_refusal_is_refused_and_records_nothing(rig: Rig) -> None:
    account_id, _ = await refuse_first_version(rig)

    error = await refused(rig.identity.terms.accept(account_id, version=1, ip=IP, user_agent="x"))

    assert (error.status, error.code) == (409, "terms-refused")
    assert await rig.payloads(ACCEPTED) == []
    [decision] = await rig.store.find(TERMS_DECISIONS, {"account_id": account_id})
    assert decision["decision"] == "refused"
    account = await rig.store.get("accounts", account_id)
    assert account is not None
    assert account["accepted_terms_version"] is None
    # Not even once a new version is in force: the refusal stands for good.
    effective = rig.clock.now() + timedelta(days=40)
    await rig.identity.terms.publish("# CGU v2\n", effective, operator="op")
    rig.clock.set(effective)
    later = await refused(rig.identity.terms.accept(account_id, version=2, ip=IP, user_agent="x"))
    assert later.code == "terms-refused"


async def test_refusing_twice_keeps_the_first_decision_and_publishes_once(rig: Rig) -> None:
    account_id, session_id = await refuse_first_version(rig)
    [first] = await rig.store.find(TERMS_DECISIONS, {"account_id": account_id})

    again = await rig.identity.terms.refuse(
        account_id, version=None, session_id=session_id, ip="203.0.113.1", user_agent="other"
    )

    assert (again.version, again.accepted, again.terminated) == (1, False, False)
    assert len(await rig.payloads(REFUSED)) == 1
    assert len(await rig.payloads("identity.session-revoked.v1")) == 1
    [kept] = await rig.store.find(TERMS_DECISIONS, {"account_id": account_id})
    assert kept == first


async def test_refusing_a_new_version_twice_answers_the_termination_on_record(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    effective = rig.clock.now() + timedelta(days=40)
    await rig.identity.terms.publish("# CGU v2\n", effective, operator="op")
    await rig.present_notices()
    rig.clock.set(effective)
    terms = rig.identity.terms

    first = await terms.refuse(account_id, version=2, session_id=None, ip=IP, user_agent="x")
    again = await terms.refuse(account_id, version=2, session_id=None, ip=IP, user_agent="x")

    assert first == again
    assert (again.version, again.terminated) == (2, True)
    assert len(await rig.payloads(REFUSED)) == 1
    assert len(await rig.payloads("identity.account-terminated.v1")) == 1


async def test_a_refusal_ends_every_session_and_login_opens_none(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient(accept_terms=False)
    other = await rig.login(account_id, ip="203.0.113.20")

    await rig.identity.terms.refuse(
        account_id, version=1, session_id=tokens.session_id, ip=IP, user_agent="x"
    )

    for session_id in (tokens.session_id, other.session_id):
        session = await rig.store.get(SESSIONS, session_id)
        assert session is not None
        assert session["revoked_at"] is not None
    assert (await refused(rig.identity.sessions.refresh(other.refresh_token))).status == 401
    reasons = [p["reason"] for p in await rig.payloads("identity.session-revoked.v1")]
    assert reasons == ["terms_refused", "terms_refused"]

    rig.clock.advance(timedelta(seconds=1))
    login = await refused(rig.login(account_id))
    assert (login.status, login.code) == (403, "terms-refused")
    # The right password: the attempt is journaled (no access given) and not held against
    # the identifier, which a wrong password still is.
    outcomes = [p["outcome"] for p in await rig.payloads("identity.identification-attempted.v1")]
    assert outcomes[-1] == "failed"
    for _ in range(5):
        assert (await refused(rig.login(account_id))).code == "terms-refused"
    assert (await refused(rig.login(account_id, "mauvais-mot-de-passe"))).status == 401


async def test_the_api_answers_a_409_problem_to_an_acceptance_after_a_refusal(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient(accept_terms=False)
    identifier = await rig.identifier(account_id)
    async with api(rig) as client:
        first = await client.post(
            "/v1/sessions", json={"identifier": identifier, "password": PASSWORD}
        )
        assert first.status_code == 201
        bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
        # A second session (another device), opened before the refusal.
        second = await client.post(
            "/v1/sessions", json={"identifier": identifier, "password": PASSWORD}
        )
        other = {"Authorization": f"Bearer {second.json()['access_token']}"}

        refusal = await client.post("/v1/terms/current/refusal", json={}, headers=bearer)
        assert refusal.status_code == 200
        assert refusal.json() == {"version": 1, "accepted": False, "terminated": False}

        # Every session of the account ended with the refusal.
        late = await client.post("/v1/terms/current/acceptance", json={}, headers=other)
        assert late.status_code == 401

        rig.clock.advance(timedelta(seconds=1))
        login = await client.post(
            "/v1/sessions", json={"identifier": identifier, "password": PASSWORD}
        )
        assert login.status_code == 403
        assert login.headers["content-type"] == "application/problem+json"
        assert login.json()["type"] == PROBLEM
        assert "access_token" not in login.text
    assert await rig.payloads(ACCEPTED) == []


async def test_the_api_acceptance_endpoint_answers_the_refusal_problem(rig: Rig) -> None:
    """Should a token outlive the refusal (the session's revocation being the first guard),
    the rule still holds at the use case: a 409 problem, not a 500."""
    account_id, tokens = await rig.active_recipient(accept_terms=False)
    await rig.identity.terms.refuse(account_id, version=1, session_id=None, ip=IP, user_agent="x")
    # Undo the session's revocation, as if the refusal had not reached it.
    session = await rig.store.get(SESSIONS, tokens.session_id)
    assert session is not None
    await rig.store.replace(
        SESSIONS,
        {**{k: v for k, v in session.items() if k != "_version"}, "revoked_at": None},
        expected_version=int(session["_version"]),
    )
    async with api(rig) as client:
        answer = await client.post(
            "/v1/terms/current/acceptance",
            json={"version": 1},
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == PROBLEM
    assert await rig.payloads(ACCEPTED) == []


async def test_the_portal_shows_the_refusal_not_the_acceptance_form(rig: Rig) -> None:
    async with browser(rig) as client:
        account_id = await activate(rig, client)
        form = await client.get("/cgu/refus")
        done = await client.post(
            "/cgu/refus",
            data={"csrf_token": csrf_of(form.text), "version": "1", "confirmation": "oui"},
        )
        assert done.status_code == 200
        assert "définitif" in done.text
        assert "reconnectez-vous" not in done.text

        # The old form, posted again with the cookie the refusal cleared: back to login.
        late = await client.post(
            "/cgu/acceptation", data={"csrf_token": csrf_of(form.text), "version": "1"}
        )
        assert late.status_code == 303
        assert late.headers["location"].startswith("/connexion")
        cgu = await client.get("/cgu")
        assert cgu.status_code == 200
        assert 'action="/cgu/acceptation"' not in cgu.text

        rig.clock.advance(timedelta(seconds=1))
        again = await submit(
            client,
            "/connexion",
            "/connexion",
            {"identifiant": await rig.identifier(account_id), "mot_de_passe": PASSWORD},
        )
        assert again.status_code == 403
        assert "Vous avez refusé les conditions générales" in again.text
        assert "Ce refus est définitif" in again.text
        assert 'action="/cgu/acceptation"' not in again.text
        assert "securact_session" not in again.headers.get("set-cookie", "")
        assert (await client.get("/compte")).headers["location"].startswith("/connexion")
    assert await rig.payloads(ACCEPTED) == []
