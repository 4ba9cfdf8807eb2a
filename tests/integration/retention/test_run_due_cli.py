"""`securact-retention run-due` on a real SQLite store: fires what is due once, prints counts
without personal data, leaves the events in the outbox for the service's relay."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

import pytest

from retention.cli import main
from retention.main import audit_client, build_retention
from retention.repository import INDEXES, SCHEDULES
from retention.settings import Settings
from shared.clock import SystemClock
from shared.contracts.identity import AccountTerminatedV1, TerminationReason
from shared.messaging.inbox import INBOX_INDEXES
from shared.messaging.outbox import OUTBOX, OutboxRelay
from shared.runtime import ServiceRuntime


async def terminate(settings: Settings, account_id: str, days_ago: int) -> None:
    runtime = ServiceRuntime(settings, indexes=INDEXES)
    http = audit_client(settings)
    await runtime.store.connect()
    try:
        await runtime.store.ensure_indexes((*OutboxRelay.indexes(), *INBOX_INDEXES, *INDEXES))
        retention = build_retention(runtime, settings, http)
        async with runtime.outbox.transaction() as tx:
            await retention.schedules.on_account_terminated(
                tx,
                AccountTerminatedV1(
                    account_id=account_id,
                    declaration_id=None,
                    terminated_at=SystemClock().now() - timedelta(days=days_ago),
                    reason=TerminationReason.RECIPIENT_REQUEST,
                ),
            )
    finally:
        await http.aclose()
        await runtime.store.close()
        await runtime.http.aclose()


async def test_run_due_fires_what_is_due_once_and_reports_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "DATA_DIR": str(tmp_path),
        "KEK_FILE": str(tmp_path / "kek.json"),
        "SIGNING_KEY_FILE": str(tmp_path / "signing.json"),
        "LOG_JSON": "false",
    }.items():
        monkeypatch.setenv(f"SECURACT_RETENTION_{name}", value)
    settings = Settings()
    await terminate(settings, "acc-due", days_ago=70)  # past two months
    await terminate(settings, "acc-later", days_ago=3)

    # asyncio.run inside the CLI needs its own thread: pytest's loop is running here.
    out = io.StringIO()
    assert await asyncio.to_thread(main, ["run-due"], out) == 0, out.getvalue()
    assert "fired 1 due schedule(s)" in out.getvalue()
    assert "outbox" in out.getvalue()
    assert "acc-due" not in out.getvalue()
    again = io.StringIO()
    assert await asyncio.to_thread(main, ["run-due"], again) == 0
    assert "fired 0 due schedule(s)" in again.getvalue()

    runtime = ServiceRuntime(settings, indexes=INDEXES)
    await runtime.store.connect()
    try:
        states = {r["subject"]: r["state"] for r in await runtime.store.find(SCHEDULES)}
        assert states == {"account:acc-due": "fired", "account:acc-later": "pending"}
        pending = await runtime.store.find(OUTBOX, {"sent": False})
        types = [r["envelope"]["type"] for r in pending]
        assert types.count("retention.account-acts-erasure-requested.v1") == 1
    finally:
        await runtime.store.close()
        await runtime.http.aclose()
