"""Retention's records as typed values: what each collection holds, listed once.

Each record reads and writes retention's stored format (instants as `to_iso` strings, the
store's `_id` and `_version`). State changes are methods that return the new value (records are
frozen) and the events the change causes (`Outgoing`), which the use case emits with the write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)

from retention.domain import ConsentEnd, Purpose
from shared.contracts.envelope import EventPayload
from shared.contracts.retention import (
    CertificateUndeliverableV1,
    ErasureCertificateIssuedV2,
    ErasureCertifiedV1,
    HoldLiftedV1,
    HoldPlacedV1,
    TermsEffectiveV1,
)
from shared.crypto import WrappedDek
from shared.store.port import VERSION, Document, from_iso, to_iso


def absent(value: object) -> bool:
    """A field written only once known (older documents, and new ones until then, lack it)."""
    return value is None


def _stored_instant(value: object) -> object:
    return from_iso(value) if isinstance(value, str) else value


# An instant as the store keeps it: fixed-width UTC text, so that text order is time order.
Instant = Annotated[
    AwareDatetime, BeforeValidator(_stored_instant), PlainSerializer(to_iso, return_type=str)
]


@dataclass(frozen=True)
class Outgoing:
    """An event a state change causes, and the audit subject it is journaled under."""

    payload: EventPayload
    subject: str


class Record(BaseModel):
    """A frozen part of a stored document."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)


class Stored(Record):
    """A document of one of retention's collections: its id, and the store's version once
    read (None for a record not stored yet)."""

    id: str = Field(alias="_id")
    version: int | None = Field(default=None, alias=VERSION, exclude=True)
    updated_at: Instant | None = None

    @classmethod
    def from_document(cls, document: Mapping[str, object]) -> Self:
        return cls.model_validate(document)

    def document(self) -> Document:
        """The document to write (without `_version`: the store manages it)."""
        return self.model_dump(mode="json", by_alias=True)


# -- schedules ----------------------------------------------------------------------------------


class ScheduleState(StrEnum):
    PENDING = "pending"
    FIRED = "fired"


class AccountErasureData(Record):
    account_id: str
    declaration_id: str | None
    terminated_at: Instant


class RegistryPurgeData(Record):
    account_id: str | None
    declaration_id: str
    # When the consent ended, whatever the way (the purge request's `revoked_at`).
    revoked_at: Instant
    # Schedules written before other ends than a revocation counted have none: revocations.
    ended_by: ConsentEnd = ConsentEnd.REVOCATION


class TermsEffectiveData(Record):
    terms_version: int
    content_hash: str
    effective_at: Instant


ScheduleData = AccountErasureData | RegistryPurgeData | TermsEffectiveData
DATA_OF: Mapping[Purpose, type[ScheduleData]] = {
    Purpose.ACCOUNT_ERASURE: AccountErasureData,
    Purpose.REGISTRY_PURGE: RegistryPurgeData,
    Purpose.TERMS_EFFECTIVE: TermsEffectiveData,
}


class Schedule(Stored):
    """One per (subject, purpose); `held` mirrors the holds on its subject and related one."""

    subject: str
    related_subject: str | None
    purpose: Purpose
    due_at: Instant
    state: ScheduleState
    held: bool
    data: ScheduleData
    created_at: Instant
    fired_at: Instant | None = Field(default=None, exclude_if=absent)
    trace: dict[str, str] | None = Field(default=None, exclude_if=absent)
    """The W3C context of the event that scheduled it: the firing links to that trace."""

    @field_validator("data", mode="before")
    @classmethod
    def _data_of_purpose(cls, value: Any, info: ValidationInfo) -> Any:
        # The purpose says which shape `data` has (they are not told apart by their fields).
        purpose = info.data.get("purpose")
        if isinstance(value, Mapping) and purpose is not None:
            return DATA_OF[Purpose(purpose)].model_validate(value)
        return value

    def fire(self, now: datetime) -> tuple[Self, list[Outgoing]]:
        """Claimed (pending → fired). Terms announce their version in force; an erasure's
        requests come with the erasure it starts (`Erasure.start`)."""
        fired = self.model_copy(update={"state": ScheduleState.FIRED, "fired_at": now})
        if isinstance(self.data, TermsEffectiveData):
            effective = TermsEffectiveV1(
                terms_version=self.data.terms_version,
                content_hash=self.data.content_hash,
                effective_at=self.data.effective_at,
            )
            return fired, [Outgoing(effective, self.subject)]
        return fired, []

    def with_held(self, held: bool) -> Self:
        return self.model_copy(update={"held": held})

    def brought_forward(self, due: datetime) -> Self | None:
        """Due at `due` instead, when still pending and due later; None when nothing changes
        (fired already, or due earlier)."""
        if self.state is not ScheduleState.PENDING or self.due_at <= due:
            return None
        return self.model_copy(update={"due_at": due})

    @property
    def subjects(self) -> list[str]:
        """The subjects whose holds hold this schedule."""
        return [s for s in (self.subject, self.related_subject) if s]


# -- holds --------------------------------------------------------------------------------------


class Hold(Stored):
    """One judicial request; its subject is held while any of its holds remains."""

    subject: str
    reference: str
    placed_by: str
    placed_at: Instant

    @classmethod
    def place(
        cls, hold_id: str, subject: str, reference: str, operator: str, now: datetime
    ) -> tuple[Self, list[Outgoing]]:
        hold = cls(
            id=hold_id, subject=subject, reference=reference, placed_by=operator, placed_at=now
        )
        placed = HoldPlacedV1(
            hold_subject=subject,
            reference=reference,
            placed_by=operator,
            placed_at=now,
            hold_id=hold_id,
        )
        return hold, [Outgoing(placed, f"hold:{subject}")]

    def lift(self, operator: str, now: datetime) -> list[Outgoing]:
        lifted = HoldLiftedV1(
            hold_subject=self.subject, lifted_by=operator, lifted_at=now, hold_id=self.id
        )
        return [Outgoing(lifted, f"hold:{self.subject}")]


# -- what the certificate needs, captured before any purge ------------------------------------


class Contact(Stored):
    """`account:<id>` or `declaration:<id>`: the e-mail address, and the account's declaration
    (or the declaration's account: a consent that expires names no account)."""

    email: str | None = None
    declaration_id: str | None = None
    account_id: str | None = Field(default=None, exclude_if=absent)

    def merged(
        self,
        email: str | None = None,
        declaration_id: str | None = None,
        account_id: str | None = None,
    ) -> Self:
        """Known values are kept unless a new one is given (never erased by an absent one)."""
        return self.model_copy(
            update={
                "email": self.email if email is None else email,
                "declaration_id": self.declaration_id if declaration_id is None else declaration_id,
                "account_id": self.account_id if account_id is None else account_id,
            }
        )


class Lookup(Stored):
    """A registry lookup (its consultation id) that found a declaration: its audit subject
    names the declaration, so it is shredded with it."""

    declaration_id: str


class ServedAct(Stored):
    """An act served to an account: id, fingerprint and date, never its content."""

    account_id: str
    sha256: str | None
    served_at: Instant


# -- certificates -------------------------------------------------------------------------------


class StoredFile(Record):
    """One certificate file, encrypted in the object store under its own DEK (wrapped here)."""

    wrapped: WrappedDek
    size: int


class SealedToken(Record):
    """The download token sealed under its own DEK (wrapped by the KEK, bound to the
    certificate's id): only retention opens it, to answer notify the link (`download_links`)."""

    wrapped: WrappedDek
    nonce: str = Field(description="base64")
    ciphertext: str = Field(description="base64, AES-256-GCM")


class Certificate(Stored):
    """An issued certificate: one per erasure. The download token is checked against its hash;
    its only other copy is sealed (`sealed_token`), for notify to fetch the link when it sends
    the e-mail (certificates issued before that have none: their link went in the event)."""

    erasure_id: str
    account_id: str
    fingerprint: str
    pdf_sha256: str
    key_id: str
    token_sha256: str
    files: dict[str, StoredFile]
    issued_at: Instant
    sealed_token: SealedToken | None = None

    def announcements(self, email: str | None) -> list[Outgoing]:
        """The certificate to the person (or, without an address, the alert that it cannot
        go), and its fingerprints on record under the erasure's own subject: the account's
        subject is shredded in audit by now, the erasure's stays readable for good."""
        subject = f"account:{self.account_id}"
        to_person: EventPayload
        if email is None:
            to_person = CertificateUndeliverableV1(
                account_id=self.account_id,
                certificate_id=self.id,
                fingerprint=self.fingerprint,
                issued_at=self.issued_at,
            )
        else:
            # The link is no part of it: notify asks for it by `certificate_id` when it sends.
            to_person = ErasureCertificateIssuedV2(
                account_id=self.account_id,
                email=email,
                certificate_id=self.id,
                issued_at=self.issued_at,
                fingerprint=self.fingerprint,
                key_id=self.key_id,
                pdf_sha256=self.pdf_sha256,
            )
        certified = ErasureCertifiedV1(
            erasure_id=self.erasure_id,
            certificate_id=self.id,
            fingerprint=self.fingerprint,
            pdf_sha256=self.pdf_sha256,
            key_id=self.key_id,
            issued_at=self.issued_at,
        )
        return [Outgoing(to_person, subject), Outgoing(certified, f"erasure:{self.erasure_id}")]
