"""The certificate's view of audit's receipts (`shared.receipts`): those found and those missing
with the reason, together naming every confirmation event — never a silent omission. The event
ids stay in the certificate's steps, so a missing receipt can be fetched later from audit."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from shared.receipts import Receipt as AuditReceipt
from shared.receipts import ReceiptReason, ReceiptSource

log = logging.getLogger(__name__)


class Receipt(TypedDict):
    """A journaled event's receipt: its index in audit's log and its tlog-proof."""

    event_id: str
    index: int
    proof: str


class MissingReceipt(TypedDict):
    event_id: str
    reason: str


@dataclass(frozen=True)
class ReceiptSet:
    """Receipts found and the ones missing: together they name every event asked for."""

    found: list[Receipt] = field(default_factory=list)
    missing: list[MissingReceipt] = field(default_factory=list)


UNANSWERED = AuditReceipt(None, None, ReceiptReason.ERROR)


async def receipt_set(source: ReceiptSource, event_ids: Sequence[str]) -> ReceiptSet:
    """The receipts of `event_ids` (looked up by event id: confirmations come from several
    services, under several subjects)."""
    answers = await source.receipts(None, event_ids)
    result = ReceiptSet()
    for event_id in event_ids:
        answer = answers.get(event_id, UNANSWERED)
        if answer.proof is not None and answer.index is not None:
            result.found.append(Receipt(event_id=event_id, index=answer.index, proof=answer.proof))
        else:
            reason = answer.reason or ReceiptReason.ERROR
            result.missing.append(MissingReceipt(event_id=event_id, reason=reason))
    if result.missing:
        log.warning(
            "%d of %d audit receipt(s) missing: %s",
            len(result.missing),
            len(event_ids),
            ", ".join(sorted({m["reason"] for m in result.missing})),
        )
    return result
