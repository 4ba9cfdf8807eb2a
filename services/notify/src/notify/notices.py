"""Notices to users (retention's `retention.user-notice-issued.v1`): a planned maintenance or a
personal data breach, e-mailed to every account in the notice's scope, from the contact book,
and to the offices in scope, from the office directory.

A notice may concern every account: it is not planned in the inbox transaction like other
events. Its intake records a durable fan-out job (once per notice, whatever the deliveries);
a background job then writes the notifications in batches, each batch committing its
notifications with the job's cursor (the last contact id done). A crash loses at most a batch,
and a batch written twice (a restart, another replica) writes nothing new: a notification's id
is derived from (event, channel, address), so each address gets the notice once.

Each notification then goes the usual way (`notify.sending`, `notify.outcomes`): the notice
counts as sent to a person only when the relay accepted it (`notify.notification-sent.v1`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from notify.contacts import Contact, ContactBook
from notify.context import Context
from notify.domain import State
from notify.errors import Forbidden, NoticeNotFound
from notify.intake import Intake
from notify.notifications import Cause, Request
from notify.repository import NOTIFICATIONS
from notify.values import BreachNotice, Instant, MaintenanceNotice, MessageValues
from shared.auth import Principal
from shared.contracts.envelope import Envelope
from shared.contracts.notify import Channel
from shared.contracts.registry import decode_payload
from shared.contracts.status import NoticeKind, UserNoticeIssuedV1
from shared.legal_calendar import Territory
from shared.store.port import VERSION, Index, Transaction, VersionConflictError

log = logging.getLogger(__name__)

NOTICE_FANOUTS: Final = "notice_fanouts"
NOTICE_INDEXES: Final = (Index(NOTICE_FANOUTS, ("done",)),)
NOTICE_EVENTS: Final = (UserNoticeIssuedV1.routing_key(),)
# Where a person's territory is not known (no act served yet): Paris's legal time, named.
DEFAULT_TERRITORY: Final = Territory.METROPOLE


def account_in_scope(contact: Contact, notice: UserNoticeIssuedV1) -> bool:
    """Every account when the notice names no territory and no office; otherwise an account
    whose (last) territory is listed or that a listed office served. An account whose
    territory is unknown is reached only through its offices or by a notice to everyone."""
    if not notice.territories and not notice.offices:
        return True
    if contact.territory is not None and contact.territory.value in notice.territories:
        return True
    return any(office in notice.offices for office in contact.offices)


def offices_in_scope(
    notice: UserNoticeIssuedV1, directory: Sequence[str], serving: Sequence[str]
) -> list[str]:
    """Every office of the directory for a notice to everyone; otherwise the offices listed
    and those that served an account in scope."""
    if not notice.territories and not notice.offices:
        return sorted(set(directory))
    return sorted({*notice.offices, *serving})


def message(notice: UserNoticeIssuedV1, territory: Territory | None) -> MessageValues:
    """The notice's message, its instants in `territory`'s legal time (Paris's if unknown)."""
    zone = territory or DEFAULT_TERRITORY
    if notice.kind is NoticeKind.BREACH:
        assert notice.breach is not None  # the contract ties the facts to the kind
        return BreachNotice(
            nature=notice.breach.nature,
            consequences=notice.breach.consequences,
            measures=notice.breach.measures,
            contact=notice.breach.contact,
            issued_at=notice.issued_at,
            territory=zone,
        )
    assert notice.maintenance is not None
    return MaintenanceNotice(
        starts_at=notice.maintenance.starts_at,
        ends_at=notice.maintenance.ends_at,
        description=notice.maintenance.description,
        territory=zone,
    )


class FanOut(BaseModel):
    """A notice's fan-out job (`_id` is the notice's id)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(alias="_id")
    version: int | None = Field(default=None, alias=VERSION, exclude=True)
    event_id: str
    event_type: str
    subject: str
    correlation_id: str
    notice: UserNoticeIssuedV1
    cursor: str = ""
    accounts: int = 0
    serving_offices: list[str] = Field(default_factory=list)
    offices: int = 0
    done: bool = False
    created_at: Instant
    finished_at: Instant | None = None

    def cause(self) -> Cause:
        return Cause(self.event_id, self.event_type, self.subject, self.correlation_id)

    def document(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)


class NoticeProgress(BaseModel):
    """Where a notice stands, for the operator: how many messages were recorded and what
    became of them. `sent` counts only those the relay accepted (`notify.notification-sent.v1`);
    the history of `notice:<id>` lists each, without its address."""

    model_config = ConfigDict(frozen=True)

    notice_id: str
    kind: NoticeKind
    fanned_out: bool = Field(description="every account in scope has its message recorded")
    accounts: int = Field(description="accounts in scope so far")
    offices: int
    queued: int
    sending: int
    sent: int
    failed: int


class Notices:
    """Notices in (a fan-out job each), notifications out, a batch per transaction."""

    def __init__(
        self, ctx: Context, intake: Intake, *, wakeup: Callable[[], None] = lambda: None
    ) -> None:
        self._ctx = ctx
        self._intake = intake
        self._wakeup = wakeup

    async def take(self, envelope: Envelope, consumer: str) -> bool:
        """Record the notice's fan-out job, once per consumer and event (and once per notice:
        the same notice in another event adds nothing). False for a duplicate delivery."""
        if envelope.type not in NOTICE_EVENTS:
            return False
        notice = decode_payload(envelope, UserNoticeIssuedV1)

        async def effect(tx: Transaction) -> None:
            if await tx.get(NOTICE_FANOUTS, notice.notice_id) is not None:
                return
            job = FanOut(
                id=notice.notice_id,
                event_id=envelope.event_id,
                event_type=envelope.type,
                subject=envelope.subject,
                correlation_id=envelope.correlation_id,
                notice=notice,
                created_at=self._ctx.clock.now(),
            )
            await tx.insert(NOTICE_FANOUTS, job.document())

        return await self._ctx.inbox(consumer).process(envelope, effect)

    async def progress(self, principal: Principal, notice_id: str) -> NoticeProgress:
        """The operator's view of a notice's sending (counted now)."""
        if principal.role != "operator":
            raise Forbidden("Only the operator follows a notice's sending.")
        found = await self._ctx.store.get(NOTICE_FANOUTS, notice_id)
        if found is None:
            raise NoticeNotFound("No notice with this id reached notify.")
        job = FanOut.model_validate(found)
        counts = {
            state: await self._ctx.store.count(
                NOTIFICATIONS, {"subject": job.subject, "state": state.value}
            )
            for state in State
        }
        return NoticeProgress(
            notice_id=job.id,
            kind=job.notice.kind,
            fanned_out=job.done,
            accounts=job.accounts,
            offices=job.offices,
            queued=counts[State.QUEUED],
            sending=counts[State.SENDING],
            sent=counts[State.SENT],
            failed=counts[State.FAILED],
        )

    async def fan_out(self, *, max_batches: int | None = None) -> int:
        """Write the notifications of pending notices, one batch per transaction, until none is
        pending (or `max_batches` batches were written); returns how many were recorded."""
        written = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            pending = await self._ctx.store.find(
                NOTICE_FANOUTS, {"done": False}, sort=[("_id", 1)], limit=1
            )
            if not pending:
                break
            try:
                written += await self._batch(str(pending[0]["_id"]))
            except VersionConflictError:
                # Another replica wrote this batch first: read the job again.
                continue
            batches += 1
            self._wakeup()
        return written

    async def run(self) -> None:
        """The background job (`ServiceRuntime.every`)."""
        written = await self.fan_out()
        if written:
            log.info("%d notice messages recorded", written)

    async def _batch(self, job_id: str) -> int:
        ctx = self._ctx
        size = ctx.config.notice_batch_size
        async with ctx.outbox.transaction() as tx:
            found = await tx.get(NOTICE_FANOUTS, job_id)
            if found is None:
                return 0
            job = FanOut.model_validate(found)
            if job.done:
                return 0
            book = ctx.contacts(tx)
            contacts, last = await book.accounts_after(job.cursor, size)
            cause = job.cause()
            reached = [c for c in contacts if account_in_scope(c, job.notice)]
            for contact in reached:
                await self._intake.record(tx, cause, self._to_account(job.notice, contact))
            serving = sorted({*job.serving_offices, *(o for c in reached for o in c.offices)})
            offices: list[str] = []
            if last:
                offices = offices_in_scope(job.notice, book.offices(), serving)
                for office_id in offices:
                    await self._intake.record(
                        tx, cause, self._to_office(job.notice, book, office_id)
                    )
            now = ctx.clock.now()
            changed = job.model_copy(
                update={
                    "cursor": contacts[-1].id if contacts else job.cursor,
                    "accounts": job.accounts + len(reached),
                    "serving_offices": serving,
                    "offices": len(offices),
                    "done": last,
                    "finished_at": now if last else None,
                }
            )
            assert job.version is not None
            await tx.replace(NOTICE_FANOUTS, changed.document(), expected_version=job.version)
        if last:
            log.info(
                "notice %s: %d account(s), %d office(s)", job.id, changed.accounts, len(offices)
            )
        return len(reached) + len(offices)

    @staticmethod
    def _to_account(notice: UserNoticeIssuedV1, contact: Contact) -> Request:
        assert contact.account_id is not None  # an account's contact
        return Request(
            message(notice, contact.territory),
            Channel.EMAIL,
            contact.email,
            f"account:{contact.account_id}",
            account_id=contact.account_id,
        )

    @staticmethod
    def _to_office(notice: UserNoticeIssuedV1, book: ContactBook, office_id: str) -> Request:
        # Notify does not know an office's territory: Paris's legal time, named.
        return Request(
            message(notice, None),
            Channel.EMAIL,
            book.office_email(office_id),
            f"office:{office_id}",
            office_id=office_id,
        )
