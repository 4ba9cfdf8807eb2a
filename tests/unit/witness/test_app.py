"""The witness app in-process (real SQLite state): bad requests are 4xx problems, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from shared.clock import SystemClock
from shared.cosignature import CosignerKey
from shared.crypto import SigningKey, sign_note
from witness.app import MAX_BODY, WitnessConfig, create_app
from witness.state import WitnessState

LOG = SigningKey.generate("securact.test/log")
NOTE = "securact.test/log\n1\n" + "A" * 43 + "=\n"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    state = WitnessState(tmp_path / "state.sqlite")
    config = WitnessConfig(CosignerKey.generate("w.test/1"), {LOG.name: [LOG.verifier]})
    app = create_app(config, state, SystemClock())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://w") as http:
        yield http
    state.close()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\xff\xfe", 400),
        (b"old 0\n" + b"A" * MAX_BODY, 413),
        (b"old 0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n", 400),
        (b"garbage", 400),
    ],
)
async def test_a_bad_request_is_a_problem(
    client: httpx.AsyncClient, body: bytes, status: int
) -> None:
    answer = await client.post("/add-checkpoint", content=body)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"


async def test_a_proof_with_an_old_size_of_zero_is_malformed(client: httpx.AsyncClient) -> None:
    proof = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    answer = await client.post(
        "/add-checkpoint", content=f"old 0\n{proof}\n{sign_note(NOTE, [LOG])}"
    )
    assert answer.status_code == 400
