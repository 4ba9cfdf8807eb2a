"""A judge's leave (CPC 664) deposited with an act: its order checked, and the leave bound to
the office whose acts it authorises (one leave never authorises two offices' acts)."""

from __future__ import annotations

from datetime import datetime

from delivery.acts import Act
from delivery.domain import ActMetadata
from delivery.errors import JudgeLeaveAlreadyUsed, invalid_submission
from delivery.offices import Office
from delivery.repository import JUDGE_LEAVES
from shared.legal_calendar import legal_date
from shared.store.port import DocumentReader, Transaction, to_iso, version_of, without_meta


def check_order(metadata: ActMetadata, office: Office, now: datetime) -> None:
    """A judge's leave comes with the order's date and author (CPC 664): what the act's
    evidence shows of it."""
    order = metadata.judge_leave
    if order is None:
        raise invalid_submission(
            "a `judge_leave` file needs `judge_leave` in the metadata: the order's date "
            "(`ordered_on`) and the court or judge that gave it (`issued_by`)"
        )
    if order.ordered_on > legal_date(now, office.territory):
        raise invalid_submission("the judge's leave is dated after today")


async def bound_elsewhere(reader: DocumentReader, office: Office, sha256: str) -> bool:
    """Whether the leave of that digest already authorised another office's act."""
    bound = await reader.get(JUDGE_LEAVES, sha256)
    return bound is not None and bound["office_id"] != office.office_id


async def bind_leave(tx: Transaction, office: Office, act: Act, now: datetime) -> None:
    """Record, with the act, which office and act the leave authorised."""
    assert act.judge_leave is not None
    sha256 = act.judge_leave.sha256
    bound = await tx.get(JUDGE_LEAVES, sha256)
    if bound is None:
        await tx.insert(
            JUDGE_LEAVES,
            {
                "_id": sha256,
                "office_id": office.office_id,
                "act_ids": [act.id],
                "first_used_at": to_iso(now),
            },
        )
        return
    if bound["office_id"] != office.office_id:
        raise JudgeLeaveAlreadyUsed
    changed = without_meta(bound)
    changed["act_ids"] = [*bound["act_ids"], act.id]
    await tx.replace(JUDGE_LEAVES, changed, expected_version=version_of(bound))
