from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.clock import ManualClock
from shared.crypto.errors import IntegrityError
from shared.crypto.keyring import KeyRing, WrappedDek
from shared.crypto.local_kek import LocalKeyFile
from shared.crypto.shredding import ShredStep, ShredStepKind, crypto_shred
from shared.crypto.streaming import DataKey
from tests.unit.crypto.streams import decrypt, encrypt


class RecordingKeys:
    def __init__(self, log: list[str]) -> None:
        self.rows: dict[str, WrappedDek] = {}
        self.log = log

    async def destroy_wrapped_key(self, object_id: str) -> WrappedDek | None:
        self.log.append(f"destroy key {object_id}")
        return self.rows.pop(object_id, None)


class RecordingObjects:
    def __init__(self, log: list[str]) -> None:
        self.objects: dict[str, bytes] = {}
        self.log = log

    async def delete_object(self, object_id: str) -> None:
        self.log.append(f"delete object {object_id}")
        self.objects.pop(object_id, None)


class RecordingJournal:
    def __init__(self, log: list[str]) -> None:
        self.steps: list[ShredStep] = []
        self.log = log

    async def record(self, step: ShredStep) -> None:
        self.log.append(f"journal {step.kind}")
        self.steps.append(step)


async def test_shred_destroys_the_key_before_the_object_and_journals_both(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2025, 6, 2, 9, 0, tzinfo=UTC))
    ring = KeyRing(LocalKeyFile(tmp_path / "kek.json", clock))
    log: list[str] = []
    keys, objects, journal = RecordingKeys(log), RecordingObjects(log), RecordingJournal(log)
    key, wrapped = await ring.new_data_key("act-1")
    keys.rows["act-1"] = wrapped
    objects.objects["act-1"] = await encrypt(b"acte", key, "act-1")
    old_copy = objects.objects["act-1"]

    key_step, object_step = await crypto_shred(
        "act-1", keys=keys, objects=objects, journal=journal, clock=clock
    )

    assert log == [
        "destroy key act-1",
        "journal key_destroyed",
        "delete object act-1",
        "journal object_deleted",
    ]
    assert journal.steps == [key_step, object_step]
    assert key_step.dek_id == wrapped.dek_id.hex()
    assert key_step.wrapped_key_sha256 == hashlib.sha256(wrapped.to_bytes()).hexdigest()
    assert key_step.at == clock.now()
    assert "act-1" not in keys.rows
    assert "act-1" not in objects.objects
    # An old copy of the ciphertext is useless: a new key for the same object cannot open it.
    new_key, _ = await ring.new_data_key("act-1")
    with pytest.raises(IntegrityError):
        await decrypt(old_copy, new_key, "act-1")
    with pytest.raises(IntegrityError):
        await decrypt(old_copy, DataKey(wrapped.dek_id, new_key.material), "act-1")


async def test_shredding_again_after_a_crash_reports_the_key_already_absent() -> None:
    clock = ManualClock(datetime(2025, 6, 2, 9, 0, tzinfo=UTC))
    log: list[str] = []
    journal = RecordingJournal(log)

    key_step, _ = await crypto_shred(
        "act-1",
        keys=RecordingKeys(log),
        objects=RecordingObjects(log),
        journal=journal,
        clock=clock,
    )

    assert key_step.kind is ShredStepKind.KEY_ALREADY_ABSENT
    assert [s.kind for s in journal.steps] == [
        ShredStepKind.KEY_ALREADY_ABSENT,
        ShredStepKind.OBJECT_DELETED,
    ]
