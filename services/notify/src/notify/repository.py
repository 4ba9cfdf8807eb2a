"""Notify's notifications on the store port: reads parse into `Notification`; writes stamp
`updated_at` and carry the version read, so that a concurrent change (another sender's claim)
is refused (`VersionConflictError`) instead of being overwritten."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from notify.contacts import CONTACT_INDEXES
from notify.domain import Lane, State
from notify.notifications import Notification
from shared.clock import Clock
from shared.store.port import (
    ID,
    VERSION,
    DocumentReader,
    DocumentWriter,
    Index,
    VersionConflictError,
    to_iso,
)

NOTIFICATIONS: Final = "notifications"
INDEXES: Final = (
    Index(NOTIFICATIONS, ("state", "lane", "next_attempt_at")),
    Index(NOTIFICATIONS, ("state", "claimed_at")),
    Index(NOTIFICATIONS, ("subject", "created_at")),
    Index(NOTIFICATIONS, ("account_id",)),
    Index(NOTIFICATIONS, ("recipient",)),
    *CONTACT_INDEXES,
)


def _eq(value: str) -> dict[str, list[str]]:
    """Equality written as `$in`: the SQLite engine's partial indexes are only used when every
    indexed field has a comparison that excludes NULL, which its `IS ?` equality does not."""
    return {"$in": [value]}


class NotificationRepository:
    """The notifications on the store (or, for one call, on a transaction given)."""

    def __init__(self, store: DocumentReader, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def get(
        self, notification_id: str, reader: DocumentReader | None = None
    ) -> Notification | None:
        found = await (reader or self._store).get(NOTIFICATIONS, notification_id)
        return None if found is None else Notification.model_validate(found)

    async def add(self, writer: DocumentWriter, notification: Notification) -> Notification:
        """Insert a new notification (DuplicateKeyError if its id exists)."""
        stamped = notification.model_copy(update={"updated_at": self._clock.now()})
        stored = await writer.insert(NOTIFICATIONS, stamped.document())
        return stamped.model_copy(update={"version": stored[VERSION]})

    async def save(self, writer: DocumentWriter, notification: Notification) -> Notification:
        """Replace the notification at the version it was read."""
        assert notification.version is not None, "a new notification is added, not saved"
        stamped = notification.model_copy(update={"updated_at": self._clock.now()})
        stored = await writer.replace(
            NOTIFICATIONS, stamped.document(), expected_version=notification.version
        )
        return stamped.model_copy(update={"version": stored[VERSION]})

    async def mark_data_sent(
        self, writer: DocumentWriter, notification: Notification, at: datetime
    ) -> Notification:
        """Write `data_sent_at` alone (not the whole notification, its message included), at
        the version it was read (`VersionConflictError` if it changed since)."""
        assert notification.version is not None, "a claim is marked, a new notification is not"
        now = self._clock.now()
        changed = await writer.update(
            NOTIFICATIONS,
            {ID: notification.id, VERSION: notification.version},
            {"data_sent_at": to_iso(at), "updated_at": to_iso(now)},
        )
        if changed != 1:
            raise VersionConflictError(f"notification {notification.id} changed meanwhile")
        marked = notification.data_sent(at)
        return marked.model_copy(update={"updated_at": now, "version": notification.version + 1})

    async def due(self, lane: Lane, now: datetime, limit: int) -> list[Notification]:
        """Queued notifications of `lane` whose attempt is due, the longest waiting first."""
        rows = await self._store.find(
            NOTIFICATIONS,
            {
                "state": _eq(State.QUEUED.value),
                "lane": _eq(lane.value),
                "next_attempt_at": {"$lte": to_iso(now)},
            },
            sort=[("next_attempt_at", 1)],
            limit=limit,
        )
        return [Notification.model_validate(row) for row in rows]

    async def claimed_before(self, cutoff: datetime, limit: int) -> list[Notification]:
        """Claims older than `cutoff` (their sender died or outlived the claim timeout)."""
        rows = await self._store.find(
            NOTIFICATIONS,
            {"state": _eq(State.SENDING.value), "claimed_at": {"$lt": to_iso(cutoff)}},
            sort=[("claimed_at", 1)],
            limit=limit,
        )
        return [Notification.model_validate(row) for row in rows]

    async def of_subject(self, subject: str, limit: int) -> list[Notification]:
        """The notifications of a subject, oldest first."""
        rows = await self._store.find(
            NOTIFICATIONS, {"subject": _eq(subject)}, sort=[("created_at", 1)], limit=limit
        )
        return [Notification.model_validate(row) for row in rows]

    async def count(self, state: State, lane: Lane) -> int:
        return await self._store.count(
            NOTIFICATIONS, {"state": _eq(state.value), "lane": _eq(lane.value)}
        )

    async def scrub_masked_addresses(
        self,
        writer: DocumentWriter,
        *,
        account_ids: Iterable[str],
        parties: Iterable[str],
        at: datetime,
    ) -> None:
        """Remove the masked address from the history of these accounts and parties (ids,
        states and dates stay as evidence; a message still waiting or being sent keeps its
        address until its outcome clears it)."""
        scrub = {"recipient_masked": "", "contact_purged_at": to_iso(at), "updated_at": to_iso(at)}
        not_yet = {"recipient_masked": {"$ne": ""}}
        accounts = sorted(account_ids)
        if accounts:
            await writer.update(NOTIFICATIONS, {"account_id": {"$in": accounts}, **not_yet}, scrub)
        recipients = sorted(parties)
        if recipients:
            await writer.update(NOTIFICATIONS, {"recipient": {"$in": recipients}, **not_yet}, scrub)
