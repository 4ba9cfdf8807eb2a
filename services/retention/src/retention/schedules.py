"""Durable schedules from events (inside the inbox transaction), and a scheduler safe with
replicas.

Firing is a claim: the scheduler replaces the schedule at the version it read (pending →
fired) in the same transaction as its effect — the erasure record and its request events, or
the terms' announcement — so two replicas racing for one schedule produce one firing, and a
crash before commit leaves it pending. Each pass is a `shared.sweeps.sweep` over everything due
(catch-up after downtime).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from retention.contacts import link_account
from retention.context import Context
from retention.domain import (
    ConsentEnd,
    Purpose,
    account_erasure_due,
    consent_data_purge_due,
    schedule_id,
)
from retention.erasures import start_erasure
from retention.holds import is_held
from retention.records import (
    AccountErasureData,
    RegistryPurgeData,
    Schedule,
    ScheduleData,
    ScheduleState,
    TermsEffectiveData,
)
from shared.contracts.consent import ConsentRevokedV1
from shared.contracts.identity import (
    AccountTerminatedV1,
    DeathRecordedV1,
    PostMortemErasure,
    TermsPublishedV1,
)
from shared.store.port import DuplicateKeyError, Transaction, VersionConflictError, to_iso
from shared.sweeps import sweep
from shared.telemetry import annotate, inject_traceparent, links_to, span

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FireReport:
    fired: int
    lost_races: int


class Schedules:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- schedules from events (inside the inbox transaction) -----------------------------

    async def on_account_terminated(self, tx: Transaction, event: AccountTerminatedV1) -> None:
        policy = self.ctx.policy
        due = account_erasure_due(event.terminated_at, policy.grace_months, policy.zone)
        declaration = event.declaration_id
        await self._schedule(
            tx,
            Purpose.ACCOUNT_ERASURE,
            f"account:{event.account_id}",
            due,
            related=f"declaration:{declaration}" if declaration else None,
            data=AccountErasureData(
                account_id=event.account_id,
                declaration_id=declaration,
                terminated_at=event.terminated_at,
            ),
        )
        # The address must survive identity's purge: pin it on the account now.
        await link_account(self.ctx, tx, event.account_id, declaration)

    async def on_death_recorded(self, tx: Transaction, event: DeathRecordedV1) -> None:
        """The holder's post-mortem directives (loi 78-17 art. 85): "at once" brings the
        account's erasure forward to the instant the death was recorded — the same erasure as
        after a termination, so the offices' evidence and the registry's five years are kept
        as for any terminated account. Otherwise the termination's schedule stands.

        Identity terminates the account in the same transaction; whichever event is applied
        first creates the schedule, the other finds it (`_schedule` keeps the first)."""
        if event.erasure is not PostMortemErasure.AT_ONCE:
            return
        subject = f"account:{event.account_id}"
        existing = await self.ctx.schedules.get(tx, schedule_id(Purpose.ACCOUNT_ERASURE, subject))
        if existing is None:
            declaration = event.declaration_id
            await self._schedule(
                tx,
                Purpose.ACCOUNT_ERASURE,
                subject,
                event.recorded_at,
                related=f"declaration:{declaration}" if declaration else None,
                data=AccountErasureData(
                    account_id=event.account_id,
                    declaration_id=declaration,
                    terminated_at=event.recorded_at,
                ),
            )
            await link_account(self.ctx, tx, event.account_id, declaration)
            return
        forward = existing.brought_forward(event.recorded_at)
        if forward is not None:
            await self.ctx.schedules.save(tx, forward)
            log.info("schedule %s brought forward to %s", existing.id, to_iso(forward.due_at))

    async def on_consent_revoked(self, tx: Transaction, event: ConsentRevokedV1) -> None:
        await self.on_consent_ended(
            tx, event.declaration_id, event.account_id, event.revoked_at, ConsentEnd.REVOCATION
        )

    async def on_consent_ended(
        self,
        tx: Transaction,
        declaration_id: str,
        account_id: str | None,
        ended_at: datetime,
        end: ConsentEnd,
    ) -> None:
        """The registry keeps a declaration five years after its revocation (décret 2021-1625
        art. 21). A consent that ended otherwise — the account terminated, the duration over —
        is no longer in force either: its data is not kept longer than a revoked one's. A
        declaration never active (first CGU refused, never activated) is destroyed at once
        (`consent_data_purge_due`). The first end recorded starts the clock."""
        policy = self.ctx.policy
        due = consent_data_purge_due(ended_at, end, policy.registry_years, policy.zone)
        await self._schedule(
            tx,
            Purpose.REGISTRY_PURGE,
            f"declaration:{declaration_id}",
            due,
            related=f"account:{account_id}" if account_id else None,
            data=RegistryPurgeData(
                account_id=account_id,
                declaration_id=declaration_id,
                revoked_at=ended_at,
                ended_by=end,
            ),
        )

    async def on_terms_published(self, tx: Transaction, event: TermsPublishedV1) -> None:
        await self._schedule(
            tx,
            Purpose.TERMS_EFFECTIVE,
            f"terms:v{event.terms_version}",
            event.effective_at,
            related=None,
            data=TermsEffectiveData(
                terms_version=event.terms_version,
                content_hash=event.content_hash,
                effective_at=event.effective_at,
            ),
        )

    async def _schedule(
        self,
        tx: Transaction,
        purpose: Purpose,
        subject: str,
        due: datetime,
        *,
        related: str | None,
        data: ScheduleData,
    ) -> None:
        """One schedule per (subject, purpose): an existing one is kept as is (first event
        wins; a redelivery or a replay changes nothing)."""
        sid = schedule_id(purpose, subject)
        if await self.ctx.schedules.get(tx, sid) is not None:
            return
        schedule = Schedule(
            id=sid,
            subject=subject,
            related_subject=related,
            purpose=purpose,
            due_at=due,
            state=ScheduleState.PENDING,
            held=await is_held(self.ctx, tx, [s for s in (subject, related) if s]),
            data=data,
            created_at=self.ctx.clock.now(),
            trace=inject_traceparent() or None,
        )
        await self.ctx.schedules.add(tx, schedule)
        log.info("schedule %s due at %s", purpose.value, to_iso(due))

    # -- the scheduler ----------------------------------------------------------------------

    async def run_due(self) -> FireReport:
        """Fire every pending, unheld schedule due now, earliest first, batch after batch until
        none is left (catch-up after downtime). Safe to run on every replica at once."""
        ctx = self.ctx
        lost = 0

        async def due(now: datetime) -> list[Schedule]:
            return await ctx.schedules.due(ctx.store, now, ctx.policy.batch_size)

        async def fire(schedule: Schedule, _now: datetime) -> bool:
            nonlocal lost
            fired = await self.fire(schedule)
            lost += not fired
            return fired

        fired = await sweep(ctx.clock, due, fire)
        return FireReport(fired, lost)

    async def fire(self, schedule: Schedule) -> bool:
        """Claim one schedule at the version read and apply its effect in the same transaction;
        False if another replica claimed it (or a hold changed it) first."""
        ctx = self.ctx
        now = ctx.clock.now()
        claimed, events = schedule.fire(now)
        # Months after the event that scheduled it: a trace of its own, linked to that one.
        links = links_to([schedule.trace] if schedule.trace else [])
        attributes = {"securact.purpose": schedule.purpose.value}
        try:
            with span("schedule fired", root=True, links=links, attributes=attributes):
                annotate(act_id=_act_of(schedule.subject))
                async with ctx.outbox.transaction() as tx:
                    await ctx.schedules.save(tx, claimed)
                    await ctx.emit(tx, events)
                    if schedule.purpose is not Purpose.TERMS_EFFECTIVE:
                        await start_erasure(ctx, tx, schedule, now)
        except (VersionConflictError, DuplicateKeyError):
            return False
        log.info("fired schedule %s (%s)", schedule.id, schedule.purpose.value)
        return True

    async def naming(self, subject: str) -> list[Schedule]:
        """The schedules of `subject` or related to it, by due date."""
        return await self.ctx.schedules.naming(self.ctx.store, subject)


def _act_of(subject: str) -> str | None:
    return subject.removeprefix("act:") if subject.startswith("act:") else None
