"""Events of the consent registry (issue 5 completes them)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import EmailStr, Field

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import register


class PersonKind(StrEnum):
    NATURAL = "natural"
    LEGAL = "legal"


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
