"""The erasure protocol's bookkeeping: the erasure a due schedule starts, each participant's
confirmation (inside the inbox transaction), and the alert for an erasure still incomplete
past its deadline — never a silent partial erasure."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from retention.contacts import account_of, email_of, forget, lookups_of
from retention.context import Context
from retention.domain import Purpose
from retention.erasure import Confirmation, Erasure, ErasureState
from retention.records import AccountErasureData, Outgoing, RegistryPurgeData, Schedule
from shared.contracts.consent import DeclarationPurgedV1
from shared.contracts.envelope import Envelope
from shared.contracts.retention import (
    AccountActsErasedV1,
    AccountDeletedV1,
    ContactDataPurgedV1,
    ErasureOverdueV1,
    Participant,
    RegistryCopyPurgedV1,
    SubjectKeysShreddedV1,
)
from shared.messaging.consumer import PermanentFailure
from shared.store.port import Transaction
from shared.sweeps import sweep

log = logging.getLogger(__name__)


async def start_erasure(ctx: Context, tx: Transaction, schedule: Schedule, now: datetime) -> None:
    """Record the erasure a fired schedule starts and send its first requests (in the
    transaction that claims the schedule)."""
    data = schedule.data
    assert isinstance(data, AccountErasureData | RegistryPurgeData)
    account_id, lookups = data.account_id, list[str]()
    if isinstance(data, RegistryPurgeData):
        # A consent that expired named no account: the link identity's creation made does.
        account_id = account_id or await account_of(ctx, tx, data.declaration_id)
        lookups = await lookups_of(ctx, tx, data.declaration_id)
    # Captured before any participant purges its copy.
    email = await email_of(ctx, tx, account_id, data.declaration_id)
    erasure, events = Erasure.start(
        schedule,
        now,
        email=email,
        timeout=ctx.policy.confirmation_timeout,
        account_id=account_id,
        lookups=lookups,
    )
    await ctx.erasures.add(tx, erasure)
    await ctx.emit(tx, events)


def confirmation(envelope: Envelope) -> Confirmation:
    return Confirmation(event_id=envelope.event_id, confirmed_at=envelope.occurred_at)


class Erasures:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- confirmations (inside the inbox transaction) -------------------------------------

    async def on_acts_erased(
        self, tx: Transaction, event: AccountActsErasedV1, envelope: Envelope
    ) -> None:
        erasure = await self._erasure(tx, event.erasure_id)
        if erasure.confirmed_by(Participant.DELIVERY):
            return
        served = await self.ctx.served_acts.of_account(tx, event.account_id)
        erasure, events = erasure.record_acts(
            event, confirmation(envelope), [act.id for act in served], self.ctx.clock.now()
        )
        await self._emit(tx, erasure, events)
        await self._settle(tx, erasure)

    async def on_registry_copy_purged(
        self, tx: Transaction, event: RegistryCopyPurgedV1, envelope: Envelope
    ) -> None:
        erasure = await self._erasure(tx, event.erasure_id)
        if erasure.confirmed_by(Participant.DELIVERY):
            return
        account = erasure.account_id
        served = await self.ctx.served_acts.of_account(tx, account) if account else []
        erasure, events = erasure.record_acts(
            event, confirmation(envelope), [act.id for act in served], self.ctx.clock.now()
        )
        await self._emit(tx, erasure, events)
        await self._settle(tx, erasure)

    async def on_keys_shredded(
        self, tx: Transaction, event: SubjectKeysShreddedV1, envelope: Envelope
    ) -> None:
        await self._record(tx, event.erasure_id, Participant.AUDIT, envelope)

    async def on_contacts_purged(
        self, tx: Transaction, event: ContactDataPurgedV1, envelope: Envelope
    ) -> None:
        await self._record(tx, event.erasure_id, Participant.IDENTITY, envelope)

    async def on_account_deleted(
        self, tx: Transaction, event: AccountDeletedV1, envelope: Envelope
    ) -> None:
        await self._record(tx, event.erasure_id, Participant.IDENTITY, envelope)

    async def on_declaration_purged(
        self, tx: Transaction, event: DeclarationPurgedV1, envelope: Envelope
    ) -> None:
        # Consent's purge event predates this protocol: it names the declaration, not the
        # erasure. A purge retention did not ask for (consent's own policy) is only journaled.
        for erasure in await self.ctx.erasures.of_declaration(tx, event.declaration_id):
            if (
                erasure.purpose is Purpose.REGISTRY_PURGE
                and erasure.state is ErasureState.IN_PROGRESS
            ):
                await self._record(tx, erasure.id, Participant.CONSENT, envelope)

    async def _erasure(self, tx: Transaction, erasure_id: str) -> Erasure:
        erasure = await self.ctx.erasures.get(tx, erasure_id)
        if erasure is None:
            raise PermanentFailure("confirmation of an erasure retention never started")
        return erasure

    async def _record(
        self, tx: Transaction, erasure_id: str, participant: Participant, envelope: Envelope
    ) -> None:
        erasure = await self._erasure(tx, erasure_id)
        if erasure.confirmed_by(participant):
            return
        await self._settle(tx, erasure.confirm(participant, confirmation(envelope)))

    async def _settle(self, tx: Transaction, erasure: Erasure) -> None:
        settled, events = erasure.settle(self.ctx.clock.now())
        await self.ctx.emit(tx, events)
        if settled.state is ErasureState.COMPLETED and erasure.state is not settled.state:
            await forget(self.ctx, tx, settled)
        await self.ctx.erasures.save(tx, settled)

    # -- alerts -----------------------------------------------------------------------------

    async def check_overdue(self) -> int:
        """Raise one alert per erasure still incomplete past its deadline (confirmations
        missing, or all in but no certificate issued); returns how many."""
        ctx = self.ctx

        async def due(now: datetime) -> list[Erasure]:
            return await ctx.erasures.unalerted_past_deadline(ctx.store, now, ctx.policy.batch_size)

        async def alert(erasure: Erasure, _now: datetime) -> bool:
            alerted, events = erasure.alert(erasure.overdue_reason())
            # At the version read: another replica alerting, or a confirmation arriving, first
            # makes this one skip it (the sweep's rule).
            async with ctx.outbox.transaction() as tx:
                await self._emit(tx, alerted, events)
                await ctx.erasures.save(tx, alerted)
            return True

        return await sweep(ctx.clock, due, alert)

    async def _emit(self, tx: Transaction, erasure: Erasure, events: Sequence[Outgoing]) -> None:
        """Store the events; each overdue alert is also logged and counted."""
        for event in events:
            if isinstance(event.payload, ErasureOverdueV1):
                log.error(
                    "erasure %s (%s) incomplete: %s; missing: %s",
                    erasure.id,
                    erasure.purpose.value,
                    event.payload.reason,
                    ", ".join(p.value for p in event.payload.missing) or "none",
                )
                self.ctx.alerts.count(erasure.purpose.value)
        await self.ctx.emit(tx, events)

    # -- queries ----------------------------------------------------------------------------

    async def get(self, erasure_id: str) -> Erasure | None:
        return await self.ctx.erasures.get(self.ctx.store, erasure_id)
