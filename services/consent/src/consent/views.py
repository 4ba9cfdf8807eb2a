"""What consent's routes answer: one typed view per answer, built from the records.

Instants keep the stored `to_iso` form (`…Z`, microseconds), as consent always answered them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from consent.declarations import (
    Consultation,
    ContactChange,
    Contestation,
    Declaration,
    HistoryEntry,
    Instant,
    Person,
    Proof,
    RequestState,
)
from consent.declarations import RestrictionRequest as RestrictionRecord
from consent.domain import DocumentType
from shared.contracts.consent import (
    ActNature,
    ConsulterRole,
    DeclarationStatus,
    PersonKind,
    RestrictionKind,
)
from shared.documents import MediaType
from shared.legal_calendar import Territory


def _absent_if_none(value: Any) -> bool:
    return value is None


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Registered(_View):
    """A declaration just registered."""

    id: str
    status: DeclarationStatus
    territory: Territory


class DeclarationView(_View):
    """The declaration as its registering office, its person or the operator see it."""

    id: str
    status: DeclarationStatus = Field(
        description="as a reader acts on it: live but past its end is expired"
    )
    person_kind: PersonKind
    person: Person | None = Field(description="null once purged")
    scope: list[ActNature]
    valid_until: date | None
    territory: Territory
    revocation_modalities: str | None
    office_id: str
    registered_at: Instant
    account_id: str | None
    history: list[HistoryEntry]
    purged_at: Instant | None
    contestation: Contestation | None = Field(
        default=None,
        exclude_if=_absent_if_none,
        description="the person refused the declaration as wrong: which parts, in their words",
    )
    contact_changes: list[ContactChange] = Field(
        default_factory=list,
        description="the person's changes of e-mail, mobile and domicile since registration "
        "(when; a domicile change names its territory and proof)",
    )

    @classmethod
    def of(cls, declaration: Declaration, now: datetime) -> DeclarationView:
        return cls(
            id=declaration.id,
            status=declaration.status_at(now),
            person_kind=declaration.person_kind,
            person=declaration.person,
            scope=list(declaration.scope),
            valid_until=declaration.valid_until,
            territory=declaration.territory,
            revocation_modalities=declaration.revocation_modalities,
            office_id=declaration.office_id,
            registered_at=declaration.registered_at,
            account_id=declaration.account_id,
            history=list(declaration.history),
            purged_at=declaration.purged_at,
            contestation=declaration.contestation,
            contact_changes=list(declaration.contact_changes),
        )


class ProofLink(_View):
    """A proof file of the person's declaration, and where to download it."""

    id: str
    type: DocumentType
    issued_on: date | None
    media_type: MediaType | None
    download: str

    @classmethod
    def of(cls, proof: Proof, url: str) -> ProofLink:
        return cls(
            id=proof.id,
            type=proof.type,
            issued_on=proof.issued_on,
            media_type=proof.media_type,
            download=url.format(id=proof.id),
        )


class MyDeclaration(DeclarationView):
    proofs: list[ProofLink]


class LookupHit(_View):
    """What serving needs, nothing more."""

    found: Literal[True] = True
    declaration_id: str
    status: DeclarationStatus
    scope: list[ActNature]
    valid_until: date | None
    territory: Territory = Field(description="of the domicile now: it governs CPC 664, 662-1")
    domicile_changed_at: Instant | None = Field(
        default=None,
        exclude_if=_absent_if_none,
        description="when the person last declared a new domicile (the territory since)",
    )


class ConsentEnd(_View):
    """When and why a consent ended (the instant it was decided: the person's revocation,
    identity's termination or CGU refusal, the end of its duration)."""

    at: Instant
    reason: DeclarationStatus


class ConsentStatus(_View):
    """What delivery asks at the sending instant (CPC 748-2): whether the consent allows
    serving now, and on what; nothing about the person."""

    declaration_id: str
    active: bool
    scope: list[ActNature]
    valid_until: date | None
    territory: Territory
    ended: ConsentEnd | None = Field(description="null while the consent has not ended")
    as_of: Instant = Field(description="the registry's instant of this answer")

    @classmethod
    def of(cls, declaration: Declaration, now: datetime) -> ConsentStatus:
        status = declaration.status_at(now)
        ended = None
        if status.ended:
            at = declaration.ended_at(status)
            ended = ConsentEnd(at=at if at is not None else now, reason=status)
        return cls(
            declaration_id=declaration.id,
            active=status is DeclarationStatus.ACTIVE,
            scope=list(declaration.scope),
            valid_until=declaration.valid_until,
            territory=declaration.territory,
            ended=ended,
            as_of=now,
        )


class LookupMiss(_View):
    """No declaration for these keys: an answer too (the lookup happened and is journaled)."""

    found: Literal[False] = False


LookupAnswer = Annotated[LookupHit | LookupMiss, Field(discriminator="found")]


class RestrictionView(_View):
    """A restriction or objection request as the person and the operator see it (the answer's
    members only once answered)."""

    id: str
    kind: RestrictionKind
    text: str
    requested_at: Instant
    state: RequestState
    reason: str | None = Field(default=None, exclude_if=_absent_if_none)
    answered_at: Instant | None = Field(default=None, exclude_if=_absent_if_none)

    @classmethod
    def of(cls, request: RestrictionRecord) -> RestrictionView:
        answered = request.state is not RequestState.OPEN
        return cls(
            id=request.id,
            kind=request.kind,
            text=request.text,
            requested_at=request.requested_at,
            state=request.state,
            reason=request.reason if answered else None,
            answered_at=request.answered_at if answered else None,
        )


class RestrictionRecorded(_View):
    id: str
    kind: RestrictionKind
    state: RequestState


class MyRestrictions(_View):
    requests: list[RestrictionView]


class QueuedRestriction(RestrictionView):
    declaration_id: str


class RestrictionQueue(_View):
    """The operator's queue, oldest first; `next_after`: the id to page from (null: no more)."""

    requests: list[QueuedRestriction]
    next_after: str | None


class ExportedProof(_View):
    id: str
    type: DocumentType
    issued_on: date | None
    media_type: MediaType | None
    size: int | None
    sha256: str | None
    received_at: Instant
    download: str

    @classmethod
    def of(cls, proof: Proof, url: str) -> ExportedProof:
        return cls(
            id=proof.id,
            type=proof.type,
            issued_on=proof.issued_on,
            media_type=proof.media_type,
            size=proof.size,
            sha256=proof.sha256,
            received_at=proof.received_at,
            download=url.format(id=proof.id),
        )


class ExportedConsultation(_View):
    consulted_at: Instant
    consulter_role: ConsulterRole
    office_id: str | None
    purpose: str

    @classmethod
    def of(cls, consultation: Consultation) -> ExportedConsultation:
        return cls(
            consulted_at=consultation.consulted_at,
            consulter_role=consultation.consulter_role,
            office_id=consultation.office_id,
            purpose=consultation.purpose,
        )


class Export(_View):
    """Everything consent holds about the person (GDPR art. 15 and 20)."""

    exported_at: Instant
    declaration: DeclarationView
    proofs: list[ExportedProof]
    registry_consultations: list[ExportedConsultation]
    restriction_requests: list[RestrictionView]
