"""Retention's typed records read the documents retention stored before they existed and
write them back unchanged; their repository saves at the version read."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from retention.domain import ConsentEnd
from retention.erasure import Erasure, ErasureState
from retention.records import RegistryPurgeData, Schedule, ScheduleState
from retention.repository import INDEXES, ScheduleRepository
from shared.clock import ManualClock
from shared.store.port import VersionConflictError
from shared.store.sqlite import SqliteStore
from tests.unit.retention.conftest import START

# As the untyped service wrote them (main before the records), `_version` included.
PENDING_SCHEDULE: dict[str, Any] = {
    "_id": "account_erasure|account:acc-1",
    "_version": 1,
    "created_at": "2030-12-31T09:00:00.000000Z",
    "data": {
        "account_id": "acc-1",
        "declaration_id": None,
        "terminated_at": "2030-12-31T09:00:00.000000Z",
    },
    "due_at": "2031-02-28T09:00:00.000000Z",
    "held": False,
    "purpose": "account_erasure",
    "related_subject": None,
    "state": "pending",
    "subject": "account:acc-1",
}
FIRED_TERMS: dict[str, Any] = {
    "_id": "terms_effective|terms:v2",
    "_version": 2,
    "created_at": "2031-02-28T09:00:00.000000Z",
    "data": {
        "content_hash": "c",
        "effective_at": "2031-01-01T09:00:00.000000Z",
        "terms_version": 2,
    },
    "due_at": "2031-01-01T09:00:00.000000Z",
    "fired_at": "2036-01-04T09:00:00.000000Z",
    "held": False,
    "purpose": "terms_effective",
    "related_subject": None,
    "state": "fired",
    "subject": "terms:v2",
}
CERTIFIED_ERASURE: dict[str, Any] = {
    "_id": "erasure|account_erasure|account:acc-1",
    "_version": 5,
    "account_id": "acc-1",
    "acts": [
        {
            "act_id": "act-1",
            "erased_at": "2031-02-28T09:00:00Z",
            "reply_ids": ["reply-1"],
            "served_at": "2030-11-04T09:30:00Z",
            "sha256": "61" * 32,
        }
    ],
    "alerted": False,
    "all_confirmed_at": "2031-02-28T09:00:00.000000Z",
    "certificate_id": "01c15f16-1a80-77e3-a68a-a7c1048b5fbe",
    "confirmations": {
        "delivery": {
            "confirmed_at": "2031-02-28T09:00:00.000000Z",
            "event_id": "01c15f16-1a80-77df-80a5-eef116479586",
        },
        "audit": {
            "confirmed_at": "2031-02-28T09:00:00.000000Z",
            "event_id": "01c15f16-1a80-77e1-81ba-177a7e314ead",
        },
    },
    "deadline": "2031-03-03T09:00:00.000000Z",
    "declaration_id": "decl-1",
    "due_at": "2031-02-28T09:00:00.000000Z",
    "email": None,
    "expected": ["audit", "delivery", "identity"],
    "purpose": "account_erasure",
    "requested": ["audit", "delivery", "identity"],
    "schedule_id": "account_erasure|account:acc-1",
    "started_at": "2031-02-28T09:00:00.000000Z",
    "state": "completed",
    "subject": "account:acc-1",
    "terminated_at": "2030-12-31T09:00:00.000000Z",
}
ALERTED_PURGE: dict[str, Any] = {
    "_id": "erasure|registry_purge|declaration:decl-9",
    "_version": 2,
    "account_id": None,
    "acts": [],
    "alerted": True,
    "confirmations": {},
    "deadline": "2036-01-07T09:00:00.000000Z",
    "declaration_id": "decl-9",
    "due_at": "2035-12-31T09:00:00.000000Z",
    "email": None,
    "expected": ["audit", "consent"],
    "purpose": "registry_purge",
    "requested": ["audit", "consent"],
    "schedule_id": "registry_purge|declaration:decl-9",
    "started_at": "2036-01-04T09:00:00.000000Z",
    "state": "in_progress",
    "subject": "declaration:decl-9",
    "terminated_at": None,
}


def stored(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "_version"}


@pytest.mark.parametrize("document", [PENDING_SCHEDULE, FIRED_TERMS])
def test_a_stored_schedule_reads_back_and_writes_back_unchanged(document: dict[str, Any]) -> None:
    schedule = Schedule.from_document(document)
    assert schedule.version == document["_version"]
    written = schedule.document()
    assert written.pop("updated_at") is None
    assert written == stored(document)


def test_a_stored_erasure_reads_back_and_writes_back_unchanged() -> None:
    certified = Erasure.from_document(CERTIFIED_ERASURE)
    assert certified.state is ErasureState.COMPLETED
    assert certified.acts[0].reply_ids == ["reply-1"]
    written = certified.document()
    written.pop("updated_at")
    assert written == stored(CERTIFIED_ERASURE)
    # A field written only once known stays absent until then.
    alerted = Erasure.from_document(ALERTED_PURGE).document()
    alerted.pop("updated_at")
    assert alerted == stored(ALERTED_PURGE)
    assert "completed_at" not in alerted


def test_a_purge_scheduled_before_other_ends_were_counted_reads_as_a_revocation() -> None:
    document = {
        **PENDING_SCHEDULE,
        "_id": "registry_purge|declaration:decl-9",
        "purpose": "registry_purge",
        "subject": "declaration:decl-9",
        "data": {
            "account_id": None,
            "declaration_id": "decl-9",
            "revoked_at": "2030-12-31T09:00:00.000000Z",
        },
    }
    data = Schedule.from_document(document).data
    assert isinstance(data, RegistryPurgeData)
    assert data.ended_by is ConsentEnd.REVOCATION


async def test_a_save_at_a_stale_version_is_refused_and_a_save_stamps_the_record(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "retention.sqlite3")
    await store.connect()
    try:
        await store.ensure_indexes(INDEXES)
        clock = ManualClock(START)
        schedules = ScheduleRepository(clock)
        await schedules.add(store, Schedule.from_document(stored(PENDING_SCHEDULE)))
        first = await schedules.get(store, PENDING_SCHEDULE["_id"])
        second = await schedules.get(store, PENDING_SCHEDULE["_id"])
        assert first is not None
        assert second is not None
        clock.advance(timedelta(hours=1))
        saved = await schedules.save(store, first.with_held(True))
        assert (saved.version, saved.held, saved.updated_at) == (2, True, clock.now())
        with pytest.raises(VersionConflictError):
            await schedules.save(store, second.fire(clock.now())[0])
        again = await schedules.get(store, PENDING_SCHEDULE["_id"])
        assert again is not None
        assert again.state is ScheduleState.PENDING
        assert again.held
    finally:
        await store.close()
