"""Refused submissions, journaled: `delivery.act-rejected.v1` with its reasons, in a transaction
of its own (no act is recorded). The deposit raises the matching refusal after journaling."""

from __future__ import annotations

from collections.abc import Sequence

from delivery.context import Context
from delivery.domain import ActMetadata, WindowCheck
from delivery.offices import Office
from delivery.serving import count_refusal
from shared.contracts.delivery import ActRejectedV1, RejectionReason
from shared.store.port import to_iso
from shared.telemetry import annotate

LEAVE_ALREADY_USED = RejectionReason(
    code="judge_leave_already_used",
    detail="this judge's leave already authorised another office's act",
)


class Rejections:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def journal(
        self,
        office: Office,
        act_id: str,
        metadata: ActMetadata,
        reasons: Sequence[RejectionReason],
        sha256: str | None,
    ) -> None:
        """Journal a refused submission with its reasons (no act is recorded)."""
        annotate(act_id=act_id, office_id=office.office_id, outcome="refused")
        await self.ctx.events.emit_alone(
            ActRejectedV1(
                office_id=office.office_id,
                act_id=act_id,
                declaration_id=metadata.declaration_id,
                act_nature=metadata.nature.value,
                act_sha256=sha256,
                rejected_at=self.ctx.clock.now(),
                reasons=list(reasons),
            ),
            subject=f"act:{act_id}",
            actor=f"office:{office.office_id}",
        )
        count_refusal(reasons)

    async def suspended(
        self, office: Office, act_id: str, metadata: ActMetadata, sha256: str | None
    ) -> None:
        reason = RejectionReason(
            code="recipient_suspended", detail="the recipient's account is suspended"
        )
        await self.journal(office, act_id, metadata, [reason], sha256)

    async def window(
        self,
        office: Office,
        act_id: str,
        metadata: ActMetadata,
        window: WindowCheck,
        sha256: str | None = None,
    ) -> None:
        reasons = [
            RejectionReason(
                code="window_closed",
                detail=f"CPC 664: closed in {c.territory} ({c.reason}); "
                f"next opening {to_iso(window.next_opening)}",
            )
            for c in window.closures
        ]
        await self.journal(office, act_id, metadata, reasons, sha256)

    async def leave_already_used(
        self, office: Office, act_id: str, metadata: ActMetadata, sha256: str | None
    ) -> None:
        await self.journal(office, act_id, metadata, [LEAVE_ALREADY_USED], sha256)
