"""`securact-identity create-operator` and `rotate-token-key` on a real SQLite store and key
file: the operator can log in, its password is never echoed; a rotation adds a key published
now, signing after the lead time, and keeps the previous one published and signing meanwhile."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest

from identity.cli import run
from identity.passwords import Passwords
from identity.settings import Settings
from identity.tokens import TokenKeyFile
from shared.clock import SystemClock
from shared.messaging.outbox import OUTBOX
from shared.store import open_store

OPERATOR_PASSWORD = "phrase-de-passe-operateur-solide"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {
        "DATA_DIR": str(tmp_path),
        "KEK_FILE": str(tmp_path / "kek.json"),
        "TOKEN_KEY_FILE": str(tmp_path / "keys" / "token-keys.json"),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "8",
        "LOG_JSON": "false",
    }.items():
        monkeypatch.setenv(f"SECURACT_IDENTITY_{name}", value)
    return Settings()


async def create_operator(monkeypatch: pytest.MonkeyPatch, identifier: str, password: str) -> int:
    # The service made its store at its first start; the command never does.
    settings = Settings()
    store = open_store(settings.store_url, settings.service_name)
    await store.connect()
    await store.close()
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{password}\n"))
    # asyncio.run inside the CLI needs its own thread: pytest's loop is running here.
    return await asyncio.to_thread(
        run, ["create-operator", "--identifier", identifier, "--password-stdin"]
    )


async def test_create_operator_reads_the_password_from_stdin_and_stores_an_operator(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await create_operator(monkeypatch, "ops-cli", OPERATOR_PASSWORD) == 0

    out, err = capsys.readouterr()
    created = re.fullmatch(r"operator account (\S+) created\n", out)
    assert created is not None, out
    assert OPERATOR_PASSWORD not in out + err
    store = open_store(settings.store_url, settings.service_name)
    await store.connect()
    try:
        account = await store.get("accounts", created.group(1))
        pending = await store.find(OUTBOX, {"sent": False})
    finally:
        await store.close()
    assert account is not None
    assert (account["role"], account["status"], account["identifier"]) == (
        "operator",
        "active",
        "OPSCLI",
    )
    assert OPERATOR_PASSWORD not in str(account)
    passwords = Passwords(time_cost=1, memory_cost_kib=8, parallelism=1)
    assert await passwords.verify(account["password_hash"], OPERATOR_PASSWORD)
    # The creation waits in the outbox for the service's relay.
    [event] = [r["envelope"] for r in pending]
    assert event["type"] == "identity.account-created.v1"
    assert event["payload"]["role"] == "operator"


async def test_create_operator_refuses_a_weak_password_or_a_taken_identifier(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await create_operator(monkeypatch, "ops-cli", "azertyuiop12") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("store: SQLite file ")  # which store it used, then the refusal
    assert err.splitlines()[-1].startswith("refused: ")
    assert "azertyuiop12" not in err

    assert await create_operator(monkeypatch, "ops-cli", OPERATOR_PASSWORD) == 0
    assert await create_operator(monkeypatch, "OPS-CLI", OPERATOR_PASSWORD) == 1
    _, err = capsys.readouterr()
    assert "refused: An account already uses this identifier." in err


async def test_rotate_token_key_publishes_a_new_key_before_it_signs_and_keeps_the_old(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = SystemClock()
    path = settings.token_key_file
    # The service created its key file (first start) before any rotation.
    TokenKeyFile(path, clock).ensure()
    [old] = TokenKeyFile(path, clock).current().keys

    assert await asyncio.to_thread(run, ["rotate-token-key"]) == 0

    out, _ = capsys.readouterr()
    announced = re.fullmatch(r"new token key (\S+) signs from (\S+)\n", out)
    assert announced is not None, out
    assert path.stat().st_mode & 0o077 == 0
    keys = TokenKeyFile(path, clock).current()
    assert len(keys.keys) == 2
    previous, newest = keys.keys
    assert previous.key.key_id == old.key.key_id
    assert newest.key.key_id == announced.group(1) != old.key.key_id
    assert newest.signs_from.isoformat() == announced.group(2)
    now = clock.now()
    lead = timedelta(seconds=settings.key_publish_lead_seconds)
    assert now < newest.signs_from <= now + lead
    # Both published now; the old key signs until the new one's time comes, and stays
    # published until the last token it signed has expired.
    published = {jwk["kid"] for jwk in keys.jwks(now)["keys"]}
    assert published == {old.key.key_id, newest.key.key_id}
    assert keys.signing_key(now).key_id == old.key.key_id
    assert keys.signing_key(newest.signs_from).key_id == newest.key.key_id
    assert previous.published_until is not None
    ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    assert previous.published_until >= newest.signs_from + ttl
    assert old.key.key_id not in {j["kid"] for j in keys.jwks(previous.published_until)["keys"]}


async def test_rotate_token_key_refuses_when_there_is_no_key_file_rather_than_make_one(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # A rotation in the wrong directory would make a key set the service never publishes.
    assert not settings.token_key_file.exists()

    assert await asyncio.to_thread(run, ["rotate-token-key"]) == 2

    _, err = capsys.readouterr()
    assert f"no token key file at {settings.token_key_file}" in err
    assert not settings.token_key_file.exists()
