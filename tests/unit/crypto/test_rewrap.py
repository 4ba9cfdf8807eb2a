"""The rewrap machinery: every stored DEK moves to the current KEK version once, a crashed run
continues where it stopped, a DEK already moved is never wrapped again, and the DEKs still under
a version are counted before it may be retired."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.clock import ManualClock
from shared.crypto import KeyRing, LocalKeyFile, WrappedDek
from shared.crypto.errors import KeyNotFoundError
from shared.crypto.rewrap import (
    ROTATIONS,
    STATE_ID,
    Rewrapper,
    WrappedKeyField,
    WrappedKeys,
    unfinished_target,
    wrapped_under,
)
from shared.store.memory import MemoryStore
from shared.store.port import Document

CLOCK = ManualClock(datetime(2026, 5, 4, 9, 0, tzinfo=UTC))

ACT_KEYS = WrappedKeys.per_document("act keys", "act_keys")
ACCOUNTS = WrappedKeys(
    "sealed secrets",
    "accounts",
    (
        WrappedKeyField(("totp", "dek"), lambda d: f"totp/{d['_id']}"),
        WrappedKeyField(("token", "dek"), lambda d: f"token/{d['_id']}"),
    ),
)


class CountingSource(LocalKeyFile):
    """The local key file, counting the wraps it makes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, CLOCK)
        self.wraps = 0

    async def wrap(self, plaintext: bytes, associated_data: bytes) -> tuple[int, bytes]:
        self.wraps += 1
        return await super().wrap(plaintext, associated_data)


class CrashingStore(MemoryStore):
    """Dies (raises) at the given write of a document of `collection`."""

    def __init__(self, *, share_with: MemoryStore, collection: str, crash_at: int) -> None:
        super().__init__(share_with=share_with)
        self.collection = collection
        self.crash_at = crash_at
        self.writes = 0

    async def replace(self, collection: str, document: Document, *, expected_version: int) -> Any:
        if collection == self.collection:
            self.writes += 1
            if self.writes == self.crash_at:
                raise SystemExit("killed")
        return await super().replace(collection, document, expected_version=expected_version)


async def fill_acts(store: MemoryStore, ring: KeyRing, count: int) -> dict[str, bytes]:
    keys = {}
    for n in range(count):
        act_id = f"act-{n:03d}"
        key, wrapped = await ring.new_data_key(act_id)
        await store.insert("act_keys", {"_id": act_id, "wrapped": wrapped.model_dump(mode="json")})
        keys[act_id] = key.material
    return keys


async def versions_of(store: MemoryStore) -> dict[str, int]:
    rows = await store.find("act_keys")
    return {
        row["_id"]: WrappedDek.model_validate(row["wrapped"]).kek_version
        for row in rows
        if row["wrapped"] is not None
    }


async def test_every_dek_moves_to_the_new_version_and_still_opens_its_object(
    tmp_path: Path,
) -> None:
    store = MemoryStore()
    source = CountingSource(tmp_path / "kek.json")
    ring = KeyRing(source)
    keys = await fill_acts(store, ring, 12)
    await store.insert("act_keys", {"_id": "shredded", "wrapped": None})
    assert await source.rotate() == 2

    report = await Rewrapper(store, source, [ACT_KEYS], CLOCK, batch_size=5).run()

    assert (report.rewrapped, report.already, report.failed) == (12, 0, [])
    assert set((await versions_of(store)).values()) == {2}
    await source.retire(1)
    for act_id, material in keys.items():
        row = await store.get("act_keys", act_id)
        assert row is not None
        key = await ring.unwrap(WrappedDek.model_validate(row["wrapped"]), act_id)
        assert key.material == material
    assert await unfinished_target(store, source.key_id) is None


async def test_a_crashed_run_continues_and_rewraps_each_dek_once(tmp_path: Path) -> None:
    store = MemoryStore()
    source = CountingSource(tmp_path / "kek.json")
    await fill_acts(store, KeyRing(source), 23)
    await source.rotate()
    source.wraps = 0
    # Killed at the 8th document: 5 done and recorded (one batch), 2 more done, not recorded.
    crashing = CrashingStore(share_with=store, collection="act_keys", crash_at=8)

    with pytest.raises(SystemExit):
        await Rewrapper(crashing, source, [ACT_KEYS], CLOCK, batch_size=5).run()

    assert list((await versions_of(store)).values()).count(2) == 7
    state = await store.get(ROTATIONS, STATE_ID)
    assert state is not None
    assert state["cursors"] == {"act keys": "act-004"}
    assert await unfinished_target(store, source.key_id) == 2
    wraps_before = source.wraps  # the 8th was wrapped, then the process died before storing it

    seen: list[tuple[int, int]] = []
    report = await Rewrapper(
        store, source, [ACT_KEYS], CLOCK, batch_size=5, progress=lambda s, d, t: seen.append((d, t))
    ).run()

    assert report.resumed
    assert (report.rewrapped, report.already) == (16, 2)  # act-005, act-006 were done
    assert report.documents == 18  # the walk started after act-004
    assert source.wraps - wraps_before == 16
    assert set((await versions_of(store)).values()) == {2}
    assert seen[0] == (5, 23)
    assert seen[-1] == (23, 23)
    assert await unfinished_target(store, source.key_id) is None


async def test_a_second_run_finds_nothing_to_do(tmp_path: Path) -> None:
    store = MemoryStore()
    source = CountingSource(tmp_path / "kek.json")
    await fill_acts(store, KeyRing(source), 4)
    await source.rotate()
    await Rewrapper(store, source, [ACT_KEYS], CLOCK).run()
    source.wraps = 0

    report = await Rewrapper(store, source, [ACT_KEYS], CLOCK).run()

    assert (report.rewrapped, report.already, source.wraps) == (0, 4, 0)


async def test_several_keys_per_document_each_bound_to_its_own_object(tmp_path: Path) -> None:
    store = MemoryStore()
    source = CountingSource(tmp_path / "kek.json")
    ring = KeyRing(source)
    _, totp = await ring.new_data_key("totp/acc-1")
    _, token = await ring.new_data_key("token/acc-1")
    await store.insert(
        "accounts",
        {
            "_id": "acc-1",
            "name": "kept as is",
            "totp": {"format": "sealed", "dek": totp.model_dump(mode="json"), "nonce": "n"},
            "token": {"dek": token.model_dump(mode="json")},
        },
    )
    await store.insert("accounts", {"_id": "acc-2", "totp": "legacy-plain", "token": None})
    await source.rotate()

    report = await Rewrapper(store, source, [ACCOUNTS], CLOCK).run()

    assert report.rewrapped == 2
    row = await store.get("accounts", "acc-1")
    assert row is not None
    assert row["name"] == "kept as is"
    assert row["totp"]["nonce"] == "n"
    moved = WrappedDek.model_validate(row["totp"]["dek"])
    assert moved.kek_version == 2
    assert (await ring.unwrap(moved, "totp/acc-1")).dek_id == totp.dek_id
    assert await wrapped_under(store, [ACCOUNTS], source.key_id, 1) == {"sealed secrets": 0}


async def test_a_dek_that_does_not_unwrap_is_reported_and_the_rest_moves(tmp_path: Path) -> None:
    store = MemoryStore()
    source = CountingSource(tmp_path / "kek.json")
    await fill_acts(store, KeyRing(source), 3)
    # Bound to another object: it cannot be unwrapped for this one.
    _, stray = await KeyRing(source).new_data_key("elsewhere")
    await store.insert("act_keys", {"_id": "act-stray", "wrapped": stray.model_dump(mode="json")})
    await source.rotate()

    report = await Rewrapper(store, source, [ACT_KEYS], CLOCK).run()

    assert report.rewrapped == 3
    assert report.failed == ["act_keys/act-stray: IntegrityError"]
    # Incomplete: the next run walks everything again.
    assert await unfinished_target(store, source.key_id) == 2
    assert await wrapped_under(store, [ACT_KEYS], source.key_id, 1) == {"act keys": 1}


async def test_a_document_changed_meanwhile_is_read_again(tmp_path: Path) -> None:
    store = MemoryStore()
    source = CountingSource(tmp_path / "kek.json")
    await fill_acts(store, KeyRing(source), 1)
    await source.rotate()

    class Racing(MemoryStore):
        raced = False

        async def replace(
            self, collection: str, document: Document, *, expected_version: int
        ) -> Any:
            if collection == "act_keys" and not self.raced:
                self.raced = True
                row = await store.get("act_keys", "act-000")
                assert row is not None
                await store.replace(
                    "act_keys",
                    {**{k: v for k, v in row.items() if k != "_version"}, "note": "service"},
                    expected_version=row["_version"],
                )
            return await super().replace(collection, document, expected_version=expected_version)

    report = await Rewrapper(Racing(share_with=store), source, [ACT_KEYS], CLOCK).run()

    assert report.rewrapped == 1
    row = await store.get("act_keys", "act-000")
    assert row is not None
    assert row["note"] == "service"
    assert WrappedDek.model_validate(row["wrapped"]).kek_version == 2


async def test_deks_still_under_a_version_are_counted(tmp_path: Path) -> None:
    store = MemoryStore()
    source = CountingSource(tmp_path / "kek.json")
    await fill_acts(store, KeyRing(source), 3)
    await source.rotate()
    assert await wrapped_under(store, [ACT_KEYS], source.key_id, 1) == {"act keys": 3}
    await Rewrapper(store, source, [ACT_KEYS], CLOCK).run()
    assert await wrapped_under(store, [ACT_KEYS], source.key_id, 1) == {"act keys": 0}
    assert await wrapped_under(store, [ACT_KEYS], source.key_id, 2) == {"act keys": 3}


async def test_a_running_process_picks_up_a_rotation_by_another(tmp_path: Path) -> None:
    path = tmp_path / "kek.json"
    service = LocalKeyFile(path, CLOCK, refresh_seconds=0)
    operator = LocalKeyFile(path, CLOCK)
    assert (await KeyRing(service).new_data_key("a"))[1].kek_version == 1
    await operator.rotate()
    assert (await KeyRing(service).new_data_key("b"))[1].kek_version == 2
    await operator.retire(1)
    assert await service.versions() == {1: True, 2: False}
    _, old = await KeyRing(LocalKeyFile(tmp_path / "other.json", CLOCK)).new_data_key("c")
    with pytest.raises(KeyNotFoundError):
        await KeyRing(service).unwrap(old.model_copy(update={"kek_id": "other"}), "c")
