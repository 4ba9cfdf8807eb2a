"""Checkpoint notes (C2SP tlog-checkpoint) and receipts (C2SP tlog-proof)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from audit import merkle
from audit.checkpoint import (
    RECEIPT_HEADER,
    Checkpoint,
    FormatError,
    Receipt,
    open_checkpoint,
    verify_receipt,
)
from shared.crypto import IntegrityError, SigningKey, VerifierKey, open_note

VECTORS: dict[str, Any] = json.loads((Path(__file__).parent / "rfc6962.json").read_text())
ORIGIN = "securact.test/audit"
KEY = SigningKey.from_seed(ORIGIN, bytes(range(32)))
LEAVES_DATA = [f'{{"index":{i}}}'.encode() for i in range(11)]
LEAVES = [merkle.leaf_hash(data) for data in LEAVES_DATA]


@pytest.mark.parametrize("example", VECTORS["signed_note_examples"], ids=lambda e: e["vkey"][:12])
def test_published_signed_notes_open_with_their_verifier_keys(example: dict[str, Any]) -> None:
    key = VerifierKey.from_string(example["vkey"])
    assert key.key_id == example["expected_key_id_hex"]
    assert open_note(example["note"], [key]).verified_by == (key,)


def test_checkpoint_body_is_origin_size_and_base64_root() -> None:
    root = merkle.root_of(LEAVES)
    body = Checkpoint(ORIGIN, 11, root).body()
    assert body == f"{ORIGIN}\n11\n{base64.b64encode(root).decode()}\n"
    assert Checkpoint.parse(body) == Checkpoint(ORIGIN, 11, root)


@pytest.mark.parametrize(
    "body",
    [
        "securact.test/audit\n011\nAAAA\n",
        "securact.test/audit\n11\n" + base64.b64encode(b"short").decode() + "\n",
        "securact.test/audit\n11\n",
        "securact.test/audit\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "securact.test/audit\n1\n" + base64.b64encode(bytes(32)).decode(),
    ],
)
def test_malformed_checkpoint_bodies_are_refused(body: str) -> None:
    with pytest.raises(FormatError):
        Checkpoint.parse(body)


def test_signed_checkpoint_opens_only_with_the_log_key_and_origin() -> None:
    note = Checkpoint(ORIGIN, 11, merkle.root_of(LEAVES)).sign([KEY])
    assert open_checkpoint(note, [KEY.verifier], origin=ORIGIN).size == 11
    with pytest.raises(IntegrityError):
        open_checkpoint(note, [SigningKey.generate(ORIGIN).verifier])
    with pytest.raises(IntegrityError):
        open_checkpoint(note, [KEY.verifier], origin="other.example/log")
    with pytest.raises(IntegrityError):
        open_checkpoint(note.replace("\n11\n", "\n12\n"), [KEY.verifier])


def receipt_text(index: int, size: int = 11) -> str:
    lookup = merkle.nodes_in_memory(LEAVES[:size])
    plan = merkle.inclusion_plan(index, size)
    proof = [merkle.fold([lookup(n) for n in element]) for element in plan]
    note = Checkpoint(ORIGIN, size, merkle.root_of(LEAVES[:size])).sign([KEY])
    return Receipt(index, tuple(proof), note, extra=LEAVES_DATA[index]).to_text()


def test_receipt_has_the_c2sp_tlog_proof_layout() -> None:
    text = receipt_text(5)
    lines = text.split("\n")
    assert lines[0] == RECEIPT_HEADER
    assert lines[1] == "extra " + base64.b64encode(LEAVES_DATA[5]).decode()
    assert lines[2] == "index 5"
    proof_lines = lines[3 : lines.index("")]
    assert len(proof_lines) == 4
    assert all(len(base64.b64decode(p)) == 32 for p in proof_lines)
    assert text.endswith(Checkpoint(ORIGIN, 11, merkle.root_of(LEAVES)).sign([KEY]))
    assert Receipt.parse(text).to_text() == text


def test_a_receipt_verifies_offline_and_shows_its_leaf() -> None:
    verified = verify_receipt(receipt_text(5), [KEY.verifier], origin=ORIGIN)
    assert verified.index == 5
    assert verified.checkpoint.size == 11
    assert verified.entry == {"index": 5}


def test_a_receipt_for_another_leaf_or_index_is_refused() -> None:
    with pytest.raises(IntegrityError):
        verify_receipt(receipt_text(5), [KEY.verifier], leaf=LEAVES_DATA[4])
    forged = receipt_text(5).replace("index 5", "index 4", 1)
    with pytest.raises(IntegrityError):
        verify_receipt(forged, [KEY.verifier])


def test_every_single_bit_change_of_a_proof_line_is_refused() -> None:
    text = receipt_text(6)
    lines = text.split("\n")
    for position in range(3, lines.index("")):
        raw = bytearray(base64.b64decode(lines[position]))
        for bit in range(0, 256, 37):
            raw[bit // 8] ^= 1 << (bit % 8)
            forged = [*lines[:position], base64.b64encode(raw).decode(), *lines[position + 1 :]]
            with pytest.raises(IntegrityError):
                verify_receipt("\n".join(forged), [KEY.verifier])
            raw[bit // 8] ^= 1 << (bit % 8)


def test_a_receipt_signed_by_an_unknown_key_is_refused() -> None:
    with pytest.raises(IntegrityError):
        verify_receipt(receipt_text(1), [SigningKey.generate(ORIGIN).verifier])


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace(RECEIPT_HEADER, "c2sp.org/tlog-proof@v2"),
        lambda t: t.replace("index 1", "index 01"),
        lambda t: t.replace("\n\n", "\n", 1),
    ],
)
def test_malformed_receipts_are_refused(mangle: Any) -> None:
    with pytest.raises((FormatError, IntegrityError)):
        verify_receipt(mangle(receipt_text(1)), [KEY.verifier])


def test_cli_verify_receipt_works_offline_and_refuses_a_forgery(tmp_path: Path) -> None:
    import io

    from audit import cli

    saved = tmp_path / "entry-5.tlog-proof"
    saved.write_text(receipt_text(5))
    out = io.StringIO()
    argv = ["verify-receipt", "--receipt", str(saved), "--public-key", KEY.verifier.to_string()]
    assert cli.main(argv, out) == cli.EXIT_OK
    assert out.getvalue().startswith(f"receipt valid: entry 5 is in {ORIGIN} at size 11")

    saved.write_text(receipt_text(5).replace("index 5", "index 6", 1))
    out = io.StringIO()
    assert cli.main(argv, out) == cli.EXIT_BROKEN
    assert out.getvalue().startswith("receipt INVALID")
    other = SigningKey.generate(ORIGIN).verifier.to_string()
    saved.write_text(receipt_text(5))
    assert cli.main([*argv[:-1], other], io.StringIO()) == cli.EXIT_BROKEN
