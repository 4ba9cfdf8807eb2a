"""The person's answers to their declaration: the statement shown at the CGU, its validation
or contestation, and the revocation."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from consent.api.common import AnsweringRecipient, RecipientWriter
from consent.service import Consent
from consent.statement import Statement
from consent.views import DeclarationView
from shared.contracts.consent import DeclarationPart
from shared.openapi import problem_responses

ContentHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class RevocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirmation: Literal[True] = Field(
        description="must be true: the person confirms the revocation"
    )


class StatementValidation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_hash: ContentHash = Field(description="the `content_hash` of the statement shown")


class StatementContestation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_hash: ContentHash = Field(description="the `content_hash` of the statement shown")
    parts: list[DeclarationPart] = Field(min_length=1, description="what is wrong")
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ] = Field(description="the person's words, for the office")


def lifecycle_router(consent: Consent) -> APIRouter:
    router = APIRouter()
    lifecycle = consent.lifecycle

    @router.get("/me/declaration/statement", responses=problem_responses(404))
    async def my_statement(principal: AnsweringRecipient) -> Statement:
        """The declaration as you validate it at the CGU (décret 2021-1625 art. 21): identity,
        natures of acts, duration, how to revoke, CPC 653, 662-1, 663, 664-1; and its hash."""
        return await lifecycle.statement(principal.subject)

    @router.post("/me/declaration/validation", responses=problem_responses(404, 409))
    async def validate(body: StatementValidation, principal: AnsweringRecipient) -> Statement:
        """Validate the statement you were shown (its `content_hash`): 409 if it changed."""
        return await lifecycle.validate(principal.subject, body.content_hash)

    @router.post("/me/declaration/contestation", responses=problem_responses(404, 409))
    async def contest(body: StatementContestation, principal: AnsweringRecipient) -> Statement:
        """Refuse the declaration as wrong, saying why: it never becomes active and the office
        is told (`consent.declaration-contested.v1`)."""
        return await lifecycle.contest(
            principal.subject, body.content_hash, tuple(dict.fromkeys(body.parts)), body.reason
        )

    @router.post("/me/declaration/revocation", responses=problem_responses(404, 409))
    async def revoke(body: RevocationRequest, principal: RecipientWriter) -> DeclarationView:
        """Revoke the consent: effective at once for new acts, never retroactive."""
        return consent.registry.view(await lifecycle.revoke(principal.subject))

    return router
