"""Audit receipts: the proof that an event is in audit's journal, for the evidence that rests on
it (delivery's evidence sets, retention's erasure certificates).

A receipt is a C2SP tlog-proof (index, audit path, signed checkpoint) that lets a third party
check offline that the event is in the journal without trusting the platform. Found over
audit's read API: `GET /v1/entries` (by subject, or by event id) gives each event's index,
`GET /v1/receipts/{index}` its proof (409 until a checkpoint covers it).

Audit being slow, down or behind never fails the caller: an event without a receipt gets the
reason instead, and the evidence says so (never a silent omission).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol

import httpx

__all__ = [
    "AuditReceipts",
    "NoReceipts",
    "Receipt",
    "ReceiptReason",
    "ReceiptSource",
    "RetryPolicy",
]

log = logging.getLogger(__name__)

PAGE: Final = 500
TOKENS_KEPT: Final = 64
MAX_PAGES: Final = 20


class ReceiptReason:
    NOT_JOURNALED = "not-yet-journaled"
    NOT_CHECKPOINTED = "not-yet-checkpointed"
    UNREACHABLE = "audit-unreachable"
    ERROR = "audit-error"
    NO_EVENT = "no-event"
    NOT_CONFIGURED = "no-receipt-source"


# Audit will have these soon: worth asking again while the policy allows.
COMING: Final = frozenset({ReceiptReason.NOT_JOURNALED, ReceiptReason.NOT_CHECKPOINTED})


@dataclass(frozen=True)
class Receipt:
    """The receipt of one event, or why there is none; with the RFC 3161 token of the
    checkpoint it is under once the TSA gave one (base64), which bounds the event's time by a
    third party's."""

    index: int | None
    proof: str | None
    reason: str | None = None
    timestamp: str | None = None


class ReceiptSource(Protocol):
    async def receipts(self, subject: str | None, event_ids: Iterable[str]) -> dict[str, Receipt]:
        """A receipt (or a reason) for each of `event_ids`, looked up among `subject`'s entries
        or, without a subject, by event id; never raises."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """How often to ask again for receipts audit is about to have, and for how long at most."""

    attempts: int = 1
    delay_seconds: float = 0.5
    deadline_seconds: float = 5.0


class NoReceipts:
    """No audit to ask (unit tests, tools): every receipt is missing, and says so."""

    async def receipts(self, subject: str | None, event_ids: Iterable[str]) -> dict[str, Receipt]:
        return {e: Receipt(None, None, ReceiptReason.NOT_CONFIGURED) for e in event_ids}


class AuditReceipts:
    """`ReceiptSource` over the audit service's HTTP API (`http` has audit's base URL)."""

    def __init__(self, http: httpx.AsyncClient, policy: RetryPolicy = RetryPolicy()) -> None:
        self._http = http
        self._policy = policy
        # A checkpoint's token never changes: kept once obtained (a few recent sizes).
        self._tokens: OrderedDict[int, str] = OrderedDict()

    async def receipts(self, subject: str | None, event_ids: Iterable[str]) -> dict[str, Receipt]:
        wanted = list(dict.fromkeys(event_ids))
        found: dict[str, Receipt] = {
            e: Receipt(None, None, ReceiptReason.NOT_JOURNALED) for e in wanted
        }
        indexes: dict[str, int] = {}
        try:
            async with asyncio.timeout(self._policy.deadline_seconds):
                for attempt in range(self._policy.attempts):
                    waiting = [e for e in wanted if found[e].reason in COMING]
                    if not waiting:
                        break
                    if attempt:
                        await asyncio.sleep(self._policy.delay_seconds)
                    unindexed = [e for e in waiting if e not in indexes]
                    if unindexed:
                        indexes.update(await self._indexes(subject, unindexed))
                    fetched = await asyncio.gather(
                        *(self._receipt(indexes.get(e)) for e in waiting)
                    )
                    found.update(zip(waiting, fetched, strict=True))
        except (httpx.HTTPError, TimeoutError, ValueError, KeyError, TypeError) as error:
            reason = (
                ReceiptReason.UNREACHABLE
                if isinstance(error, httpx.TransportError | TimeoutError)
                else ReceiptReason.ERROR
            )
            log.warning("audit receipts unavailable (%s)", type(error).__name__)
            for e in wanted:
                if found[e].reason in COMING:
                    found[e] = Receipt(None, None, reason)
        return found

    async def _indexes(self, subject: str | None, wanted: list[str]) -> dict[str, int]:
        if subject is None:
            looked_up = await asyncio.gather(*(self._index_of(e) for e in wanted))
            return {e: i for e, i in zip(wanted, looked_up, strict=True) if i is not None}
        return await self._indexes_under(subject, set(wanted))

    async def _index_of(self, event_id: str) -> int | None:
        response = await self._http.get("/v1/entries", params={"event_id": event_id, "limit": 1})
        response.raise_for_status()
        entries = response.json()["entries"]
        return int(entries[0]["index"]) if entries else None

    async def _indexes_under(self, subject: str, wanted: set[str]) -> dict[str, int]:
        indexes: dict[str, int] = {}
        after = -1
        for _page in range(MAX_PAGES):
            response = await self._http.get(
                "/v1/entries", params={"subject": subject, "after": after, "limit": PAGE}
            )
            response.raise_for_status()
            body = response.json()
            for entry in body["entries"]:
                if entry["event_id"] in wanted:
                    indexes[str(entry["event_id"])] = int(entry["index"])
            after = body.get("next_after")
            if after is None or len(indexes) == len(wanted):
                break
        return indexes

    async def _receipt(self, index: int | None) -> Receipt:
        if index is None:
            return Receipt(None, None, ReceiptReason.NOT_JOURNALED)
        response = await self._http.get(f"/v1/receipts/{index}")
        if response.status_code == 200:
            return Receipt(index, response.text, timestamp=await self._token(response.text))
        if response.status_code == 409:
            return Receipt(index, None, ReceiptReason.NOT_CHECKPOINTED)
        return Receipt(index, None, ReceiptReason.ERROR)

    async def _token(self, receipt: str) -> str | None:
        """The RFC 3161 token of the receipt's checkpoint, None until the TSA gave one (or
        when the receipt names no checkpoint size)."""
        note = receipt.partition("\n\n")[2].split("\n")
        if len(note) < 2 or not note[1].isdigit():
            return None
        size = int(note[1])
        if size in self._tokens:
            return self._tokens[size]
        response = await self._http.get(f"/v1/checkpoints/{size}/timestamp")
        if response.status_code != 200:
            return None
        token = base64.b64encode(response.content).decode("ascii")
        self._tokens[size] = token
        while len(self._tokens) > TOKENS_KEPT:
            self._tokens.popitem(last=False)
        return token
