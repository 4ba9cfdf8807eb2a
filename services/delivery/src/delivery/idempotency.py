"""Idempotent deposits: an office's `Idempotency-Key` keeps the outcome it answered; the same
key with the same body (metadata and files, by fingerprint) answers it again, with another
body it is refused. Keys are forgotten after the retention (`idempotency_retention_hours`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from delivery.acts import Instant
from delivery.context import Config, Context
from delivery.domain import ActMetadata
from delivery.errors import IdempotencyKeyReused, UploadTooLarge, invalid_submission
from delivery.repository import IDEMPOTENCY
from delivery.views import DepositView
from shared.canonical import canonical_json
from shared.multipart import MultipartError, MultipartReader
from shared.store.port import VERSION, Transaction, to_iso

# The file parts of `POST /v1/acts`, in this order after `metadata`.
LEAVE_PART: Final = "judge_leave"
DOCUMENT_PART: Final = "document"
FORGET_BATCH: Final = 1000


@dataclass(frozen=True)
class Outcome:
    """What `POST /v1/acts` answers: 201 served, 202 scheduled; `replayed` for a repeat."""

    status_code: int
    view: DepositView
    replayed: bool = False


class IdempotencyRecord(BaseModel):
    """A deposit's key (per office) and the outcome it answered."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(alias="_id")
    version: int | None = Field(default=None, alias=VERSION, exclude=True)
    metadata_hash: str
    fingerprint: str
    status_code: int
    body: DepositView
    created_at: Instant

    def outcome(self) -> Outcome:
        return Outcome(self.status_code, self.body, replayed=True)


def fingerprint(metadata: ActMetadata, document_sha: str, leave_sha: str | None) -> str:
    """The request as it counts for idempotency: metadata, the document's and leave's hashes."""
    return hashlib.sha256(
        canonical_json(
            {
                "metadata": metadata.fingerprint_fields(),
                "document": document_sha,
                "judge_leave": leave_sha,
            }
        )
    ).hexdigest()


def metadata_hash(metadata: ActMetadata) -> str:
    return hashlib.sha256(canonical_json(metadata.fingerprint_fields())).hexdigest()


async def replay(
    previous: IdempotencyRecord, metadata: ActMetadata, reader: MultipartReader, config: Config
) -> Outcome:
    """Same key: the original outcome if the body is the same, else a conflict. The files
    are hashed as they stream by, never stored."""
    if previous.metadata_hash != metadata_hash(metadata):
        raise IdempotencyKeyReused
    leave_sha: str | None = None
    document_sha: str | None = None
    try:
        while (part := await reader.next_part()) is not None:
            digest = hashlib.sha256()
            size = 0
            limit = config.max_leave_bytes if part.name == LEAVE_PART else config.max_act_bytes
            async for chunk in reader.chunks():
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(limit)
                digest.update(chunk)
            if part.name == LEAVE_PART:
                leave_sha = digest.hexdigest()
            elif part.name == DOCUMENT_PART:
                document_sha = digest.hexdigest()
            else:
                raise IdempotencyKeyReused
    except MultipartError as error:
        raise invalid_submission(str(error)) from None
    if (
        document_sha is None
        or fingerprint(metadata, document_sha, leave_sha) != previous.fingerprint
    ):
        raise IdempotencyKeyReused
    return previous.outcome()


class IdempotencyKeys:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def get(self, key_id: str) -> IdempotencyRecord | None:
        found = await self.ctx.store.get(IDEMPOTENCY, key_id)
        return None if found is None else IdempotencyRecord.model_validate(found)

    async def keep(self, tx: Transaction, record: IdempotencyRecord) -> None:
        """Kept with the act (same transaction); DuplicateKeyError if the key committed first."""
        await tx.insert(IDEMPOTENCY, record.model_dump(mode="json", by_alias=True))

    async def forget_expired(self) -> int:
        """Housekeeping: keys older than the retention may be reused."""
        ctx = self.ctx
        cutoff = to_iso(ctx.clock.now() - ctx.config.idempotency_retention)
        old = await ctx.store.find(IDEMPOTENCY, {"created_at": {"$lt": cutoff}}, limit=FORGET_BATCH)
        for row in old:
            await ctx.store.delete(IDEMPOTENCY, row["_id"])
        return len(old)
