"""Sending: claim the most urgent due notification (urgent lane first, per-domain rate limit),
render it, hand it over, record the outcome as evidence (bounded retries with backoff).

Sending is a claim, the hand-over, then the outcome:

1. the notification goes `queued → sending` (a durable claim, `data_sent_at` empty);
2. once the relay accepted the envelope (MAIL FROM, RCPT TO), and just before DATA, the claim
   is marked `data_sent_at` (a durable write; for an SMS, just before the provider's request):
   until then the relay cannot have accepted the message; the marks of senders reaching DATA
   at the same moment share one transaction;
3. `sending → sent` is written in the same transaction as the `notify.notification-sent.v1`
   outbox row, immediately after the relay's 250 to the final dot; nothing else runs between.

A graceful stop does not cut an attempt short: each attempt runs in its own task, shielded from
the cancellation of the senders, and `finish_in_flight` (an on-shutdown hook, run before the
store closes) waits up to `shutdown_grace` for it to finish its hand-over and its bookkeeping.

What a crash leaves is a claim older than `claim_timeout`, recovered by the sweeper:

- **without `data_sent_at`**: the message was never transmitted (the crash came before DATA):
  it is requeued and sent normally; this is not a resend.
- **with `data_sent_at`**: the window SMTP itself has (RFC 1047), made as small as the protocol
  allows: from the start of DATA to the write of `sent` (process killed, store down for longer
  than the few in-process retries, a stop whose attempt outlived the grace). The relay may have
  accepted the message; notify **sends it again** with the same Message-ID: a missed notice (an
  act the recipient never hears about) is worse than a duplicate, and the Message-ID, derived
  from the event id, lets the receiving MTA or mailbox drop the second copy. The second send is
  flagged `resent_after_crash` in the history.

Group commit
------------
Senders that claim at the same moment share one claim (one query, one transaction), and the
outcomes recorded at the same moment share one transaction (`notify.coalesce`): a sender alone
writes at once, as before. If a shared outcome transaction fails, each sender records its
outcome alone, with the usual retries.

Links
-----
An activation or reset e-mail carries a link, a credential that no event, log or stored row may
hold: the notification keeps the template values and the link's `link_id`, and the sender asks
identity for the link (`LinkSource`) only when it sends, renders, hands the message over and
forgets it. Identity unreachable is a transient failure (the usual backoff); a link already
used, replaced or expired is a permanent one (nothing worth sending, no retry loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Final

from opentelemetry.trace import SpanKind

from notify.coalesce import Coalescer
from notify.context import Context
from notify.domain import Lane, State
from notify.notifications import Content, EmailContent, Notification, PendingLink, SmsContent
from notify.outcomes import Outcomes
from notify.ports import (
    DeliveryError,
    PermanentDeliveryError,
    SmsMessage,
    TransientDeliveryError,
)
from notify.ratelimit import DomainRateLimiter
from notify.rendering import content_with_link, email_message
from shared.contracts.notify import Channel
from shared.store.port import (
    DocumentWriter,
    StoreError,
    VersionConflictError,
)
from shared.sweeps import sweep
from shared.telemetry import annotate, extract_context, span

log = logging.getLogger(__name__)

CANDIDATES: Final = 8
STALE_BATCH: Final = 100


class _ClaimLostError(Exception):
    """Another sender took the claim over (this one outlived `claim_timeout`): hand nothing
    over and record nothing, the new owner does."""


def _outcome_name(outcome: DeliveryError | None) -> str:
    if outcome is None:
        return "accepted"
    return "refused" if outcome.permanent else "deferred"


def _report_orphan(task: asyncio.Task[bool]) -> None:
    # An attempt whose sender stopped waiting (a stop): nobody else sees how it ended.
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("attempt finished after its sender stopped: %s", type(error).__name__)


class Sending:
    """The senders, the stale-claim sweeper and a graceful stop."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._policy = ctx.config.policy
        self._limiter = DomainRateLimiter(
            ctx.clock, self._policy.domain_rate_per_second, self._policy.domain_burst
        )
        # Senders asking at the same time share one claim (and one outcome transaction).
        self._claims = Coalescer(self._claim_batch)
        # ... and the marks of their hand-overs starting at the same moment.
        self._marks = Coalescer(self._mark_batch)
        self._outcomes = Outcomes(ctx)
        self._in_flight: set[asyncio.Task[bool]] = set()
        self._stopping = False
        self.wakeup = asyncio.Event()
        """Set when something may have become due (intake, a recovered claim)."""

    # -- the loops -------------------------------------------------------------------------

    async def run(self) -> None:
        """Send until cancelled: `workers` concurrent senders and the stale-claim sweeper."""
        tasks = [
            asyncio.create_task(self._worker(), name=f"notify-sender-{n}")
            for n in range(self._policy.workers)
        ]
        tasks.append(asyncio.create_task(self._sweeper(), name="notify-claim-sweeper"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _worker(self) -> None:
        while True:
            try:
                sent_one = await self.send_next()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sender iteration failed; pausing")
                sent_one = False
                await asyncio.sleep(self._policy.idle_poll.total_seconds())
            if not sent_one:
                await self._idle()

    async def _idle(self) -> None:
        pause = min(self._policy.idle_poll, self._limiter.wait_hint()).total_seconds()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wakeup.wait(), timeout=pause)
        self.wakeup.clear()

    async def _sweeper(self) -> None:
        interval = max(1.0, self._policy.claim_timeout.total_seconds() / 4)
        while True:
            try:
                if await self.recover_stale_claims():
                    self.wakeup.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("stale-claim sweep failed; retrying next interval")
            await asyncio.sleep(interval)

    # -- one attempt -----------------------------------------------------------------------

    async def send_next(self) -> bool:
        """Claim the most urgent due notification and hand it over. False if none was due.

        The claim and the attempt run in their own task, shielded: cancelling the caller (a
        stop) leaves them to finish, and `finish_in_flight` waits for them."""
        if self._stopping:
            return False
        attempt = asyncio.create_task(self._claim_and_attempt(), name="notify-attempt")
        self._in_flight.add(attempt)
        attempt.add_done_callback(self._in_flight.discard)
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:
            attempt.add_done_callback(_report_orphan)
            raise

    async def finish_in_flight(self) -> None:
        """Let the attempts under way hand their message over and record the outcome (a
        graceful stop: call it once the senders are cancelled, before the store closes). After
        `shutdown_grace` the rest are cancelled; the sweeper of the next run recovers them."""
        self._stopping = True
        pending = set(self._in_flight)
        if not pending:
            return
        log.info("waiting for %d notification attempt(s) in flight", len(pending))
        _done, late = await asyncio.wait(
            pending, timeout=self._policy.shutdown_grace.total_seconds()
        )
        if late:
            log.warning("%d notification attempt(s) cut short after the shutdown grace", len(late))
            for task in late:
                task.cancel()
            await asyncio.wait(late, timeout=1.0)

    async def _claim_and_attempt(self) -> bool:
        job = await self._claim()
        if job is None:
            return False
        await self._attempt(job)
        return True

    async def _claim(self) -> Notification | None:
        return await self._claims.submit(None)

    async def _claim_batch(self, wanted: list[None]) -> list[Notification | None]:
        """Claim up to one due notification per sender asking (urgent lane first, the longest
        waiting first, within the rate limit), in one transaction; None for the others."""
        notifications = self._ctx.notifications
        now = self._ctx.clock.now()
        chosen: list[Notification] = []
        for lane in (Lane.URGENT, Lane.BULK):
            if len(chosen) == len(wanted):
                break
            for due in await notifications.due(lane, now, CANDIDATES + len(wanted) - 1):
                if len(chosen) == len(wanted):
                    break
                if self._limiter.try_take(due.domain):
                    chosen.append(due.claimed(self._ctx.config.instance, now))
        claimed: list[Notification | None] = []
        if len(chosen) == 1:
            claimed.append(await self._save_claim(self._ctx.store, chosen[0]))
        elif chosen:
            async with self._ctx.store.transaction() as tx:
                for claim in chosen:
                    claimed.append(await self._save_claim(tx, claim))
        jobs = [job for job in claimed if job is not None]
        return [*jobs, *([None] * (len(wanted) - len(jobs)))]

    async def _save_claim(self, writer: DocumentWriter, claim: Notification) -> Notification | None:
        try:
            return await self._ctx.notifications.save(writer, claim)
        except VersionConflictError:
            self._limiter.give_back(claim.domain)  # another replica took it
            return None

    async def _attempt(self, job: Notification) -> None:
        # In the trace of the event that asked for the message: its outcome event follows.
        with span(
            "notification attempt",
            context=extract_context(job.trace),
            attributes={"securact.channel": job.channel.value, "securact.kind": job.kind.value},
        ):
            annotate(act_id=job.act_id, office_id=job.office_id, event_type=job.source_type)
            outcome: DeliveryError | None = None
            try:
                await self._hand_over(job)
            except _ClaimLostError:
                log.warning("notification %s: claim taken over by another sender", job.id)
                annotate(outcome="claim-lost")
                return
            except DeliveryError as error:
                outcome = error
            except Exception as error:
                log.exception("unexpected failure sending %s", job.id)
                outcome = TransientDeliveryError(f"internal error ({type(error).__name__})")
            annotate(outcome=_outcome_name(outcome))
            # From here on, as little as possible happens before the outcome is durable.
            await self._outcomes.record(job, outcome, self._ctx.clock.now())

    async def _mark_data_sent(self, job: Notification) -> None:
        """Record durably that the message itself is about to go (see the module docstring)."""
        try:
            marked = await self._marks.submit((job, self._ctx.clock.now()))
        except StoreError as error:
            # Nothing was transmitted: a transient failure, retried like any other.
            raise TransientDeliveryError(
                f"could not record the start of the hand-over ({type(error).__name__})"
            ) from None
        if marked is None:
            raise _ClaimLostError

    async def _mark_batch(
        self, marks: list[tuple[Notification, datetime]]
    ) -> list[Notification | None]:
        """Mark each claim `data_sent_at`, in one transaction (one write alone); None for a
        claim that changed since it was read (another sender took it over)."""
        notifications = self._ctx.notifications

        async def mark(
            writer: DocumentWriter, job: Notification, at: datetime
        ) -> Notification | None:
            try:
                return await notifications.mark_data_sent(writer, job, at)
            except VersionConflictError:  # nothing written: the others' marks stand
                return None

        if len(marks) == 1:
            return [await mark(self._ctx.store, *marks[0])]
        async with self._ctx.store.transaction() as tx:
            return [await mark(tx, job, at) for job, at in marks]

    async def _content(self, job: Notification) -> Content:
        if isinstance(job.link, PendingLink):
            return await content_with_link(self._ctx.templates, self._ctx.links, job, job.link)
        if job.content is None:
            raise RuntimeError("a queued notification without content")
        return job.content

    async def _hand_over(self, job: Notification) -> None:
        content = await self._content(job)
        originator = self._ctx.config.originator
        assert job.address is not None  # kept until the outcome is recorded

        async def before_data() -> None:
            await self._mark_data_sent(job)

        if job.channel is Channel.SMS:
            if self._ctx.sms is None:
                raise PermanentDeliveryError("SMS is disabled on this platform")
            if not isinstance(content, SmsContent):
                raise RuntimeError("an SMS notification without an SMS text")
            await before_data()  # the provider's request is the whole hand-over
            with span("sms send", kind=SpanKind.CLIENT):
                await self._ctx.sms.send(
                    SmsMessage(
                        to=job.address,
                        text=content.sms,
                        reference=job.message_id,
                        sender=originator.sms_sender,
                    )
                )
            return
        if not isinstance(content, EmailContent):
            raise RuntimeError("an e-mail notification without an e-mail")
        message = email_message(
            job, content, mail_from=originator.mail_from, now=self._ctx.clock.now()
        )
        with span("smtp send", kind=SpanKind.CLIENT):
            await self._ctx.mail.send(message, before_data=before_data)

    # -- crashed claims --------------------------------------------------------------------

    async def recover_stale_claims(self) -> int:
        """Requeue claims older than `claim_timeout` (a sender died mid-attempt); returns how
        many. A claim marked `data_sent_at` is the ambiguous case: sent again with the same
        Message-ID and flagged; one without it was never transmitted (module docstring)."""
        notifications = self._ctx.notifications
        timeout = self._policy.claim_timeout

        async def stale(now: datetime) -> list[Notification]:
            return await notifications.claimed_before(now - timeout, STALE_BATCH)

        async def requeue(row: Notification, now: datetime) -> bool:
            requeued, ambiguous = row.requeued_after_stale_claim(now)
            await notifications.save(self._ctx.store, requeued)  # a conflict: skipped
            if ambiguous:
                log.warning("notification %s: stale claim after DATA, sending again", row.id)
            else:
                log.info("notification %s: stale claim before DATA, sending it", row.id)
            return True

        return await sweep(self._ctx.clock, stale, requeue)

    async def pending(self, lanes: tuple[Lane, ...] = (Lane.URGENT, Lane.BULK)) -> int:
        """How many notifications wait to be sent (queued or being sent)."""
        total = 0
        for state in (State.QUEUED, State.SENDING):
            for lane in lanes:
                total += await self._ctx.notifications.count(state, lane)
        return total
