"""Rectification requests (GDPR art. 16): the holder writes what is wrong, an operator
answers (rectified or refused, with reasons the holder reads). The texts stay in identity's
store; events carry ids and the outcome only."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from identity import errors
from identity.records import ACCOUNTS, RECTIFICATIONS, Context, account_subject, iso, put
from shared.contracts.identity import (
    RectificationAnsweredV1,
    RectificationOutcome,
    RectificationRequestedV1,
)
from shared.ids import new_id
from shared.store.port import Document, from_iso

MAX_RECTIFICATION_TEXT = 2000


class RectificationRequest(BaseModel):
    request_id: str
    account_id: str
    text: str
    requested_at: datetime
    outcome: RectificationOutcome | None = None
    reason: str | None = None
    answered_at: datetime | None = None


def _view(row: Document) -> RectificationRequest:
    return RectificationRequest(
        request_id=row["_id"],
        account_id=row["account_id"],
        text=row["text"],
        requested_at=from_iso(row["requested_at"]),
        outcome=row.get("outcome"),
        reason=row.get("reason"),
        answered_at=from_iso(row["answered_at"]) if row.get("answered_at") else None,
    )


class Rectifications:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def request(self, account_id: str, text: str) -> RectificationRequest:
        ctx = self._ctx
        text = errors.bounded_text(
            text,
            MAX_RECTIFICATION_TEXT,
            code="rectification-text-invalid",
            detail=f"Say what to rectify in 1 to {MAX_RECTIFICATION_TEXT} characters.",
        )
        now = ctx.clock.now()
        request_id = new_id(now)
        async with ctx.outbox.transaction() as tx:
            if await tx.get(ACCOUNTS, account_id) is None:
                raise errors.not_found("account")
            row = {
                "_id": request_id,
                "account_id": account_id,
                "text": text,
                "requested_at": iso(now),
                "answered_at": None,
            }
            await tx.insert(RECTIFICATIONS, row)
            await ctx.emit(
                tx,
                RectificationRequestedV1(account_id=account_id, request_id=request_id),
                subject=account_subject(account_id),
                actor=account_subject(account_id),
            )
        return _view(row)

    async def of_account(self, account_id: str) -> list[RectificationRequest]:
        rows = await self._ctx.store.find(
            RECTIFICATIONS, {"account_id": account_id}, sort=[("requested_at", 1)], limit=200
        )
        return [_view(row) for row in rows]

    async def pending(self, limit: int = 100) -> list[RectificationRequest]:
        """Requests not answered yet, the oldest first, for operators."""
        rows = await self._ctx.store.find(
            RECTIFICATIONS, {"answered_at": None}, sort=[("requested_at", 1)], limit=limit
        )
        return [_view(row) for row in rows]

    async def answer(
        self, request_id: str, outcome: RectificationOutcome, reason: str, *, operator: str
    ) -> RectificationRequest:
        """An operator's final answer; a second answer is refused (409)."""
        ctx = self._ctx
        async with ctx.outbox.transaction() as tx:
            row = await tx.get(RECTIFICATIONS, request_id)
            if row is None:
                raise errors.not_found("rectification-request")
            if row.get("answered_at"):
                raise errors.IdentityError(
                    409, "rectification-already-answered", "This request is already answered."
                )
            row = await put(
                tx,
                RECTIFICATIONS,
                {
                    **row,
                    "outcome": outcome.value,
                    "reason": reason.strip() or None,
                    "answered_at": iso(ctx.clock.now()),
                },
            )
            await ctx.emit(
                tx,
                RectificationAnsweredV1(
                    account_id=row["account_id"], request_id=request_id, outcome=outcome
                ),
                subject=account_subject(row["account_id"]),
                actor=f"operator:{operator}",
            )
        return _view(row)
