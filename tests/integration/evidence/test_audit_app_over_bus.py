"""The audit app as configured (settings -> create_app), on the real bus, with a real TSA and two
real witnesses: events journaled, the checkpoint signed by its job, then timestamped and
cosigned by the evidence job, all served over HTTP."""

from __future__ import annotations

from pathlib import Path

from audit.checkpoint import open_checkpoint
from audit.main import create_app
from audit.settings import Settings, WitnessSetting
from shared.clock import SystemClock
from shared.contracts.envelope import Envelope
from shared.cosignature import verify_cosignatures
from shared.crypto import SigningKey
from shared.crypto.keyfile import create_private_json
from shared.crypto.signing import SIGNING_FILE_FORMAT
from shared.ids import new_id
from shared.runtime import ServiceRuntime
from shared.timestamps import TsaTrust, verify_timestamp
from tests.fixtures.tsa import LocalTsa
from tests.integration.evidence.conftest import RunningWitness
from tests.support.services import eventually, running, service_env


def marker(seq: int) -> Envelope:
    now = SystemClock().now()
    return Envelope(
        event_id=new_id(now),
        type="loadtest.marked.v1",
        schema_version=1,
        occurred_at=now,
        producer="loadtest",
        producer_seq=seq,
        subject=f"test:evidence-{seq}",
        actor="service:loadtest",
        correlation_id=f"evidence-{seq}",
        payload={"n": seq},
    )


async def test_checkpoints_of_the_running_service_are_timestamped_and_cosigned(
    tmp_path: Path,
    bus_prefix: str,
    tsa: LocalTsa,
    witnesses: list[RunningWitness],
    log_key: SigningKey,
) -> None:
    # The log's key is one the witnesses were started with.
    signing_file = tmp_path / "signing.json"
    create_private_json(
        signing_file,
        {
            "format": SIGNING_FILE_FORMAT,
            "active": log_key.key_id,
            "keys": [{"skey": log_key.to_private_string(), "created_at": "2031-01-01T00:00:00Z"}],
        },
    )
    settings = Settings(
        **service_env(tmp_path, bus_prefix),
        kek_file=tmp_path / "kek.json",
        signing_key_file=signing_file,
        checkpoint_origin=log_key.name,
        checkpoint_interval_seconds=0.2,
        evidence_interval_seconds=0.2,
        tsa_url=tsa.url,
        tsa_chain_file=tsa.chain_file,
        witnesses=[WitnessSetting(url=w.url, verifier_key=w.key.to_string()) for w in witnesses],
    )
    app = create_app(settings)
    async with running(app) as audit:
        runtime: ServiceRuntime = app.state.runtime
        for seq in (1, 2, 3):
            await runtime.publisher.publish(marker(seq))

        async def cosigned_by_both() -> bool:
            answer = await audit.get("/v1/checkpoint")
            if answer.status_code != 200 or int(answer.text.split("\n")[1]) < 3:
                return False
            return len(verify_cosignatures(answer.text, [w.key for w in witnesses])) == 2

        await eventually(cosigned_by_both, within=60, every=0.2)
        note = (await audit.get("/v1/checkpoint")).text
        size = open_checkpoint(note, [log_key.verifier], origin=log_key.name).size
        [stored] = (await audit.get("/v1/checkpoints", params={"from_size": size})).json()[
            "checkpoints"
        ]

        async def timestamped() -> bool:
            answer = await audit.get(f"/v1/checkpoints/{size}/timestamp")
            return answer.status_code == 200

        await eventually(timestamped, within=60, every=0.2)
        token = (await audit.get(f"/v1/checkpoints/{size}/timestamp")).content
        verify_timestamp(token, stored["note"].encode(), TsaTrust.from_pem(tsa.chain_pem))
        # Every checkpoint signed so far (the empty tree's first) gets its own token.
        signed = (await audit.get("/v1/checkpoints")).json()["checkpoints"]
        assert signed[0]["size"] == 0
        trust = TsaTrust.from_pem(tsa.chain_pem)
        for checkpoint in signed:
            if checkpoint["size"] > size:
                continue
            answer = await audit.get(f"/v1/checkpoints/{checkpoint['size']}/timestamp")
            assert answer.status_code == 200, checkpoint
            verify_timestamp(answer.content, checkpoint["note"].encode(), trust)
        missing = await audit.get("/v1/checkpoints/999999/timestamp")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
