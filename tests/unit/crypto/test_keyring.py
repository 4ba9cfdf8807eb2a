from __future__ import annotations

import asyncio
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.clock import ManualClock
from shared.crypto.errors import ConfigurationError, IntegrityError, KeyNotFoundError
from shared.crypto.keyring import KeyRing, WrappedDek
from shared.crypto.local_kek import LocalKeyFile
from tests.unit.crypto.streams import decrypt, encrypt

CLOCK = ManualClock(datetime(2025, 3, 3, 10, 0, tzinfo=UTC))


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_key_file(path: Path, text: str) -> None:
    path.parent.mkdir()
    path.write_text(text)
    path.chmod(0o600)


@pytest.fixture
def kek_file(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "kek.json"


@pytest.fixture
def source(kek_file: Path) -> LocalKeyFile:
    return LocalKeyFile(kek_file, CLOCK)


async def test_key_file_is_created_owner_only_on_first_use(
    kek_file: Path, source: LocalKeyFile
) -> None:
    assert not await asyncio.to_thread(kek_file.exists)
    await KeyRing(source).new_data_key("act-1")
    assert mode_of(kek_file) == 0o600
    assert mode_of(kek_file.parent) == 0o700
    assert json.loads(await asyncio.to_thread(kek_file.read_text))["current"] == 1


async def test_key_file_readable_by_others_is_refused(kek_file: Path, source: LocalKeyFile) -> None:
    await source.current_version()
    await asyncio.to_thread(kek_file.chmod, 0o644)
    with pytest.raises(ConfigurationError):
        await LocalKeyFile(kek_file, CLOCK).current_version()


async def test_malformed_key_file_is_refused(kek_file: Path) -> None:
    write_key_file(kek_file, '{"format": "something else"}')
    with pytest.raises(ConfigurationError):
        await LocalKeyFile(kek_file, CLOCK).current_version()


async def test_wrapped_dek_unwraps_to_the_same_key_for_its_object(source: LocalKeyFile) -> None:
    ring = KeyRing(source)
    key, wrapped = await ring.new_data_key("act-1")
    ciphertext = await encrypt(b"acte", key, "act-1")

    unwrapped = await ring.unwrap(wrapped, "act-1")

    assert unwrapped.dek_id == wrapped.dek_id == key.dek_id
    assert await decrypt(ciphertext, unwrapped, "act-1") == b"acte"
    assert key.material not in wrapped.to_bytes()


async def test_wrapped_dek_of_another_object_fails_with_integrity_error(
    source: LocalKeyFile,
) -> None:
    ring = KeyRing(source)
    _, wrapped = await ring.new_data_key("act-1")
    with pytest.raises(IntegrityError):
        await ring.unwrap(wrapped, "act-2")


async def test_tampered_wrapped_dek_fails(source: LocalKeyFile) -> None:
    ring = KeyRing(source)
    _, wrapped = await ring.new_data_key("act-1")
    flipped = bytearray(wrapped.ciphertext)
    flipped[-1] ^= 1
    with pytest.raises(IntegrityError):
        await ring.unwrap(wrapped.model_copy(update={"ciphertext": bytes(flipped)}), "act-1")


async def test_wrapped_dek_survives_json_and_bytes_serialisation(source: LocalKeyFile) -> None:
    ring = KeyRing(source)
    _, wrapped = await ring.new_data_key("act-1")
    document = wrapped.model_dump(mode="json")
    assert isinstance(document["ciphertext"], str)
    assert WrappedDek.model_validate(document) == wrapped
    assert WrappedDek.from_bytes(wrapped.to_bytes()) == wrapped


async def test_rotation_rewraps_without_touching_the_object(source: LocalKeyFile) -> None:
    ring = KeyRing(source)
    key, old = await ring.new_data_key("act-1")
    ciphertext = await encrypt(b"acte avant rotation", key, "act-1")

    assert await source.rotate() == 2
    assert await ring.needs_rewrap(old)
    assert (await ring.unwrap(old, "act-1")).material == key.material
    new = await ring.rewrap(old, "act-1")

    assert (new.kek_version, new.dek_id) == (2, old.dek_id)
    assert not await ring.needs_rewrap(new)
    assert await ring.rewrap(new, "act-1") is new
    assert await decrypt(ciphertext, await ring.unwrap(new, "act-1"), "act-1") == (
        b"acte avant rotation"
    )
    _, fresh = await ring.new_data_key("act-2")
    assert fresh.kek_version == 2


async def test_retired_version_no_longer_unwraps(source: LocalKeyFile) -> None:
    ring = KeyRing(source)
    _, old = await ring.new_data_key("act-1")
    await source.rotate()
    new = await ring.rewrap(old, "act-1")
    await source.retire(1)

    with pytest.raises(KeyNotFoundError):
        await ring.unwrap(old, "act-1")
    await ring.unwrap(new, "act-1")


async def test_current_version_cannot_be_retired(source: LocalKeyFile) -> None:
    await source.current_version()
    with pytest.raises(ValueError, match="rotate first"):
        await source.retire(1)


async def test_rotation_by_another_process_is_picked_up(kek_file: Path) -> None:
    first = LocalKeyFile(kek_file, CLOCK)
    second = LocalKeyFile(kek_file, CLOCK)
    await first.current_version()
    await second.current_version()

    await first.rotate()
    key, wrapped = await KeyRing(first).new_data_key("act-1")

    assert (await KeyRing(second).unwrap(wrapped, "act-1")).material == key.material


async def test_dek_wrapped_by_an_unknown_kek_is_not_found(source: LocalKeyFile) -> None:
    ring = KeyRing(source)
    _, wrapped = await ring.new_data_key("act-1")
    with pytest.raises(KeyNotFoundError):
        await ring.unwrap(wrapped.model_copy(update={"kek_id": "vault-prod"}), "act-1")
