"""Audit receipts of an erasure's confirmation events, for the certificate (issue 9 item 4).

Each confirmation (delivery's, audit's, identity's…) is an event audit journals. Its receipt
is a C2SP tlog-proof (index, audit path, signed checkpoint) that lets anyone check offline
that the event is in the journal. Found over audit's read API: `GET /v1/entries?event_id=`
gives the entry's index, `GET /v1/receipts/{index}` its proof — 409 until a checkpoint covers
it.

A certificate is never held back forever by audit: each receipt is retried a few times with a
short delay, then the certificate is issued with the receipts found and **lists the missing
ones explicitly** with the reason (never a silent omission). The event ids stay in the
certificate's steps, so a receipt can be fetched later from audit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, TypedDict

import httpx

log = logging.getLogger(__name__)

NOT_JOURNALED: Final = "not-yet-journaled"
NOT_CHECKPOINTED: Final = "not-yet-checkpointed"
UNREACHABLE: Final = "audit-unreachable"
AUDIT_ERROR: Final = "audit-error"
NOT_CONFIGURED: Final = "no-receipt-source"


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


class ReceiptSource(Protocol):
    """Audit receipts (signed inclusion proofs) of journaled events."""

    async def receipts(self, event_ids: Sequence[str]) -> ReceiptSet:
        """A receipt or a reason for each of `event_ids`; never raises, never blocks for long."""
        ...


class NoReceipts:
    """No audit to ask (unit tests, tools): every receipt is listed as missing."""

    async def receipts(self, event_ids: Sequence[str]) -> ReceiptSet:
        return ReceiptSet(
            missing=[MissingReceipt(event_id=e, reason=NOT_CONFIGURED) for e in event_ids]
        )


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    delay_seconds: float = 0.5
    deadline_seconds: float = 10.0


class _NotYetError(Exception):
    """The entry is not journaled or not checkpointed yet: worth another attempt."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuditReceipts:
    """`ReceiptSource` over the audit service's HTTP API (`http` has audit's base URL)."""

    def __init__(self, http: httpx.AsyncClient, policy: RetryPolicy = RetryPolicy()) -> None:
        self._http = http
        self._policy = policy

    async def receipts(self, event_ids: Sequence[str]) -> ReceiptSet:
        outcomes = await asyncio.gather(*(self._one(event_id) for event_id in event_ids))
        result = ReceiptSet()
        for event_id, outcome in zip(event_ids, outcomes, strict=True):
            if isinstance(outcome, str):
                result.missing.append(MissingReceipt(event_id=event_id, reason=outcome))
            else:
                result.found.append(outcome)
        if result.missing:
            log.warning(
                "%d of %d audit receipt(s) missing: %s",
                len(result.missing),
                len(event_ids),
                ", ".join(sorted({m["reason"] for m in result.missing})),
            )
        return result

    async def _one(self, event_id: str) -> Receipt | str:
        """The receipt, or the reason it is missing after the last attempt."""
        reason = NOT_JOURNALED
        index: int | None = None
        try:
            async with asyncio.timeout(self._policy.deadline_seconds):
                for attempt in range(self._policy.attempts):
                    if attempt:
                        await asyncio.sleep(self._policy.delay_seconds)
                    try:
                        if index is None:
                            index = await self._index(event_id)
                        proof = await self._proof(index)
                    except _NotYetError as not_yet:
                        reason = not_yet.reason
                        continue
                    return Receipt(event_id=event_id, index=index, proof=proof)
        except TimeoutError:
            return UNREACHABLE
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            log.warning("audit receipt unavailable: %s", type(error).__name__)
            return UNREACHABLE if isinstance(error, httpx.TransportError) else AUDIT_ERROR
        return reason

    async def _index(self, event_id: str) -> int:
        response = await self._http.get("/v1/entries", params={"event_id": event_id, "limit": 1})
        response.raise_for_status()
        entries = response.json()["entries"]
        if not entries:
            raise _NotYetError(NOT_JOURNALED)
        return int(entries[0]["index"])

    async def _proof(self, index: int) -> str:
        response = await self._http.get(f"/v1/receipts/{index}")
        if response.status_code == 409:
            raise _NotYetError(NOT_CHECKPOINTED)
        response.raise_for_status()
        return response.text
