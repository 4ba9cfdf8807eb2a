from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest

from shared.clock import ManualClock
from shared.crypto.errors import IntegrityError, KeyNotFoundError
from shared.crypto.signing import (
    SigningKey,
    SigningKeyRing,
    VerifierKey,
    load_or_create_signing_ring,
    open_note,
    rotate_signing_file,
    sign_note,
)

VECTORS: dict[str, Any] = json.loads(
    Path(__file__).with_name("signed_note_vectors.json").read_text(encoding="utf-8")
)
NOTE_EXAMPLES: list[dict[str, Any]] = VECTORS["signed_note_examples"]
# The private key published beside the PeterNeumann note in golang.org/x/mod/sumdb/note tests.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
CLOCK = ManualClock(datetime(2025, 1, 6, 12, 0, tzinfo=UTC))


def note_text(note: str) -> str:
    return note[: note.rfind("\n\n") + 1]


@pytest.mark.parametrize("example", NOTE_EXAMPLES, ids=lambda e: e["expected_key_id_hex"])
def test_published_signed_notes_verify_with_their_verifier_keys(example: dict[str, Any]) -> None:
    verifier = VerifierKey.from_string(example["vkey"])

    opened = open_note(example["note"], [verifier])

    assert verifier.key_id == example["expected_key_id_hex"]
    assert verifier.to_string() == example["vkey"]
    assert opened.verified_by == (verifier,)
    assert opened.text == note_text(example["note"])


def test_signing_with_the_published_go_key_reproduces_the_published_note() -> None:
    example = next(e for e in NOTE_EXAMPLES if e["vkey"].startswith("PeterNeumann+"))
    key = SigningKey.from_private_string(GO_SKEY)

    assert key.verifier.to_string() == example["vkey"]
    assert key.to_private_string() == GO_SKEY
    assert sign_note(note_text(example["note"]), [key]) == example["note"]


def test_rfc8032_test1_signature_verifies() -> None:
    kat = VECTORS["ed25519_kat"]
    key = VerifierKey("rfc8032", bytes.fromhex(kat["public_key_hex"]))
    signature = bytes.fromhex(kat["signature_hex"])
    assert key.verify(bytes.fromhex(kat["message_hex"]), signature)
    assert not key.verify(b"x", signature)


@pytest.mark.parametrize("example", NOTE_EXAMPLES, ids=lambda e: e["expected_key_id_hex"])
def test_altered_note_text_fails(example: dict[str, Any]) -> None:
    verifier = VerifierKey.from_string(example["vkey"])
    note = example["note"]
    with pytest.raises(IntegrityError):
        open_note(note[:3] + chr(ord(note[3]) ^ 0x20) + note[4:], [verifier])


def test_note_signed_only_by_unknown_keys_fails() -> None:
    note = sign_note("checkpoint\n", [SigningKey.generate("other.example/log")])
    with pytest.raises(IntegrityError, match="no signature by a known key"):
        open_note(note, [SigningKey.generate("securact.test/log").verifier])


def test_unknown_cosignatures_are_ignored_but_reported() -> None:
    ours, witness = SigningKey.generate("securact.test/log"), SigningKey.generate("witness")
    opened = open_note(sign_note("checkpoint\n", [ours, witness]), [ours.verifier])
    assert opened.verified_by == (ours.verifier,)
    assert opened.unverified_names == ("witness",)


def test_bad_signature_by_a_known_key_fails_even_beside_a_good_one() -> None:
    ours, witness = SigningKey.generate("securact.test/log"), SigningKey.generate("witness")
    good = sign_note("checkpoint\n", [ours])
    forged_line = sign_note("other text\n", [witness]).split("\n\n")[1]
    with pytest.raises(IntegrityError):
        open_note(good + forged_line, [ours.verifier, witness.verifier])


def test_verifier_key_with_a_wrong_hash_is_rejected() -> None:
    vkey = NOTE_EXAMPLES[0]["vkey"]
    name, _, encoded = vkey.split("+", 2)
    with pytest.raises(ValueError, match="hash"):
        VerifierKey.from_string(f"{name}+00000000+{encoded}")


def test_rotated_ring_signs_with_the_new_key_and_still_verifies_old_signatures() -> None:
    old = SigningKey.generate("securact.test/platform")
    ring = SigningKeyRing(old)
    old_signature = ring.sign(b"evidence")
    old_note = ring.sign_note("checkpoint 1\n")

    new = SigningKey.generate("securact.test/platform")
    ring.rotate(new)
    new_signature = ring.sign(b"evidence")

    assert (old_signature.kid, new_signature.kid) == (old.key_id, new.key_id)
    assert ring.verify(b"evidence", old_signature) == old.verifier
    assert ring.verify(b"evidence", new_signature) == new.verifier
    assert ring.open_note(old_note).verified_by == (old.verifier,)
    with pytest.raises(IntegrityError):
        ring.verify(b"other evidence", new_signature)


def test_retired_key_signatures_no_longer_verify() -> None:
    old = SigningKey.generate("securact.test/platform")
    ring = SigningKeyRing(old)
    signature = ring.sign(b"certificate")
    ring.rotate(SigningKey.generate("securact.test/platform"))
    ring.retire(old.key_id)

    with pytest.raises(IntegrityError):
        ring.verify(b"certificate", signature)
    with pytest.raises(KeyNotFoundError):
        ring.verifier(old.key_id)
    with pytest.raises(ValueError, match="rotate first"):
        ring.retire(ring.active.key_id)


def test_jwks_publishes_every_key_and_verifies_an_eddsa_jwt() -> None:
    old = SigningKey.generate("securact.test/identity")
    ring = SigningKeyRing(old)
    ring.rotate(SigningKey.generate("securact.test/identity"))
    token = jwt.encode(
        {"sub": "u1"},
        ring.active.private_key,
        algorithm="EdDSA",
        headers={"kid": ring.active.key_id},
    )

    jwks = ring.jwks()
    by_kid = {jwk["kid"]: jwk for jwk in jwks["keys"]}
    public = jwt.PyJWK(by_kid[jwt.get_unverified_header(token)["kid"]]).key

    assert set(by_kid) == {old.key_id, ring.active.key_id}
    assert all(j["kty"] == "OKP" and j["crv"] == "Ed25519" for j in jwks["keys"])
    assert jwt.decode(token, public, algorithms=["EdDSA"]) == {"sub": "u1"}
    assert ring.verifier_keys() == [k.verifier.to_string() for k in (old, ring.active)]


def test_signing_key_file_is_private_and_stable_across_loads(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.json"
    first = load_or_create_signing_ring(path, "securact.test/audit", CLOCK)
    again = load_or_create_signing_ring(path, "securact.test/audit", CLOCK)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert again.active.key_id == first.active.key_id

    rotated = rotate_signing_file(path, "securact.test/audit", CLOCK)
    reloaded = load_or_create_signing_ring(path, "securact.test/audit", CLOCK)
    assert reloaded.active.key_id == rotated.active.key_id != first.active.key_id
    assert {k.key_id for k in reloaded.published} == {first.active.key_id, rotated.active.key_id}


def test_signing_key_repr_hides_the_seed() -> None:
    key = SigningKey.from_private_string(GO_SKEY)
    assert GO_SKEY.rsplit("+", 1)[1] not in repr(key)
