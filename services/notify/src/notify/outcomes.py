"""The outcome of an attempt, recorded as evidence in one transaction with its event: `sent`
(`notify.notification-sent.v1`, with the CGU notice's deemed-received day), back to `queued` after
a transient failure (bounded retries with backoff), or `failed` (`notify.notification-failed.v1`).

The outcomes of attempts finishing at the same moment share one transaction (`notify.coalesce`);
if it fails, each is recorded alone, with the usual retries.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from typing import Final

from notify.coalesce import Coalescer
from notify.context import Context
from notify.domain import deemed_received_on
from notify.notifications import Notification
from notify.ports import DeliveryError
from shared.contracts.notify import NotificationKind
from shared.store.port import StoreError, Transaction, to_iso

log = logging.getLogger(__name__)

BOOKKEEPING_TRIES: Final = 5

_Outcome = tuple[Notification, DeliveryError | None, datetime]


class Outcomes:
    """Records what became of each attempt."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._policy = ctx.config.policy
        self._deemed: dict[str, date] = {}
        self._batches = Coalescer(self._record_outcomes)

    async def record(self, job: Notification, outcome: DeliveryError | None, at: datetime) -> None:
        """Record `outcome` (None: the relay accepted the message), retried on store errors."""
        for attempt in range(1, BOOKKEEPING_TRIES + 1):
            try:
                if attempt == 1:
                    await self._batches.submit((job, outcome, at))
                else:
                    await self._record_outcomes([(job, outcome, at)])  # alone this time
                return
            except StoreError as error:
                if attempt == BOOKKEEPING_TRIES:
                    # The claim stays 'sending': the sweeper resends it after claim_timeout.
                    log.error(
                        "could not record the outcome of %s (%s)", job.id, type(error).__name__
                    )
                    raise
                await asyncio.sleep(0.05 * 2**attempt)

    async def _record_outcomes(self, batch: list[_Outcome]) -> list[None]:
        async with self._ctx.outbox.transaction() as tx:
            for job, outcome, at in batch:
                await self._record_outcome(tx, job, outcome, at)
        return [None] * len(batch)

    async def _record_outcome(
        self, tx: Transaction, job: Notification, outcome: DeliveryError | None, at: datetime
    ) -> None:
        ctx = self._ctx
        current = await ctx.notifications.get(job.id, tx)
        if current is None or current.settled:
            return
        if outcome is None:
            deemed = None
            if current.kind is NotificationKind.TERMS_NOTICE:
                deemed = self._deemed_received_on(at)
            done, sent = current.delivered(at, deemed)
            await ctx.notifications.save(tx, done)
            await ctx.emit(tx, sent, subject=done.subject, cause=done.cause)
            return
        if not outcome.permanent and current.attempts < self._policy.retry.max_attempts:
            retry_at = at + self._policy.retry.delay(current.attempts)
            await ctx.notifications.save(tx, current.retried(outcome.reason, retry_at))
            log.info(
                "notification %s: attempt %d failed (%s), next at %s",
                current.id,
                current.attempts,
                outcome.reason,
                to_iso(retry_at),
            )
            return
        reason = (
            outcome.reason
            if outcome.permanent
            else f"gave up after {current.attempts} attempts: {outcome.reason}"
        )
        failed, event = current.failed(reason, permanent=outcome.permanent, at=at)
        await ctx.notifications.save(tx, failed)
        await ctx.emit(tx, event, subject=failed.subject, cause=failed.cause)
        log.warning("notification %s failed: %s", current.id, reason)

    def _deemed_received_on(self, presented: datetime) -> date:
        # Every territory's legal midnight falls on a whole UTC hour: one answer per hour.
        hour = to_iso(presented)[:13]
        deemed = self._deemed.get(hour)
        if deemed is None:
            if len(self._deemed) > 1024:
                self._deemed.clear()
            deemed = deemed_received_on(
                presented, self._policy.deemed_received_territories, self._policy.business_days
            )
            self._deemed[hour] = deemed
        return deemed
