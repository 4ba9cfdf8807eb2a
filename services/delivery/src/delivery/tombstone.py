"""What remains of an erased act (`delivery.erasure`): a tombstone, and the objects whose keys
the erasure destroyed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from delivery.stamped import ActStatus, Instant, Record
from shared.contracts.delivery import ServiceQuality

if TYPE_CHECKING:
    from delivery.acts import Act


class ErasedObject(BaseModel):
    """An object whose key an erasure destroyed: which vault (by its keys collection), which
    object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keys: str
    object_id: str


class Tombstone(Record):
    """What remains of an erased act: ids, fingerprint, dates and quality. `office_id` and
    `recipient_account_id` are pseudonymous ids that let the recipient be told "erased" (410)
    rather than "unknown", the office see its tombstone, and a second request list the same
    acts."""

    status: Literal[ActStatus.ERASED] = ActStatus.ERASED
    office_id: str
    recipient_account_id: str
    sha256: str
    size: int
    submitted_at: Instant
    served_at: Instant | None
    handed_over_at: Instant | None
    quality: ServiceQuality | None
    determined_at: Instant | None
    erased_status: ActStatus
    erased_at: Instant
    erasure_id: str
    objects: tuple[ErasedObject, ...]
    reply_ids: tuple[str, ...]
    objects_deleted_at: Instant | None = None

    @classmethod
    def of(
        cls,
        act: Act,
        *,
        erasure_id: str,
        objects: Sequence[ErasedObject],
        reply_ids: Sequence[str],
        at: datetime,
    ) -> Tombstone:
        return cls(
            id=act.id,
            version=act.version,
            office_id=act.office_id,
            recipient_account_id=act.recipient_account_id,
            sha256=act.sha256,
            size=act.size,
            submitted_at=act.submitted_at,
            served_at=act.served_at,
            handed_over_at=act.handed_over_at,
            quality=act.quality,
            determined_at=act.determined_at,
            erased_status=act.status,
            erased_at=at,
            erasure_id=erasure_id,
            objects=tuple(objects),
            reply_ids=tuple(reply_ids),
        )
