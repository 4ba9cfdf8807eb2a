"""Consent's stored records besides the `Declaration` aggregate (consent.declarations): the
proofs' metadata, the person's restriction requests, the registry's consultations and lookup
windows, and the office registering; the `Record` base they share. Instants are stored as
`to_iso` strings, so that the store's string order is time order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from consent.domain import DocumentType
from shared.contracts.consent import (
    ConsulterRole,
    RestrictionAnsweredV1,
    RestrictionKind,
    RestrictionOutcome,
)
from shared.documents import MediaType
from shared.store.port import VERSION, Document, from_iso, to_iso


def _instant(value: Any) -> Any:
    return from_iso(value) if isinstance(value, str) else value


Instant = Annotated[
    datetime, BeforeValidator(_instant), PlainSerializer(to_iso, return_type=str, when_used="json")
]
"""An aware instant, stored as a fixed-width `to_iso` string."""


class Record(BaseModel):
    """A stored record: `_id`, the version it was read at, when it last changed."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    # Members stored as null rather than left out when empty (queries and readers rely on it).
    KEPT_NULLS: ClassVar[frozenset[str]] = frozenset()

    id: str = Field(alias="_id")
    version: int | None = Field(default=None, alias=VERSION, exclude=True)
    """The store's version when read (None before the first insert)."""
    updated_at: Instant | None = None

    def document(self) -> Document:
        """The stored form (without `_version`: the repository passes it to the store)."""
        dumped = self.model_dump(mode="json", by_alias=True)
        return {k: v for k, v in dumped.items() if v is not None or k in self.KEPT_NULLS}


# -- proofs ---------------------------------------------------------------------------------


class Proof(Record):
    """A proof file's metadata (the file is in the vault). Once shredded, its type and dates
    stay; its fingerprint goes with the content."""

    declaration_id: str
    type: DocumentType
    issued_on: date | None = None
    media_type: MediaType | None = None
    size: int | None = None
    sha256: str | None = None
    received_at: Instant
    shredded_at: Instant | None = None

    def shredded(self, at: datetime) -> Proof:
        return self.model_copy(
            update={
                "issued_on": None,
                "media_type": None,
                "size": None,
                "sha256": None,
                "shredded_at": at,
            }
        )


# -- restriction and objection requests -----------------------------------------------------


class RequestState(StrEnum):
    OPEN = "open"
    GRANTED = "granted"
    REFUSED = "refused"


class RestrictionRequest(Record):
    """A person's restriction (GDPR art. 18) or objection (art. 21) request and its answer."""

    declaration_id: str
    account_id: str
    kind: RestrictionKind
    text: str
    requested_at: Instant
    state: RequestState = RequestState.OPEN
    reason: str | None = None
    answered_at: Instant | None = None
    answered_by: str | None = None

    def answer(
        self, outcome: RestrictionOutcome, reason: str, operator: str, at: datetime
    ) -> tuple[RestrictionRequest, RestrictionAnsweredV1]:
        """The operator's final answer; the reason goes to the person, not into the event."""
        answered = self.model_copy(
            update={
                "state": RequestState(outcome.value),
                "reason": reason,
                "answered_at": at,
                "answered_by": operator,
            }
        )
        return answered, RestrictionAnsweredV1(
            request_id=self.id,
            declaration_id=self.declaration_id,
            account_id=self.account_id,
            kind=self.kind,
            outcome=outcome,
            answered_at=at,
        )


# -- the registry's consultations -----------------------------------------------------------


class Consultation(Record):
    """One registry lookup (shown to the person in the export)."""

    KEPT_NULLS: ClassVar[frozenset[str]] = frozenset({"declaration_id", "office_id"})

    declaration_id: str | None
    consulter_role: ConsulterRole
    office_id: str | None
    purpose: str
    consulted_at: Instant


class LookupWindow(Record):
    """The instants of one consulter's recent lookups (`_id`: the consulter's actor)."""

    at: tuple[Instant, ...] = ()


@dataclass(frozen=True)
class Office:
    """The office client registering a declaration."""

    office_id: str
    subject: str
