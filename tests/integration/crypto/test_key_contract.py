"""One contract for every key backend: the local key files and a PKCS#11 token (SoftHSM2).

Each backend makes "replicas": new `KekSource` instances and signing key rings over the same
keys (the same file, the same token labels), as two processes of a service would.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.clock import ManualClock
from shared.crypto import KekSource, KeyRing, SigningKeyRing, VerifierKey
from shared.crypto.errors import IntegrityError, KeyNotFoundError
from shared.crypto.local_kek import LocalKeyFile
from shared.crypto.pkcs11_keys import Pkcs11KekSource, Pkcs11SigningKeys
from shared.crypto.pkcs11_token import Pkcs11Config, token_session
from shared.crypto.signing import load_or_create_signing_ring, open_note, rotate_signing_file

CLOCK = ManualClock(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
KEY_NAME = "securact.test"


@dataclass
class Backend:
    name: str
    replica: Callable[[], KekSource]
    signing_ring: Callable[[], SigningKeyRing]
    rotate_signing: Callable[[], SigningKeyRing]


@pytest.fixture(params=["file", "pkcs11"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "file":
        kek, signing = tmp_path / "kek.json", tmp_path / "signing.json"
        return Backend(
            "file",
            lambda: LocalKeyFile(kek, CLOCK),
            lambda: load_or_create_signing_ring(signing, KEY_NAME, CLOCK),
            lambda: rotate_signing_file(signing, KEY_NAME, CLOCK),
        )
    config: Pkcs11Config = request.getfixturevalue("softhsm")
    prefix: str = request.getfixturevalue("label_prefix")
    session = token_session(config)
    keys = Pkcs11SigningKeys(session, prefix, KEY_NAME)
    return Backend("pkcs11", lambda: Pkcs11KekSource(session, prefix), keys.ring, keys.rotate)


async def test_a_wrapped_dek_unwraps_to_the_same_key(backend: Backend) -> None:
    ring = KeyRing(backend.replica())
    key, wrapped = await ring.new_data_key("act-1")
    assert wrapped.kek_version == 1
    assert key.material not in wrapped.ciphertext
    assert (await ring.unwrap(wrapped, "act-1")).material == key.material


async def test_a_wrap_is_bound_to_its_object(backend: Backend) -> None:
    ring = KeyRing(backend.replica())
    _, wrapped = await ring.new_data_key("act-1")
    with pytest.raises(IntegrityError):
        await ring.unwrap(wrapped, "act-2")
    flipped = bytearray(wrapped.ciphertext)
    flipped[-1] ^= 1
    with pytest.raises(IntegrityError):
        await ring.unwrap(wrapped.model_copy(update={"ciphertext": bytes(flipped)}), "act-1")
    with pytest.raises(IntegrityError):
        await ring.unwrap(wrapped.model_copy(update={"ciphertext": b"short"}), "act-1")


async def test_an_unknown_version_is_refused(backend: Backend) -> None:
    ring = KeyRing(backend.replica())
    _, wrapped = await ring.new_data_key("act-1")
    with pytest.raises(KeyNotFoundError):
        await ring.unwrap(wrapped.model_copy(update={"kek_version": 7}), "act-1")


async def test_rotation_adds_a_version_and_old_wraps_still_unwrap(backend: Backend) -> None:
    source = backend.replica()
    ring = KeyRing(source)
    old_key, old = await ring.new_data_key("act-1")
    assert await source.rotate() == 2
    assert await source.current_version() == 2
    _, new = await ring.new_data_key("act-2")
    assert new.kek_version == 2
    assert (await ring.unwrap(old, "act-1")).material == old_key.material
    assert await ring.needs_rewrap(old)
    moved = await ring.rewrap(old, "act-1")
    assert moved.kek_version == 2
    assert (await ring.unwrap(moved, "act-1")).material == old_key.material


async def test_a_retired_version_no_longer_unwraps(backend: Backend) -> None:
    source = backend.replica()
    ring = KeyRing(source)
    _, old = await ring.new_data_key("act-1")
    with pytest.raises(ValueError, match="current"):
        await source.retire(1)
    await source.rotate()
    await source.retire(1)
    with pytest.raises(KeyNotFoundError):
        await ring.unwrap(old, "act-1")
    with pytest.raises(KeyNotFoundError):
        await source.retire(9)
    # A replica started afterwards agrees.
    with pytest.raises(KeyNotFoundError):
        await KeyRing(backend.replica()).unwrap(old, "act-1")


async def test_two_replicas_unwrap_each_others_wraps(backend: Backend) -> None:
    first, second = KeyRing(backend.replica()), KeyRing(backend.replica())
    key_a, wrapped_a = await first.new_data_key("act-a")
    key_b, wrapped_b = await second.new_data_key("act-b")
    assert wrapped_a.kek_id == wrapped_b.kek_id
    assert (await second.unwrap(wrapped_a, "act-a")).material == key_a.material
    assert (await first.unwrap(wrapped_b, "act-b")).material == key_b.material


async def test_a_replica_unwraps_what_another_wrapped_after_rotating(backend: Backend) -> None:
    rotating, other = backend.replica(), backend.replica()
    await other.current_version()  # loaded before the rotation
    await rotating.rotate()
    key, wrapped = await KeyRing(rotating).new_data_key("act-1")
    assert wrapped.kek_version == 2
    assert (await KeyRing(other).unwrap(wrapped, "act-1")).material == key.material


async def test_concurrent_wraps_and_unwraps_all_round_trip(backend: Backend) -> None:
    first, second = KeyRing(backend.replica()), KeyRing(backend.replica())
    made = await asyncio.gather(*(first.new_data_key(f"act-{i}") for i in range(100)))
    opened = await asyncio.gather(
        *(second.unwrap(wrapped, f"act-{i}") for i, (_, wrapped) in enumerate(made))
    )
    assert [k.material for k in opened] == [k.material for k, _ in made]


# -- signing ---------------------------------------------------------------------------------


def _jwk_public_key(jwk: dict[str, str]) -> Ed25519PublicKey:
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


async def test_a_signature_verifies_with_the_published_jwk_and_verifier_key(
    backend: Backend,
) -> None:
    ring = backend.signing_ring()
    signature = await ring.sign_async(b"evidence of service")
    (jwk,) = [k for k in ring.jwks()["keys"] if k["kid"] == signature.kid]
    _jwk_public_key(jwk).verify(signature.signature, b"evidence of service")
    (vkey,) = [v for v in ring.verifier_keys() if f"+{signature.kid}+" in v]
    verifier = VerifierKey.from_string(vkey)
    assert verifier.verify(b"evidence of service", signature.signature)
    assert not verifier.verify(b"evidence of another service", signature.signature)
    note = ring.sign_note("securact.test\n42\n")
    assert open_note(note, [verifier]).text == "securact.test\n42\n"


async def test_replicas_share_the_signing_key(backend: Backend) -> None:
    first, second = backend.signing_ring(), backend.signing_ring()
    assert first.active.key_id == second.active.key_id
    assert second.verify(b"x", first.sign(b"x")).key_id == first.active.key_id


async def test_rotation_keeps_the_old_key_published(backend: Backend) -> None:
    ring = backend.signing_ring()
    old = ring.sign(b"signed before")
    rotated = backend.rotate_signing()
    assert rotated.active.key_id != old.kid
    assert rotated.verify(b"signed before", old).key_id == old.kid
    assert rotated.sign(b"after").kid == rotated.active.key_id
    # A replica loaded afterwards signs with the new key.
    assert backend.signing_ring().active.key_id == rotated.active.key_id
