"""Audit's journal metrics on the real bus: its size, the age of its latest checkpoint, and
each declared gap counted once, by producer."""

from __future__ import annotations

import asyncio
from pathlib import Path

from audit.main import create_app
from audit.settings import Settings
from shared.runtime import ServiceRuntime
from tests.fixtures.metrics import MetricsProbe
from tests.integration.audit.test_journal_over_bus import marker
from tests.support.services import eventually, running, service_env


async def test_journal_size_checkpoint_age_and_gaps_are_exported(
    tmp_path: Path, bus_prefix: str, metrics_probe: MetricsProbe
) -> None:
    settings = Settings(
        **service_env(tmp_path, bus_prefix),
        kek_file=tmp_path / "kek.json",
        signing_key_file=tmp_path / "signing.json",
        gap_delay_seconds=0.5,
        checkpoint_interval_seconds=0.2,
    )
    app = create_app(settings)
    async with running(app) as audit:
        runtime: ServiceRuntime = app.state.runtime
        for seq in (1, 2, 5):
            await runtime.publisher.publish(marker(seq))

        async def gap_journaled() -> bool:
            found = await audit.get("/v1/entries", params={"type": "audit.gap-detected.v1"})
            return len(found.json()["entries"]) == 1

        await eventually(gap_journaled, within=30, every=0.2)
        await asyncio.sleep(1.0)  # more periodic runs: the gap stays counted once

        async def signed_and_quiet() -> bool:
            size = (await audit.get("/v1/head")).json()["size"]
            checkpoint = await audit.get("/v1/checkpoint")
            return checkpoint.status_code == 200 and int(checkpoint.text.split("\n")[1]) == size

        await eventually(signed_and_quiet, within=10, every=0.1)
        exported = await metrics_probe.collect()
        size = (await audit.get("/v1/head")).json()["size"]

    assert exported.value("securact.journal.gaps") == 1
    assert exported.value("securact.journal.gaps", securact__producer="loadtest") == 1
    assert exported.value("securact.journal.size") == size
    assert size >= 4  # three markers, the gap's declaration, audit's own start
    assert 0 <= exported.value("securact.journal.checkpoint.age") < 5
    assert exported.units["securact.journal.checkpoint.age"] == "s"
