"""Failed identifications journaled per window: the background job closes ended windows, a
summary names at most twenty addresses, and a window under contention never costs an attempt
its journal entry nor the caller a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest

from identity.attempts import AttemptJournal
from identity.records import ATTEMPT_WINDOWS
from shared.store.port import VersionConflictError
from tests.unit.identity.support import Rig, refused

ATTEMPTED = "identity.identification-attempted.v1"
SUMMARIZED = "identity.identification-attempts-summarized.v1"
WRONG = "mauvais-mot-de-passe"


async def test_the_job_summarizes_ended_windows_and_leaves_open_ones(rig: Rig) -> None:
    for _ in range(3):
        await refused(rig.identity.sessions.login("AAAA-AAAA-AAAA", WRONG, ip="192.0.2.1"))
    rig.clock.advance(timedelta(minutes=10))
    for _ in range(2):
        await refused(rig.identity.sessions.login("BBBB-BBBB-BBBB", WRONG, ip="192.0.2.2"))
    rig.clock.advance(timedelta(minutes=5))

    assert await rig.identity.attempts.close_due() == 1
    [summary] = await rig.payloads(SUMMARIZED)
    assert (summary["attempts"], summary["outcomes"]) == (2, {"failed": 2})
    assert await rig.store.count(ATTEMPT_WINDOWS) == 1  # the second identifier's, still open
    assert await rig.identity.attempts.close_due() == 0

    rig.clock.advance(timedelta(minutes=10))
    assert await rig.identity.attempts.close_due() == 1
    assert await rig.store.count(ATTEMPT_WINDOWS) == 0
    assert len(await rig.payloads(ATTEMPTED)) == 2


async def test_a_summary_names_twenty_addresses_and_says_there_were_more(rig: Rig) -> None:
    for n in range(26):
        await refused(rig.identity.sessions.login("CCCC-CCCC-CCCC", WRONG, ip=f"198.51.100.{n}"))
        rig.clock.advance(timedelta(seconds=30))  # past each lockout, within the window

    rig.clock.advance(timedelta(minutes=15))
    await rig.identity.attempts.close_due()
    [summary] = await rig.payloads(SUMMARIZED)
    assert summary["attempts"] == 25
    assert len(set(summary["ip_hashes"])) == 20
    assert summary["more_addresses"] is True


async def test_a_contended_window_journals_the_attempt_by_itself(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id, _ = await rig.active_recipient()
    before = len(await rig.payloads(ATTEMPTED))

    async def always_contended(*_args: object) -> None:
        raise VersionConflictError("another attempt wrote the window first")

    monkeypatch.setattr(AttemptJournal, "failed", always_contended)
    error = await refused(rig.login(account_id, WRONG))

    assert error.status == 401
    [journaled] = (await rig.payloads(ATTEMPTED))[before:]
    assert (journaled["account_id"], journaled["outcome"]) == (account_id, "failed")
