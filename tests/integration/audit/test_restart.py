"""The journal's durability: a real `securact-audit` process killed with SIGKILL while
events pour in from RabbitMQ loses nothing, duplicates nothing, and its next checkpoint is
consistent with the last one it signed before dying."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from audit import merkle
from audit.checkpoint import open_checkpoint
from shared.clock import SystemClock
from shared.contracts.envelope import Envelope
from shared.crypto import VerifierKey
from shared.ids import new_id
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.topology import Topology
from tests.support.services import eventually

EVENTS = 4000  # more than audit journals before the kill, even with group commit
KILL_AFTER = 150
TYPE = "loadtest.marked.v1"
AUDIT = Path(sys.executable).parent / "securact-audit"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def audit_env(tmp_path: Path, bus_prefix: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "SECURACT_AUDIT_HTTP_PORT": str(port),
        "SECURACT_DATA_DIR": str(tmp_path / "data"),
        "SECURACT_BUS_PREFIX": bus_prefix,
        "SECURACT_KEK_FILE": str(tmp_path / "keys" / "kek.json"),
        "SECURACT_SIGNING_KEY_FILE": str(tmp_path / "keys" / "signing.json"),
        "SECURACT_AUDIT_CHECKPOINT_INTERVAL_SECONDS": "0.3",
        "SECURACT_OUTBOX_POLL_SECONDS": "0.2",
        "SECURACT_LOG_JSON": "false",
        "SECURACT_LOG_LEVEL": "WARNING",
    }


@contextmanager
def audit_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        process = subprocess.Popen([str(AUDIT)], env=env, stdout=output, stderr=output)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


async def wait_ready(http: httpx.AsyncClient) -> None:
    async def ready() -> bool:
        try:
            return (await http.get("/health/ready")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(ready, within=40, every=0.2)


@asynccontextmanager
async def publisher(bus_prefix: str, amqp_url: str) -> AsyncIterator[EventPublisher]:
    broker = create_broker(amqp_url)
    await broker.connect()
    try:
        yield EventPublisher(broker, Topology(bus_prefix))
    finally:
        await broker.stop()


def marker(seq: int) -> Envelope:
    now = SystemClock().now()
    return Envelope(
        event_id=new_id(now),
        type=TYPE,
        schema_version=1,
        occurred_at=now,
        producer="loadtest",
        producer_seq=seq,
        subject=f"test:marker-{seq}",
        actor="service:loadtest",
        correlation_id=f"load-{seq}",
        payload={"n": seq},
    )


async def journaled_markers(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = -1
    while True:
        page = (
            await http.get("/v1/entries", params={"type": TYPE, "after": after, "limit": 1000})
        ).json()
        found.extend(page["entries"])
        if page["next_after"] is None:
            return found
        after = page["next_after"]


async def test_kill_9_under_load_loses_and_duplicates_nothing(
    tmp_path: Path, bus_prefix: str, amqp_url: str
) -> None:
    port = free_port()
    env = audit_env(tmp_path, bus_prefix, port)
    log = tmp_path / "audit.log"
    markers = [marker(seq) for seq in range(1, EVENTS + 1)]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        with audit_process(env, log) as first:
            await wait_ready(http)
            async with publisher(bus_prefix, amqp_url) as bus:
                sending = asyncio.create_task(_publish_all(bus, markers))

                async def under_way() -> bool:
                    grown = int((await http.get("/v1/head")).json()["size"]) >= KILL_AFTER
                    latest = await _latest_checkpoint(http)
                    return grown and latest is not None and _size(latest) > 0

                await eventually(under_way, within=60, every=0.05)
                size_at_kill = int((await http.get("/v1/head")).json()["size"])
                note_before = await _latest_checkpoint(http)
                first.send_signal(signal.SIGKILL)
                await asyncio.to_thread(first.wait, 10)
                await sending  # the rest waits in the queue while audit is down
            # Killed while still working through the backlog.
            assert size_at_kill < EVENTS + 1  # + audit's own started event

        with audit_process(env, log):
            await wait_ready(http)

            async def all_journaled() -> bool:
                return len(await journaled_markers(http)) >= EVENTS

            await eventually(all_journaled, within=60, every=0.3)
            entries = await journaled_markers(http)
            ids = [e["event_id"] for e in entries]
            assert len(ids) == len(set(ids)), "an event was journaled twice"
            assert set(ids) == {m.event_id for m in markers}, "an event was lost"
            assert sorted(e["producer_seq"] for e in entries) == list(range(1, EVENTS + 1))
            indexes = [
                e["index"]
                for e in (await http.get("/v1/entries", params={"limit": 1000})).json()["entries"]
            ]
            assert indexes == list(range(len(indexes)))

            head = int((await http.get("/v1/head")).json()["size"])

            async def checkpointed() -> bool:
                latest = await _latest_checkpoint(http)
                return latest is not None and _size(latest) >= head

            await eventually(checkpointed, within=20, every=0.2)
            note_after = await _latest_checkpoint(http)
            assert note_before is not None
            assert note_after is not None
            keys = [
                VerifierKey.from_string(k)
                for k in (await http.get("/v1/verifier-keys")).text.split()
            ]
            before = open_checkpoint(note_before, keys)
            after = open_checkpoint(note_after, keys)
            assert after.size > before.size
            proof = (
                await http.get(
                    "/v1/proofs/consistency", params={"first": before.size, "second": after.size}
                )
            ).json()
            assert merkle.verify_consistency(
                before.size,
                after.size,
                before.root,
                after.root,
                [bytes.fromhex(p) for p in proof["consistency_path"]],
            )
            # Every checkpoint ever signed is consistent with the next.
            signed = (await http.get("/v1/checkpoints", params={"limit": 1000})).json()[
                "checkpoints"
            ]
            sizes = [c["size"] for c in signed]
            assert sizes == sorted(set(sizes))

        verify = await asyncio.to_thread(
            subprocess.run,
            [str(AUDIT), "verify"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "journal intact" in verify.stdout


async def _publish_all(bus: EventPublisher, markers: list[Envelope]) -> None:
    for envelope in markers:
        await bus.publish(envelope)


async def _latest_checkpoint(http: httpx.AsyncClient) -> str | None:
    answer = await http.get("/v1/checkpoint")
    return answer.text if answer.status_code == 200 else None


def _size(note: str) -> int:
    return int(note.split("\n")[1])
