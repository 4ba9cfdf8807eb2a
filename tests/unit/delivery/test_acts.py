"""The act aggregate and its repository: a stored act reads back as the same document, each
state change returns the act it makes and the event it causes, and a write carries the version
read so a concurrent change is refused rather than overwritten."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from delivery.acts import Act, ActStatus, Deposit, ErasedObject, Tombstone
from delivery.domain import ActMetadata, check_window
from delivery.repository import ACTS, ActRepository, parse
from shared.contracts.delivery import RejectionReason, ServiceQuality
from shared.legal_calendar import Territory
from shared.store.port import DocumentStore, VersionConflictError, to_iso

# Tuesday 8 April 2031, 10:00 in Paris.
SERVED = datetime(2031, 4, 8, 8, 0, tzinfo=UTC)
METADATA = ActMetadata.model_validate(
    {
        "declaration_id": "decl-1",
        "nature": "signification_jugement",
        "title": "Signification du jugement du 3 mars",
        "requester_name": "SCI Les Tilleuls",
        "office_reference": "DOS-2031-0042",
    }
)
DEPOSIT = Deposit(
    office_id="etude-1",
    office_name="Étude Martin",
    office_email="etude1@example.org",
    office_territory=Territory.METROPOLE,
    office_client="client-etude-1",
    recipient_account_id="acc-1",
    recipient_territory=Territory.METROPOLE,
)


def uploaded(at: datetime = SERVED) -> Act:
    return Act.uploaded(
        "act-1", DEPOSIT, METADATA, filename="acte.pdf", sha256="ab" * 32, size=3000, at=at
    )


def served(at: datetime = SERVED) -> Act:
    act, _event = uploaded(at).serve(at, portal_url="http://portal/")
    return act


async def test_a_stored_act_reads_back_as_the_same_document(sqlite_store: DocumentStore) -> None:
    repository = ActRepository(sqlite_store)
    async with sqlite_store.transaction() as tx:
        added = await repository.add(tx, served(), SERVED)
    raw = await sqlite_store.get(ACTS, "act-1")
    assert raw is not None
    assert raw["served_at"] == to_iso(SERVED)
    assert raw["status"] == "served"
    assert raw["cursor"] == f"{to_iso(SERVED)}|act-1"
    read = await repository.get("act-1")
    assert read == added
    assert isinstance(read, Act)
    assert read.document() == {k: v for k, v in raw.items() if k != "_version"}


def test_serving_sets_the_legal_date_and_the_end_of_the_legal_day() -> None:
    act, event = uploaded().serve(SERVED, portal_url="http://portal/")
    assert act.status is ActStatus.SERVED
    assert act.legal_local_time == "2031-04-08T10:00:00+02:00"
    assert act.finalise_after == datetime(2031, 4, 8, 22, 0, tzinfo=UTC)
    assert (event.act_id, event.served_at, event.recipient_account_id) == (
        "act-1",
        SERVED,
        act.recipient_account_id,
    )


def test_an_act_read_on_its_sending_day_is_served_a_personne_without_a_letter() -> None:
    read, _handed = served().hand_over(SERVED + timedelta(hours=3))
    done = read.finalise(SERVED + timedelta(days=1))
    assert done.act.quality is ServiceQuality.A_PERSONNE
    assert done.determined.handed_over_at == SERVED + timedelta(hours=3)
    assert done.letter is None


def test_an_act_not_read_that_day_calls_for_a_lettre_simple() -> None:
    done = served().finalise(SERVED + timedelta(days=1))
    assert done.act.quality is ServiceQuality.A_DOMICILE
    assert done.act.lettre_simple_due_on == date(2031, 4, 9)
    assert done.letter is not None
    assert done.letter.due_on == date(2031, 4, 9)
    assert done.letter.office_email == "etude1@example.org"


def test_scheduling_waits_for_the_next_opening() -> None:
    sunday = datetime(2031, 4, 13, 9, 0, tzinfo=UTC)
    window = check_window(sunday, Territory.METROPOLE, Territory.METROPOLE)
    act, event = uploaded(sunday).schedule(window)
    assert act.status is ActStatus.SCHEDULED
    assert act.scheduled_for == window.next_opening == event.scheduled_for
    assert event.closures == list(window.closures)


async def test_saving_a_stale_copy_fails_the_version_check(sqlite_store: DocumentStore) -> None:
    repository = ActRepository(sqlite_store)
    async with sqlite_store.transaction() as tx:
        stale = await repository.add(tx, served(), SERVED)
    later = SERVED + timedelta(hours=1)
    handed, _event = stale.hand_over(later)
    async with sqlite_store.transaction() as tx:
        saved = await repository.save(tx, handed, later)
    assert saved.updated_at == later
    assert saved.cursor == f"{to_iso(later)}|act-1"
    rejected, _rejection = stale.reject([RejectionReason(code="x", detail="y")], later)
    with pytest.raises(VersionConflictError):
        async with sqlite_store.transaction() as tx:
            await repository.save(tx, rejected, later)
    current = await repository.get("act-1")
    assert isinstance(current, Act)
    assert current.handed_over_at == later


async def test_an_erased_act_reads_back_as_a_tombstone_without_personal_data(
    sqlite_store: DocumentStore,
) -> None:
    repository = ActRepository(sqlite_store)
    async with sqlite_store.transaction() as tx:
        act = await repository.add(tx, served(), SERVED)
    erased_at = SERVED + timedelta(days=400)
    tombstone = Tombstone.of(
        act,
        erasure_id="er-1",
        objects=[ErasedObject(keys="act_keys", object_id="act-1")],
        reply_ids=[],
        at=erased_at,
    )
    async with sqlite_store.transaction() as tx:
        await repository.save(tx, tombstone, erased_at)
    raw = await sqlite_store.get(ACTS, "act-1")
    assert raw is not None
    for name in ("title", "requester_name", "office_reference", "filename", "office_email"):
        assert name not in raw
    read = parse(raw)
    assert isinstance(read, Tombstone)
    assert (read.erased_status, read.served_at, read.objects_deleted_at) == (
        ActStatus.SERVED,
        SERVED,
        None,
    )
