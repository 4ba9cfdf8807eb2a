"""The declaration the person validates at the CGU (décret 2021-1625 art. 21), read from and
answered to consent, which owns it (`/v1/me/declaration/statement`, `…/validation`,
`…/contestation`), with a token for the session's account whose audience is consent alone.

The page shows what consent serves, word for word, and sends back its `content_hash`: consent
records that the person validated THAT content, and refuses a validation of content that has
changed since the page was shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError

from identity.portal.sessions import PortalSession
from identity.portal.upstream import UpstreamApi, UpstreamUnavailableError, json_body
from shared.contracts.consent import ActNature, DeclarationPart, DeclarationStatus
from shared.french import french_date

CONSENT_AUDIENCE: Final = "consent"
STATEMENT_PATH: Final = "/v1/me/declaration/statement"

NATURES: Final = {
    ActNature.SIGNIFICATION_JUGEMENT.value: "Significations de jugements et autres décisions",
    ActNature.COMMANDEMENT_PAYER.value: "Commandements de payer",
    ActNature.SAISIE_ATTRIBUTION.value: "Saisies-attributions",
    ActNature.ASSIGNATION.value: "Assignations",
    ActNature.DENONCIATION.value: "Dénonciations",
    ActNature.AUTRE.value: "Autres actes",
}
PARTS: Final = {
    DeclarationPart.IDENTITY.value: "Mon identité (nom, prénoms, naissance, domicile ou siège)",
    DeclarationPart.NATURES.value: "Les natures d'actes couvertes",
    DeclarationPart.DURATION.value: "La durée du consentement",
    DeclarationPart.REVOCATION.value: "Les modalités de révocation",
    DeclarationPart.OTHER.value: "Autre chose",
}
MAX_REASON: Final = 2000


class StatementUnavailableError(UpstreamUnavailableError):
    """Consent did not answer, or answered what the page cannot show."""


class Answer(StrEnum):
    DONE = "done"
    CHANGED = "changed"  # the content is not the one shown: show it again
    CLOSED = "closed"  # no longer waiting for an answer (active, refused, ended)


@dataclass(frozen=True)
class ArticleText:
    article: str
    text: str
    complete: bool


@dataclass(frozen=True)
class Statement:
    """The declaration as the CGU page shows it."""

    status: str
    identity: list[tuple[str, str]]
    natures: list[str]
    duration: str
    revocation: str
    articles: list[ArticleText]
    articles_source: str
    content_hash: str

    @property
    def answerable(self) -> bool:
        """Waiting for the person: validate (with the CGU) or refuse it."""
        return self.status == DeclarationStatus.REGISTERED.value

    @property
    def contested(self) -> bool:
        return self.status == DeclarationStatus.REFUSED.value


class _Answer(BaseModel):
    # Consent's JSON as the page reads it: other fields ignored, numbers taken as text.
    model_config = ConfigDict(coerce_numbers_to_str=True)


class _IdentityLine(_Answer):
    label: str
    value: str


class _Article(_Answer):
    article: str
    text: str
    complete: bool


class StatementBody(_Answer):
    """Consent's `GET /v1/me/declaration/statement` answer."""

    status: str
    identity: list[_IdentityLine]
    scope: list[str]
    valid_until: str | None = None
    revocation_modalities: str
    articles: list[_Article]
    articles_source: str
    content_hash: str


def statement_of(body: Mapping[str, object]) -> Statement | None:
    """Consent's answer in the page's terms; None when it is not a statement."""
    try:
        answer = StatementBody.model_validate(body)
        return Statement(
            status=answer.status,
            identity=[(line.label, line.value) for line in answer.identity],
            natures=[NATURES.get(n, n) for n in answer.scope],
            duration=(
                f"jusqu'au {french_date(answer.valid_until)} inclus"
                if answer.valid_until
                else "sans limite de durée, jusqu'à votre révocation"
            ),
            revocation=answer.revocation_modalities,
            articles=[ArticleText(a.article, a.text, a.complete) for a in answer.articles],
            articles_source=answer.articles_source,
            content_hash=answer.content_hash,
        )
    except (ValidationError, ValueError):
        return None


class StatementApi(UpstreamApi):
    """Consent's statement routes on behalf of one portal session (at the CGU gate)."""

    unavailable = StatementUnavailableError

    async def statement(self, session: PortalSession) -> Statement | None:
        """The person's declaration; None when no declaration is linked (404)."""
        response = await self.request(session, "GET", STATEMENT_PATH)
        if response.status_code == 404:
            return None
        found = statement_of(json_body(response)) if response.status_code == 200 else None
        if found is None:
            raise self.unexpected(f"GET {STATEMENT_PATH}", response)
        return found

    async def _answer(
        self, session: PortalSession, path: str, body: Mapping[str, str | list[str]]
    ) -> Answer:
        response = await self.request(session, "POST", path, json=body)
        if response.status_code == 200:
            return Answer.DONE
        if response.status_code == 409:
            problem = str(json_body(response).get("type", ""))
            return (
                Answer.CHANGED
                if problem.endswith("declaration-statement-changed")
                else Answer.CLOSED
            )
        raise self.unexpected(f"POST {path}", response)

    async def validate(self, session: PortalSession, content_hash: str) -> Answer:
        return await self._answer(
            session, "/v1/me/declaration/validation", {"content_hash": content_hash}
        )

    async def contest(
        self, session: PortalSession, content_hash: str, parts: list[str], reason: str
    ) -> Answer:
        return await self._answer(
            session,
            "/v1/me/declaration/contestation",
            {"content_hash": content_hash, "parts": parts, "reason": reason},
        )
