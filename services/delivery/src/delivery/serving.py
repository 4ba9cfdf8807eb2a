"""Serving an act: making it available to its recipient at an instant that becomes its legal
date (CPC 664-1), with its `act-served` event and `ContentConsignment` evidence. Shared by a
deposit in the window (`delivery.deposit`) and a scheduled one at the window's opening
(`delivery.scheduling`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict

from delivery.acts import Act, ActStatus
from delivery.consent import ConsentAnswer
from delivery.context import Context
from delivery.evidence import EvidenceType
from shared.contracts.delivery import RejectionReason
from shared.metrics import instruments
from shared.store.port import Transaction, to_iso


class SubmissionDetails(TypedDict):
    declaration_id: str
    nature: str
    office_reference: str
    size: int
    submitted_at: str
    scheduled_for: str | None


class LeaveDetails(TypedDict):
    sha256: str
    size: int
    ordered_on: str | None
    issued_by: str | None


def submission_details(act: Act) -> SubmissionDetails:
    """What a `SubmissionAcceptance` says of the act (no title, no names)."""
    return {
        "declaration_id": act.declaration_id,
        "nature": act.nature.value,
        "office_reference": act.office_reference,
        "size": act.size,
        "submitted_at": to_iso(act.submitted_at),
        "scheduled_for": to_iso(act.scheduled_for) if act.scheduled_for else None,
    }


def leave_details(act: Act) -> LeaveDetails | None:
    """The judge's leave the act was served on (CPC 664), as its evidence shows it: the
    document's fingerprint and size, the order's date and author as the office declared them."""
    leave = act.judge_leave
    if leave is None:
        return None
    return {
        "sha256": leave.sha256,
        "size": leave.size,
        "ordered_on": leave.order.ordered_on.isoformat() if leave.order else None,
        "issued_by": leave.order.issued_by if leave.order else None,
    }


def count_outcome(act: Act) -> None:
    """Count a committed deposit in the platform's metrics: served, or accepted for later.
    The availability probe's acts are not the platform's activity."""
    if act.probe:
        return
    if act.status is ActStatus.SERVED:
        instruments().acts_served.add(1)
    elif act.status in (ActStatus.SCHEDULED, ActStatus.HELD):
        instruments().acts_scheduled.add(1, {"securact.act.status": act.status.value})


def count_refusal(reasons: Sequence[RejectionReason]) -> None:
    """Count a refused act once, by its first reason's code (a stable, non-personal code)."""
    instruments().acts_refused.add(
        1, {"securact.refusal.reason": reasons[0].code if reasons else "unknown"}
    )


async def serve(
    ctx: Context,
    tx: Transaction,
    act: Act,
    consent: ConsentAnswer,
    now: datetime,
) -> Act:
    """Make `act` available at `now` in `tx` (inserting or updating it), with its `act-served`
    event and `ContentConsignment` evidence — and, for a new act, its `SubmissionAcceptance`.
    The consignment's evidence records what the registry answered just before `now`."""
    new = act.version is None
    served, event = act.serve(now, portal_url=ctx.config.portal_url)
    stored = await ctx.acts.save(tx, served, now)
    envelope = await ctx.emit(tx, served, event, actor=act.office_actor)
    actors = {
        "sender": act.office_actor,
        "sender_client": act.office_client,
        "recipient": act.recipient_actor,
    }
    if new:
        await ctx.signer.attest(
            tx,
            served,
            kind=EvidenceType.SUBMISSION_ACCEPTANCE,
            instant=act.submitted_at,
            actors=actors,
            details=submission_details(served),
            event_id=envelope.event_id,
        )
    await ctx.signer.attest(
        tx,
        served,
        kind=EvidenceType.CONTENT_CONSIGNMENT,
        instant=now,
        actors=actors,
        details={
            "served_at": to_iso(now),
            "legal_local_time": served.legal_local_time,
            "recipient_territory": served.recipient_territory.value,
            "office_territory": served.office_territory.value,
            "judge_leave_sha256": served.judge_leave.sha256 if served.judge_leave else None,
            "judge_leave": leave_details(served),
            "consent": consent.evidence(),
        },
        event_id=envelope.event_id,
    )
    return stored
