"""Two witnesses on loopback (real `securact-witness` processes, SQLite state) cosign a log's
checkpoints only along one consistent history: every fork is refused by both."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import httpx
import pytest

from audit import merkle
from audit.checkpoint import Checkpoint
from shared.cosignature import add_cosignatures, verify_cosignatures
from shared.crypto import SigningKey
from tests.integration.evidence.conftest import RunningWitness


def leaves(tag: str, count: int) -> list[bytes]:
    return [merkle.leaf_hash(f"{tag}-{n}".encode()) for n in range(count)]


def note(key: SigningKey, hashes: Sequence[bytes]) -> str:
    return Checkpoint(key.name, len(hashes), merkle.root_of(hashes)).sign([key])


def proof(hashes: Sequence[bytes], old: int) -> list[bytes]:
    plan = merkle.consistency_plan(old, len(hashes))
    lookup = merkle.nodes_in_memory(hashes)
    return merkle.resolve(plan, {node: lookup(node) for node in merkle.plan_nodes(plan)})


def request(old: int, hashes: Sequence[bytes], signed: str) -> str:
    lines = "".join(f"{base64.b64encode(h).decode()}\n" for h in proof(hashes, old) if old)
    return f"old {old}\n{lines}\n{signed}"


def submit(witness: RunningWitness, body: str) -> httpx.Response:
    return httpx.post(f"{witness.url}/add-checkpoint", content=body.encode(), timeout=10)


def test_both_witnesses_cosign_a_growing_log_and_their_cosignatures_verify(
    witnesses: list[RunningWitness], log_key: SigningKey
) -> None:
    history = leaves("a", 13)
    first, second = note(log_key, history[:4]), note(log_key, history)
    for witness in witnesses:
        assert submit(witness, request(0, history[:4], first)).status_code == 200
        answer = submit(witness, request(4, history, second))
        assert answer.status_code == 200, answer.text
        [found] = verify_cosignatures(add_cosignatures(second, [answer.text]), [witness.key])
        assert found.witness.name == witness.name
    # Each witness's line verifies with its own key only.
    w1, w2 = witnesses
    line = submit(w1, request(13, history, second)).text
    assert verify_cosignatures(add_cosignatures(second, [line]), [w2.key]) == []


def test_a_fork_at_the_same_size_is_refused_by_both(
    witnesses: list[RunningWitness], log_key: SigningKey
) -> None:
    history, fork = leaves("a", 8), leaves("a", 7) + leaves("forged", 1)
    for witness in witnesses:
        assert submit(witness, request(0, history, note(log_key, history))).status_code == 200
        refused = submit(witness, request(8, fork, note(log_key, fork)))
        assert refused.status_code == 409
        assert refused.headers["content-type"] == "text/x.tlog.size"
        assert refused.text == "8\n"


def test_a_smaller_tree_that_is_not_a_prefix_is_refused_by_both(
    witnesses: list[RunningWitness], log_key: SigningKey
) -> None:
    history, other = leaves("a", 8), leaves("b", 5)
    for witness in witnesses:
        assert submit(witness, request(0, history, note(log_key, history))).status_code == 200
        # Claiming to start afresh: the witness answers with the size it holds.
        stale = submit(witness, request(0, other, note(log_key, other)))
        assert (stale.status_code, stale.text) == (409, "8\n")
        # Claiming its size: an old size beyond the checkpoint's is malformed.
        backwards = submit(witness, f"old 8\n\n{note(log_key, other)}")
        assert backwards.status_code == 400


def test_a_larger_tree_that_rewrites_history_is_refused_by_both(
    witnesses: list[RunningWitness], log_key: SigningKey
) -> None:
    history = leaves("a", 6)
    rewritten = leaves("a", 2) + leaves("forged", 8)
    for witness in witnesses:
        assert submit(witness, request(0, history, note(log_key, history))).status_code == 200
        # The proof is a real one, but from the rewritten tree's own prefix.
        refused = submit(witness, request(6, rewritten, note(log_key, rewritten)))
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        # And nothing moved: the honest next checkpoint is still cosigned.
        grown = history + leaves("c", 3)
        assert submit(witness, request(6, grown, note(log_key, grown))).status_code == 200


@pytest.mark.parametrize("case", ["unsigned", "other key", "unknown origin"])
def test_a_checkpoint_not_signed_by_the_log_is_refused(
    witnesses: list[RunningWitness], log_key: SigningKey, case: str
) -> None:
    history = leaves("a", 3)
    if case == "other key":
        signed, status = note(SigningKey.generate(log_key.name), history), 403
    elif case == "unknown origin":
        other = SigningKey.generate("elsewhere/log")
        signed = Checkpoint("elsewhere/log", 3, merkle.root_of(history)).sign([other])
        status = 404
    else:
        signed, status = Checkpoint(log_key.name, 3, merkle.root_of(history)).body() + "\n", 403
    for witness in witnesses:
        assert submit(witness, request(0, history, signed)).status_code == status


def test_a_restarted_witness_remembers_what_it_cosigned(
    witnesses: list[RunningWitness], log_key: SigningKey
) -> None:
    history, fork = leaves("a", 5), leaves("z", 5)
    w1 = witnesses[0]
    assert submit(w1, request(0, history, note(log_key, history))).status_code == 200
    w1.stop()
    w1.start()
    refused = submit(w1, request(0, fork, note(log_key, fork)))
    assert (refused.status_code, refused.text) == (409, "5\n")


def test_a_log_cosigned_while_empty_is_cosigned_when_it_grows(
    witnesses: list[RunningWitness], log_key: SigningKey
) -> None:
    history = leaves("a", 4)
    for witness in witnesses:
        assert submit(witness, request(0, [], note(log_key, []))).status_code == 200
        answer = submit(witness, request(0, history, note(log_key, history)))
        assert answer.status_code == 200, answer.text
