"""Legal holds: a judicial request suspends a subject's erasures not yet fired."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from retention.context import Context
from retention.records import Hold
from shared.ids import new_id
from shared.refusals import Refusal
from shared.store.port import DocumentReader

log = logging.getLogger(__name__)


class HoldNotFound(Refusal):
    status = 404
    code = "hold-not-found"
    title = "No hold"

    def __init__(self) -> None:
        super().__init__("No hold has this id (lifted already?).")


@dataclass(frozen=True)
class PlacedHold:
    hold_id: str
    created: bool


class Holds:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def place(self, subject: str, reference: str, operator: str) -> PlacedHold:
        """Suspend the subject's erasures not yet fired. Each judicial request is its own hold
        (a subject stays held while any of its holds remains); placing the same (subject,
        reference) again returns the existing hold, journaled once."""
        ctx = self.ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            for existing in await ctx.holds.of_subject(tx, subject):
                if existing.reference == reference:
                    return PlacedHold(existing.id, created=False)
            hold, events = Hold.place(new_id(now), subject, reference, operator, now)
            await ctx.holds.add(tx, hold)
            await ctx.schedules.hold_pending(tx, subject)
            await ctx.emit(tx, events)
        log.info("hold %s placed", hold.id)
        return PlacedHold(hold.id, created=True)

    async def lift(self, hold_id: str, operator: str) -> None:
        """Lift one hold; the subject's erasures resume unless another hold remains, and what
        fell due meanwhile fires at the scheduler's next pass."""
        ctx = self.ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            hold = await ctx.holds.get(tx, hold_id)
            if hold is None:
                raise HoldNotFound
            await ctx.holds.remove(tx, hold)
            for schedule in await ctx.schedules.pending_naming(tx, hold.subject):
                held = await is_held(ctx, tx, schedule.subjects)
                if held != schedule.held:
                    await ctx.schedules.save(tx, schedule.with_held(held))
            await ctx.emit(tx, hold.lift(operator, now))
        log.info("hold %s lifted", hold_id)

    async def of_subject(self, subject: str) -> list[Hold]:
        return await self.ctx.holds.of_subject(self.ctx.store, subject)


async def is_held(ctx: Context, db: DocumentReader, subjects: list[str]) -> bool:
    return await ctx.holds.any_on(db, subjects)
