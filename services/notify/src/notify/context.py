"""What every use case of notify shares: one `Context` (store, outbox, inboxes, clock, the
templates, the transports, identity's links and the configuration), the notifications'
repository, and the one way to publish an event (`Context.emit`, in the transaction of the
state change it reports, as a consequence of the event that caused the notification)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from notify.contacts import ContactBook
from notify.notifications import Cause
from notify.ports import LinkSource, MailTransport, SmsGateway
from notify.repository import NotificationRepository
from notify.settings import Settings
from notify.templates import Templates
from shared.clock import Clock
from shared.contracts.envelope import Envelope, EventPayload
from shared.events import Emitter
from shared.legal_calendar import BusinessDays, Territory
from shared.messaging.consumer import RetryPolicy
from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore, Transaction

SERVICE = "notify"
ATTEMPTS_PER_CONNECTION = 2


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

    @classmethod
    def from_settings(cls, settings: Settings) -> SendingPolicy:
        return cls(
            retry=RetryPolicy(
                max_attempts=settings.retry_max_attempts,
                first_delay=timedelta(seconds=settings.retry_first_delay_seconds),
                max_delay=timedelta(seconds=settings.retry_max_delay_seconds),
            ),
            claim_timeout=timedelta(seconds=settings.claim_timeout_seconds),
            shutdown_grace=timedelta(seconds=settings.shutdown_grace_seconds),
            domain_rate_per_second=settings.domain_rate_per_second,
            domain_burst=settings.domain_burst,
            idle_poll=timedelta(seconds=settings.idle_poll_seconds),
            # An attempt recording its outcome (or claiming) holds no connection: twice as
            # many attempts as connections keep every connection busy.
            workers=settings.smtp_connections * ATTEMPTS_PER_CONNECTION,
            deemed_received_territories=settings.deemed_received_territories,
            business_days=settings.business_days,
        )


@dataclass(frozen=True)
class Originator:
    """Who the messages are from."""

    mail_from: str
    message_id_domain: str
    sms_sender: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Originator:
        return cls(settings.mail_from, settings.message_id_domain, settings.sms_sender)


@dataclass(frozen=True)
class Config:
    """Notify's settings as its use cases need them (no I/O, no environment)."""

    originator: Originator
    policy: SendingPolicy = SendingPolicy()
    instance: str = SERVICE
    """This process's name on the claims it takes."""
    office_emails: Mapping[str, str] = field(default_factory=dict)
    """Where each office (by id) is told of events about its declarations."""
    notice_batch_size: int = 200
    """How many contacts a notice's fan-out reads per transaction."""

    @classmethod
    def from_settings(cls, settings: Settings, *, instance: str = SERVICE) -> Config:
        return cls(
            Originator.from_settings(settings),
            SendingPolicy.from_settings(settings),
            instance,
            {office: str(email) for office, email in settings.office_emails.items()},
            settings.notice_batch_size,
        )


@dataclass(frozen=True)
class Context:
    """What the use cases share; each use case module takes this one argument."""

    store: DocumentStore
    outbox: Outbox
    inbox: Callable[[str], Inbox]
    clock: Clock
    config: Config
    templates: Templates
    mail: MailTransport
    sms: SmsGateway | None = None
    links: LinkSource | None = None

    @cached_property
    def events(self) -> Emitter:
        return Emitter(self.outbox, self.clock, SERVICE)

    @cached_property
    def notifications(self) -> NotificationRepository:
        return NotificationRepository(self.store, self.clock)

    def contacts(self, tx: Transaction) -> ContactBook:
        """The contact book inside `tx`."""
        return ContactBook(tx, self.clock, offices=self.config.office_emails)

    async def emit(
        self, tx: Transaction, payload: EventPayload, *, subject: str, cause: Cause
    ) -> Envelope:
        """An event caused by `cause` (same correlation, `cause` as its causation), stored with
        `tx`'s state change: the notification only keeps its cause's ids, not its envelope."""
        envelope = self.events.envelope(payload, subject=subject).model_copy(
            update={"correlation_id": cause.correlation_id, "causation_id": cause.event_id}
        )
        await self.outbox.add(tx, envelope)
        return envelope
