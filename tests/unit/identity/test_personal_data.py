"""The export of identity's own data about an account (GDPR arts 15 and 20): what is in it,
and that no credential, secret or other person's data ever is; then the API route."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from identity import totp
from identity.api import identity_router, install_identity_errors
from identity.domain import hash_secret
from identity.main import own_token_verifier
from identity.records import ACCOUNTS, LINKS, REFRESH_TOKENS, identifier_throttle, iso
from shared.auth import install_token_verifier
from shared.problems import install_problem_handlers
from tests.unit.identity.support import IP, PASSWORD, Rig, refused

# Keys that would name a credential or a secret, wherever they appear in the export.
SECRET_KEYS = {
    "password_hash",
    "totp_secret",
    "totp_pending_secret",
    "totp_last_step",
    "recovery_codes",
    "refresh_token",
    "csrf_token",
    "tokens_not_before",
    "_id",
    "_version",
}


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def leaf_strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in leaf_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in leaf_strings(v)]
    return [value] if isinstance(value, str) else []


@asynccontextmanager
async def api(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    """Identity's JSON API on the unit rig (its own verifier, store as revocation list)."""
    app = FastAPI()
    app.include_router(identity_router(rig.identity))
    install_problem_handlers(app)
    install_identity_errors(app)
    install_token_verifier(app, own_token_verifier(rig.identity, rig.settings, rig.clock))
    transport = httpx.ASGITransport(app=app, client=(IP, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://identity.test") as client:
        yield client


async def with_totp(rig: Rig, account_id: str) -> tuple[str, list[str]]:
    enrolment = await rig.identity.accounts.enrol_totp(account_id)
    codes = await rig.identity.accounts.confirm_totp(
        account_id, totp.code_at(enrolment.secret, rig.clock.now())
    )
    return enrolment.secret, codes


async def test_the_export_holds_the_account_its_cgu_answers_sessions_and_links(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient()
    rig.clock.advance(timedelta(minutes=5))
    await rig.identity.sessions.refresh(tokens.refresh_token)
    refreshed_at = iso(rig.clock.now())
    rig.clock.advance(timedelta(minutes=1))
    await with_totp(rig, account_id)
    totp_at = iso(rig.clock.now())
    rig.clock.advance(timedelta(minutes=1))
    await refused(rig.login(account_id, "pas-le-bon-mot-de-passe"))
    failed_at = iso(rig.clock.now())
    current = await rig.identity.terms.current()

    export = await rig.identity.personal_data.export_account(account_id)

    assert export["exported_at"] == iso(rig.clock.now())
    account = export["account"]
    assert account["account_id"] == account_id
    assert account["identifier"] == await rig.identifier(account_id)
    assert account["email"] == "decl-1@example.org"
    assert account["role"] == "recipient"
    assert account["status"] == "active"
    assert account["declaration_id"] == "decl-1"
    assert account["accepted_terms_version"] == 1
    assert {"created_at", "activated_at", "last_login_at"} <= set(account["dates"])
    [decision] = export["terms_decisions"]
    assert decision == {
        "version": 1,
        "content_hash": current.content_hash,
        "decision": "accepted",
        "at": decision["at"],
        "ip": IP,
        "user_agent": "test",
    }
    assert export["second_factor"] == {
        "totp_enabled": True,
        "totp_enabled_at": totp_at,
        "totp_enrolment_pending": False,
        "recovery_codes_left": 10,
    }
    # One session per login: before and after the CGU acceptance.
    first, second = export["sessions"]
    assert second["session_id"] == tokens.session_id
    assert first["state"] == second["state"] == "active"
    assert second["last_token_issued_at"] == refreshed_at
    assert first["last_token_issued_at"] == first["created_at"]
    assert second["second_factor_used"] is False
    [link] = export["links"]
    assert link["purpose"] == "activation"
    assert link["used_at"] is not None
    assert export["failed_logins"] == {"consecutive_failures": 1, "last_failure_at": failed_at}
    # JSON-ready as it is.
    assert json.loads(json.dumps(export)) == export


async def test_the_export_holds_no_credential_secret_or_other_persons_data(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient()
    activation = rig.spent_activation_tokens[account_id]
    secret, codes = await with_totp(rig, account_id)
    # A second enrolment started and left pending: its secret must not leak either.
    pending = await rig.identity.accounts.enrol_totp(account_id)
    other_id, other_tokens = await rig.active_recipient("decl-2")
    stored = await rig.store.get(ACCOUNTS, account_id)
    assert stored is not None

    export = await rig.identity.personal_data.export_account(account_id)
    text = json.dumps(export)

    assert export["second_factor"]["totp_enrolment_pending"] is True
    assert not keys_of(export) & SECRET_KEYS
    forbidden = [
        PASSWORD,
        stored["password_hash"],
        secret,
        pending.secret,
        *leaf_strings(stored["totp_secret"]),
        *leaf_strings(stored["totp_pending_secret"]),
        *codes,
        *stored["recovery_codes"],
        *(totp.recovery_hash(code) for code in codes),
        tokens.access_token,
        tokens.refresh_token,
        hash_secret(tokens.refresh_token),
        activation,
        hash_secret(activation),
        identifier_throttle(rig.settings, stored["identifier"]),
        # The other recipient's account.
        other_id,
        await rig.identifier(other_id),
        "decl-2",
        other_tokens.session_id,
    ]
    for row in await rig.store.find(REFRESH_TOKENS):
        forbidden.append(row["_id"])
    for row in await rig.store.find(LINKS):
        forbidden.append(row["_id"])
    leaked = [value for value in forbidden if len(value) >= 6 and value in text]
    assert leaked == []


async def test_a_terminated_account_exports_its_termination_and_revoked_sessions(
    rig: Rig,
) -> None:
    account_id, _ = await rig.active_recipient()
    await with_totp(rig, account_id)
    await rig.identity.accounts.disable_totp(account_id, PASSWORD)
    rig.clock.advance(timedelta(minutes=1))
    terminated_at = await rig.identity.accounts.terminate(account_id)

    export = await rig.identity.personal_data.export_account(account_id)

    account = export["account"]
    assert account["status"] == "terminated"
    assert account["termination_reason"] == "recipient_request"
    assert account["dates"]["terminated_at"] == iso(terminated_at)
    assert account["dates"]["credentials_revoked_at"] == iso(terminated_at)
    assert {s["state"] for s in export["sessions"]} == {"revoked"}
    assert {s["revocation_reason"] for s in export["sessions"]} == {"termination"}
    assert export["second_factor"] == {
        "totp_enabled": False,
        "totp_enabled_at": None,
        "totp_enrolment_pending": False,
        "recovery_codes_left": 0,
    }


async def test_a_refusal_of_the_cgu_is_in_the_export(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient(accept_terms=False)
    await rig.identity.terms.refuse(
        account_id, version=1, session_id=None, ip=IP, user_agent="navigateur"
    )

    export = await rig.identity.personal_data.export_account(account_id)

    [decision] = export["terms_decisions"]
    assert decision["decision"] == "refused"
    assert decision["user_agent"] == "navigateur"
    assert export["account"]["refused_terms_version"] == 1
    assert export["account"]["accepted_terms_version"] is None
    assert "terms_refused_at" in export["account"]["dates"]
    assert {s["revocation_reason"] for s in export["sessions"]} == {"terms_refused"}


async def test_an_unknown_account_has_nothing_to_export(rig: Rig) -> None:
    error = await refused(rig.identity.personal_data.export_account("inconnu"))
    assert error.status == 404


async def test_the_api_exports_the_callers_account_as_an_attachment(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient()
    async with api(rig) as client:
        anonymous = await client.get("/v1/me/export")
        mine = await client.get(
            "/v1/me/export", headers={"Authorization": f"Bearer {tokens.access_token}"}
        )
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert mine.status_code == 200
    assert mine.headers["content-type"].startswith("application/json")
    assert mine.headers["content-disposition"] == 'attachment; filename="mon-compte.json"'
    assert mine.headers["cache-control"] == "no-store"
    assert mine.json()["account"]["account_id"] == account_id


async def test_the_api_export_needs_no_cgu_answer_and_serves_terminated_accounts(
    rig: Rig,
) -> None:
    """The right of access does not depend on accepting the CGU: a session that may only
    answer them, and a terminated account's read-only one, both get their data."""
    pending_id, pending = await rig.active_recipient(accept_terms=False)
    assert pending.terms_acceptance_required
    ended_id, _ = await rig.active_recipient("decl-2")
    await rig.identity.accounts.terminate(ended_id)
    rig.clock.advance(timedelta(seconds=1))
    read_only = await rig.login(ended_id)
    async with api(rig) as client:
        answers = [
            await client.get("/v1/me/export", headers={"Authorization": f"Bearer {token}"})
            for token in (pending.access_token, read_only.access_token)
        ]
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.json()["account"]["account_id"] for a in answers] == [pending_id, ended_id]
    assert answers[1].json()["account"]["status"] == "terminated"
