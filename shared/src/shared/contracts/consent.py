"""Events of the consent registry.

Subjects are `declaration:<id>` for everything about one declaration, and
`registry-lookup:<consultation id>` for a registry lookup (the consulting office's act, not the
declaration's). Personal data is limited to what a consumer needs: identity and notify need the
declared e-mail (and mobile) to open the account and send the activation link, so
`DeclarationRegisteredV1` carries them (DESIGN §4); every other event carries ids, dates,
statuses and the consent's scope, never identity data or registry search keys.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import register


class PersonKind(StrEnum):
    NATURAL = "natural"
    LEGAL = "legal"


class ActNature(StrEnum):
    """Natures of acts a consent may cover (its scope); delivery checks an act's nature
    against it."""

    SIGNIFICATION_JUGEMENT = "signification_jugement"
    COMMANDEMENT_PAYER = "commandement_payer"
    SAISIE_ATTRIBUTION = "saisie_attribution"
    ASSIGNATION = "assignation"
    DENONCIATION = "denonciation"
    AUTRE = "autre"


class DeclarationStatus(StrEnum):
    """Lifecycle of a declaration: `registered` → `active` (CGU accepted) → `revoked` /
    `expired` / `terminated`; `registered` → `refused` (CGU refused) / `expired` /
    `terminated` / `revoked`."""

    REGISTERED = "registered"
    ACTIVE = "active"
    REVOKED = "revoked"
    REFUSED = "refused"
    EXPIRED = "expired"
    TERMINATED = "terminated"

    @property
    def ended(self) -> bool:
        """Revoked, refused, expired or terminated: final. A consent that ended stays ended,
        whatever event arrives after (a late or repeated one changes nothing)."""
        return self not in (DeclarationStatus.REGISTERED, DeclarationStatus.ACTIVE)


class ConsulterRole(StrEnum):
    OFFICE = "office"
    JUDICIAL_AUTHORITY = "judicial_authority"


class RestrictionKind(StrEnum):
    """GDPR requests a person records for the operator (arts 18 and 21)."""

    RESTRICTION = "restriction"
    OBJECTION = "objection"


@register
class DeclarationRegisteredV1(EventPayload):
    """A bailiff registered a person's declaration of consent; identity opens an account for it
    and has the activation link e-mailed. Carries only the contact data those steps need."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "declaration-registered"
    version: ClassVar[int] = 1

    declaration_id: str
    person_kind: PersonKind
    email: EmailStr
    mobile: str | None = Field(default=None, description="E.164, when the person gave one")


@register
class DeclarationActivatedV1(EventPayload):
    """The person accepted the CGU: the consent is in force (CPC 748-2). Carries what serving
    needs to check an act against it, no identity data."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "declaration-activated"
    version: ClassVar[int] = 1

    declaration_id: str
    account_id: str
    activated_at: AwareDatetime
    terms_version: int = Field(ge=1)
    scope: list[ActNature]
    valid_until: date | None = Field(description="last day covered; null: indefinite")
    territory: str


@register
class ConsentRevokedV1(EventPayload):
    """The person revoked the consent: no new act may be served from `revoked_at` (never
    retroactive). Retention schedules the destruction of the declaration five years later."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "revoked"
    version: ClassVar[int] = 1

    declaration_id: str
    account_id: str | None
    revoked_at: AwareDatetime


@register
class DeclarationRefusedV1(EventPayload):
    """The person refused before any acceptance, the CGU or the declaration itself (then
    `consent.declaration-contested.v1` says which parts): no consent was ever given."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "declaration-refused"
    version: ClassVar[int] = 1

    declaration_id: str
    account_id: str
    refused_at: AwareDatetime


@register
class DeclarationExpiredV1(EventPayload):
    """The consent's duration is over (the day after `valid_until`, legal time of its
    territory)."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "declaration-expired"
    version: ClassVar[int] = 1

    declaration_id: str
    valid_until: date
    expired_at: AwareDatetime = Field(description="when the consent ceased to cover new acts")


@register
class DeclarationLapsedV1(EventPayload):
    """The declaration was never activated: identity's activation link expired and the account
    was never opened, so it expired with no consent ever given. Retention destroys its proofs,
    its data and the account at once (nothing to keep five years for)."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "declaration-lapsed"
    version: ClassVar[int] = 1

    declaration_id: str
    account_id: str
    activation_expired_at: AwareDatetime = Field(
        description="when the last activation link expired"
    )
    lapsed_at: AwareDatetime


@register
class DeclarationTerminatedV1(EventPayload):
    """The person's account was terminated: the consent ends with it."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "declaration-terminated"
    version: ClassVar[int] = 1

    declaration_id: str
    account_id: str
    terminated_at: AwareDatetime


class ProofShredded(BaseModel):
    """One proof document made unreadable: which wrapped key was destroyed (fingerprint only)."""

    model_config = ConfigDict(frozen=True)

    proof_id: str
    dek_id: str | None = Field(description="null if the key was already gone (rerun)")
    kek_id: str | None = None
    kek_version: int | None = None
    wrapped_key_sha256: str | None = None


@register
class DeclarationPurgedV1(EventPayload):
    """The declaration's personal data is destroyed and its proofs crypto-shredded; a tombstone
    (ids, dates, statuses) remains so past evidence still resolves."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "declaration-purged"
    version: ClassVar[int] = 1

    declaration_id: str
    purged_at: AwareDatetime
    proofs: list[ProofShredded]


@register
class RegistryConsultedV1(EventPayload):
    """A registry lookup (décret 2021-1625 art. 21: only for a service mission or the judicial
    authority, journaled with its purpose), on its own subject `registry-lookup:<consultation_id>`
    (lookups journaled before were on the declaration's). The declaration found is named by id
    only: never the search keys nor the person's identity."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "registry-consulted"
    version: ClassVar[int] = 1

    consultation_id: str
    consulter_role: ConsulterRole
    office_id: str | None = Field(description="the consulting office (bailiffs)")
    consulter: str = Field(description="the token subject: office client or authority account")
    purpose: str = Field(description="the office's file reference given with the lookup")
    declaration_id: str | None = Field(description="the declaration found; null: none")
    consulted_at: AwareDatetime


@register
class RestrictionRequestedV1(EventPayload):
    """The person asked for a restriction of processing or objected: the operator handles it.
    The request's text stays in consent's store."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "restriction-requested"
    version: ClassVar[int] = 1

    request_id: str
    declaration_id: str
    account_id: str
    kind: RestrictionKind
    requested_at: AwareDatetime


class RestrictionOutcome(StrEnum):
    """An operator's answer to a restriction or objection request."""

    GRANTED = "granted"
    REFUSED = "refused"


@register
class RestrictionAnsweredV1(EventPayload):
    """An operator answered a restriction or objection request. The operator's reasons stay in
    consent's store, where the person reads them."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "restriction-answered"
    version: ClassVar[int] = 1

    request_id: str
    declaration_id: str
    account_id: str
    kind: RestrictionKind
    outcome: RestrictionOutcome
    answered_at: AwareDatetime


class DeclarationPart(StrEnum):
    """The parts of a declaration (décret 2021-1625 art. 21) a person may say are wrong."""

    IDENTITY = "identity"
    NATURES = "natures"
    DURATION = "duration"
    REVOCATION = "revocation"
    OTHER = "other"


@register
class DeclarationValidatedV1(EventPayload):
    """The person validated the declaration as shown to them: `content_hash` is the SHA-256 of
    that statement (identity, natures of acts, duration, how to revoke, the CPC articles), so
    the consent that follows is bound to exactly that content."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "declaration-validated"
    version: ClassVar[int] = 1

    declaration_id: str
    account_id: str
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    validated_at: AwareDatetime


@register
class DeclarationContestedV1(EventPayload):
    """The person refused the declaration the office registered as wrong: it never becomes
    active. For the office (notify may e-mail it): which parts are wrong; the person's own
    words stay in consent, where the office reads them with the declaration (no free text
    about a person in an event)."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "declaration-contested"
    version: ClassVar[int] = 1

    declaration_id: str
    account_id: str
    office_id: str
    parts: list[DeclarationPart] = Field(min_length=1)
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    contested_at: AwareDatetime


@register
class DomicileChangedV1(EventPayload):
    """The person declared a new domicile (or seat), with a proof of address: from
    `changed_at` the territory that governs CPC 664 and 662-1 for acts served on them is
    `territory`. The address itself stays in consent (offices read it with the declaration);
    the proof is named by id."""

    producer: ClassVar[str] = "consent"
    fact: ClassVar[str] = "domicile-changed"
    version: ClassVar[int] = 1

    declaration_id: str
    account_id: str
    territory: str
    previous_territory: str
    proof_id: str
    changed_at: AwareDatetime
