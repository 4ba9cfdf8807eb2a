"""The KEK commands as an operator runs them (here delivery's, in-process on a SQLite store and
a key file): an interrupted rotation is continued, not rotated again; retiring the current, an
unknown or a still-used version is refused; a missing KEK file is named and nothing is made."""

from __future__ import annotations

import asyncio
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from delivery import cli
from delivery.vault import ACT_KEYS
from shared.clock import ManualClock
from shared.crypto import KeyRing, LocalKeyFile
from shared.crypto.rewrap import ROTATIONS, STATE_ID
from shared.store.sqlite import SqliteStore

CLOCK = ManualClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith("SECURACT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SECURACT_DELIVERY_STORE_URL", f"sqlite:///{tmp_path / 'd.sqlite3'}")
    monkeypatch.setenv("SECURACT_KEK_FILE", str(tmp_path / "keys" / "kek.json"))
    monkeypatch.setenv("SECURACT_LOG_JSON", "false")
    return tmp_path


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


async def seed(root: Path, acts: int, *, interrupted: bool) -> None:
    source = LocalKeyFile(root / "keys" / "kek.json", CLOCK)
    store = SqliteStore(root / "d.sqlite3")
    await store.connect()
    try:
        for n in range(acts):
            _, wrapped = await KeyRing(source).new_data_key(f"act-{n}")
            await store.insert(
                ACT_KEYS, {"_id": f"act-{n}", "wrapped": wrapped.model_dump(mode="json")}
            )
        if interrupted:
            # What a run killed right after creating version 2 leaves behind.
            await source.rotate()
            await store.insert(
                ROTATIONS,
                {
                    "_id": STATE_ID,
                    "kek_id": source.key_id,
                    "target_version": 2,
                    "cursors": {},
                    "done": [],
                    "started_at": "2026-06-01T08:00:00.000000Z",
                    "finished_at": None,
                },
            )
    finally:
        await store.close()


def versions(root: Path) -> dict[int, bool]:
    return asyncio.run(LocalKeyFile(root / "keys" / "kek.json", CLOCK).versions())


def test_an_interrupted_rotation_is_continued_not_rotated_again(stack: Path) -> None:
    asyncio.run(seed(stack, 4, interrupted=True))

    status, out, err = run("rotate-kek")

    assert status == 0, out
    assert "continuing the interrupted rotation to version 2" in err
    assert "act keys: 4/4 documents walked" in err
    assert "4 DEK(s) rewrapped to local-dev version 2" in out
    assert "versions still able to unwrap: 1" in out
    assert versions(stack) == {1: False, 2: False}

    status, out, _ = run("rotate-kek")  # finished: a new rotation
    assert status == 0, out
    assert "4 DEK(s) rewrapped to local-dev version 3" in out
    assert versions(stack) == {1: False, 2: False, 3: False}


def test_retirement_refuses_the_current_an_unknown_and_a_used_version(stack: Path) -> None:
    asyncio.run(seed(stack, 2, interrupted=False))

    assert run("retire-kek", "1")[:2] == (
        1,
        "refused: version 1 is the current one: rotate-kek first\n",
    )
    assert run("retire-kek", "7")[:2] == (1, "refused: KEK local-dev has no version 7\n")
    assert run("rotate-kek", "--rewrap-only")[0] == 0
    assert versions(stack) == {1: False}  # --rewrap-only made no version
    asyncio.run(LocalKeyFile(stack / "keys" / "kek.json", CLOCK).rotate())
    status, out, _ = run("retire-kek", "1")
    assert status == 1
    assert "refused: 2 DEK(s) still wrapped under version 1 (act keys: 2)" in out

    assert run("rotate-kek", "--rewrap-only")[0] == 0
    status, out, _ = run("retire-kek", "1")
    assert (status, out) == (0, "KEK local-dev version 1 retired: it unwraps nothing any more\n")
    assert versions(stack) == {1: True, 2: False}
    assert run("retire-kek", "1")[:2] == (0, "KEK local-dev version 1 was already retired\n")


def test_a_missing_kek_file_is_named_and_nothing_is_created(stack: Path) -> None:
    asyncio.run(seed(stack, 0, interrupted=False))
    (stack / "keys" / "kek.json").unlink(missing_ok=True)

    status, out, _ = run("rotate-kek")

    assert status == 2
    assert f"no kek file at {stack / 'keys' / 'kek.json'}" in out
    assert not (stack / "keys" / "kek.json").exists()


def test_an_unusable_kek_file_is_named_without_a_traceback(stack: Path) -> None:
    asyncio.run(seed(stack, 1, interrupted=False))
    (stack / "keys" / "kek.json").chmod(0o644)

    status, out, _ = run("rotate-kek")

    assert status == 1
    assert out.startswith("error: ConfigurationError: ")
    assert "chmod 600" in out
    assert versions_unchecked(stack) == 1


def versions_unchecked(root: Path) -> int:
    """How many versions the file holds, read without the permission check."""
    document = json.loads((root / "keys" / "kek.json").read_text(encoding="utf-8"))
    return len(document["versions"])
