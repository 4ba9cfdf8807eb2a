"""The login lockout under concurrency and for unknown identifiers: every attempt is counted
before its password is checked, and the per-identifier counter is keyed on what was typed
(HMAC), so it neither lets parallel guesses through nor tells which identifiers exist."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from identity import totp
from identity.errors import IdentityError
from identity.records import THROTTLES
from tests.unit.identity.support import PASSWORD, Rig, make_rig, refused

WRONG = "mauvais-mot-de-passe"


async def status_of(rig: Rig, identifier: str, password: str, ip: str) -> int:
    try:
        await rig.identity.sessions.login(identifier, password, ip=ip)
    except IdentityError as error:
        return error.status
    return 201


async def test_concurrent_wrong_passwords_are_locked_out_after_the_threshold(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    identifier = await rig.identifier(account_id)

    statuses = await asyncio.gather(
        *(
            status_of(rig, identifier, WRONG, f"198.51.100.{n}")  # one address each
            for n in range(30)
        )
    )

    assert sorted(statuses) == [401] * 5 + [429] * 25
    # The lockout holds for the right password too, and ends.
    assert (await refused(rig.login(account_id))).status == 429
    rig.clock.advance(timedelta(seconds=1))
    assert (await rig.login(account_id)).account_id == account_id


async def test_concurrent_wrong_passwords_from_one_address_lock_it_too(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, throttle_ip_free_failures=3)

    statuses = await asyncio.gather(
        *(status_of(rig, f"GUESS-{n:04d}-XXXX", WRONG, "203.0.113.50") for n in range(20))
    )

    assert sorted(statuses) == [401] * 3 + [429] * 17


async def test_unknown_and_known_identifiers_are_throttled_alike(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    known = await rig.identifier(account_id)
    unknown = "ZZZZ-ZZZZ-ZZZZ"

    sequences = {}
    for name, identifier in (("known", known), ("unknown", unknown)):
        sequences[name] = [
            await status_of(rig, identifier, WRONG, f"198.51.100.{n}") for n in range(8)
        ]

    assert sequences["known"] == sequences["unknown"] == [401] * 5 + [429] * 3
    # The throttle records hold neither identifier nor account id.
    records = await rig.store.find(THROTTLES)
    text = json.dumps(records)
    for secret in (known, known.replace("-", ""), unknown, "ZZZZZZZZZZZZ", account_id):
        assert secret not in text
    keys = {r["_id"] for r in records if r["_id"].startswith("identifier:")}
    assert len(keys) == 2
    assert all(len(key) == len("identifier:") + 64 for key in keys)


async def test_the_identifier_counter_ignores_case_dashes_and_spaces(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    identifier = await rig.identifier(account_id)
    variants = [identifier, identifier.lower(), identifier.replace("-", " "), f" {identifier} "]
    for n in range(5):
        variant = variants[n % len(variants)]
        assert await status_of(rig, variant, WRONG, f"198.51.100.{n}") == 401
    assert await status_of(rig, identifier.replace("-", ""), PASSWORD, "198.51.100.99") == 429


async def test_successful_logins_do_not_count_against_the_address(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, throttle_ip_free_failures=1)
    account_id, _ = await rig.active_recipient()
    for _ in range(5):
        assert (await rig.login(account_id)).account_id == account_id
    # A failure still counts: the next attempt from the address waits.
    assert (await refused(rig.login(account_id, WRONG))).status == 401
    assert (await refused(rig.login(account_id))).status == 429


async def test_a_right_password_refused_for_another_reason_is_not_a_failure(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    accounts = rig.identity.accounts
    enrolment = await accounts.enrol_totp(account_id)
    await accounts.confirm_totp(account_id, totp.code_at(enrolment.secret, rig.clock.now()))
    rig.clock.advance(timedelta(seconds=30))

    for _ in range(8):
        assert (await refused(rig.login(account_id))).code == "second-factor-required"
    code = totp.code_at(enrolment.secret, rig.clock.now())
    assert (await rig.login(account_id, second_factor=code)).account_id == account_id

    await accounts.suspend(account_id, reason="test", operator="op")
    for _ in range(8):
        assert (await refused(rig.login(account_id))).code == "account-suspended"
    assert await rig.store.find(THROTTLES, {"failures": {"$gt": 0}}) == []


async def test_a_wrong_second_factor_counts_as_a_failure(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    accounts = rig.identity.accounts
    enrolment = await accounts.enrol_totp(account_id)
    await accounts.confirm_totp(account_id, totp.code_at(enrolment.secret, rig.clock.now()))
    rig.clock.advance(timedelta(seconds=30))

    for _ in range(5):
        wrong = await refused(rig.login(account_id, second_factor="000000"))
        assert wrong.code == "invalid-second-factor"
    code = totp.code_at(enrolment.secret, rig.clock.now())
    locked = await refused(rig.login(account_id, second_factor=code, ip="203.0.113.77"))
    assert locked.status == 429
