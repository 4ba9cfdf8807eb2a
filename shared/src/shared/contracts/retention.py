"""Events of the retention service, and the confirmations its participants publish.

Retention owns the platform's clocks of erasure (DESIGN §3, R-termination, R-registry):

- two months after `identity.account-terminated.v1`, the account's acts are crypto-shredded and
  an erasure certificate is issued (CGU §12);
- five years after `consent.revoked.v1`, the declaration's personal data is destroyed
  (décret 2021-1625 art. 21, ex 56-222 art. 73-2);
- at a CGU version's effective date, identity must require re-acceptance (CGU §4).

Every step is an event. Retention publishes one **request** per participant (each has its own
routing key, so a participant binds only what concerns it) and waits for each participant's
**confirmation**. The confirmation contracts are defined here for now, with their producer: the
service named in each docstring **must publish exactly that contract** in a later step (they may
move to the producer's module then; the routing keys stay). Every request and confirmation
carries the `erasure_id` that ties them together.

Subjects: `account:<id>` (termination erasure), `declaration:<id>` (five-year purge),
`terms:v<N>` (CGU effective date), `hold:<subject>` for holds.

`ErasureCertificateIssuedV2` names the certificate only (its V1 carried the download link, a
credential, and is withdrawn); notify asks retention for the link when it sends the e-mail
(`GET /internal/v1/certificates/{id}/link`, scope `certificates:read`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import register


class ErasurePurpose(StrEnum):
    """Why retention erases: the CGU's grace period or the registry's five years."""

    ACCOUNT_ERASURE = "account_erasure"
    REGISTRY_PURGE = "registry_purge"


class Participant(StrEnum):
    """Who must confirm a step of an erasure."""

    DELIVERY = "delivery"
    AUDIT = "audit"
    IDENTITY = "identity"
    CONSENT = "consent"


# --- what retention publishes -------------------------------------------------------------------


@register
class ErasureCertificateIssuedV2(EventPayload):
    """Two months after termination the account's acts were crypto-shredded and a signed
    erasure certificate was issued (CGU §12, R-termination).

    Subject: `account:<account_id>`. Notify e-mails the certificate's download link, which it
    asks retention for by `certificate_id` when it sends (the link is a credential: no event
    carries it), then forgets the account's contact data: this is the last message the
    platform sends to that person.
    """

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "erasure-certificate-issued"
    version: ClassVar[int] = 2

    account_id: str
    email: EmailStr = Field(description="where notify sends the certificate (the last message)")
    certificate_id: str = Field(
        description="names the certificate; only a service granted the certificates:read "
        "scope can exchange it for the download link, at retention"
    )
    issued_at: AwareDatetime
    fingerprint: str = Field(
        description="SHA-256 (hex) of the certificate's canonical JSON (RFC 8785): journaled"
    )
    key_id: str = Field(description="the platform signing key's id")
    pdf_sha256: str = Field(description="SHA-256 (hex) of the PDF")


@register
class ErasureCertifiedV1(EventPayload):
    """An erasure certificate was signed: its fingerprints, journaled for good. Subject:
    `erasure:<erasure_id>`, whose payload key audit never shreds (the account's is gone by
    then), so anyone holding a certificate can find its fingerprint in the journal. No
    personal data: ids and digests only."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "erasure-certified"
    version: ClassVar[int] = 1

    erasure_id: str
    certificate_id: str
    fingerprint: str = Field(description="SHA-256 (hex) of the certificate's RFC 8785 JSON")
    pdf_sha256: str = Field(description="SHA-256 (hex) of the PDF")
    key_id: str = Field(description="the platform signing key's id")
    issued_at: AwareDatetime


@register
class CertificateUndeliverableV1(EventPayload):
    """A certificate was issued but no e-mail address was ever captured for the account:
    nobody can be told. Operators must act (it is also logged at ERROR)."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "certificate-undeliverable"
    version: ClassVar[int] = 1

    account_id: str
    certificate_id: str
    fingerprint: str
    issued_at: AwareDatetime


@register
class TermsEffectiveV1(EventPayload):
    """A CGU version took effect now: identity must require its acceptance at the next login
    of every account that has not accepted it (CGU §4, R-cgu). Subject: `terms:v<N>`."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "terms-effective"
    version: ClassVar[int] = 1

    terms_version: int = Field(ge=1)
    content_hash: str
    effective_at: AwareDatetime


@register
class AccountActsErasureRequestedV1(EventPayload):
    """Delivery must crypto-shred every act and reply of the account: destroy each wrapped
    DEK, then delete the objects; then confirm with `delivery.account-acts-erased.v1`.
    Subject: `account:<account_id>`."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "account-acts-erasure-requested"
    version: ClassVar[int] = 1

    erasure_id: str
    account_id: str
    declaration_id: str | None
    requested_at: AwareDatetime


@register
class SubjectKeysShredRequestedV1(EventPayload):
    """Audit must shred the payload keys of these subjects (the entries, roots and proofs stay);
    then confirm with `audit.subject-keys-shredded.v1`."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "subject-keys-shred-requested"
    version: ClassVar[int] = 1

    erasure_id: str
    purpose: ErasurePurpose
    subjects: list[str]
    requested_at: AwareDatetime


@register
class ContactDataPurgeRequestedV1(EventPayload):
    """Identity must forget the account's contact data (e-mail, mobile) while keeping a
    tombstone (ids, dates, statuses); then confirm with `identity.contact-data-purged.v1`.

    Notify consumes it too: it forgets the account's contacts and scrubs its notification
    history (`notify.contacts-purged.v1`); a message already queued keeps its address until it
    is sent. The erasure certificate, the last message, carries its own address."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "contact-data-purge-requested"
    version: ClassVar[int] = 1

    erasure_id: str
    account_id: str
    requested_at: AwareDatetime


@register
class DeclarationPurgeRequestedV1(EventPayload):
    """Five years after revocation: consent must run its purge use case (proofs crypto-shredded,
    a tombstone keeps ids, dates and statuses) and confirm with `consent.declaration-purged.v1`.

    Delivery consumes it too: it erases its copy of the registry (contacts, scope, territory)
    and crypto-shreds the acts of the declaration's account still readable (a person who
    revoked and never terminated), then confirms with `delivery.registry-copy-purged.v1`."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "declaration-purge-requested"
    version: ClassVar[int] = 1

    erasure_id: str
    declaration_id: str
    revoked_at: AwareDatetime
    requested_at: AwareDatetime
    account_id: str | None = Field(
        default=None, description="the declaration's account, when one was created"
    )


@register
class AccountDeletionRequestedV1(EventPayload):
    """Five years after revocation: identity must delete the account (credentials and contact
    data; a tombstone keeps the id, dates and statuses) and confirm with
    `identity.account-deleted.v1`."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "account-deletion-requested"
    version: ClassVar[int] = 1

    erasure_id: str
    account_id: str
    declaration_id: str
    requested_at: AwareDatetime


@register
class ErasureOverdueV1(EventPayload):
    """An erasure is incomplete past its deadline, or a confirmation does not match what
    retention expected: never a silent partial erasure. Also logged at ERROR and counted."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "erasure-overdue"
    version: ClassVar[int] = 1

    erasure_id: str
    purpose: ErasurePurpose
    missing: list[Participant]
    reason: str = Field(max_length=300, description="no personal data")
    started_at: AwareDatetime
    deadline: AwareDatetime


@register
class RegistryPurgeCompletedV1(EventPayload):
    """Every participant confirmed the five-year purge of a declaration."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "registry-purge-completed"
    version: ClassVar[int] = 1

    erasure_id: str
    declaration_id: str
    account_id: str | None
    completed_at: AwareDatetime


@register
class HoldPlacedV1(EventPayload):
    """An operator placed a legal hold on a subject (judicial request): its erasures wait."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "hold-placed"
    version: ClassVar[int] = 1

    hold_subject: str
    reference: str = Field(max_length=200, description="the judicial reference, no personal data")
    placed_by: str
    placed_at: AwareDatetime
    hold_id: str | None = Field(
        default=None, description="the hold's id (a subject may have several holds)"
    )


@register
class HoldLiftedV1(EventPayload):
    """The hold was lifted: erasures due meanwhile run at the scheduler's next pass."""

    producer: ClassVar[str] = "retention"
    fact: ClassVar[str] = "hold-lifted"
    version: ClassVar[int] = 1

    hold_subject: str
    lifted_by: str
    lifted_at: AwareDatetime
    hold_id: str | None = Field(default=None, description="which of the subject's holds")


# --- confirmations retention consumes (published by the participants, later steps) ------------


class ErasedAct(BaseModel):
    """One act as the certificate lists it: ids, fingerprint and dates, never its content."""

    model_config = ConfigDict(frozen=True)

    act_id: str
    sha256: str = Field(description="SHA-256 (hex) of the act's plaintext")
    served_at: AwareDatetime
    erased_at: AwareDatetime = Field(description="when its wrapped DEK was destroyed")
    reply_ids: list[str] = Field(default_factory=list, description="replies shredded with it")


@register
class AccountActsErasedV1(EventPayload):
    """**Produced by delivery** (must publish exactly this, later step) in answer to
    `retention.account-acts-erasure-requested.v1`: every act and reply of the account was
    crypto-shredded (wrapped DEK destroyed, then object deleted). Lists every act the account
    ever received, including those already erased by an earlier run (idempotent)."""

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "account-acts-erased"
    version: ClassVar[int] = 1

    erasure_id: str
    account_id: str
    acts: list[ErasedAct]
    erased_at: AwareDatetime


@register
class RegistryCopyPurgedV1(EventPayload):
    """**Produced by delivery** in answer to `retention.declaration-purge-requested.v1`: its copy
    of the declaration (e-mail, mobile, scope, territory) is reduced to a tombstone (ids, dates,
    status) and every act of the declaration's account is crypto-shredded. Lists every act the
    account ever received, as `delivery.account-acts-erased.v1` does (idempotent)."""

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "registry-copy-purged"
    version: ClassVar[int] = 1

    erasure_id: str
    declaration_id: str
    account_id: str | None
    acts: list[ErasedAct]
    purged_at: AwareDatetime


@register
class SubjectKeysShreddedV1(EventPayload):
    """**Produced by audit** (later step) in answer to
    `retention.subject-keys-shred-requested.v1`: the payload keys of `subjects` are destroyed."""

    producer: ClassVar[str] = "audit"
    fact: ClassVar[str] = "subject-keys-shredded"
    version: ClassVar[int] = 1

    erasure_id: str
    subjects: list[str]
    shredded_at: AwareDatetime


@register
class ContactDataPurgedV1(EventPayload):
    """**Produced by identity** (later step) in answer to
    `retention.contact-data-purge-requested.v1`."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "contact-data-purged"
    version: ClassVar[int] = 1

    erasure_id: str
    account_id: str
    purged_at: AwareDatetime


@register
class AccountDeletedV1(EventPayload):
    """**Produced by identity** (later step) in answer to
    `retention.account-deletion-requested.v1`: only a tombstone remains."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "account-deleted"
    version: ClassVar[int] = 1

    erasure_id: str
    account_id: str
    deleted_at: AwareDatetime
