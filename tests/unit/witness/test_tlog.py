"""The witness's own consistency verifier against the published RFC 6962 vectors, and the
add-checkpoint request format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from witness.tlog import MalformedError, consistent, parse_add_checkpoint, parse_checkpoint_body

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "audit" / "rfc6962.json").read_text()
)


def _check(case: dict[str, Any]) -> bool:
    size1, size2 = case["size1"], case["size2"]
    root1, root2 = bytes.fromhex(case["root1_hex"]), bytes.fromhex(case["root2_hex"])
    path = [bytes.fromhex(h) for h in case["path"]]
    if size1 == size2:  # the witness compares roots itself for equal sizes
        return not path and root1 == root2
    return consistent(size1, root1, size2, root2, path)


@pytest.mark.parametrize(
    "case", VECTORS["consistency_proofs"], ids=lambda c: f"{c['size1']}-{c['size2']}"
)
def test_published_consistency_proofs_verify(case: dict[str, Any]) -> None:
    assert _check(case)


# Sizes 0 and size1 > size2 are refused before any proof is looked at (see witness.app).
PROBES = [c for c in VECTORS["probes"]["consistency"] if 0 < c["size1"] <= c["size2"]]


@pytest.mark.parametrize("case", PROBES, ids=lambda c: c["file"])
def test_consistency_probes_are_accepted_or_refused_as_published(case: dict[str, Any]) -> None:
    assert _check(case) is case["expect_valid"]


def test_a_request_is_parsed_into_old_size_proof_and_note() -> None:
    proof = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw="
    note = "o\n2\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\n— o AAAA\n"
    parsed = parse_add_checkpoint(f"old 1\n{proof}\n\n{note}")
    assert parsed.old_size == 1
    assert len(parsed.proof) == 1
    assert parsed.note == note
    assert parse_checkpoint_body(note.split("\n\n")[0] + "\n").size == 2


@pytest.mark.parametrize(
    "text",
    [
        "old 01\n\no\n1\nAA==\n",
        "new 1\n\nx\n",
        "old 1\nnot-base64!\n\nx\n",
        "old 1\nAAAA\n\nx\n",
        "old 1\n",
    ],
)
def test_a_malformed_request_is_refused(text: str) -> None:
    with pytest.raises(MalformedError):
        parse_add_checkpoint(text)
