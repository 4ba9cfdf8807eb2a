"""The erasure gauges (`securact.erasures.due`, `securact.erasures.overdue`) as the runtime
samples them from retention's store, through the metrics export."""

from __future__ import annotations

from datetime import timedelta

from retention.repository import erasure_samples
from tests.fixtures.metrics import MetricsProbe
from tests.unit.retention.conftest import TIMEOUT, Harness
from tests.unit.retention.test_retention import DUE, confirm_all, fire_account_erasure, terminated


async def test_erasures_due_then_overdue_then_done(
    harness: Harness, metrics_probe: MetricsProbe
) -> None:
    metrics_probe.handle.gauges.register(
        "retention-test", lambda: erasure_samples(harness.store, harness.clock.now())
    )

    async def due_and_overdue() -> tuple[float, float]:
        exported = await metrics_probe.collect()
        return (
            exported.value("securact.erasures.due"),
            exported.value("securact.erasures.overdue"),
        )

    for account in ("acc-7", "acc-8"):
        await harness.deliver(terminated(account, f"decl-{account}"))
    assert await due_and_overdue() == (0, 0)  # scheduled, not due yet
    harness.clock.set(DUE)
    assert await due_and_overdue() == (2, 0)  # due, not fired yet
    assert (await harness.retention.schedules.run_due()).fired == 2
    assert await due_and_overdue() == (2, 0)  # fired: erasing, within the deadline
    harness.clock.advance(TIMEOUT + timedelta(seconds=1))
    assert await due_and_overdue() == (2, 2)  # confirmations missing past the deadline
    assert await harness.retention.erasures.check_overdue() == 2
    assert await due_and_overdue() == (2, 2)  # alerted, still not done


async def test_a_completed_erasure_is_neither_due_nor_overdue(
    harness: Harness, metrics_probe: MetricsProbe
) -> None:
    metrics_probe.handle.gauges.register(
        "retention-test", lambda: erasure_samples(harness.store, harness.clock.now())
    )
    erasure_id = await fire_account_erasure(harness, ["act-1"])
    exported = await metrics_probe.collect()
    assert exported.value("securact.erasures.due") == 1
    await confirm_all(harness, erasure_id, ["act-1"])
    harness.clock.advance(TIMEOUT + timedelta(seconds=1))
    exported = await metrics_probe.collect()
    assert exported.value("securact.erasures.due") == 0
    assert exported.value("securact.erasures.overdue") == 0
