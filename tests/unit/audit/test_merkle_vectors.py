"""Known-answer tests of the Merkle tree code against the published vectors in rfc6962.json."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit import merkle

VECTORS: dict[str, Any] = json.loads((Path(__file__).parent / "rfc6962.json").read_text())
LEAVES = [merkle.leaf_hash(bytes.fromhex(leaf["data_hex"])) for leaf in VECTORS["leaves"]]


def h(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text)


def proof_from(plan: merkle.ProofPlan, lookup: Callable[[merkle.NodeId], bytes]) -> list[bytes]:
    return [merkle.fold([lookup(node) for node in element]) for element in plan]


def test_leaf_hashes_match_the_reference_inputs() -> None:
    for leaf, expected in zip(LEAVES, VECTORS["leaves"], strict=True):
        assert leaf.hex() == expected["leaf_hash_hex"]


@pytest.mark.parametrize("vector", VECTORS["roots"], ids=lambda v: f"size{v['size']}")
def test_root_of_every_prefix_matches(vector: dict[str, Any]) -> None:
    assert merkle.root_of(LEAVES[: vector["size"]]).hex() == vector["root_hex"]


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert merkle.EMPTY_ROOT.hex() == VECTORS["roots"][0]["root_hex"]
    assert merkle.CompactRange().root() == merkle.EMPTY_ROOT


def test_appending_persists_exactly_the_complete_subtree_hashes() -> None:
    tree = merkle.CompactRange()
    written: dict[merkle.NodeId, bytes] = {}
    for leaf in LEAVES:
        for node, digest in tree.append(leaf):
            assert node not in written, "a complete subtree is written once"
            written[node] = digest
    expected = {(v["level"], v["index"]): v["hash_hex"] for v in VECTORS["node_hashes"]}
    assert {node: digest.hex() for node, digest in written.items()} == expected


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion_proofs"], ids=lambda v: f"{v['index']}in{v['size']}"
)
def test_published_inclusion_proofs_are_generated_and_verify(vector: dict[str, Any]) -> None:
    lookup = merkle.nodes_in_memory(LEAVES)
    proof = proof_from(merkle.inclusion_plan(vector["index"], vector["size"]), lookup)
    assert [p.hex() for p in proof] == vector["path"]
    assert merkle.verify_inclusion(
        vector["index"], vector["size"], h(vector["leaf_hash_hex"]), proof, h(vector["root_hex"])
    )


@pytest.mark.parametrize(
    "vector", VECTORS["consistency_proofs"], ids=lambda v: f"{v['size1']}to{v['size2']}"
)
def test_published_consistency_proofs_are_generated_and_verify(vector: dict[str, Any]) -> None:
    lookup = merkle.nodes_in_memory(LEAVES)
    proof = proof_from(merkle.consistency_plan(vector["size1"], vector["size2"]), lookup)
    assert [p.hex() for p in proof] == vector["path"]
    assert merkle.verify_consistency(
        vector["size1"], vector["size2"], h(vector["root1_hex"]), h(vector["root2_hex"]), proof
    )


def test_c2sp_symbolic_examples() -> None:
    examples = VECTORS["c2sp_merkle_tree_examples"]
    labels = {name: h(value) for name, value in examples["labels"].items()}
    lookup = merkle.nodes_in_memory(LEAVES[:7])
    assert merkle.root_of(LEAVES[:7]) == labels["root"]
    for case in examples["inclusion"]:
        proof = proof_from(merkle.inclusion_plan(case["index"], case["size"]), lookup)
        assert proof == [labels[name] for name in case["path_labels"]]
    for case in examples["consistency"]:
        proof = proof_from(merkle.consistency_plan(case["size1"], case["size2"]), lookup)
        assert proof == [labels[name] for name in case["path_labels"]]


def test_cctv_readme_example() -> None:
    example = VECTORS["cctv_readme_example"]
    leaves = [merkle.leaf_hash(text.encode()) for text in example["leaf_data_utf8"]]
    assert [leaf.hex() for leaf in leaves] == example["leaf_hash_hex"]
    assert merkle.root_of(leaves[:1]).hex() == example["root_size1_hex"]
    assert merkle.root_of(leaves).hex() == example["root_size2_hex"]
    lookup = merkle.nodes_in_memory(leaves)
    inclusion = example["inclusion"]
    proof = proof_from(merkle.inclusion_plan(inclusion["index"], inclusion["size"]), lookup)
    assert [p.hex() for p in proof] == inclusion["path"]
    consistency = example["consistency"]
    proof = proof_from(merkle.consistency_plan(consistency["size1"], consistency["size2"]), lookup)
    assert [p.hex() for p in proof] == consistency["path"]


@pytest.mark.parametrize(
    "probe", VECTORS["probes"]["inclusion"], ids=lambda p: str(p["file"]).removesuffix(".json")
)
def test_inclusion_probe_is_accepted_or_rejected_as_published(probe: dict[str, Any]) -> None:
    verdict = merkle.verify_inclusion(
        probe["index"],
        probe["size"],
        h(probe["leaf_hash_hex"]),
        [h(p) for p in probe["path"]],
        h(probe["root_hex"]),
    )
    assert verdict is probe["expect_valid"]


@pytest.mark.parametrize(
    "probe", VECTORS["probes"]["consistency"], ids=lambda p: str(p["file"]).removesuffix(".json")
)
def test_consistency_probe_is_accepted_or_rejected_as_published(probe: dict[str, Any]) -> None:
    verdict = merkle.verify_consistency(
        probe["size1"],
        probe["size2"],
        h(probe["root1_hex"]),
        h(probe["root2_hex"]),
        [h(p) for p in probe["path"]],
    )
    assert verdict is probe["expect_valid"]


# -- accumulated vectors over every subtree of a 130-leaf tree (MTC draft, appendix C.1) -------

MTC = VECTORS["mtc_accumulated_vectors"]
MTC_LEAVES = [merkle.leaf_hash(bytes([i])) for i in range(MTC["max_size"])]


def valid_subtree(start: int, end: int) -> bool:
    if start > end:
        return False
    if start == 0 or start == end:
        return True
    return start % (1 << (end - start - 1).bit_length()) == 0


def subtrees() -> list[tuple[int, int]]:
    return [
        (start, end)
        for end in range(MTC["max_size"] + 1)
        for start in range(end + 1)
        if valid_subtree(start, end)
    ]


def test_accumulated_subtree_hashes() -> None:
    lookup = merkle.nodes_in_memory(MTC_LEAVES)
    rolling = hashlib.sha256()
    for start, end in subtrees():
        digest = merkle.fold([lookup(node) for node in merkle.subtree_nodes(start, end)])
        rolling.update(f"[{start}, {end}) {digest.hex()}\n".encode())
    assert rolling.hexdigest() == MTC["C.1.1_subtree_hashes"]["expected_sha256"]


def test_accumulated_subtree_inclusion_proofs() -> None:
    lookup = merkle.nodes_in_memory(MTC_LEAVES)
    rolling = hashlib.sha256()
    for start, end in subtrees():
        for index in range(start, end):
            plan = merkle.inclusion_plan(index - start, end - start, start=start)
            hashes = "".join(f" {p.hex()}" for p in proof_from(plan, lookup))
            rolling.update(f"{index} [{start}, {end}){hashes}\n".encode())
    assert rolling.hexdigest() == MTC["C.1.2_subtree_inclusion_proofs"]["expected_sha256"]


_MTC_LOOKUP = merkle.nodes_in_memory(MTC_LEAVES)


@functools.cache
def _mth(first: int, last: int) -> bytes:
    return merkle.fold([_MTC_LOOKUP(node) for node in merkle.subtree_nodes(first, last)])


def _reference_subtree_consistency(start: int, end: int, n: int) -> list[bytes]:
    """The MTC draft's SUBPROOF generalised to subtrees, written out independently of
    `merkle`'s proof planning (an empty subtree, or the whole tree, needs no proof)."""
    mth = _mth

    def subproof(lo: int, hi: int, base: int, size: int, known: bool) -> list[bytes]:
        if lo == 0 and hi == size:
            return [] if known else [mth(base, base + size)]
        k = 1 << ((size - 1).bit_length() - 1)
        if hi <= k:
            return [*subproof(lo, hi, base, k, known), mth(base + k, base + size)]
        if lo >= k:
            return [*subproof(lo - k, hi - k, base + k, size - k, known), mth(base, base + k)]
        return [*subproof(0, hi - k, base + k, size - k, False), mth(base, base + k)]

    if start == end or (start == 0 and end == n):
        return []
    return subproof(start, end, 0, n, True)


def test_accumulated_subtree_consistency_proofs_and_ours_on_every_prefix() -> None:
    # The reference reproduces the published digest over every subtree of every tree size…
    rolling = hashlib.sha256()
    for n in range(MTC["max_size"] + 1):
        for start, end in subtrees():
            if end <= n:
                proof = _reference_subtree_consistency(start, end, n)
                line = f"[{start}, {end}) {n}" + "".join(f" {p.hex()}" for p in proof)
                rolling.update(f"{line}\n".encode())
    assert rolling.hexdigest() == MTC["C.1.3_subtree_consistency_proofs"]["expected_sha256"]
    # …and the journal's consistency proofs (subtrees starting at 0: RFC 6962's PROOF) are
    # exactly the reference's for every pair of sizes up to 130.
    lookup = merkle.nodes_in_memory(MTC_LEAVES)
    for n in range(2, MTC["max_size"] + 1):
        for m in range(1, n):
            ours = proof_from(merkle.consistency_plan(m, n), lookup)
            assert ours == _reference_subtree_consistency(0, m, n), (m, n)


def test_the_vectors_here_are_the_published_ones() -> None:
    published = Path(__file__).resolve().parents[3].parent / "shared" / "vectors" / "rfc6962.json"
    if not published.exists():
        pytest.skip(f"{published} is not beside the repository")
    assert json.loads(published.read_text()) == VECTORS
