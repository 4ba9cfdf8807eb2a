"""One way for a service to publish an event: build its envelope and add it to the outbox in
the transaction that makes the state change it reports (DESIGN §4), or alone when it reports
no state change of the service's own (a refusal, a start)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.clock import Clock
from shared.contracts.envelope import Envelope, EventPayload, new_envelope
from shared.messaging.outbox import Outbox
from shared.store.port import Transaction


@dataclass(frozen=True)
class Emitter:
    """Envelopes of one service (`actor` defaults to `service:<service>`) into its outbox."""

    outbox: Outbox
    clock: Clock
    service: str

    def envelope(
        self,
        payload: EventPayload,
        *,
        subject: str,
        actor: str | None = None,
        causation: Envelope | None = None,
    ) -> Envelope:
        """The envelope, not stored: a consequence of `causation` inherits its correlation."""
        return new_envelope(
            payload,
            subject=subject,
            actor=actor or f"service:{self.service}",
            clock=self.clock,
            causation=causation,
        )

    async def emit(
        self,
        tx: Transaction,
        payload: EventPayload,
        *,
        subject: str,
        actor: str | None = None,
        causation: Envelope | None = None,
    ) -> Envelope:
        """Store the event with `tx`'s state change (the relay publishes it after commit);
        returns the envelope so evidence can name its event id."""
        envelope = self.envelope(payload, subject=subject, actor=actor, causation=causation)
        await self.outbox.add(tx, envelope)
        return envelope

    async def emit_alone(
        self,
        payload: EventPayload,
        *,
        subject: str,
        actor: str | None = None,
        causation: Envelope | None = None,
    ) -> Envelope:
        """An event that changes no state of the service's own, in a transaction of its own."""
        envelope = self.envelope(payload, subject=subject, actor=actor, causation=causation)
        await self.outbox.publish_alone(envelope)
        return envelope
