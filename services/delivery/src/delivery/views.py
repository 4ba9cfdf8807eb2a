"""What each party sees of its acts: the recipient's inbox and acts, the office's acts (by last
change, for polling) with their notifications and replies, an erased act's tombstone, and the
signed evidence set with its audit receipts. The views are typed: they are the API's response
models too."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from delivery.acts import (
    Act,
    ActStatus,
    ConsentEndNotice,
    Instant,
    JudgeLeave,
    LettreSimple,
    StoredAct,
    Tombstone,
)
from delivery.context import Context
from delivery.errors import ActErased, ActNotFound, InvalidRequest
from delivery.evidence import EVIDENCE, EvidenceType
from delivery.receipts import Receipt, ReceiptReason
from delivery.replies import ErasedReply, replies_of
from delivery.repository import NOTIFICATIONS
from shared.contracts.consent import ActNature
from shared.contracts.delivery import RejectionReason, ServiceQuality
from shared.legal_calendar import Territory
from shared.store.port import to_iso

# Records made at the same instant are listed in the order the steps happen.
_LIFECYCLE_ORDER: Final = {
    kind.value: rank
    for rank, kind in enumerate(
        (
            EvidenceType.SUBMISSION_ACCEPTANCE,
            EvidenceType.SUBMISSION_REJECTION,
            EvidenceType.CONTENT_CONSIGNMENT,
            EvidenceType.CONSIGNMENT_NOTIFICATION,
            EvidenceType.CONSIGNMENT_NOTIFICATION_FAILURE,
            EvidenceType.CONTENT_HANDOVER,
            EvidenceType.QUALITY_DETERMINATION,
            EvidenceType.LETTRE_SIMPLE_TASK_ISSUED,
            EvidenceType.RELAY_TO_NON_ERDS,
            EvidenceType.REPLY_RECEIVED,
            EvidenceType.SERVED_AFTER_CONSENT_END,
        )
    )
}


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
    details: dict[str, Any]
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


def _encode_cursor(cursor: str | None) -> str | None:
    return base64.urlsafe_b64encode(cursor.encode()).decode() if cursor else None


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("Invalid cursor", "the cursor is not one this API gave") from None


class Views:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- recipient -----------------------------------------------------------------------------

    async def inbox(self, account_id: str) -> Inbox:
        """The recipient's served acts, newest first."""
        acts = await self.ctx.acts.find(
            {"recipient_account_id": account_id, "status": ActStatus.SERVED.value},
            sort=[("served_at", -1)],
        )
        return Inbox(items=[RecipientActView.of(act) for act in acts if isinstance(act, Act)])

    async def recipient_act(self, account_id: str, act_id: str) -> Act:
        """The recipient's own served act (410 once erased); any other act is 404."""
        act = await self.ctx.acts.get(act_id)
        if act is None or act.recipient_account_id != account_id:
            raise ActNotFound
        if isinstance(act, Tombstone) and act.served_at is not None:
            raise ActErased(act.id, to_iso(act.erased_at))
        if not isinstance(act, Act) or act.status != ActStatus.SERVED:
            raise ActNotFound
        return act

    # -- office --------------------------------------------------------------------------------

    async def office_act(self, office_id: str, act_id: str) -> StoredAct:
        """The office's own act; any other act is 404, as if it did not exist."""
        act = await self.ctx.acts.get(act_id)
        if act is None or act.office_id != office_id:
            raise ActNotFound
        return act

    async def office_view(self, act: StoredAct) -> OfficeActView | TombstoneView:
        if isinstance(act, Tombstone):
            return TombstoneView.of(act)
        store = self.ctx.store
        notifications = await store.find(NOTIFICATIONS, {"act_id": act.id}, sort=[("at", 1)])
        replies = await replies_of(store, act.id)
        deposit = DepositView.of(act).model_dump()
        return OfficeActView(
            **deposit,
            declaration_id=act.declaration_id,
            nature=act.nature,
            title=act.title,
            requester_name=act.requester_name,
            office_reference=act.office_reference,
            handed_over_at=act.handed_over_at,
            quality=act.quality,
            determined_at=act.determined_at,
            lettre_simple_due_on=act.lettre_simple_due_on,
            lettre_simple=act.lettre_simple,
            judge_leave=JudgeLeaveView.of(act.judge_leave),
            rejected_reasons=list(act.rejected_reasons)
            if act.rejected_reasons is not None
            else None,
            served_after_consent_end=act.served_after_consent_end,
            updated_at=act.updated_at,
            notifications=[
                NotificationView.model_validate({**n, "id": n["_id"]}) for n in notifications
            ],
            replies=[
                ReplyRef(id=r.id, received_at=None if isinstance(r, ErasedReply) else r.received_at)
                for r in replies
            ],
        )

    async def office_acts(
        self,
        office_id: str,
        *,
        since: datetime | None,
        status: str | None,
        cursor: str | None,
        limit: int,
    ) -> ActPage:
        """An office's acts by last change (`updated_at`, then id), from `since` or after
        `cursor` (opaque: a page's `next_cursor`); a page and the cursor of the next one (None
        at the end)."""
        statuses = sorted(s.value for s in ActStatus)
        if status is not None and status not in statuses:
            raise InvalidRequest("Invalid status", f"one of {statuses}")
        if since is not None and since.tzinfo is None:
            raise InvalidRequest("Invalid since", "give a time zone (e.g. Z)")
        where: dict[str, object] = {"office_id": office_id}
        if status is not None:
            where["status"] = status
        if cursor:
            where["cursor"] = {"$gt": _decode_cursor(cursor)}
        elif since is not None:
            where["cursor"] = {"$gte": to_iso(since)}
        rows = await self.ctx.acts.find(where, sort=[("cursor", 1)], limit=limit + 1)
        page = rows[:limit]
        last = page[-1].cursor if len(rows) > limit else None
        return ActPage(
            items=[await self.office_view(act) for act in page], next_cursor=_encode_cursor(last)
        )

    # -- evidence ------------------------------------------------------------------------------

    async def evidence_set(self, act: StoredAct) -> EvidenceSet:
        """The act's signed evidence set; each record carries the audit receipt of the event
        it rests on (`receipt`, `journal_index`) or `receipt: null` and `receipt_reason`."""
        ctx = self.ctx
        rows = await ctx.store.find(EVIDENCE, {"act_id": act.id}, sort=[("instant", 1)])
        records = sorted(
            (row["record"] for row in rows),
            key=lambda r: (r["instant"], _LIFECYCLE_ORDER.get(r["type"], 99)),
        )
        receipts: dict[str, Receipt] = {}
        if ctx.receipts is not None:
            receipts = await ctx.receipts.receipts(
                f"act:{act.id}", {r["event_id"] for r in records if r.get("event_id")}
            )
        unconfigured = Receipt(None, None, ReceiptReason.UNREACHABLE)
        with_receipts = []
        for record in records:
            event_id = record.get("event_id")
            found = (
                receipts.get(event_id, unconfigured)
                if event_id
                else Receipt(None, None, ReceiptReason.NO_EVENT)
            )
            with_receipts.append(
                {
                    **record,
                    "journal_index": found.index,
                    "receipt": found.proof,
                    "receipt_reason": found.reason,
                    "checkpoint_timestamp": found.timestamp,
                }
            )
        signed = await ctx.signer.evidence_set(act.id, act.sha256, with_receipts, ctx.clock.now())
        return EvidenceSet.model_validate(signed)
