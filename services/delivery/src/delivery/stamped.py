"""How delivery's acts are stored: their status, instants kept as fixed-width `to_iso` strings
(so that the store's string order is time order), the id and the version a record was read at,
and its last change (`updated_at`, `cursor`: an office's acts by last change, then id)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from shared.store.port import VERSION, Document, from_iso, to_iso


class ActStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    """Accepted for a suspended account: waits for its reinstatement (`delivery.scheduling`)."""
    SERVED = "served"
    REJECTED = "rejected"
    ERASED = "erased"
    """A tombstone: the account's acts were crypto-shredded (`delivery.erasure`)."""


def _instant(value: Any) -> Any:
    return from_iso(value) if isinstance(value, str) else value


Instant = Annotated[
    datetime, BeforeValidator(_instant), PlainSerializer(to_iso, return_type=str, when_used="json")
]
"""An aware instant, stored as a fixed-width `to_iso` string."""


class Record(BaseModel):
    """A stored record of delivery's: its id and the version it was read at, its last change."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(alias="_id")
    version: int | None = Field(default=None, alias=VERSION, exclude=True)
    """The store's version when read (None before the first insert)."""
    updated_at: Instant | None = None
    cursor: str | None = None

    def document(self) -> Document:
        """The stored form (without `_version`: the repository passes it to the store)."""
        return self.model_dump(mode="json", by_alias=True)
