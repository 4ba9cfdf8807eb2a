"""Pure rules of the consent registry: the declaration's shape, the arrêté of 17 Nov 2023 on
identity proofs, SIREN keys, the lifecycle. The registry lookup's keys and limits are in
`consent.lookup`; a consent's end instant is the kernel's (`shared.legal_calendar.validity_end`).

Nothing here does I/O or reads the clock: callers pass "today" and "now".
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from shared.contracts.consent import ActNature, DeclarationStatus, PersonKind
from shared.legal_calendar import (
    Territory,
    UnsupportedTerritoryError,
    legal_date,
    territory_for_postcode,
)

FRESHNESS_MONTHS: Final = 3
OLDEST_BIRTH_DATE: Final = date(1900, 1, 1)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Mobile = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{7,14}$")]
Siren = Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]
PartName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class DeclarationError(ValueError):
    """The declaration breaks a rule; `field` says where (never echoes the value)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


# -- documents ------------------------------------------------------------------------------


class DocumentType(StrEnum):
    """Identity proofs of the arrêté of 17 Nov 2023."""

    CARTE_IDENTITE = "carte_identite"
    PASSEPORT = "passeport"
    PERMIS_CONDUIRE = "permis_conduire"
    TITRE_SEJOUR = "titre_sejour"
    JUSTIFICATIF_DOMICILE = "justificatif_domicile"
    EXTRAIT_KBIS = "extrait_kbis"
    JUSTIFICATIF_POUVOIR = "justificatif_pouvoir"


ID_DOCUMENTS: Final = frozenset(
    {
        DocumentType.CARTE_IDENTITE,
        DocumentType.PASSEPORT,
        DocumentType.PERMIS_CONDUIRE,
        DocumentType.TITRE_SEJOUR,
    }
)
# Documents that must be less than three months old on the registration date.
FRESH_DOCUMENTS: Final = frozenset({DocumentType.JUSTIFICATIF_DOMICILE, DocumentType.EXTRAIT_KBIS})
ALLOWED_DOCUMENTS: Final = {
    PersonKind.NATURAL: ID_DOCUMENTS | {DocumentType.JUSTIFICATIF_DOMICILE},
    PersonKind.LEGAL: ID_DOCUMENTS | {DocumentType.EXTRAIT_KBIS, DocumentType.JUSTIFICATIF_POUVOIR},
}


def months_before(day: date, months: int) -> date:
    """The same calendar day `months` earlier, clamped to the month's last day
    (31 May minus 3 months is 28 or 29 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def is_fresh(issued_on: date, today: date, months: int = FRESHNESS_MONTHS) -> bool:
    """Whether a document issued on `issued_on` is *less than* `months` old on `today`.

    Conservative reading of « moins de trois mois »: a document issued exactly three calendar
    months before today (10 Jan for 10 Apr) is already three months old, so refused; one
    issued the day after (11 Jan) is accepted.
    """
    return months_before(today, months) < issued_on <= today


@dataclass(frozen=True)
class ProofRef:
    """A proof as the declaration describes it; `part` names its multipart file part."""

    part: str
    type: DocumentType
    issued_on: date


def check_proofs(
    kind: PersonKind,
    proofs: Sequence[ProofRef],
    today: date,
    months: int = FRESHNESS_MONTHS,
) -> None:
    """Enforce the arrêté of 17 Nov 2023: types allowed for the person's kind, issue dates
    not in the future, freshness, and the required set."""
    allowed = ALLOWED_DOCUMENTS[kind]
    for index, proof in enumerate(proofs):
        where = f"proofs[{index}]"
        if proof.type not in allowed:
            raise DeclarationError(
                f"{where}.type", f"{proof.type.value} is not a proof for a {kind.value} person"
            )
        if proof.issued_on > today:
            raise DeclarationError(f"{where}.issued_on", "the issue date is in the future")
        if proof.type in FRESH_DOCUMENTS and not is_fresh(proof.issued_on, today, months):
            raise DeclarationError(
                f"{where}.issued_on",
                f"a {proof.type.value} must be less than {months} months old",
            )
    types = {proof.type for proof in proofs}
    if not types & ID_DOCUMENTS:
        who = "the person" if kind is PersonKind.NATURAL else "the legal representative"
        raise DeclarationError("proofs", f"an identity document of {who} is required")
    required = (
        {DocumentType.JUSTIFICATIF_DOMICILE}
        if kind is PersonKind.NATURAL
        else {DocumentType.EXTRAIT_KBIS, DocumentType.JUSTIFICATIF_POUVOIR}
    )
    for missing in sorted(required - types):
        raise DeclarationError("proofs", f"a {missing.value} is required")


# -- SIREN ----------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """The Luhn check the INSEE uses for SIREN numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# -- the declaration ------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Model):
    adresse: LongText
    code_postal: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]
    commune: Text

    @property
    def territory(self) -> Territory:
        return territory_for_postcode(self.code_postal)


class NaturalPerson(_Model):
    kind: Literal[PersonKind.NATURAL]
    nom: Text
    prenoms: Text
    date_naissance: date
    lieu_naissance: Text
    domicile: Address
    email: EmailStr
    mobile: Mobile | None = None


class Representative(_Model):
    nom: Text
    prenoms: Text
    qualite: Text = Field(description="e.g. président, gérant")


class LegalPerson(_Model):
    kind: Literal[PersonKind.LEGAL]
    denomination: Text
    forme_juridique: Text
    siren: Siren
    representant: Representative
    siege: Address
    email: EmailStr
    mobile: Mobile | None = None


Person = Annotated[NaturalPerson | LegalPerson, Field(discriminator="kind")]


class UntilDate(_Model):
    type: Literal["until"]
    until: date = Field(description="last day the consent covers (inclusive)")


class Indefinite(_Model):
    type: Literal["indefinite"]


Duration = Annotated[UntilDate | Indefinite, Field(discriminator="type")]


class ProofDescription(_Model):
    part: PartName = Field(description="name of the multipart part carrying the file")
    type: DocumentType
    issued_on: date


class DeclarationInput(_Model):
    """The JSON part `declaration` of `POST /v1/declarations`."""

    person: Person
    scope: list[ActNature] = Field(
        default_factory=lambda: list(ActNature), description="natures covered; default all"
    )
    duration: Duration
    revocation_modalities: LongText = Field(description="how to revoke, as shown to the person")
    proofs: list[ProofDescription] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _distinct(self) -> DeclarationInput:
        if not self.scope:
            raise ValueError("scope must name at least one nature of act")
        if len(set(self.scope)) != len(self.scope):
            raise ValueError("scope lists a nature twice")
        parts = [proof.part for proof in self.proofs]
        if len(set(parts)) != len(parts):
            raise ValueError("two proofs name the same part")
        return self

    @property
    def address(self) -> Address:
        return self.person.domicile if isinstance(self.person, NaturalPerson) else self.person.siege

    @property
    def valid_until(self) -> date | None:
        return self.duration.until if isinstance(self.duration, UntilDate) else None

    def proof_refs(self) -> list[ProofRef]:
        return [ProofRef(p.part, p.type, p.issued_on) for p in self.proofs]


def territory_of(declaration: DeclarationInput) -> Territory:
    try:
        return declaration.address.territory
    except UnsupportedTerritoryError:
        field = "domicile" if declaration.person.kind is PersonKind.NATURAL else "siege"
        raise DeclarationError(
            f"person.{field}.code_postal", "outside the territories the platform serves"
        ) from None


def check_declaration(
    declaration: DeclarationInput, now: datetime, months: int = FRESHNESS_MONTHS
) -> tuple[Territory, date]:
    """Every rule a declaration must meet when registered at `now`; returns the territory
    derived from the address and the registration date in its legal time (the date the
    freshness and duration rules are measured from)."""
    territory = territory_of(declaration)
    today = legal_date(now, territory)
    person = declaration.person
    if isinstance(person, NaturalPerson):
        if not OLDEST_BIRTH_DATE <= person.date_naissance < today:
            raise DeclarationError("person.date_naissance", "not a plausible date of birth")
    elif not luhn_valid(person.siren):
        raise DeclarationError("person.siren", "the SIREN key (Luhn) does not verify")
    until = declaration.valid_until
    if until is not None and until <= today:
        raise DeclarationError("duration.until", "the consent must last beyond today")
    check_proofs(person.kind, declaration.proof_refs(), today, months)
    return territory, today


# -- lifecycle ------------------------------------------------------------------------------

LIVE: Final = frozenset(status for status in DeclarationStatus if not status.ended)
"""Statuses in which a declaration blocks another for the same person (409)."""


class Transition(StrEnum):
    ACTIVATE = "activate"
    REVOKE = "revoke"
    REFUSE = "refuse"
    EXPIRE = "expire"
    TERMINATE = "terminate"
    LAPSE = "lapse"  # never activated: the activation link expired long ago


_TARGET: Final = {
    Transition.ACTIVATE: DeclarationStatus.ACTIVE,
    Transition.REVOKE: DeclarationStatus.REVOKED,
    Transition.REFUSE: DeclarationStatus.REFUSED,
    Transition.EXPIRE: DeclarationStatus.EXPIRED,
    Transition.TERMINATE: DeclarationStatus.TERMINATED,
    Transition.LAPSE: DeclarationStatus.EXPIRED,
}
_FROM: Final = {
    Transition.ACTIVATE: frozenset({DeclarationStatus.REGISTERED}),
    Transition.REVOKE: LIVE,
    Transition.REFUSE: frozenset({DeclarationStatus.REGISTERED}),
    Transition.EXPIRE: LIVE,
    Transition.TERMINATE: LIVE,
    Transition.LAPSE: frozenset({DeclarationStatus.REGISTERED}),
}


def next_status(current: DeclarationStatus, transition: Transition) -> DeclarationStatus | None:
    """The status after `transition`, or None when it does not apply (a repeated or late
    event: the end states are final, a revoked consent never comes back)."""
    if current.ended or current not in _FROM[transition]:
        return None
    return _TARGET[transition]


def effective_status(
    status: DeclarationStatus, expires_at: datetime | None, now: datetime
) -> DeclarationStatus:
    """The status a reader must act on: a live declaration past its end is expired even
    before the daily job records it."""
    if status in LIVE and expires_at is not None and expires_at <= now:
        return DeclarationStatus.EXPIRED
    return status
