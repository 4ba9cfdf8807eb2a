"""Scheduled deposits: an act accepted while CPC 664's window was closed is served at the
window's next opening — its legal date is then, read per act in its own transaction — unless
its consent ended meanwhile (the registry is asked at that instant): it is then rejected and its
content shredded; while the registry cannot answer, it waits. An act whose
recipient's account is suspended is held; the reinstatement schedules it again. Safe on several
replicas: each act changes under optimistic concurrency (`shared.sweeps`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from delivery.acts import Act, ActStatus
from delivery.consent import ConsentAnswer, ConsentUnavailable
from delivery.context import Context
from delivery.domain import ConsentRefusal, Recipient, check_consent, check_window, ended_by
from delivery.evidence import EvidenceType
from delivery.parties import account_suspended, declaration_of, note_hold
from delivery.serving import count_outcome, count_refusal, serve
from delivery.vault import ACT_KEYS
from shared.store.port import Transaction, to_iso
from shared.sweeps import sweep

SCHEDULER_BATCH: Final = 100


class Scheduler:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def deposit_scheduled(self) -> int:
        """Deposit every scheduled act whose opening has come; returns how many were settled
        (served or rejected)."""
        return await sweep(self.ctx.clock, self._due, self._deposit_one)

    async def _due(self, now: datetime) -> Sequence[Act]:
        found = await self.ctx.acts.find(
            {"status": ActStatus.SCHEDULED.value, "scheduled_for": {"$lte": to_iso(now)}},
            sort=[("scheduled_for", 1)],
            limit=SCHEDULER_BATCH,
        )
        return [act for act in found if isinstance(act, Act)]

    async def _deposit_one(self, act: Act, _batch_started: datetime) -> bool:
        """Deposit one due act. Its legal date (CPC 664-1) is the instant read in the
        transaction that serves it, never the batch's start, once the registry answered: the
        consent (the registry's answer, `delivery.consent`), the window and the account are
        checked at that instant. Consent unreachable: the act waits for the next run."""
        ctx = self.ctx
        try:
            answer = await ctx.consent.status(act.declaration_id)
        except ConsentUnavailable:
            return False
        declaration = await declaration_of(ctx.store, act.declaration_id)
        served: Act | None = None
        async with ctx.outbox.transaction() as tx:
            now = ctx.clock.now()
            checked = check_consent(answer, declaration, act.nature, now)
            # An end that reached us since the registry answered, read in this transaction.
            late = ended_by(await declaration_of(tx, act.declaration_id), now)
            if late is not None:
                checked = late
            if isinstance(checked, Recipient):
                assert answer is not None
                if await account_suspended(tx, act.recipient_account_id):
                    await self._hold(tx, act, now)
                    return False
                window = check_window(
                    now, act.recipient_territory, act.office_territory, ctx.config.service_zones
                )
                if not window.open:
                    await ctx.acts.save(tx, act.reschedule(window.next_opening), now)
                    return False
                served = await serve(ctx, tx, act, answer, now)
        if isinstance(checked, Recipient):
            assert served is not None
            count_outcome(served)  # after the commit
            return True
        await self._reject(act, checked, answer, ctx.clock.now())
        return True

    async def _hold(self, tx: Transaction, act: Act, now: datetime) -> None:
        """The recipient's account was suspended meanwhile: the act waits for the
        reinstatement (which schedules it again, `delivery.parties`)."""
        ctx = self.ctx
        held, event = act.hold(now)
        await ctx.acts.save(tx, held, now)
        await note_hold(tx, act.recipient_account_id, to_iso(now))
        await ctx.emit(tx, act, event, actor="service:delivery")

    async def _reject(
        self, act: Act, refusal: ConsentRefusal, answer: ConsentAnswer | None, now: datetime
    ) -> None:
        ctx = self.ctx
        reasons = [refusal.reason()]
        rejected, event = act.reject(reasons, now)
        async with ctx.outbox.transaction() as tx:
            await ctx.acts.save(tx, rejected, now)
            envelope = await ctx.emit(tx, act, event, actor="service:delivery")
            await ctx.signer.attest(
                tx,
                act,
                kind=EvidenceType.SUBMISSION_REJECTION,
                instant=now,
                actors={"sender": act.office_actor},
                details={
                    "reasons": [r.model_dump() for r in reasons],
                    "consent": answer.evidence() if answer else None,
                },
                event_id=envelope.event_id,
            )
            # Never served: its content is shredded (the wrapped DEK goes, the object after).
            await tx.delete(ACT_KEYS, act.id)
        count_refusal(reasons)
        await ctx.acts_vault.discard([act.id])
