"""The operator commands cannot mislead: run where no store or key set exists they refuse,
naming what is missing, and create nothing; run on the real ones they say which they used;
`securact-audit verify` shows its progress and fails on an empty journal unless told to
accept one."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

from audit import cli
from audit.service import INDEXES
from audit.settings import Settings
from shared.clock import ManualClock
from shared.crypto import SigningKey, load_or_create_signing_ring
from shared.store.sqlite import SqliteStore
from tests.unit.audit.conftest import START, build_audit, fill

BIN: Final = Path(sys.executable).parent


def _clean_environment() -> dict[str, str]:
    # No setting of the developer's shell may point the command at a real store.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECURACT_")}
    return env | {"SECURACT_LOG_JSON": "false"}


def _run(command: list[str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=cwd,
        env=_clean_environment(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "missing"),
    [
        (["securact-audit", "verify"], "no audit store at {cwd}/var/data/audit.sqlite3"),
        (["securact-audit", "verify", "--no-payloads", "--allow-empty"], "no audit store at"),
        (["securact-retention", "run-due"], "no retention store at {cwd}/var/data/retention"),
        (
            ["securact-identity", "create-operator", "--identifier", "ops", "--password-stdin"],
            "no identity store at {cwd}/var/data/identity.sqlite3",
        ),
        (
            ["securact-identity", "rotate-token-key"],
            "no token key file at {cwd}/var/keys/identity-tokens.json",
        ),
        (["securact-delivery", "rotate-kek"], "no delivery store at {cwd}/var/data/delivery"),
        (["securact-consent", "retire-kek", "1"], "no consent store at {cwd}/var/data/consent"),
        (["securact-audit", "rotate-kek"], "no audit store at {cwd}/var/data/audit.sqlite3"),
    ],
)
def test_a_command_run_where_nothing_was_provisioned_refuses_and_creates_nothing(
    command: list[str], missing: str, tmp_path: Path
) -> None:
    done = _run(command, tmp_path, stdin="un-mot-de-passe-assez-long\n")

    assert done.returncode != 0
    assert missing.format(cwd=tmp_path) in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []  # no store, no key file, no directory


def test_verifying_an_evidence_file_that_is_not_there_names_it(tmp_path: Path) -> None:
    key = SigningKey.generate("securact-ng").verifier.to_string()
    done = _run(
        ["securact-delivery", "verify-evidence", "evidence.json", "--public-key", key], tmp_path
    )
    assert done.returncode != 0
    assert "cannot read evidence.json" in done.stdout


@pytest.fixture
def audit_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SECURACT_AUDIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECURACT_AUDIT_SIGNING_KEY_FILE", str(tmp_path / "signing.json"))
    monkeypatch.setenv("SECURACT_AUDIT_KEK_FILE", str(tmp_path / "kek.json"))
    return Settings()


async def _journal(settings: Settings, tmp_path: Path, entries: int) -> None:
    clock = ManualClock(START)
    ring = load_or_create_signing_ring(settings.signing_key_file, settings.checkpoint_origin, clock)
    store = SqliteStore(tmp_path / "audit.sqlite3")
    await store.connect()
    await store.ensure_indexes(INDEXES)
    audit = build_audit(store, clock, tmp_path, ring)
    audit.checkpoints.origin = settings.checkpoint_origin
    await fill(audit, entries)
    await audit.checkpoints.sign_if_grown()
    await store.close()


async def _verify(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    # cli.main runs its own event loop: keep it off the test's loop.
    status = await asyncio.to_thread(cli.main, argv, out, err)
    return status, out.getvalue(), err.getvalue()


async def test_verify_shows_its_progress_and_what_it_used(
    audit_settings: Settings, tmp_path: Path
) -> None:
    # Two batches of the verifier (1,000 entries each): progress after each.
    await _journal(audit_settings, tmp_path, 1_500)

    status, out, err = await _verify(["verify"])

    assert status == cli.EXIT_OK, out
    assert "journal intact: 1500 entries" in out
    assert f"store: SQLite file {tmp_path / 'audit.sqlite3'}" in err
    assert str(tmp_path / "signing.json") in err
    assert f"KEK: key files {tmp_path / 'kek.json'}" in err
    assert "1500 entries to verify" in err
    assert "verified 1000/1500 entries (60%)" in err
    assert "verified 1500/1500 entries (100%)" in err


async def test_an_empty_journal_fails_unless_allowed(
    audit_settings: Settings, tmp_path: Path
) -> None:
    await _journal(audit_settings, tmp_path, 0)  # nothing journaled: no KEK made either

    status, out, _ = await _verify(["verify", "--no-payloads"])
    assert status == cli.EXIT_BROKEN, out
    assert "journal has 0 entries, at least 1 expected" in out

    status, out, _ = await _verify(["verify", "--no-payloads", "--allow-empty"])
    assert status == cli.EXIT_OK
    assert "journal intact: 0 entries" in out


async def test_fewer_entries_than_expected_fail(audit_settings: Settings, tmp_path: Path) -> None:
    await _journal(audit_settings, tmp_path, 3)

    status, out, _ = await _verify(["verify", "--expect-entries", "4"])
    assert status == cli.EXIT_BROKEN
    assert "journal has 3 entries, at least 4 expected" in out
    status, _, _ = await _verify(["verify", "--expect-entries", "3"])
    assert status == cli.EXIT_OK
