"""TOTP secrets sealed under the key ring, recovery codes hashed, plain-text records from before
sealing still working and sealed at their next login."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from identity import totp
from identity.sealed import SEALED_FORMAT, SecretSealer, is_sealed, totp_object_id
from shared.clock import ManualClock
from shared.crypto import IntegrityError, KeyNotFoundError, KeyRing, LocalKeyFile
from tests.unit.identity.support import START, Rig, refused


async def enrolled(rig: Rig, account_id: str) -> tuple[str, list[str]]:
    """TOTP enrolled and confirmed on the account: its secret and recovery codes."""
    enrolment = await rig.identity.accounts.enrol_totp(account_id)
    code = totp.code_at(enrolment.secret, rig.clock.now())
    codes = await rig.identity.accounts.confirm_totp(account_id, code)
    rig.clock.advance(timedelta(seconds=30))
    return enrolment.secret, codes


async def test_a_totp_secret_is_stored_sealed_and_recovery_codes_hashed(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    enrolment = await rig.identity.accounts.enrol_totp(account_id)
    pending = await rig.store.get("accounts", account_id)
    assert pending is not None
    assert is_sealed(pending["totp_pending_secret"])
    assert enrolment.secret not in json.dumps(pending)

    code = totp.code_at(enrolment.secret, rig.clock.now())
    codes = await rig.identity.accounts.confirm_totp(account_id, code)

    account = await rig.store.get("accounts", account_id)
    assert account is not None
    stored = json.dumps(account)
    assert account["totp_secret"]["format"] == SEALED_FORMAT
    assert enrolment.secret not in stored
    assert all(c not in stored and c.replace("-", "") not in stored for c in codes)
    assert len(account["recovery_codes"]) == 10
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in account["recovery_codes"])


async def test_a_sealed_secret_still_gives_working_codes(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    secret, _ = await enrolled(rig, account_id)
    code = totp.code_at(secret, rig.clock.now())
    assert (await rig.login(account_id, second_factor=code)).account_id == account_id


async def test_a_sealed_secret_copied_onto_another_account_does_not_open(rig: Rig) -> None:
    first, _ = await rig.active_recipient("decl-1")
    second, _ = await rig.active_recipient("decl-2")
    await enrolled(rig, first)
    account = await rig.store.get("accounts", first)
    assert account is not None

    with pytest.raises(IntegrityError):
        await rig.identity.ctx.sealer.open(account["totp_secret"], totp_object_id(second))


async def test_without_the_kek_a_copy_of_the_database_does_not_open(
    rig: Rig, tmp_path: Path
) -> None:
    account_id, _ = await rig.active_recipient()
    await enrolled(rig, account_id)
    account = await rig.store.get("accounts", account_id)
    assert account is not None
    # Another platform's key file: same key id, other key material.
    stranger = SecretSealer(KeyRing(LocalKeyFile(tmp_path / "other-kek.json", ManualClock(START))))

    with pytest.raises((IntegrityError, KeyNotFoundError)):
        await stranger.open(account["totp_secret"], totp_object_id(account_id))


async def test_a_plain_text_secret_from_before_sealing_works_and_is_sealed_at_login(
    rig: Rig,
) -> None:
    account_id, _ = await rig.active_recipient()
    legacy_secret = totp.new_secret()
    account = await rig.store.get("accounts", account_id)
    assert account is not None
    body = {k: v for k, v in account.items() if k != "_version"}
    await rig.store.replace(
        "accounts",
        {**body, "totp_secret": legacy_secret, "recovery_codes": []},
        expected_version=account["_version"],
    )

    code = totp.code_at(legacy_secret, rig.clock.now())
    assert (await rig.login(account_id, second_factor=code)).account_id == account_id

    migrated = await rig.store.get("accounts", account_id)
    assert migrated is not None
    assert is_sealed(migrated["totp_secret"])
    assert legacy_secret not in json.dumps(migrated)
    rig.clock.advance(timedelta(seconds=30))
    later = totp.code_at(legacy_secret, rig.clock.now())
    assert (await rig.login(account_id, second_factor=later)).account_id == account_id


async def test_a_plain_text_pending_secret_is_sealed_when_confirmed(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    legacy_secret = totp.new_secret()
    account = await rig.store.get("accounts", account_id)
    assert account is not None
    body = {k: v for k, v in account.items() if k != "_version"}
    await rig.store.replace(
        "accounts",
        {**body, "totp_pending_secret": legacy_secret},
        expected_version=account["_version"],
    )
    accounts = rig.identity.accounts
    assert await accounts.pending_totp_secret(account_id) == legacy_secret
    wrong = await refused(accounts.confirm_totp(account_id, "000000"))
    assert wrong.code == "invalid-second-factor"

    await accounts.confirm_totp(account_id, totp.code_at(legacy_secret, rig.clock.now()))

    confirmed = await rig.store.get("accounts", account_id)
    assert confirmed is not None
    assert is_sealed(confirmed["totp_secret"])
    assert legacy_secret not in json.dumps(confirmed)
