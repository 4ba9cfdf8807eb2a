"""Registry reads: a declaration by id, the exact lookup (GET or POST), the person's own."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from consent.api.common import (
    OFFICE_ROLE,
    OPERATOR_ROLE,
    RECIPIENT_ROLE,
    DeclarationReader,
    Name,
    Purpose,
    Recipient,
    RegistryConsulter,
)
from consent.domain import luhn_valid
from consent.lookup import NaturalQuery, SirenQuery
from consent.refusals import InvalidLookup
from consent.service import Consent
from consent.views import DeclarationView, LookupAnswer, MyDeclaration
from shared.openapi import problem_responses


class Lookup(BaseModel):
    """A registry lookup: natural-person keys or a SIREN, and the purpose (file reference)."""

    model_config = ConfigDict(extra="forbid")

    purpose: Purpose
    nom: Name | None = None
    prenoms: Name | None = None
    date_naissance: date | None = None
    lieu_naissance: Name | None = None
    siren: Annotated[str | None, Field(pattern=r"^[0-9]{9}$")] = None

    def query(self) -> NaturalQuery | SirenQuery:
        """The exact keys looked up; `InvalidLookup` unless they are one of the two forms."""
        natural = (self.nom, self.prenoms, self.date_naissance)
        if self.siren is not None and not any(natural) and self.lieu_naissance is None:
            if not luhn_valid(self.siren):
                raise InvalidLookup(
                    "invalid lookup", [{"loc": ["siren"], "msg": "bad SIREN key", "type": "rule"}]
                )
            return SirenQuery(self.siren)
        if self.siren is None and self.nom and self.prenoms and self.date_naissance:
            return NaturalQuery(self.nom, self.prenoms, self.date_naissance, self.lieu_naissance)
        raise InvalidLookup(
            "give either nom, prenoms and date_naissance (and optionally lieu_naissance), or siren"
        )


def registry_router(consent: Consent) -> APIRouter:
    router = APIRouter()
    registry = consent.registry

    @router.get("/declarations/{declaration_id}")
    async def get_declaration(declaration_id: str, principal: DeclarationReader) -> DeclarationView:
        return await registry.seen_by(
            declaration_id,
            operator=principal.role == OPERATOR_ROLE,
            office_id=principal.office_id if principal.role == OFFICE_ROLE else None,
            account_id=principal.subject if principal.role == RECIPIENT_ROLE else None,
        )

    @router.get("/registry/search")
    async def search(
        consulter: RegistryConsulter,
        purpose: Annotated[Purpose, Query(description="the office's file reference")],
        nom: Annotated[Name | None, Query()] = None,
        prenoms: Annotated[Name | None, Query()] = None,
        date_naissance: Annotated[date | None, Query()] = None,
        lieu_naissance: Annotated[Name | None, Query()] = None,
        siren: Annotated[str | None, Query(pattern=r"^[0-9]{9}$")] = None,
    ) -> LookupAnswer:
        """Exact lookup by (nom, prénoms, date of birth[, place]) or by SIREN: no listing,
        no fuzzy match. Every lookup is journaled with its purpose. Prefer the POST form:
        a query string ends up in proxies' and tracing systems' URLs."""
        lookup = Lookup(
            purpose=purpose,
            nom=nom,
            prenoms=prenoms,
            date_naissance=date_naissance,
            lieu_naissance=lieu_naissance,
            siren=siren,
        )
        return await registry.answer(consulter, lookup.query(), lookup.purpose)

    @router.post("/registry/search")
    async def search_by_body(lookup: Lookup, consulter: RegistryConsulter) -> LookupAnswer:
        """The same lookup with the keys in a JSON body, out of every URL."""
        return await registry.answer(consulter, lookup.query(), lookup.purpose)

    @router.get("/me/declaration", responses=problem_responses(404))
    async def my_declaration(principal: Recipient) -> MyDeclaration:
        return await registry.mine(principal.subject)

    return router
