"""Audit's checkpoints gain outside evidence: a real TSA's token for each (fetched by the job,
a TSA outage only delays it) and two real witnesses' cosignatures, published in the note served
at GET /v1/checkpoint; `securact-audit verify-timestamp` names what a bad token fails."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import FastAPI

from audit import cli
from audit.api import journal_router
from audit.checkpoint import add_checkpoint_request, open_checkpoint
from audit.evidence import Evidence, TsaEndpoint, WitnessEndpoint
from audit.evidence_api import evidence_router
from audit.service import INDEXES
from shared.clock import ManualClock
from shared.cosignature import verify_cosignatures
from shared.crypto import SigningKey, SigningKeyRing
from shared.problems import install_problem_handlers
from shared.refusals import install_refusal_handlers
from shared.store.port import DocumentStore
from shared.timestamps import TsaTrust, verify_timestamp
from tests.fixtures.tsa import LocalTsa, make_ca
from tests.integration.evidence.conftest import RunningWitness
from tests.unit.audit.conftest import START, Audit, build_audit, fill


@dataclass
class Setup:
    audit: Audit
    evidence: Evidence
    client: httpx.AsyncClient
    log_key: SigningKey


def endpoints(witnesses: list[RunningWitness]) -> list[WitnessEndpoint]:
    return [WitnessEndpoint(w.url, w.key) for w in witnesses]


@pytest.fixture
async def setup(
    sqlite_store: DocumentStore,
    tmp_path: Path,
    tsa: LocalTsa,
    witnesses: list[RunningWitness],
    log_key: SigningKey,
) -> AsyncIterator[Setup]:
    await sqlite_store.ensure_indexes(INDEXES)
    clock = ManualClock(START)
    signer = SigningKeyRing(log_key)
    # The witnesses follow logs whose origin is their key's name (see the conftest's pool).
    audit = build_audit(sqlite_store, clock, tmp_path, signer, origin=log_key.name)
    evidence = Evidence(
        sqlite_store,
        clock,
        audit.journal,
        audit.checkpoints,
        tsa=TsaEndpoint(tsa.url, TsaTrust.from_pem(tsa.chain_pem)),
        witnesses=endpoints(witnesses),
    )
    app = FastAPI()
    install_problem_handlers(app)
    install_refusal_handlers(app)
    app.include_router(evidence_router(evidence, audit.checkpoints))
    app.include_router(journal_router(audit.journal, audit.checkpoints, note=evidence.cosigned))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://audit") as client:
        yield Setup(audit, evidence, client, log_key)
    await evidence.close()


async def grow_and_sign(setup: Setup, entries: int) -> int:
    """Journal `entries` more events and sign a checkpoint of the tree; its size."""
    size = (await setup.audit.journal.head()).size
    await fill(setup.audit, entries, first_seq=size + 1)
    made = await setup.audit.checkpoints.sign_if_grown()
    assert made is not None
    return made.checkpoint.size


async def note_of(setup: Setup, size: int) -> str:
    [stored] = await setup.audit.checkpoints.since(size, 1)
    assert stored.checkpoint.size == size
    return stored.note


async def test_a_tsa_down_delays_timestamps_without_blocking_checkpoints(
    setup: Setup, tsa: LocalTsa
) -> None:
    tsa.down = True
    first = await grow_and_sign(setup, 3)
    await setup.evidence.run()
    second = await grow_and_sign(setup, 2)  # checkpointing went on
    await setup.evidence.run()
    assert (await setup.client.get(f"/v1/checkpoints/{first}/timestamp")).status_code == 404
    served = await setup.client.get("/v1/checkpoint")
    assert served.status_code == 200  # served meanwhile
    assert setup.evidence.stats.timestamps_failed == 2

    tsa.down = False
    await setup.evidence.run()
    trust = TsaTrust.from_pem(tsa.chain_pem)
    for size in (first, second):
        answer = await setup.client.get(f"/v1/checkpoints/{size}/timestamp")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/timestamp-reply"
        note = await note_of(setup, size)
        verify_timestamp(answer.content, note.encode(), trust)  # over that very note
    assert tsa.replies == 2  # one token each, none fetched twice
    await setup.evidence.run()
    assert tsa.replies == 2


async def test_both_witnesses_cosign_each_new_checkpoint_and_the_note_carries_them(
    setup: Setup, witnesses: list[RunningWitness]
) -> None:
    keys = [w.key for w in witnesses]
    for entries in (4, 5):
        size = await grow_and_sign(setup, entries)
        await setup.evidence.run()
        served = (await setup.client.get("/v1/checkpoint")).text
        assert open_checkpoint(served, [setup.log_key.verifier]).size == size
        found = verify_cosignatures(served, keys)
        assert sorted(c.witness.name for c in found) == ["witness.test/w1", "witness.test/w2"]
    assert setup.evidence.stats.cosignatures_obtained == 4  # the second from a real proof
    listed = (await setup.client.get("/v1/witnesses")).text.splitlines()
    assert listed == [k.to_string() for k in keys]


async def test_a_witness_that_knows_a_later_size_is_caught_up_from_its_answer(
    setup: Setup, witnesses: list[RunningWitness]
) -> None:
    first = await grow_and_sign(setup, 3)
    w1 = witnesses[0]
    # As if an earlier run had its cosignature but this journal lost the record of it.
    body = add_checkpoint_request(0, [], await note_of(setup, first))
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{w1.url}/add-checkpoint", content=body.encode())
    assert answer.status_code == 200
    await grow_and_sign(setup, 2)
    await setup.evidence.run()
    served = (await setup.client.get("/v1/checkpoint")).text
    assert len(verify_cosignatures(served, [w.key for w in witnesses])) == 2


async def test_a_witness_unreachable_leaves_the_others_and_the_checkpoint_served(
    setup: Setup, witnesses: list[RunningWitness]
) -> None:
    setup.evidence.witnesses = (
        WitnessEndpoint("http://127.0.0.1:9", witnesses[0].key),
        *endpoints(witnesses[1:]),
    )
    await grow_and_sign(setup, 2)
    await setup.evidence.run()
    served = (await setup.client.get("/v1/checkpoint")).text
    [found] = verify_cosignatures(served, [w.key for w in witnesses])
    assert found.witness.name == "witness.test/w2"
    assert setup.evidence.stats.witnesses_unreachable == 1


async def test_verify_timestamp_names_the_failed_check(
    setup: Setup, tsa: LocalTsa, tmp_path: Path
) -> None:
    size = await grow_and_sign(setup, 2)
    await setup.evidence.run()
    # The note as served (with cosignatures): the log key tells which line the token covers.
    (tmp_path / "checkpoint").write_text((await setup.client.get("/v1/checkpoint")).text)
    token = (await setup.client.get(f"/v1/checkpoints/{size}/timestamp")).content
    (tmp_path / "token.tsr").write_bytes(token)
    _, other = make_ca("elsewhere")
    (tmp_path / "other.pem").write_bytes(other.public_bytes(Encoding.PEM))
    tampered = bytearray(token)
    tampered[-1] ^= 1
    (tmp_path / "tampered.tsr").write_bytes(bytes(tampered))
    (tmp_path / "forged").write_text(
        (tmp_path / "checkpoint").read_text().replace(f"\n{size}\n", f"\n{size + 1}\n")
    )

    later = await grow_and_sign(setup, 1)
    (tmp_path / "later").write_text(await note_of(setup, later))

    def run(checkpoint: str, token_file: str, chain: Path) -> tuple[int, str]:
        out = io.StringIO()
        status = cli.main(
            [
                "verify-timestamp",
                "--checkpoint", str(tmp_path / checkpoint),
                "--token", str(tmp_path / token_file),
                "--tsa-chain", str(chain),
                "--public-key", setup.log_key.verifier.to_string(),
            ],
            out,
        )  # fmt: skip
        return status, out.getvalue()

    status, said = run("checkpoint", "token.tsr", tsa.chain_file)
    assert status == 0, said
    assert said.startswith("timestamp valid")
    assert run("checkpoint", "tampered.tsr", tsa.chain_file)[1].startswith(
        "timestamp INVALID (signature)"
    )
    assert run("checkpoint", "token.tsr", tmp_path / "other.pem")[1].startswith(
        "timestamp INVALID (chain)"
    )
    assert run("forged", "token.tsr", tsa.chain_file)[1].startswith(
        "timestamp INVALID (checkpoint)"
    )
    # A genuine later checkpoint, but the token is over the earlier one.
    assert run("later", "token.tsr", tsa.chain_file)[1].startswith("timestamp INVALID (imprint)")


async def test_a_receipt_carries_the_cosignatures_and_verifies_with_the_checkpoint_timestamp(
    setup: Setup, tsa: LocalTsa, witnesses: list[RunningWitness], tmp_path: Path
) -> None:
    size = await grow_and_sign(setup, 3)
    await setup.evidence.run()
    receipt = (await setup.client.get("/v1/receipts/1")).text
    assert len(verify_cosignatures(receipt.partition("\n\n")[2], [w.key for w in witnesses])) == 2
    token = (await setup.client.get(f"/v1/checkpoints/{size}/timestamp")).content
    (tmp_path / "receipt").write_text(receipt)
    (tmp_path / "token.tsr").write_bytes(token)
    tampered_token = bytearray(token)
    tampered_token[-1] ^= 1
    (tmp_path / "tampered.tsr").write_bytes(bytes(tampered_token))
    # One byte of the first witness's cosignature changed (its signature, after the key id).
    lines = receipt.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("— witness.test/w1 "))
    name, blob = lines[at].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    lines[at] = f"{name} {base64.b64encode(bytes(raw)).decode()}"
    (tmp_path / "forged-cosignature").write_text("\n".join(lines))

    def run(receipt_file: str, token_file: str) -> tuple[int, str]:
        out = io.StringIO()
        status = cli.main(
            [
                "verify-receipt",
                "--receipt", str(tmp_path / receipt_file),
                "--public-key", setup.log_key.verifier.to_string(),
                *[a for w in witnesses for a in ("--witness-key", w.key.to_string())],
                "--timestamp", str(tmp_path / token_file),
                "--tsa-chain", str(tsa.chain_file),
            ],
            out,
        )  # fmt: skip
        return status, out.getvalue()

    status, said = run("receipt", "token.tsr")
    assert status == 0, said
    assert "cosigned by witness witness.test/w1" in said
    assert "cosigned by witness witness.test/w2" in said
    assert "checkpoint timestamped at" in said
    status, said = run("receipt", "tampered.tsr")
    assert (status, said.split(":")[0]) == (1, "receipt INVALID (timestamp, signature)"), said
    status, said = run("forged-cosignature", "token.tsr")
    assert (status, said.split(":")[0]) == (1, "receipt INVALID (cosignature)"), said
