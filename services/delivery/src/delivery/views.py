"""The shapes of what each party sees of its acts: the recipient's inbox and acts, the office's
acts (by last change, for polling) with their notifications and replies, an erased act's
tombstone, and the signed evidence set with its audit receipts. They are the API's response
models too; `delivery.reads` builds them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from delivery.acts import (
    Act,
    ActStatus,
    ConsentEndNotice,
    Instant,
    JudgeLeave,
    LettreSimple,
    Tombstone,
)
from shared.contracts.consent import ActNature
from shared.contracts.delivery import RejectionReason, ServiceQuality
from shared.jsondoc import JsonObject
from shared.legal_calendar import Territory


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class DepositView(View):
    """What `POST /v1/acts` answers (and answers again for the same key and body)."""

    id: str
    status: ActStatus
    submitted_at: Instant
    scheduled_for: Instant | None
    served_at: Instant | None
    legal_local_time: str | None
    recipient_territory: Territory
    sha256: str
    size: int
    judge_leave_used: bool

    @classmethod
    def of(cls, act: Act) -> DepositView:
        return cls(
            id=act.id,
            status=act.status,
            submitted_at=act.submitted_at,
            scheduled_for=act.scheduled_for,
            served_at=act.served_at,
            legal_local_time=act.legal_local_time,
            recipient_territory=act.recipient_territory,
            sha256=act.sha256,
            size=act.size,
            judge_leave_used=act.judge_leave is not None,
        )


class RecipientActView(View):
    id: str
    status: ActStatus
    nature: ActNature
    title: str
    requester_name: str
    office_name: str
    served_at: Instant | None
    legal_local_time: str | None
    recipient_territory: Territory
    """Whose legal time the portal shows the act's instants in, and names."""
    read: bool
    handed_over_at: Instant | None
    quality: ServiceQuality | None
    size: int
    sha256: str

    @classmethod
    def of(cls, act: Act) -> RecipientActView:
        return cls(
            id=act.id,
            status=act.status,
            nature=act.nature,
            title=act.title,
            requester_name=act.requester_name,
            office_name=act.office_name,
            served_at=act.served_at,
            legal_local_time=act.legal_local_time,
            recipient_territory=act.recipient_territory,
            read=act.handed_over_at is not None,
            handed_over_at=act.handed_over_at,
            quality=act.quality,
            size=act.size,
            sha256=act.sha256,
        )


class Inbox(View):
    items: list[RecipientActView]


class NotificationView(View):
    id: str
    kind: str
    channel: str
    status: str
    at: Instant
    recipient_masked: str


class ReplyRef(View):
    id: str
    received_at: Instant | None


class OfficeActView(DepositView):
    declaration_id: str
    nature: ActNature
    title: str
    requester_name: str
    office_reference: str
    handed_over_at: Instant | None
    quality: ServiceQuality | None
    determined_at: Instant | None
    lettre_simple_due_on: date | None
    lettre_simple: LettreSimple | None
    """The letter as the office declared it posted (`POST /v1/acts/{id}/lettre-simple`)."""
    judge_leave: JudgeLeaveView | None
    rejected_reasons: list[RejectionReason] | None
    served_after_consent_end: ConsentEndNotice | None
    """Served at or after its consent's end, learnt later: when and why it ended."""
    updated_at: Instant | None
    notifications: list[NotificationView]
    replies: list[ReplyRef]


class JudgeLeaveView(View):
    """The judge's leave an act was served on: its fingerprint and the declared order."""

    sha256: str
    size: int
    ordered_on: date | None
    issued_by: str | None

    @classmethod
    def of(cls, leave: JudgeLeave | None) -> JudgeLeaveView | None:
        if leave is None:
            return None
        return cls(
            sha256=leave.sha256,
            size=leave.size,
            ordered_on=leave.order.ordered_on if leave.order else None,
            issued_by=leave.order.issued_by if leave.order else None,
        )


class ErasedReplyRef(View):
    id: str


class TombstoneView(View):
    """What remains of an erased act: ids, fingerprint, dates and quality."""

    id: str
    status: ActStatus
    submitted_at: Instant
    served_at: Instant | None
    handed_over_at: Instant | None
    quality: ServiceQuality | None
    determined_at: Instant | None
    sha256: str
    size: int
    erased_at: Instant
    replies: list[ErasedReplyRef]
    updated_at: Instant | None

    @classmethod
    def of(cls, act: Tombstone) -> TombstoneView:
        return cls(
            id=act.id,
            status=act.status,
            submitted_at=act.submitted_at,
            served_at=act.served_at,
            handed_over_at=act.handed_over_at,
            quality=act.quality,
            determined_at=act.determined_at,
            sha256=act.sha256,
            size=act.size,
            erased_at=act.erased_at,
            replies=[ErasedReplyRef(id=reply_id) for reply_id in act.reply_ids],
            updated_at=act.updated_at,
        )


class ActPage(View):
    items: list[OfficeActView | TombstoneView]
    next_cursor: str | None


class Signature(View):
    alg: str
    kid: str
    value: str


class EvidenceRecord(View):
    """One signed record (its `signature` covers every member but the receipt's three)."""

    format: str
    evidence_id: str
    type: str
    act_id: str
    act_sha256: str | None
    instant: str
    actors: dict[str, str]
    details: JsonObject
    """Free-form by evidence type (ETSI EN 319 522): signed as they are."""
    event_id: str | None
    signature: Signature
    journal_index: int | None
    receipt: str | None
    receipt_reason: str | None
    checkpoint_timestamp: str | None = Field(
        default=None,
        description="base64 RFC 3161 token of the receipt's checkpoint (its log-signed note), "
        "once the TSA gave one: `securact-audit verify-receipt --timestamp` checks it",
    )


class EvidenceSet(View):
    """The act's records in time order, signed as one set (`securact-delivery
    verify-evidence` checks it offline)."""

    format: str
    act_id: str
    act_sha256: str
    generated_at: str
    evidence: list[EvidenceRecord]
    signature: Signature
