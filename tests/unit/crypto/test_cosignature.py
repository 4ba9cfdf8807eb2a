"""C2SP cosignature/v1: lines that verify with the witness's key only, over the exact checkpoint."""

from __future__ import annotations

import base64

import pytest

from shared.cosignature import (
    CosignerKey,
    CosignerVerifier,
    add_cosignatures,
    signed_message,
    verify_cosignatures,
)
from shared.crypto import IntegrityError, SigningKey, VerifierKey, sign_note

BODY = "example.com/log\n8\n" + base64.b64encode(bytes(range(32))).decode() + "\n"


@pytest.fixture
def witness() -> CosignerKey:
    return CosignerKey.generate("witness.example/w1")


def test_the_signed_message_is_header_time_then_the_body() -> None:
    assert signed_message(BODY, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + BODY.encode()
    )


def test_a_cosignature_verifies_with_the_witness_key_and_carries_its_time(
    witness: CosignerKey,
) -> None:
    log = SigningKey.generate("example.com/log")
    note = add_cosignatures(sign_note(BODY, [log]), [witness.cosign(BODY, 1700000000)])
    [found] = verify_cosignatures(note, [witness.verifier])
    assert found.timestamp == 1700000000
    assert found.witness == witness.verifier


@pytest.mark.parametrize("position", [0, 3, 4, 11, 12, 40, 75])
def test_one_byte_changed_in_a_cosignature_is_detected(witness: CosignerKey, position: int) -> None:
    line = witness.cosign(BODY, 1700000000)
    prefix, encoded = line.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(encoded))
    blob[position] ^= 0x01
    tampered = f"{prefix} {base64.b64encode(bytes(blob)).decode()}\n"
    note = sign_note(BODY, [SigningKey.generate("example.com/log")]) + tampered
    if position < 4:  # the key id no longer names the witness: the line is not its
        assert verify_cosignatures(note, [witness.verifier]) == []
    else:
        with pytest.raises(IntegrityError):
            verify_cosignatures(note, [witness.verifier])


def test_a_cosignature_of_another_checkpoint_does_not_verify(witness: CosignerKey) -> None:
    other = BODY.replace("\n8\n", "\n9\n")
    note = sign_note(BODY, [SigningKey.generate("example.com/log")]) + witness.cosign(other, 1)
    with pytest.raises(IntegrityError):
        verify_cosignatures(note, [witness.verifier])


def test_another_witness_key_is_not_trusted(witness: CosignerKey) -> None:
    stranger = CosignerKey.generate("witness.example/w1")
    note = sign_note(BODY, [SigningKey.generate("example.com/log")]) + stranger.cosign(BODY, 1)
    assert verify_cosignatures(note, [witness.verifier]) == []


def test_a_witness_key_is_not_a_log_key(witness: CosignerKey) -> None:
    vkey = witness.verifier.to_string()
    assert CosignerVerifier.from_string(vkey) == witness.verifier
    with pytest.raises(ValueError, match="Ed25519"):
        VerifierKey.from_string(vkey)
    log = SigningKey.generate("example.com/log").verifier.to_string()
    with pytest.raises(ValueError, match="cosignature"):
        CosignerVerifier.from_string(log)


def test_the_private_key_string_round_trips(witness: CosignerKey) -> None:
    again = CosignerKey.from_private_string(witness.to_private_string())
    assert again.verifier == witness.verifier
    assert "PRIVATE" not in repr(witness)
