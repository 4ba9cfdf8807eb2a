"""Late consent ends (LEGAL "Decisions on the edges"; DESIGN §3). Delivery asks the registry at
each sending instant, but an end may be decided where the registry does not see it yet (a
termination or a CGU refusal is decided at identity and reaches consent over the bus) or just
after the registry answered. When such an end reaches delivery, every act of the declaration
served at or after the instant the end was decided is flagged `served_after_consent_end`: the
office sees it on the act and in its polling feed (the act's cursor moves), gets
`delivery.act-served-after-consent-end.v1`, and the act's evidence gains a signed negative
record naming the reason. Serving is not undone: the act was sent (CPC 664-1).

Each end is applied in the consumer's inbox transaction: a redelivered event flags nothing
twice, and an act is flagged once whichever end (consent's or identity's) arrives first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from delivery.acts import Act, ActStatus
from delivery.context import Context
from delivery.evidence import EvidenceType
from shared.contracts.consent import (
    ConsentRevokedV1,
    DeclarationExpiredV1,
    DeclarationRefusedV1,
    DeclarationTerminatedV1,
)
from shared.contracts.delivery import ConsentEndReason, RejectionReason
from shared.contracts.envelope import EventPayload
from shared.contracts.identity import AccountTerminatedV1
from shared.store.port import Transaction, to_iso

_DETAIL = {
    ConsentEndReason.REVOKED: "the recipient revoked the consent",
    ConsentEndReason.EXPIRED: "the consent's duration was over",
    ConsentEndReason.TERMINATED: "the recipient's account was terminated",
    ConsentEndReason.REFUSED: "the recipient refused the CGU",
}


@dataclass(frozen=True)
class ConsentEnded:
    """A consent end as an event tells it: which declaration, when it was decided, why."""

    declaration_id: str
    at: datetime
    reason: ConsentEndReason

    @classmethod
    def of(cls, payload: EventPayload) -> ConsentEnded | None:
        """The end an event reports (None for any other event)."""
        if isinstance(payload, ConsentRevokedV1):
            return cls(payload.declaration_id, payload.revoked_at, ConsentEndReason.REVOKED)
        if isinstance(payload, DeclarationExpiredV1):
            return cls(payload.declaration_id, payload.expired_at, ConsentEndReason.EXPIRED)
        if isinstance(payload, DeclarationTerminatedV1):
            return cls(payload.declaration_id, payload.terminated_at, ConsentEndReason.TERMINATED)
        if isinstance(payload, DeclarationRefusedV1):
            return cls(payload.declaration_id, payload.refused_at, ConsentEndReason.REFUSED)
        if isinstance(payload, AccountTerminatedV1) and payload.declaration_id:
            return cls(payload.declaration_id, payload.terminated_at, ConsentEndReason.TERMINATED)
        return None

    def reason_of_record(self) -> RejectionReason:
        return RejectionReason(
            code=f"consent_{self.reason.value}",
            detail=f"served at or after {to_iso(self.at)}, when {_DETAIL[self.reason]}",
        )


class Reconciliation:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def consent_ended(self, tx: Transaction, end: ConsentEnded) -> list[Act]:
        """Flag, in `tx`, the declaration's acts served at or after `end`; the acts flagged."""
        ctx = self.ctx
        served = await ctx.acts.find(
            {
                "declaration_id": end.declaration_id,
                "status": ActStatus.SERVED.value,
                "served_at": {"$gte": to_iso(end.at)},
            },
            sort=[("served_at", 1)],
            reader=tx,
        )
        flagged: list[Act] = []
        now = ctx.clock.now()
        for act in served:
            if not isinstance(act, Act):
                continue
            changed = act.flag_served_after(end.at, end.reason, now)
            if changed is None:
                continue
            marked, event = changed
            stored = await ctx.acts.save(tx, marked, now)
            envelope = await ctx.emit(tx, marked, event, actor="service:delivery")
            await ctx.signer.attest(
                tx,
                marked,
                kind=EvidenceType.SERVED_AFTER_CONSENT_END,
                instant=now,
                actors={"sender": act.office_actor, "recipient": act.recipient_actor},
                details={
                    "reasons": [end.reason_of_record().model_dump()],
                    "consent_ended_at": to_iso(end.at),
                    "consent_end": end.reason.value,
                    "served_at": to_iso(act.served_at) if act.served_at else None,
                    "detected_at": to_iso(now),
                },
                event_id=envelope.event_id,
            )
            flagged.append(stored)
        return flagged
