"""Notices to users: an operator tells the people and offices concerned of a planned
maintenance (CGU §6, §7.1; sent when the operator asks for it on the announcement) or of a
personal data breach (CGU §11.2, RGPD art. 34). Retention records the notice and emits its one
event in the same transaction; notify sends it, once per address, and journals each outcome.

A breach notice carries what article 34 §2 requires (nature, likely consequences, measures,
contact point), each in the operator's words; a notice without one of them is refused."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from retention.status.context import StatusContext, not_found
from retention.status.records import Maintenance, Notice
from shared.contracts.status import BreachFacts, NoticeKind
from shared.ids import new_id
from shared.store.port import Transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Audience:
    """Who a notice is for: everyone when both are empty; otherwise the accounts of the listed
    territories and of the listed offices (served by them), and those offices."""

    territories: Sequence[str] = ()
    offices: Sequence[str] = ()

    @property
    def everyone(self) -> bool:
        return not self.territories and not self.offices


def breach_notice(
    facts: BreachFacts, audience: Audience, operator: str, ctx: StatusContext
) -> Notice:
    """A breach notice, not stored yet."""
    now = ctx.base.clock.now()
    return Notice(
        id=new_id(now),
        kind=NoticeKind.BREACH,
        territories=sorted(set(audience.territories)),
        offices=sorted(set(audience.offices)),
        issued_by=operator,
        issued_at=now,
        breach=facts,
    )


def maintenance_notice(maintenance: Maintenance, operator: str, ctx: StatusContext) -> Notice:
    """The notice of an announced maintenance, to the accounts and offices of its scope."""
    now = ctx.base.clock.now()
    return Notice(
        id=new_id(now),
        kind=NoticeKind.MAINTENANCE,
        territories=list(maintenance.territories),
        offices=list(maintenance.offices),
        issued_by=operator,
        issued_at=now,
        maintenance=maintenance.facts(),
    )


class Notices:
    def __init__(self, ctx: StatusContext) -> None:
        self.ctx = ctx

    async def record(self, tx: Transaction, notice: Notice) -> Notice:
        """Store the notice with its event (the outbox relays it to notify)."""
        outgoing = notice.issued()
        envelope = await self.ctx.base.events.emit(tx, outgoing.payload, subject=outgoing.subject)
        added = await self.ctx.notices.add(
            tx, notice.model_copy(update={"event_id": envelope.event_id})
        )
        log.info("notice %s (%s) issued by %s", added.id, added.kind, added.issued_by)
        return added

    async def issue_breach(self, facts: BreachFacts, audience: Audience, operator: str) -> Notice:
        notice = breach_notice(facts, audience, operator, self.ctx)
        async with self.ctx.base.outbox.transaction() as tx:
            return await self.record(tx, notice)

    async def get(self, notice_id: str) -> Notice:
        notice = await self.ctx.notices.get(self.ctx.base.store, notice_id)
        if notice is None:
            raise not_found("notice")
        return notice

    async def latest(self, limit: int = 50) -> list[Notice]:
        return await self.ctx.notices.latest(self.ctx.base.store, limit)
