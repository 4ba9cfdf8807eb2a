"""The declaration as the person validates it (décret 2021-1625 art. 21): the identity the office
declared, the natures of acts covered, the duration, how to revoke, and the articles of the code
de procédure civile the declaration must cite clearly (653, 662-1, 663, 664-1).

The statement's SHA-256 (`content_hash`) is computed over its canonical JSON: what the person is
shown is what they validate, and the validation is refused if the content changed since.

The articles' texts are quoted only as far as the project's legal reference (LEGAL.md) quotes
them verbatim; where it quotes a fragment, the statement says it is an extract and where to read
the whole text, rather than paraphrase the law to the person.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Final

from pydantic import BaseModel, ConfigDict

from consent.declarations import Declaration
from consent.domain import LegalPerson, NaturalPerson
from shared.contracts.consent import ActNature, DeclarationStatus, PersonKind

LEGIFRANCE: Final = "https://www.legifrance.gouv.fr/codes/texte_lc/LEGITEXT000006070716"


class Article(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    article: str
    text: str
    complete: bool
    """False: `text` is an extract (verbatim fragments joined by « […] »)."""


ARTICLES: Final = (
    Article(
        article="653",
        text="La signification est faite sur support papier ou par voie électronique.",
        complete=False,
    ),
    Article(
        article="662-1",
        text=(
            "[…] La signification par voie électronique est une signification faite à personne "
            "si le destinataire de l'acte en a pris connaissance le jour de la transmission de "
            "l'acte. Dans les autres cas, la signification est une signification faite à "
            "domicile […] le premier jour ouvrable, par lettre simple mentionnant la délivrance "
            "de la signification par voie électronique ainsi que la nature de l'acte et le nom "
            "du requérant."
        ),
        complete=False,
    ),
    Article(
        article="663",
        text=("[…] les date et heure auxquelles le destinataire de l'acte en a pris connaissance."),
        complete=False,
    ),
    Article(
        article="664-1",
        text=(
            "La date et l'heure de la signification par voie électronique sont celles de "
            "l'envoi de l'acte à son destinataire."
        ),
        complete=True,
    ),
)


class IdentityLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    value: str


class Statement(BaseModel):
    """What the person validates, and its hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    declaration_id: str
    status: DeclarationStatus
    person_kind: PersonKind
    identity: list[IdentityLine]
    scope: list[ActNature]
    valid_until: date | None
    revocation_modalities: str
    office_id: str
    articles: list[Article]
    articles_source: str
    content_hash: str


DEFAULT_REVOCATION: Final = (
    "À tout moment, depuis votre espace sur ce service (« Mon consentement »), avec effet "
    "immédiat pour les actes à venir."
)


def _address(where: object) -> str:
    adresse = getattr(where, "adresse", "")
    return f"{adresse}, {getattr(where, 'code_postal', '')} {getattr(where, 'commune', '')}"


def identity_lines(person: NaturalPerson | LegalPerson | None) -> list[IdentityLine]:
    """The identity items art. 21 1° lists, as declared (nothing else: no e-mail, no mobile)."""
    if isinstance(person, NaturalPerson):
        return [
            IdentityLine(label="Nom", value=person.nom),
            IdentityLine(label="Prénoms", value=person.prenoms),
            IdentityLine(label="Date de naissance", value=person.date_naissance.isoformat()),
            IdentityLine(label="Lieu de naissance", value=person.lieu_naissance),
            IdentityLine(label="Domicile", value=_address(person.domicile)),
        ]
    if isinstance(person, LegalPerson):
        rep = person.representant
        return [
            IdentityLine(label="Dénomination", value=person.denomination),
            IdentityLine(label="Forme juridique", value=person.forme_juridique),
            IdentityLine(label="SIREN", value=person.siren),
            IdentityLine(
                label="Représentant légal", value=f"{rep.prenoms} {rep.nom}, {rep.qualite}"
            ),
            IdentityLine(label="Siège", value=_address(person.siege)),
        ]
    return []


def statement_of(declaration: Declaration, status: DeclarationStatus) -> Statement:
    unhashed = Statement(
        declaration_id=declaration.id,
        status=status,
        person_kind=declaration.person_kind,
        identity=identity_lines(declaration.person),
        scope=list(declaration.scope),
        valid_until=declaration.valid_until,
        revocation_modalities=declaration.revocation_modalities or DEFAULT_REVOCATION,
        office_id=declaration.office_id,
        articles=list(ARTICLES),
        articles_source=LEGIFRANCE,
        content_hash="",
    )
    # The content only: the status changes over time, the validated text does not.
    content = unhashed.model_dump(mode="json", exclude={"status", "content_hash"})
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(_HASH_PREFIX + canonical.encode()).hexdigest()
    return unhashed.model_copy(update={"content_hash": digest})


_HASH_PREFIX: Final = b"securact-declaration-statement-v1\n"
