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
from notify.domain import State, deemed_received_on
from notify.notifications import Notification
from notify.ports import DeliveryError
from shared.contracts.notify import NotificationKind
from shared.ids import instant_of
from shared.metrics import instruments, seconds_since
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
                    settled = await self._batches.submit((job, outcome, at))
                else:
                    [settled] = await self._record_outcomes([(job, outcome, at)])  # alone
                if settled is not None:
                    count_settled(settled)  # once committed
                return
            except StoreError as error:
                if attempt == BOOKKEEPING_TRIES:
                    # The claim stays 'sending': the sweeper resends it after claim_timeout.
                    log.error(
                        "could not record the outcome of %s (%s)", job.id, type(error).__name__
                    )
                    raise
                await asyncio.sleep(0.05 * 2**attempt)

    async def _record_outcomes(self, batch: list[_Outcome]) -> list[Notification | None]:
        async with self._ctx.outbox.transaction() as tx:
            return [await self._record_outcome(tx, job, outcome, at) for job, outcome, at in batch]

    async def _record_outcome(
        self, tx: Transaction, job: Notification, outcome: DeliveryError | None, at: datetime
    ) -> Notification | None:
        """Record the attempt's outcome; the notification when this settled it (sent or
        failed), None when it goes back to the queue or was settled already."""
        ctx = self._ctx
        current = await ctx.notifications.get(job.id, tx)
        if current is None or current.settled:
            return None
        if outcome is None:
            deemed = None
            if current.kind is NotificationKind.TERMS_NOTICE:
                deemed = self._deemed_received_on(at)
            done, sent = current.delivered(at, deemed)
            await ctx.notifications.save(tx, done)
            await ctx.emit(tx, sent, subject=done.subject, cause=done.cause)
            return done
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
            return None
        reason = (
            outcome.reason
            if outcome.permanent
            else f"gave up after {current.attempts} attempts: {outcome.reason}"
        )
        failed, event = current.failed(reason, permanent=outcome.permanent, at=at)
        await ctx.notifications.save(tx, failed)
        await ctx.emit(tx, event, subject=failed.subject, cause=failed.cause)
        log.warning("notification %s failed: %s", current.id, reason)
        return failed

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


def count_settled(notification: Notification) -> None:
    """Count a settled notification by channel; a sent one also gives the latency from the
    event that asked for it (an act served: its id is a UUIDv7 of that instant)."""
    channel = {"securact.notification.channel": notification.channel.value}
    if notification.state is State.SENT:
        instruments().notifications_sent.add(1, channel)
        asked_at = instant_of(notification.event_id)
        if asked_at is not None and notification.accepted_at is not None:
            instruments().notification_latency.record(
                seconds_since(asked_at, notification.accepted_at),
                {**channel, "securact.event.type": notification.source_type},
            )
    elif notification.state is State.FAILED:
        kind = "permanent" if notification.permanent else "gave_up"
        instruments().notifications_failed.add(1, {**channel, "error.type": kind})
