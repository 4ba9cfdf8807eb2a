"""TOTP codes are six ASCII digits: Unicode digits (Arabic-Indic, fullwidth, superscript,
mathematical) or other characters are a 422 at confirmation and a failed second factor at
login, counted by the throttle and journaled, never a 500."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from identity import totp
from shared.clock import SystemClock
from tests.integration.identity.support import (
    PASSWORD,
    Recipient,
    identity_app,
    outbox_envelopes,
    recipient,
)
from tests.support.services import running

# Unicode digits pass str.isdigit() but are not what an authenticator app shows.
NOT_ASCII_CODES = [
    "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits
    "\uff11\uff12\uff13\uff14\uff15\uff16",  # fullwidth digits
    "12345\u00e9",
    "\u00b2\u00b3\u00b9\u2074\u2075\u2076",  # superscript digits
    "".join(chr(0x1D7CF + n) for n in range(6)),  # mathematical bold digits
    "\ufeff123456",  # a byte order mark before the code
    "\U0001f600" * 6,
]
PROBLEM = "application/problem+json"


async def enrolled(client: httpx.AsyncClient, owner: Recipient) -> str:
    """Enrol and confirm TOTP for `owner`; the secret."""
    enrolment = await client.post("/v1/me/totp", headers=owner.bearer)
    secret = str(enrolment.json()["secret"])
    code = totp.code_at(secret, SystemClock().now())
    confirmed = await client.post(
        "/v1/me/totp/confirmation", json={"code": code}, headers=owner.bearer
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret


async def test_a_totp_confirmation_code_that_is_not_six_ascii_digits_is_a_422(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        owner = await recipient(app, client, "decl-1")
        enrolment = await client.post("/v1/me/totp", headers=owner.bearer)
        assert enrolment.status_code == 200

        for code in [*NOT_ASCII_CODES, "12345", "1234567", "12 34 56"]:
            answer = await client.post(
                "/v1/me/totp/confirmation", json={"code": code}, headers=owner.bearer
            )
            assert answer.status_code == 422, (code, answer.text)
            assert answer.headers["content-type"] == PROBLEM
            assert answer.json()["type"] == "urn:securact:problem:totp-code-malformed", code
        # The enrolment still waits for a right code.
        secret = enrolment.json()["secret"]
        right = totp.code_at(secret, SystemClock().now())
        confirmed = await client.post(
            "/v1/me/totp/confirmation", json={"code": f" {right} "}, headers=owner.bearer
        )
        assert confirmed.status_code == 200, confirmed.text


async def test_a_login_code_in_unicode_digits_is_a_failed_second_factor_counted_and_journaled(
    tmp_path: Path, bus_prefix: str
) -> None:
    app = identity_app(tmp_path, bus_prefix)
    async with running(app) as client:
        owner = await recipient(app, client, "decl-1")
        secret = await enrolled(client, owner)
        credentials = {"identifier": owner.identifier, "password": PASSWORD}
        before = len(await outbox_envelopes(app, "identity.identification-attempted.v1"))

        answers = [
            await client.post("/v1/sessions", json={**credentials, "totp": code})
            for code in NOT_ASCII_CODES[:5]
        ]
        assert [a.status_code for a in answers] == [401] * 5, [a.text for a in answers]
        assert {a.json()["type"] for a in answers} == {"urn:securact:problem:invalid-second-factor"}
        assert all(a.headers["content-type"] == PROBLEM for a in answers)
        # Counted by the throttle like a wrong code: the sixth attempt, right code or not,
        # meets the lockout.
        right = totp.code_at(secret, SystemClock().now() + timedelta(seconds=30))
        locked = await client.post("/v1/sessions", json={**credentials, "totp": right})
        assert locked.status_code == 429
        journaled = (await outbox_envelopes(app, "identity.identification-attempted.v1"))[before:]
        assert journaled[0].payload["account_id"] == owner.account_id
        assert journaled[0].payload["outcome"] == "failed"
        assert journaled[0].payload["second_factor"] is True
