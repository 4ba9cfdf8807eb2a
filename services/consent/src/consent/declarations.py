"""Consent's typed records: the `Declaration` aggregate, its proofs, the person's restriction
requests, the registry's consultations and lookup windows.

Each record lists its stored fields once. A declaration's state changes are methods returning
the changed declaration and the event the change causes (None when the change does not apply
from the current status: a repeated or late event changes nothing, an ended consent stays
ended). Instants are stored as `to_iso` strings, so that the store's string order is time
order. A purged declaration is a tombstone: ids, dates and statuses, no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from consent.domain import (
    LIVE,
    DocumentType,
    LegalPerson,
    NaturalPerson,
    Transition,
    effective_status,
    next_status,
)
from consent.lookup import SearchKeys
from shared.contracts.consent import (
    ActNature,
    ConsentRevokedV1,
    ConsulterRole,
    DeclarationActivatedV1,
    DeclarationContestedV1,
    DeclarationExpiredV1,
    DeclarationLapsedV1,
    DeclarationPart,
    DeclarationPurgedV1,
    DeclarationRefusedV1,
    DeclarationStatus,
    DeclarationTerminatedV1,
    DeclarationValidatedV1,
    PersonKind,
    ProofShredded,
    RestrictionAnsweredV1,
    RestrictionKind,
    RestrictionOutcome,
)
from shared.documents import MediaType
from shared.legal_calendar import Territory
from shared.store.port import VERSION, Document, from_iso, to_iso


def _instant(value: Any) -> Any:
    return from_iso(value) if isinstance(value, str) else value


Instant = Annotated[
    datetime, BeforeValidator(_instant), PlainSerializer(to_iso, return_type=str, when_used="json")
]
"""An aware instant, stored as a fixed-width `to_iso` string."""

Person = Annotated[NaturalPerson | LegalPerson, Field(discriminator="kind")]


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


# -- the declaration ------------------------------------------------------------------------


class HistoryEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: DeclarationStatus
    at: Instant
    cause: str


class Contestation(BaseModel):
    """The person's refusal of the declaration as registered: which parts, in their words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parts: tuple[DeclarationPart, ...]
    reason: str
    content_hash: str
    at: Instant


class ContactKind(StrEnum):
    EMAIL = "email"
    MOBILE = "mobile"
    DOMICILE = "domicile"


class ContactChange(BaseModel):
    """One change of the person's contacts or domicile, as offices read it from then on: what
    changed and when (the new values are the declaration's own); a domicile change names the
    territory it moved to and its proof."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ContactKind
    at: Instant
    territory: Territory | None = None
    proof_id: str | None = None


class AccountMismatchError(Exception):
    """An identity event names another account than the one the declaration is linked to."""


_ENDED_AT: Final = {
    DeclarationStatus.ACTIVE: "active_at",
    DeclarationStatus.REVOKED: "revoked_at",
    DeclarationStatus.REFUSED: "refused_at",
    DeclarationStatus.EXPIRED: "expired_at",
    DeclarationStatus.TERMINATED: "terminated_at",
}


class Declaration(Record):
    """A person's declaration of consent to electronic service (décret 2021-1625 art. 21).

    `live_key` (the person's search key) is present only while the declaration is live
    (`registered` or `active`): a unique index on it allows one live declaration per person."""

    KEPT_NULLS: ClassVar[frozenset[str]] = frozenset({"account_id", "valid_until", "expires_at"})

    status: DeclarationStatus
    person_kind: PersonKind
    person: Person | None = None
    keys: SearchKeys | None = None
    live_key: str | None = None
    scope: tuple[ActNature, ...]
    valid_until: date | None = None
    expires_at: Instant | None = None
    territory: Territory
    revocation_modalities: str | None = None
    office_id: str
    registered_by: str | None = None
    registered_at: Instant
    account_id: str | None = None
    proof_ids: tuple[str, ...] = ()
    history: tuple[HistoryEntry, ...]
    active_at: Instant | None = None
    revoked_at: Instant | None = None
    refused_at: Instant | None = None
    expired_at: Instant | None = None
    terminated_at: Instant | None = None
    purged_at: Instant | None = None
    validated_hash: str | None = None
    """The SHA-256 of the statement the person validated (`consent.statement`)."""
    validated_at: Instant | None = None
    contestation: Contestation | None = None
    contact_changes: tuple[ContactChange, ...] = ()
    """The person's changes of contacts and domicile since registration (`consent.domicile`)."""

    def document(self) -> Document:
        # Left out until there is one: a declaration nobody changed is stored as before.
        stored = super().document()
        if not self.contact_changes:
            stored.pop("contact_changes", None)
        return stored

    @property
    def subject(self) -> str:
        return subject_of(self.id)

    def status_at(self, now: datetime) -> DeclarationStatus:
        """The status a reader acts on: live but past its end reads as expired."""
        return effective_status(self.status, self.expires_at, now)

    def ended_at(self, status: DeclarationStatus) -> datetime | None:
        """The instant the consent ended with `status` (an expiry not yet recorded ends at
        its end instant)."""
        if status is DeclarationStatus.EXPIRED and self.expired_at is None:
            return self.expires_at
        at: datetime | None = getattr(self, _ENDED_AT[status]) if status in _ENDED_AT else None
        return at

    # -- state changes ---------------------------------------------------------------------

    def _moved(self, transition: Transition, at: datetime, cause: str) -> Declaration | None:
        target = next_status(self.status, transition)
        if target is None:
            return None
        moved = self.model_copy(
            update={
                "status": target,
                "history": (*self.history, HistoryEntry(status=target, at=at, cause=cause)),
                _ENDED_AT[target]: at,
            }
        )
        # The person's search key leaves the unique index: another declaration may follow.
        return moved if target in LIVE else moved.model_copy(update={"live_key": None})

    def linked(self, account_id: str) -> Declaration:
        """Linked to `account_id`; one account per declaration, so an event from another
        account than the one already linked is refused (no retry can fix it)."""
        if self.account_id is not None and self.account_id != account_id:
            raise AccountMismatchError(
                f"declaration {self.id} is linked to another account than the event's"
            )
        return self.model_copy(update={"account_id": account_id})

    def activate(
        self, account_id: str, at: datetime, terms_version: int
    ) -> tuple[Declaration, DeclarationActivatedV1] | None:
        """CGU accepted (CPC 748-2): active, linked to the account."""
        moved = self.linked(account_id)._moved(
            Transition.ACTIVATE, at, f"CGU v{terms_version} accepted"
        )
        if moved is None:
            return None
        return moved, DeclarationActivatedV1(
            declaration_id=self.id,
            account_id=account_id,
            activated_at=at,
            terms_version=terms_version,
            scope=list(self.scope),
            valid_until=self.valid_until,
            territory=self.territory.value,
        )

    def refuse(
        self, account_id: str, at: datetime, terms_version: int
    ) -> tuple[Declaration, DeclarationRefusedV1] | None:
        moved = self.linked(account_id)._moved(
            Transition.REFUSE, at, f"CGU v{terms_version} refused"
        )
        if moved is None:
            return None
        return moved, DeclarationRefusedV1(
            declaration_id=self.id, account_id=account_id, refused_at=at
        )

    def validated_by(
        self, account_id: str, at: datetime, content_hash: str
    ) -> tuple[Declaration, DeclarationValidatedV1]:
        """The person validated the statement whose hash is `content_hash` (checked by the
        caller against the current content); no status change: the CGU acceptance activates."""
        validated = self.linked(account_id).model_copy(
            update={"validated_hash": content_hash, "validated_at": at}
        )
        return validated, DeclarationValidatedV1(
            declaration_id=self.id,
            account_id=account_id,
            content_hash=content_hash,
            validated_at=at,
        )

    def contest(
        self,
        account_id: str,
        at: datetime,
        parts: tuple[DeclarationPart, ...],
        reason: str,
        content_hash: str,
    ) -> tuple[Declaration, DeclarationRefusedV1, DeclarationContestedV1] | None:
        """The person says the declaration is wrong: refused, never active (a corrected one
        may be registered: the search key leaves the unique index)."""
        moved = self.linked(account_id)._moved(Transition.REFUSE, at, "declaration contested")
        if moved is None:
            return None
        contested = moved.model_copy(
            update={
                "contestation": Contestation(
                    parts=parts, reason=reason, content_hash=content_hash, at=at
                )
            }
        )
        return (
            contested,
            DeclarationRefusedV1(declaration_id=self.id, account_id=account_id, refused_at=at),
            DeclarationContestedV1(
                declaration_id=self.id,
                account_id=account_id,
                office_id=self.office_id,
                parts=list(parts),
                content_hash=content_hash,
                contested_at=at,
            ),
        )

    def terminate(
        self, account_id: str, at: datetime, reason: str
    ) -> tuple[Declaration, DeclarationTerminatedV1] | None:
        moved = self._moved(Transition.TERMINATE, at, f"account terminated ({reason})")
        if moved is None:
            return None
        return moved, DeclarationTerminatedV1(
            declaration_id=self.id, account_id=account_id, terminated_at=at
        )

    def revoke(self, account_id: str, at: datetime) -> tuple[Declaration, ConsentRevokedV1] | None:
        """The person revokes: effective at once for new acts, never retroactive."""
        moved = self._moved(Transition.REVOKE, at, "revoked by the person")
        if moved is None:
            return None
        return moved, ConsentRevokedV1(declaration_id=self.id, account_id=account_id, revoked_at=at)

    def expire(self) -> tuple[Declaration, DeclarationExpiredV1] | None:
        """The duration is over: expired at its end instant (whenever this runs)."""
        assert self.expires_at is not None
        assert self.valid_until is not None
        moved = self._moved(Transition.EXPIRE, self.expires_at, "duration over")
        if moved is None:
            return None
        return moved, DeclarationExpiredV1(
            declaration_id=self.id, valid_until=self.valid_until, expired_at=self.expires_at
        )

    def lapse(
        self, account_id: str, activation_expired_at: datetime, at: datetime
    ) -> tuple[Declaration, DeclarationLapsedV1] | None:
        """Never activated: the account's last activation link expired long ago (identity's
        rule, `identity.domain.activation_lapses_at`). Expired, never active; retention
        destroys it at once (no consent to keep five years)."""
        moved = self.linked(account_id)._moved(
            Transition.LAPSE, at, "never activated: the activation link expired"
        )
        if moved is None:
            return None
        return moved, DeclarationLapsedV1(
            declaration_id=self.id,
            account_id=account_id,
            activation_expired_at=activation_expired_at,
            lapsed_at=at,
        )

    def purge(
        self, at: datetime, proofs: list[ProofShredded]
    ) -> tuple[Declaration, DeclarationPurgedV1]:
        """The tombstone: ids, dates and statuses stay so past evidence still resolves; the
        person's data, search keys and revocation text go."""
        tombstone = self.model_copy(
            update={
                "person": None,
                "keys": None,
                "live_key": None,
                "revocation_modalities": None,
                "registered_by": None,
                # The person's words may name them: they go with the personal data.
                "contestation": None,
                "purged_at": at,
            }
        )
        return tombstone, DeclarationPurgedV1(declaration_id=self.id, purged_at=at, proofs=proofs)

    def purge_announced_again(self) -> DeclarationPurgedV1:
        """The purge as announced to a requester asking after it happened: its instant
        unchanged, its proofs listed without keys."""
        assert self.purged_at is not None
        return DeclarationPurgedV1(
            declaration_id=self.id,
            purged_at=self.purged_at,
            proofs=[ProofShredded(proof_id=proof_id, dek_id=None) for proof_id in self.proof_ids],
        )


def subject_of(declaration_id: str) -> str:
    return f"declaration:{declaration_id}"


def lookup_subject(consultation_id: str) -> str:
    """A registry lookup's own journal subject: the lookup is the consulting office's act, not
    an event of the declaration it finds, so it makes the office a party of nothing else."""
    return f"registry-lookup:{consultation_id}"


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
