"""Use cases of the notify service: take in an event's notifications, send them (urgent lane
first, per-domain rate limit, bounded retries with backoff), record the outcome as evidence,
answer the history of a subject, purge contacts when retention asks.

Exactly-once effect per (event, channel, recipient)
---------------------------------------------------
The notification's id is derived from the event id, the channel and the address, and is
inserted with the inbox key in one transaction: a redelivered event is a duplicate inbox key,
and even a republished event with a new delivery cannot create a second notification.

Sending is a claim, the hand-over, then the outcome:

1. the row goes `queued → sending` (a durable claim, `data_sent_at` empty);
2. once the relay accepted the envelope (MAIL FROM, RCPT TO), and just before DATA, the claim
   is marked `data_sent_at` (a durable write; for an SMS, just before the provider's request):
   until then the relay cannot have accepted the message;
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

Links
-----
An activation or reset e-mail carries a link, a credential that no event, log or stored row may
hold: the row keeps the template values and the link's `link_id` (`link`), and the sender asks
identity for the link (`LinkSource`) only when it sends, renders, hands the message over and
forgets it. Identity unreachable is a transient failure (the usual backoff); a link already
used, replaced or expired is a permanent one (nothing worth sending, no retry loop).

Retention
---------
On `retention.contact-data-purge-requested.v1` (an account) and
`retention.declaration-purge-requested.v1` (a declaration), notify forgets the contacts of the
party (and of the party linked to it), removes the masked addresses from the party's history,
and publishes `notify.contacts-purged.v1`. A message still waiting or being sent keeps its
address until its outcome is recorded, which clears it (the erasure certificate, the last
message, may be such a message).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Final

from notify.contacts import CONTACT_INDEXES, ContactBook, Forgotten
from notify.domain import (
    LANE_OF,
    Lane,
    State,
    address_problem,
    deemed_received_on,
    email_domain,
    mask,
    message_id,
    notification_id,
)
from notify.intake import PLANNERS, Request
from notify.ports import (
    DeliveryError,
    LinkSource,
    MailTransport,
    PermanentDeliveryError,
    SmsGateway,
    SmsMessage,
    TransientDeliveryError,
)
from notify.templates import TemplateInputError, Templates
from shared.clock import Clock
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.notify import (
    Channel,
    ContactsPurgedV1,
    NotificationFailedV1,
    NotificationKind,
    NotificationSentV1,
)
from shared.contracts.registry import decode_payload
from shared.contracts.retention import ContactDataPurgeRequestedV1, DeclarationPurgeRequestedV1
from shared.legal_calendar import BusinessDays, Territory
from shared.messaging.consumer import RetryPolicy
from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox
from shared.store.port import (
    Document,
    DocumentStore,
    DuplicateKeyError,
    Index,
    StoreError,
    Transaction,
    VersionConflictError,
    from_iso,
    to_iso,
)

log = logging.getLogger(__name__)

NOTIFICATIONS: Final = "notifications"
INDEXES: Final = (
    Index(NOTIFICATIONS, ("state", "lane", "next_attempt_at")),
    Index(NOTIFICATIONS, ("state", "claimed_at")),
    Index(NOTIFICATIONS, ("subject", "created_at")),
    Index(NOTIFICATIONS, ("account_id",)),
    Index(NOTIFICATIONS, ("recipient",)),
    *CONTACT_INDEXES,
)
CANDIDATES: Final = 8
BOOKKEEPING_TRIES: Final = 5
MAX_HISTORY: Final = 500
PURGE_REQUESTS: Final = (
    ContactDataPurgeRequestedV1.routing_key(),
    DeclarationPurgeRequestedV1.routing_key(),
)

EnvelopeFactory = Callable[[EventPayload, str, Document], Envelope]


@dataclass(frozen=True)
class SendingPolicy:
    """How notify sends: retries, claim expiry, rate limit, CGU deemed-received rule."""

    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(
            max_attempts=10, first_delay=timedelta(seconds=5), max_delay=timedelta(minutes=15)
        )
    )
    claim_timeout: timedelta = timedelta(minutes=5)
    shutdown_grace: timedelta = timedelta(seconds=10)
    domain_rate_per_second: float = 50.0
    domain_burst: int = 50
    idle_poll: timedelta = timedelta(seconds=1)
    workers: int = 4
    deemed_received_territories: tuple[Territory, ...] = tuple(Territory)
    business_days: BusinessDays = BusinessDays.JOURS_OUVRES


@dataclass(frozen=True)
class Identity:
    """Who the messages are from."""

    mail_from: str
    message_id_domain: str
    sms_sender: str


class DomainRateLimiter:
    """A token bucket per destination domain (per process: replicas multiply the rate)."""

    def __init__(self, clock: Clock, rate_per_second: float, burst: int) -> None:
        self._clock = clock
        self._rate = rate_per_second
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, datetime]] = {}

    def _level(self, domain: str) -> float:
        now = self._clock.now()
        tokens, at = self._buckets.get(domain, (self._burst, now))
        return min(self._burst, tokens + (now - at).total_seconds() * self._rate)

    def try_take(self, domain: str) -> bool:
        tokens = self._level(domain)
        if tokens < 1.0:
            self._buckets[domain] = (tokens, self._clock.now())
            return False
        self._buckets[domain] = (tokens - 1.0, self._clock.now())
        return True

    def give_back(self, domain: str) -> None:
        tokens = self._level(domain)
        self._buckets[domain] = (min(self._burst, tokens + 1.0), self._clock.now())

    def wait_hint(self) -> timedelta:
        """How long until a token is available again somewhere (an upper bound)."""
        return timedelta(seconds=1.0 / self._rate)


def _eq(value: str) -> dict[str, list[str]]:
    """Equality written as `$in`: the SQLite engine's partial indexes are only used when every
    indexed field has a comparison that excludes NULL, which its `IS ?` equality does not."""
    return {"$in": [value]}


def _channel_address_key(request: Request) -> str:
    return request.address or "unknown"


class _ClaimLostError(Exception):
    """Another sender took the claim over (this one outlived `claim_timeout`): hand nothing
    over and record nothing, the new owner does."""


def _report_orphan(task: asyncio.Task[bool]) -> None:
    # An attempt whose sender stopped waiting (a stop): nobody else sees how it ended.
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("attempt finished after its sender stopped: %s", type(error).__name__)


class Notifier:
    """The notify use cases over one store."""

    def __init__(
        self,
        store: DocumentStore,
        clock: Clock,
        outbox: Outbox,
        inbox: Callable[[str], Inbox],
        envelope: EnvelopeFactory,
        templates: Templates,
        mail: MailTransport,
        sms: SmsGateway | None,
        identity: Identity,
        policy: SendingPolicy = SendingPolicy(),
        *,
        instance: str = "notify",
        links: LinkSource | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._outbox = outbox
        self._inbox = inbox
        self._envelope = envelope
        self._templates = templates
        self._mail = mail
        self._sms = sms
        self._identity = identity
        self._policy = policy
        self._instance = instance
        self._links = links
        self._limiter = DomainRateLimiter(clock, policy.domain_rate_per_second, policy.domain_burst)
        self._claim_lock = asyncio.Lock()
        self._deemed: dict[str, date] = {}
        self._in_flight: set[asyncio.Task[bool]] = set()
        self._stopping = False
        self.wakeup = asyncio.Event()

    # -- intake ----------------------------------------------------------------------------

    async def take(self, envelope: Envelope, consumer: str) -> bool:
        """Record the notifications an event asks for, once per consumer and event. False for
        a duplicate delivery (nothing done)."""
        planner = PLANNERS.get(envelope.type)
        if planner is None:
            return False

        async def effect(tx: Transaction) -> None:
            plan = await planner(envelope, ContactBook(tx, self._clock))
            for request in plan.requests:
                await self._record_request(tx, envelope, request)

        done = await self._inbox(consumer).process(envelope, effect)
        if done:
            self.wakeup.set()
        return done

    async def _record_request(self, tx: Transaction, envelope: Envelope, request: Request) -> None:
        now = self._clock.now()
        key = _channel_address_key(request)
        document: Document = {
            "_id": notification_id(envelope.event_id, request.channel, key),
            "event_id": envelope.event_id,
            "source_type": envelope.type,
            "correlation_id": envelope.correlation_id,
            "subject": envelope.subject,
            "kind": request.kind.value,
            "channel": request.channel.value,
            "lane": LANE_OF[request.kind].value,
            "recipient": request.recipient,
            "recipient_masked": mask(request.channel, request.address) if request.address else "",
            "address": request.address,
            "domain": email_domain(request.address)
            if request.address and request.channel is Channel.EMAIL
            else "sms",
            "message_id": message_id(
                envelope.event_id, request.channel, key, self._identity.message_id_domain
            ),
            "act_id": request.act_id,
            "office_id": request.office_id,
            "account_id": request.account_id,
            "content": None,
            "link": None,
            "state": State.QUEUED.value,
            "attempts": 0,
            "created_at": to_iso(now),
            "next_attempt_at": to_iso(now),
            "claimed_at": None,
            "claim_owner": None,
            "data_sent_at": None,
            "accepted_at": None,
            "failed_at": None,
            "reason": None,
            "permanent": None,
            "deemed_received_on": None,
            "resent_after_crash": 0,
        }
        problem: str | None
        if request.address is None:
            problem = "no address known for this recipient"
        else:
            problem = address_problem(request.channel, request.address)
        if problem is None:
            try:
                if request.link is None:
                    document["content"] = self._render(request)
                else:
                    # Rendered with a stand-in now (a template problem shows at once), and
                    # again with the link itself when it is sent.
                    stand_in = {**request.context, request.link.field: LINK_STAND_IN}
                    self._render_context(request.kind, request.channel, stand_in)
                    document["link"] = {
                        "link_id": request.link.link_id,
                        "field": request.link.field,
                        "context": _storable(request.context),
                    }
            except TemplateInputError as error:
                problem = f"message not renderable: {error}"
        if problem is None and document["content"] is None and document["link"] is None:
            return  # the kind has no message on this channel
        if problem is not None:
            document.update(
                state=State.FAILED.value,
                failed_at=to_iso(now),
                reason=problem,
                permanent=True,
                address=None,
                content=None,
                link=None,
            )
        try:
            await tx.insert(NOTIFICATIONS, document)
        except DuplicateKeyError:
            return  # the same (event, channel, recipient) twice in one plan: one message
        if problem is not None:
            await self._outbox.add(tx, self._failed_event(document, now))

    def _render(self, request: Request) -> dict[str, str] | None:
        return self._render_context(request.kind, request.channel, request.context)

    def _render_context(
        self, kind: NotificationKind, channel: Channel, context: Mapping[str, Any]
    ) -> dict[str, str] | None:
        if channel is Channel.SMS:
            text = self._templates.sms(kind, context)
            return None if text is None else {"sms": text}
        rendered = self._templates.email(kind, context)
        return {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}

    async def _content_with_link(self, job: Document) -> Mapping[str, str]:
        """The message of a link notification, rendered with the link identity gives now (it
        lives in this attempt's memory only)."""
        link = job["link"]
        if self._links is None:
            raise TransientDeliveryError("no link source configured")
        url = await self._links.link_url(str(link["link_id"]))
        context = {**_restored(link["context"]), str(link["field"]): url}
        try:
            content = self._render_context(
                NotificationKind(job["kind"]), Channel(job["channel"]), context
            )
        except TemplateInputError as error:
            raise PermanentDeliveryError(f"message not renderable: {error}") from None
        if content is None:
            raise PermanentDeliveryError("the kind has no message on this channel")
        return content

    # -- sending ---------------------------------------------------------------------------

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

    async def _claim(self) -> Document | None:
        async with self._claim_lock:
            now = self._clock.now()
            for lane in (Lane.URGENT, Lane.BULK):
                due = await self._store.find(
                    NOTIFICATIONS,
                    {
                        "state": _eq(State.QUEUED.value),
                        "lane": _eq(lane.value),
                        "next_attempt_at": {"$lte": to_iso(now)},
                    },
                    sort=[("next_attempt_at", 1)],
                    limit=CANDIDATES,
                )
                for row in due:
                    if not self._limiter.try_take(row["domain"]):
                        continue
                    claimed = {
                        **row,
                        "state": State.SENDING.value,
                        "attempts": int(row["attempts"]) + 1,
                        "claimed_at": to_iso(now),
                        "claim_owner": self._instance,
                        "data_sent_at": None,
                    }
                    try:
                        return await self._store.replace(
                            NOTIFICATIONS, claimed, expected_version=row["_version"]
                        )
                    except VersionConflictError:
                        self._limiter.give_back(row["domain"])  # another replica took it
        return None

    async def _attempt(self, job: Document) -> None:
        outcome: DeliveryError | None = None
        try:
            await self._hand_over(job)
        except _ClaimLostError:
            log.warning("notification %s: claim taken over by another sender", job["_id"])
            return
        except DeliveryError as error:
            outcome = error
        except Exception as error:
            log.exception("unexpected failure sending %s", job["_id"])
            outcome = TransientDeliveryError(f"internal error ({type(error).__name__})")
        # From here on, as little as possible happens before the outcome is durable.
        await self._bookkeep(job, outcome, self._clock.now())

    async def _mark_data_sent(self, job: Document) -> None:
        """Record durably that the message itself is about to go (see the module docstring)."""
        marked = {**job, "data_sent_at": to_iso(self._clock.now())}
        try:
            await self._store.replace(NOTIFICATIONS, marked, expected_version=job["_version"])
        except VersionConflictError:
            raise _ClaimLostError from None
        except StoreError as error:
            # Nothing was transmitted: a transient failure, retried like any other.
            raise TransientDeliveryError(
                f"could not record the start of the hand-over ({type(error).__name__})"
            ) from None

    async def _hand_over(self, job: Document) -> None:
        content = job["content"] or {}
        if job.get("link"):
            content = await self._content_with_link(job)

        async def before_data() -> None:
            await self._mark_data_sent(job)

        if job["channel"] == Channel.SMS.value:
            if self._sms is None:
                raise PermanentDeliveryError("SMS is disabled on this platform")
            await before_data()  # the provider's request is the whole hand-over
            await self._sms.send(
                SmsMessage(
                    to=job["address"],
                    text=content["sms"],
                    reference=job["message_id"],
                    sender=self._identity.sms_sender,
                )
            )
            return
        await self._mail.send(self._email(job, content), before_data=before_data)

    def _email(self, job: Document, content: Mapping[str, str]) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._identity.mail_from
        message["To"] = job["address"]
        message["Subject"] = content["subject"]
        message["Date"] = format_datetime(self._clock.now())
        message["Message-ID"] = f"<{job['message_id']}>"
        # Transactional profile: an automatic message (RFC 3834), no list headers.
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
        message.set_content(content["text"])
        message.add_alternative(content["html"], subtype="html")
        # After the body: set_content() drops every Content-* header set before it.
        message["Content-Language"] = "fr"
        return message

    async def _bookkeep(self, job: Document, outcome: DeliveryError | None, at: datetime) -> None:
        for attempt in range(1, BOOKKEEPING_TRIES + 1):
            try:
                await self._record_outcome(job, outcome, at)
                return
            except StoreError as error:
                if attempt == BOOKKEEPING_TRIES:
                    # The claim stays 'sending': the sweeper resends it after claim_timeout.
                    log.error(
                        "could not record the outcome of %s (%s)", job["_id"], type(error).__name__
                    )
                    raise
                await asyncio.sleep(0.05 * 2**attempt)

    async def _record_outcome(
        self, job: Document, outcome: DeliveryError | None, at: datetime
    ) -> None:
        async with self._outbox.transaction() as tx:
            current = await tx.get(NOTIFICATIONS, job["_id"])
            if current is None or current["state"] in (State.SENT.value, State.FAILED.value):
                return
            if outcome is None:
                deemed: date | None = None
                if current["kind"] == NotificationKind.TERMS_NOTICE.value:
                    deemed = self._deemed_received_on(at)
                done = {
                    **current,
                    "state": State.SENT.value,
                    "accepted_at": to_iso(at),
                    "deemed_received_on": deemed.isoformat() if deemed else None,
                    "reason": None,
                    "address": None,
                    "content": None,
                    "link": _link_reference(current),
                }
                await tx.replace(NOTIFICATIONS, done, expected_version=current["_version"])
                await self._outbox.add(tx, self._sent_event(done, at, deemed))
                return
            attempts = int(current["attempts"])
            if not outcome.permanent and attempts < self._policy.retry.max_attempts:
                retry_at = at + self._policy.retry.delay(attempts)
                again = {
                    **current,
                    "state": State.QUEUED.value,
                    "next_attempt_at": to_iso(retry_at),
                    "reason": outcome.reason,
                    "claimed_at": None,
                    "claim_owner": None,
                    "data_sent_at": None,
                }
                await tx.replace(NOTIFICATIONS, again, expected_version=current["_version"])
                log.info(
                    "notification %s: attempt %d failed (%s), next at %s",
                    current["_id"],
                    attempts,
                    outcome.reason,
                    to_iso(retry_at),
                )
                return
            reason = (
                outcome.reason
                if outcome.permanent
                else f"gave up after {attempts} attempts: {outcome.reason}"
            )
            failed = {
                **current,
                "state": State.FAILED.value,
                "failed_at": to_iso(at),
                "reason": reason[:500],
                "permanent": outcome.permanent,
                "address": None,
                "content": None,
                "link": _link_reference(current),
            }
            await tx.replace(NOTIFICATIONS, failed, expected_version=current["_version"])
            await self._outbox.add(tx, self._failed_event(failed, at))
            log.warning("notification %s failed: %s", current["_id"], reason)

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

    async def recover_stale_claims(self) -> int:
        """Requeue claims older than `claim_timeout` (a sender died mid-attempt); returns how
        many. A claim marked `data_sent_at` is the ambiguous case: sent again with the same
        Message-ID and flagged; one without it was never transmitted (module docstring)."""
        cutoff = to_iso(self._clock.now() - self._policy.claim_timeout)
        stale = await self._store.find(
            NOTIFICATIONS, {"state": _eq(State.SENDING.value), "claimed_at": {"$lt": cutoff}}
        )
        recovered = 0
        for row in stale:
            # A row claimed before `data_sent_at` existed may have gone as far as DATA.
            ambiguous = "data_sent_at" not in row or bool(row["data_sent_at"])
            requeued = {
                **row,
                "state": State.QUEUED.value,
                "next_attempt_at": to_iso(self._clock.now()),
                "claimed_at": None,
                "claim_owner": None,
                "data_sent_at": None,
                "resent_after_crash": int(row.get("resent_after_crash", 0)) + int(ambiguous),
            }
            try:
                await self._store.replace(NOTIFICATIONS, requeued, expected_version=row["_version"])
            except VersionConflictError:
                continue
            if ambiguous:
                log.warning("notification %s: stale claim after DATA, sending again", row["_id"])
            else:
                log.info("notification %s: stale claim before DATA, sending it", row["_id"])
            recovered += 1
        return recovered

    # -- evidence events -------------------------------------------------------------------

    def _facts(self, row: Document) -> dict[str, Any]:
        return {
            "notification_id": row["_id"],
            "kind": row["kind"],
            "channel": row["channel"],
            "recipient": row["recipient"],
            "recipient_masked": row["recipient_masked"],
            "message_id": row["message_id"],
            "source_event_id": row["event_id"],
            "source_type": row["source_type"],
            "attempts": row["attempts"],
            "act_id": row["act_id"],
            "office_id": row["office_id"],
        }

    def _sent_event(self, row: Document, at: datetime, deemed: date | None) -> Envelope:
        payload = NotificationSentV1(**self._facts(row), accepted_at=at, deemed_received_on=deemed)
        return self._envelope(payload, row["subject"], row)

    def _failed_event(self, row: Document, at: datetime) -> Envelope:
        payload = NotificationFailedV1(
            **self._facts(row),
            failed_at=at,
            reason=row["reason"] or "unknown",
            permanent=bool(row["permanent"]),
        )
        return self._envelope(payload, row["subject"], row)

    # -- queries and retention -------------------------------------------------------------

    async def history(self, subject: str) -> list[Document]:
        """The notifications of a subject, oldest first (at most MAX_HISTORY)."""
        return await self._store.find(
            NOTIFICATIONS, {"subject": _eq(subject)}, sort=[("created_at", 1)], limit=MAX_HISTORY
        )

    async def purge_contacts(self, account_id: str) -> int:
        """Forget the contact data kept for an account (and its declaration); returns how many
        contacts were removed. `purge_on_request` is retention's way in."""
        async with self._store.transaction() as tx:
            forgotten = await self._forget(tx, account_id=account_id, declaration_id=None)
        return forgotten.removed

    async def purge_on_request(self, envelope: Envelope, consumer: str) -> bool:
        """Retention's contact-data purge of an account or purge of a declaration: forget the
        contacts, scrub the history, publish `notify.contacts-purged.v1`; once per event.
        False for a duplicate delivery or another event."""
        account_id: str | None = None
        declaration_id: str | None = None
        if envelope.type == ContactDataPurgeRequestedV1.routing_key():
            account_request = decode_payload(envelope, ContactDataPurgeRequestedV1)
            erasure_id, account_id = account_request.erasure_id, account_request.account_id
        elif envelope.type == DeclarationPurgeRequestedV1.routing_key():
            declaration_request = decode_payload(envelope, DeclarationPurgeRequestedV1)
            erasure_id = declaration_request.erasure_id
            declaration_id = declaration_request.declaration_id
        else:
            return False

        async def effect(tx: Transaction) -> None:
            forgotten = await self._forget(tx, account_id=account_id, declaration_id=declaration_id)
            now = self._clock.now()
            payload = ContactsPurgedV1(
                erasure_id=erasure_id,
                account_id=account_id,
                declaration_id=declaration_id,
                purged_at=now,
            )
            source = {"event_id": envelope.event_id, "correlation_id": envelope.correlation_id}
            await self._outbox.add(tx, self._envelope(payload, envelope.subject, source))
            log.info(
                "contacts purged for erasure %s: %d contact(s), %d account(s), %d declaration(s)",
                erasure_id,
                forgotten.removed,
                len(forgotten.account_ids),
                len(forgotten.declaration_ids),
            )

        return await self._inbox(consumer).process(envelope, effect)

    async def _forget(
        self, tx: Transaction, *, account_id: str | None, declaration_id: str | None
    ) -> Forgotten:
        forgotten = await ContactBook(tx, self._clock).forget_party(
            account_id=account_id, declaration_id=declaration_id
        )
        # The history keeps ids, states and dates as evidence; the masked address goes. A row
        # still waiting or being sent keeps its address until its outcome clears it.
        scrub = {"recipient_masked": "", "contact_purged_at": to_iso(self._clock.now())}
        not_yet: dict[str, Any] = {"recipient_masked": {"$ne": ""}}
        if forgotten.account_ids:
            accounts = sorted(forgotten.account_ids)
            await tx.update(NOTIFICATIONS, {"account_id": {"$in": accounts}, **not_yet}, scrub)
        parties = [f"account:{a}" for a in sorted(forgotten.account_ids)]
        parties += [f"declaration:{d}" for d in sorted(forgotten.declaration_ids)]
        if parties:
            await tx.update(NOTIFICATIONS, {"recipient": {"$in": parties}, **not_yet}, scrub)
        return forgotten

    async def pending(self, lanes: Sequence[Lane] = (Lane.URGENT, Lane.BULK)) -> int:
        """How many notifications wait to be sent (queued or being sent)."""
        total = 0
        for state in (State.QUEUED, State.SENDING):
            for lane in lanes:
                total += await self._store.count(
                    NOTIFICATIONS, {"state": _eq(state.value), "lane": _eq(lane.value)}
                )
        return total


LINK_STAND_IN: Final = "https://link.invalid/stand-in"


def _storable(context: Mapping[str, Any]) -> dict[str, Any]:
    """Template values as a stored document: instants as ISO strings, named in `instants`."""
    values = {k: to_iso(v) if isinstance(v, datetime) else v for k, v in context.items()}
    instants = sorted(k for k, v in context.items() if isinstance(v, datetime))
    return {"values": values, "instants": instants}


def _restored(stored: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(stored["values"])
    for key in stored["instants"]:
        values[key] = from_iso(values[key])
    return values


def _link_reference(row: Document) -> dict[str, Any] | None:
    """Once the outcome is known only the link's reference stays (the template values, the
    login identifier among them, go with the address)."""
    link = row.get("link")
    return {"link_id": link["link_id"]} if link else None


def view(row: Document) -> dict[str, Any]:
    """A history entry as the API shows it: no address, no content."""
    return {
        "notification_id": row["_id"],
        "kind": row["kind"],
        "channel": row["channel"],
        "recipient": row["recipient"],
        "recipient_masked": row["recipient_masked"],
        "state": row["state"],
        "attempts": row["attempts"],
        "message_id": row["message_id"],
        "source_event_id": row["event_id"],
        "source_type": row["source_type"],
        "created_at": row["created_at"],
        "accepted_at": row["accepted_at"],
        "failed_at": row["failed_at"],
        "reason": row["reason"],
        "permanent": row["permanent"],
        "deemed_received_on": row["deemed_received_on"],
        "resent_after_crash": row.get("resent_after_crash", 0),
        "contact_purged_at": row.get("contact_purged_at"),
        "act_id": row["act_id"],
        "office_id": row["office_id"],
    }
