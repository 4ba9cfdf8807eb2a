"""Audit receipts for evidence (issue 8 item 7): each evidence record rests on an event the
audit service journaled; its receipt (a C2SP tlog-proof: index, audit path, signed checkpoint)
lets a third party check that the event is in the journal without trusting the platform.

Found over audit's read API: `GET /v1/entries?subject=act:<id>` maps event ids to journal
indexes, `GET /v1/receipts/{index}` gives the proof (409 until a checkpoint covers it). Audit
being slow, down or behind never fails an evidence request: the record then carries
`receipt: null` and the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol

import httpx

log = logging.getLogger(__name__)

PAGE: Final = 500
MAX_PAGES: Final = 20


class ReceiptReason:
    NOT_JOURNALED = "not-yet-journaled"
    NOT_CHECKPOINTED = "not-yet-checkpointed"
    UNREACHABLE = "audit-unreachable"
    ERROR = "audit-error"
    NO_EVENT = "no-event"


@dataclass(frozen=True)
class Receipt:
    """The receipt of one event, or why there is none."""

    index: int | None
    proof: str | None
    reason: str | None = None


class ReceiptSource(Protocol):
    async def receipts(self, subject: str, event_ids: Iterable[str]) -> dict[str, Receipt]:
        """A receipt (or a reason) for each of `event_ids` of `subject`; never raises."""
        ...


class AuditReceipts:
    """`ReceiptSource` over the audit service's HTTP API (`http` has audit's base URL)."""

    def __init__(self, http: httpx.AsyncClient, *, deadline_seconds: float = 5.0) -> None:
        self._http = http
        self._deadline = deadline_seconds

    async def receipts(self, subject: str, event_ids: Iterable[str]) -> dict[str, Receipt]:
        wanted = set(event_ids)
        if not wanted:
            return {}
        try:
            async with asyncio.timeout(self._deadline):
                indexes = await self._indexes(subject, wanted)
                found = await asyncio.gather(*(self._receipt(index) for index in indexes.values()))
        except (httpx.HTTPError, TimeoutError, ValueError, KeyError) as error:
            log.warning("audit receipts unavailable for %s: %s", subject, type(error).__name__)
            return {e: Receipt(None, None, ReceiptReason.UNREACHABLE) for e in wanted}
        by_event = dict(zip(indexes, found, strict=True))
        return {
            event_id: by_event.get(event_id, Receipt(None, None, ReceiptReason.NOT_JOURNALED))
            for event_id in wanted
        }

    async def _indexes(self, subject: str, wanted: set[str]) -> dict[str, int]:
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

    async def _receipt(self, index: int) -> Receipt:
        response = await self._http.get(f"/v1/receipts/{index}")
        if response.status_code == 200:
            return Receipt(index, response.text)
        if response.status_code == 409:
            return Receipt(index, None, ReceiptReason.NOT_CHECKPOINTED)
        return Receipt(index, None, ReceiptReason.ERROR)
