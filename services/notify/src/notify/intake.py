"""Intake: record the notifications an event asks for (`notify.planning`), once per consumer
and event.

Exactly-once effect per (event, channel, recipient): the notification's id is derived from the
event id, the channel and the address, and is inserted with the inbox key in one transaction:
a redelivered event is a duplicate inbox key, and even a republished event with a new delivery
cannot create a second notification.

A message is rendered at intake, so that a template problem is a failure recorded at once; a
link message is rendered with a stand-in for its link and keeps its template values instead
(the link is fetched when it is sent, `notify.sending`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan

from notify.context import Context
from notify.domain import address_problem
from notify.notifications import Cause, Notification, PendingLink, Request
from notify.planning import PLANNERS
from notify.rendering import TemplateInputError, render
from notify.values import LINK_STAND_IN
from shared.contracts.envelope import Envelope
from shared.messaging.batch import consumed_span
from shared.store.port import DuplicateKeyError, Transaction
from shared.telemetry import inject_traceparent


class Intake:
    """Events in, queued (or at once failed) notifications out."""

    def __init__(self, ctx: Context, *, wakeup: Callable[[], None] = lambda: None) -> None:
        self._ctx = ctx
        self._wakeup = wakeup

    async def take(self, envelope: Envelope, consumer: str) -> bool:
        """Record the notifications an event asks for, once per consumer and event. False for
        a duplicate delivery (nothing done) or an event notify does not plan from."""
        if envelope.type not in PLANNERS:
            return False

        async def effect(tx: Transaction) -> None:
            await self._plan(tx, envelope)

        done = await self._ctx.inbox(consumer).process(envelope, effect)
        if done:
            self._wakeup()
        return done

    async def take_many(self, envelopes: Sequence[Envelope], consumer: str) -> list[bool]:
        """`take` for a batch consumer's events, in ONE transaction (inbox keys included): one
        flag per envelope. An event that fails fails the batch (nothing of it is written); the
        batch consumer then hands its events over one by one."""
        positions = [n for n, envelope in enumerate(envelopes) if envelope.type in PLANNERS]
        done = [False] * len(envelopes)
        if positions:
            planned = [envelopes[n] for n in positions]
            flags = await self._ctx.inbox(consumer).process_many(planned, self._plan_consumed)
            for position, flag in zip(positions, flags, strict=True):
                done[position] = flag
            if any(flags):
                self._wakeup()
        return done

    async def _plan_consumed(self, tx: Transaction, envelope: Envelope) -> None:
        # In the trace of the message that carried the event (a batch span serves many): the
        # notification's attempt and its outcome event continue it.
        consumed = consumed_span(envelope.event_id)
        if consumed is None:
            await self._plan(tx, envelope)
            return
        with trace.use_span(NonRecordingSpan(consumed)):
            await self._plan(tx, envelope)

    async def _plan(self, tx: Transaction, envelope: Envelope) -> None:
        planner = PLANNERS[envelope.type]
        cause = Cause(envelope.event_id, envelope.type, envelope.subject, envelope.correlation_id)
        plan = await planner(envelope, self._ctx.contacts(tx))
        for request in plan.requests:
            await self.record(tx, cause, request)

    async def record(self, tx: Transaction, cause: Cause, request: Request) -> None:
        """Record one message `cause` asks for, in `tx`: queued, or failed at once (no usable
        address, a message that cannot be rendered); nothing if it exists already."""
        ctx = self._ctx
        now = ctx.clock.now()
        problem: str | None
        if request.address is None:
            problem = "no address known for this recipient"
        else:
            problem = address_problem(request.channel, request.address)
        planned = Notification.planned(
            cause, request, message_id_domain=ctx.config.originator.message_id_domain, now=now
        ).model_copy(update={"trace": inject_traceparent()})
        if problem is None:
            try:
                planned = self._with_message(planned, request)
            except TemplateInputError as error:
                problem = f"message not renderable: {error}"
        if problem is None and planned.content is None and planned.link is None:
            return  # the kind has no message on this channel
        failure = None
        if problem is not None:
            planned, failure = planned.refused(problem, now)
        try:
            await ctx.notifications.add(tx, planned)
        except DuplicateKeyError:
            return  # the same (event, channel, recipient) twice in one plan: one message
        if failure is not None:
            await ctx.emit(tx, failure, subject=planned.subject, cause=cause)

    def _with_message(self, planned: Notification, request: Request) -> Notification:
        templates = self._ctx.templates
        if request.link_id is None:
            content = render(templates, request.values, request.channel)
            return planned.model_copy(update={"content": content})
        # Rendered with a stand-in now (a template problem shows at once), and again with the
        # link itself when it is sent.
        render(templates, request.values.with_link(LINK_STAND_IN), request.channel)
        field = request.values.link_field
        assert field is not None, "a link message names the value its link goes in"
        link = PendingLink(link_id=request.link_id, field=field, context=request.values.stored())
        return planned.model_copy(update={"link": link})
