"""Delivery's reads: what each party may see of its acts (an act that is not theirs is 404, as if
it did not exist; an erased one 410), the office's acts by last change, and the signed evidence
set with its audit receipts. The shapes returned are `delivery.views`."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Final

from delivery.acts import Act, ActStatus, StoredAct, Tombstone
from delivery.context import Context
from delivery.errors import ActErased, ActNotFound, InvalidRequest
from delivery.evidence import EVIDENCE, EvidenceType
from delivery.receipts import Receipt, ReceiptReason
from delivery.replies import ErasedReply, replies_of
from delivery.repository import NOTIFICATIONS
from delivery.views import (
    ActPage,
    DepositView,
    EvidenceSet,
    Inbox,
    JudgeLeaveView,
    NotificationView,
    OfficeActView,
    RecipientActView,
    ReplyRef,
    TombstoneView,
)
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
