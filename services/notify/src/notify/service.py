"""Notify's composition root: `wire` builds every use case on one `Context` from the
configuration and the ports, without I/O (nothing connects until the app's lifespan starts).
The app factory (`notify.main`) and the unit tests' harness both use it.

| use case | module |
|---|---|
| an event's notifications, once per (event, channel, recipient) | `notify.intake` |
| which notifications an event asks for | `notify.planning` |
| claim, render, hand over; stale claims; a graceful stop | `notify.sending` |
| the outcome of an attempt, as evidence | `notify.outcomes` |
| the contact book, and its purge on retention's request | `notify.contacts` |
| notices to users (maintenance, breach), fanned out in batches | `notify.notices` |
| the history of a subject | `notify.history` |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from notify.contacts import Contacts
from notify.context import Config, Context
from notify.history import History
from notify.intake import Intake
from notify.notices import Notices
from notify.ports import LinkSource, MailTransport, SmsGateway
from notify.sending import Sending
from notify.templates import Templates
from shared.clock import Clock
from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore


@dataclass(frozen=True)
class Notify:
    """Every use case of notify, sharing one context."""

    ctx: Context
    intake: Intake
    sending: Sending
    contacts: Contacts
    history: History
    notices: Notices

    @classmethod
    def on(cls, ctx: Context) -> Notify:
        sending = Sending(ctx)
        intake = Intake(ctx, wakeup=sending.wakeup.set)
        return cls(
            ctx,
            intake,
            sending,
            Contacts(ctx),
            History(ctx),
            Notices(ctx, intake, wakeup=sending.wakeup.set),
        )


def wire(
    config: Config,
    *,
    store: DocumentStore,
    outbox: Outbox,
    inbox: Callable[[str], Inbox],
    clock: Clock,
    mail: MailTransport,
    sms: SmsGateway | None = None,
    links: LinkSource | None = None,
    templates: Templates | None = None,
) -> Notify:
    """Notify's use cases on these ports (no I/O here; without `links`, a link message waits
    as a transient failure)."""
    ctx = Context(
        store=store,
        outbox=outbox,
        inbox=inbox,
        clock=clock,
        config=config,
        templates=templates or Templates(),
        mail=mail,
        sms=sms,
        links=links,
    )
    return Notify.on(ctx)
