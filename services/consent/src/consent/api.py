"""Consent's HTTP API: thin adapters over the use cases wired in `consent.service`.

Routes decode, call one use case and return its typed view; what a use case refuses is a
`shared.refusals.Refusal` (`consent.refusals`), mapped to problem+json once for the whole app.

Who may do what (checked here, in the service that owns the data, DESIGN §7):

| route | caller |
|---|---|
| `POST /v1/declarations` | an office client with `registry:write` |
| `GET /v1/declarations/{id}` | the registering office, the person, an operator |
| `GET` or `POST /v1/registry/search` | `registry:read` and role `office` or `judicial_authority` |
| `/v1/me/...` | the person: role `recipient` and `acts:read` (revocation: `account:write`) |
| `GET /v1/restriction-requests`, `POST .../{id}/answer` | an operator |
| `GET /internal/v1/declarations/{id}/status` | a service client with `consent:status` (delivery) |

The person's token `sub` is their account id. A recipient or an office asking for a declaration
that is not theirs gets 404, as for one that does not exist: ids are not probed. Registry lookups
are limited per office and per judicial client per minute (429 with Retry-After beyond).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from consent.declarations import Office, RequestState
from consent.domain import luhn_valid
from consent.intake import Limits
from consent.lookup import Consulter, NaturalQuery, SirenQuery
from consent.refusals import Forbidden, InvalidLookup
from consent.service import Consent
from consent.statement import Statement
from consent.views import (
    ConsentStatus,
    DeclarationView,
    Export,
    LookupAnswer,
    MyDeclaration,
    MyRestrictions,
    Registered,
    RestrictionQueue,
    RestrictionRecorded,
    RestrictionView,
)
from shared.auth import Principal, current_principal, require_role, require_scopes
from shared.bodylimit import body_limit
from shared.contracts.consent import (
    ConsulterRole,
    DeclarationPart,
    RestrictionKind,
    RestrictionOutcome,
)
from shared.documents import MediaType
from shared.openapi import problem_responses, with_examples

OFFICE_ROLE: Final = "office"
RECIPIENT_ROLE: Final = "recipient"
OPERATOR_ROLE: Final = "operator"
JUDICIAL_ROLE: Final = "judicial_authority"
REGISTRY_READERS: Final = frozenset({OFFICE_ROLE, JUDICIAL_ROLE})

SERVICE_ROLE: Final = "service"
CONSENT_STATUS: Final = "consent:status"

# Module-level: FastAPI resolves the (postponed) annotations of routes in this module's globals.
_office_writer = require_scopes("registry:write")
_registry_reader = require_scopes("registry:read")
_operator = require_role(OPERATOR_ROLE)
_recipient_role = require_role(RECIPIENT_ROLE)
# Identity grants these once the current CGU are accepted; a terminated account keeps
# `acts:read` only (read-only, CGU §12), a session still facing the CGU has neither.
_reads = require_scopes("acts:read")
_writes = require_scopes("account:write")
# A session facing the CGU (first login): it answers the declaration, nothing else.
_answers = require_scopes("terms:accept")
_status_reader = require_scopes(CONSENT_STATUS)


async def _registering_office(principal: Annotated[Principal, Depends(_office_writer)]) -> Office:
    """An office client with `registry:write`: it registers declarations."""
    if principal.role != OFFICE_ROLE or not principal.office_id:
        raise Forbidden("only an office client registers declarations")
    return Office(principal.office_id, principal.subject)


async def _consulter(principal: Annotated[Principal, Depends(_registry_reader)]) -> Consulter:
    """A bailiff's office client or the judicial authority, with `registry:read`."""
    if principal.role not in REGISTRY_READERS:
        raise Forbidden("only bailiffs and the judicial authority read the registry")
    if principal.role == OFFICE_ROLE:
        if not principal.office_id:
            raise Forbidden("an office token must name its office")
        return Consulter(ConsulterRole.OFFICE, principal.subject, principal.office_id)
    return Consulter(ConsulterRole.JUDICIAL_AUTHORITY, principal.subject, None)


async def _declaration_reader(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    if principal.role not in {OFFICE_ROLE, RECIPIENT_ROLE, OPERATOR_ROLE}:
        raise Forbidden("your role does not read declarations")
    return principal


async def _recipient(
    principal: Annotated[Principal, Depends(_recipient_role)],
    _: Annotated[Principal, Depends(_reads)],
) -> Principal:
    """The person, past the CGU gate: reads their data and exercises their GDPR rights, even
    after termination."""
    return principal


async def _recipient_writer(
    principal: Annotated[Principal, Depends(_recipient_role)],
    _: Annotated[Principal, Depends(_writes)],
) -> Principal:
    """The person, past the CGU gate and not terminated: may change the declaration."""
    return principal


async def _answering_recipient(
    principal: Annotated[Principal, Depends(_recipient_role)],
    _: Annotated[Principal, Depends(_answers)],
) -> Principal:
    """The person at the CGU gate: reads the declaration's statement, validates or contests
    it."""
    return principal


AnsweringRecipient = Annotated[Principal, Depends(_answering_recipient)]


async def _service(principal: Annotated[Principal, Depends(_status_reader)]) -> Principal:
    """One of the platform's service clients (identity's `service-delivery`), never a person
    or an office: the status route answers any declaration id."""
    if principal.role != SERVICE_ROLE:
        raise Forbidden("only the platform's services read a consent's status")
    return principal


StatusReader = Annotated[Principal, Depends(_service)]
RegisteringOffice = Annotated[Office, Depends(_registering_office)]
RegistryConsulter = Annotated[Consulter, Depends(_consulter)]
DeclarationReader = Annotated[Principal, Depends(_declaration_reader)]
Recipient = Annotated[Principal, Depends(_recipient)]
RecipientWriter = Annotated[Principal, Depends(_recipient_writer)]
Operator = Annotated[Principal, Depends(_operator)]

Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


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


class RevocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirmation: Literal[True] = Field(
        description="must be true: the person confirms the revocation"
    )


ContentHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


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


class RestrictionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: RestrictionKind
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class RestrictionAnswer(BaseModel):
    """An operator's final answer; the reason is shown to the person."""

    model_config = ConfigDict(extra="forbid")

    outcome: RestrictionOutcome
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


_REGISTRATION_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["declaration"],
                    "properties": {
                        "declaration": {
                            "type": "string",
                            "description": "JSON of DeclarationInput; each "
                            "proofs[].part names the file part carrying that proof",
                        },
                    },
                    "additionalProperties": {"type": "string", "format": "binary"},
                }
            }
        },
    }
}
_REGISTRATION_EXAMPLE: Final = with_examples(
    _REGISTRATION_BODY,
    request=(
        "multipart/form-data",
        {
            "declaration": '{"person": {"kind": "natural", "nom": "Martin", "prenoms": "Claire", '
            '"date_naissance": "1984-05-17", "lieu_naissance": "Lyon", "domicile": {"adresse": '
            '"12 rue des Lilas", "code_postal": "69003", "commune": "Lyon"}, "email": '
            '"claire.martin@example.org"}, "scope": ["signification_jugement"], "duration": '
            '{"type": "indefinite"}, "revocation_modalities": "Depuis votre espace, rubrique '
            'Consentement", "proofs": [{"part": "id-card", "type": "carte_identite", '
            '"issued_on": "2021-09-01"}]}',
            "id-card": "(the proof, PDF, JPEG or PNG)",
        },
    ),
    responses={
        201: {"id": "01JF8YZ1K2M3N4P5Q6R7S8T9V0", "status": "registered", "territory": "metropole"}
    },
)
_EXPORT_FILE: Final = {"Content-Disposition": 'attachment; filename="mes-donnees.json"'}


def consent_router(consent: Consent, limits: Limits) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["consent"])

    @router.post(
        "/declarations",
        status_code=201,
        responses=problem_responses(409, 422),
        openapi_extra=_REGISTRATION_EXAMPLE,
    )
    @body_limit(None)  # streamed and limited by intake (`limits.max_request_bytes`)
    async def register(request: Request, office: RegisteringOffice) -> Registered:
        """Register a declaration with its proof files (PDF, JPEG or PNG, by content)."""
        declaration = await consent.registration.submit(
            office,
            request.stream(),
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            limits,
        )
        return Registered(
            id=declaration.id, status=declaration.status, territory=declaration.territory
        )

    @router.get("/declarations/{declaration_id}")
    async def get_declaration(declaration_id: str, principal: DeclarationReader) -> DeclarationView:
        return await consent.registry.seen_by(
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
        return await consent.registry.answer(consulter, lookup.query(), lookup.purpose)

    @router.post("/registry/search")
    async def search_by_body(lookup: Lookup, consulter: RegistryConsulter) -> LookupAnswer:
        """The same lookup with the keys in a JSON body, out of every URL."""
        return await consent.registry.answer(consulter, lookup.query(), lookup.purpose)

    @router.get("/me/declaration", responses=problem_responses(404))
    async def my_declaration(principal: Recipient) -> MyDeclaration:
        return await consent.registry.mine(principal.subject)

    @router.get("/me/declaration/statement", responses=problem_responses(404))
    async def my_statement(principal: AnsweringRecipient) -> Statement:
        """The declaration as you validate it at the CGU (décret 2021-1625 art. 21): identity,
        natures of acts, duration, how to revoke, CPC 653, 662-1, 663, 664-1; and its hash."""
        return await consent.lifecycle.statement(principal.subject)

    @router.post("/me/declaration/validation", responses=problem_responses(404, 409))
    async def validate(body: StatementValidation, principal: AnsweringRecipient) -> Statement:
        """Validate the statement you were shown (its `content_hash`): 409 if it changed."""
        return await consent.lifecycle.validate(principal.subject, body.content_hash)

    @router.post("/me/declaration/contestation", responses=problem_responses(404, 409))
    async def contest(body: StatementContestation, principal: AnsweringRecipient) -> Statement:
        """Refuse the declaration as wrong, saying why: it never becomes active and the office
        is told (`consent.declaration-contested.v1`)."""
        return await consent.lifecycle.contest(
            principal.subject, body.content_hash, tuple(dict.fromkeys(body.parts)), body.reason
        )

    @router.post("/me/declaration/revocation", responses=problem_responses(404, 409))
    async def revoke(body: RevocationRequest, principal: RecipientWriter) -> DeclarationView:
        """Revoke the consent: effective at once for new acts, never retroactive."""
        return consent.registry.view(await consent.lifecycle.revoke(principal.subject))

    @router.get("/me/export", responses=problem_responses(404))
    async def export(principal: Recipient, response: Response) -> Export:
        """All data consent holds about you, as JSON (GDPR portability), as a file."""
        response.headers.update(_EXPORT_FILE)
        return await consent.rights.export(principal.subject)

    @router.get(
        "/me/proofs/{proof_id}",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "the proof file, decrypted",
                "content": {
                    media.value: {"schema": {"type": "string", "format": "binary"}}
                    for media in MediaType
                },
            },
            **problem_responses(410),
        },
    )
    async def my_proof(proof_id: str, principal: Recipient) -> StreamingResponse:
        """One of your proof files, decrypted. Opened before the response starts: an object
        store down is a 503, not a 200 cut short; a failure further on aborts the connection
        short of Content-Length, which no client takes for a whole file."""
        proof = await consent.rights.download(principal.subject, proof_id)
        return StreamingResponse(
            proof.chunks,
            media_type=proof.media_type,
            headers={"Content-Length": str(proof.size)},
        )

    @router.post("/me/restriction-requests", status_code=201, responses=problem_responses(404))
    async def restriction(body: RestrictionRequest, principal: Recipient) -> RestrictionRecorded:
        """Record a restriction (GDPR art. 18) or objection (art. 21) request."""
        return await consent.rights.record(principal.subject, body.kind, body.text)

    @router.get("/me/restriction-requests", responses=problem_responses(404))
    async def my_restrictions(principal: Recipient) -> MyRestrictions:
        """The person's requests and the operator's answers."""
        return await consent.rights.restriction_requests_of(principal.subject)

    @router.get("/restriction-requests")
    async def restrictions(
        _: Operator,
        state: Annotated[RequestState | Literal["all"], Query()] = RequestState.OPEN,
        after: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> RestrictionQueue:
        """The operator's queue, oldest first; page with `after` = the last id seen."""
        return await consent.rights.restriction_requests(
            state=None if state == "all" else RequestState(state), after=after, limit=limit
        )

    @router.post("/restriction-requests/{request_id}/answer", responses=problem_responses(409))
    async def answer_restriction(
        request_id: str, body: RestrictionAnswer, principal: Operator
    ) -> RestrictionView:
        """Grant or refuse a request (final); the person reads the answer in their space."""
        return await consent.rights.answer_restriction(
            request_id, body.outcome, body.reason, operator=principal.subject
        )

    return router


def internal_router(consent: Consent) -> APIRouter:
    """Service-to-service routes: callers are the platform's service clients, each limited
    by its scope (identity's `service_clients`)."""
    router = APIRouter(prefix="/internal/v1", tags=["internal"])

    @router.get("/declarations/{declaration_id}/status", responses=problem_responses(404))
    async def consent_status(
        declaration_id: Annotated[str, Path(max_length=100)],
        _caller: StatusReader,
        response: Response,
    ) -> ConsentStatus:
        """Whether the consent allows serving now (active, scope, end of duration, territory)
        and, once it ended, when and why. Delivery asks it at each sending instant."""
        response.headers["Cache-Control"] = "no-store"
        return await consent.registry.status_of(declaration_id)

    return router
