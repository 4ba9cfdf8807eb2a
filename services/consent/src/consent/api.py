"""Consent's HTTP API: thin adapters over `Registry`.

Who may do what (checked here, in the service that owns the data, DESIGN §7):

| route | caller |
|---|---|
| `POST /v1/declarations` | an office client with `registry:write` |
| `GET /v1/declarations/{id}` | the registering office, the person, an operator |
| `GET` or `POST /v1/registry/search` | `registry:read` and role `office` or `judicial_authority` |
| `/v1/me/...` | the person: role `recipient` and `acts:read` (revocation: `account:write`) |
| `GET /v1/restriction-requests`, `POST .../{id}/answer` | an operator |

The person's token `sub` is their account id. A recipient or an office asking for a declaration
that is not theirs gets 404, as for one that does not exist: ids are not probed. Registry lookups
are limited per office and per judicial client per minute (429 with Retry-After beyond).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from consent.domain import DeclarationError, luhn_valid
from consent.intake import BodyTooLargeError, Limits, Submission, SubmissionError, receive
from consent.service import (
    Consulter,
    DeclarationNotFoundError,
    DuplicateDeclarationError,
    LookupRateLimitedError,
    NaturalQuery,
    NotRevocableError,
    Office,
    Registry,
    RestrictionAlreadyAnsweredError,
    RestrictionRequestNotFoundError,
    SirenQuery,
    restriction_view,
)
from shared.auth import Principal, current_principal, require_role, require_scopes
from shared.bodylimit import body_limit
from shared.clock import Clock
from shared.contracts.consent import ConsulterRole, RestrictionKind, RestrictionOutcome
from shared.objects import ObjectStoreError
from shared.openapi import problem_responses
from shared.problems import VALIDATION_PROBLEM_TYPE, Problem, problem_response, problem_type
from shared.store.port import StoreUnavailableError
from shared.vault import TooLargeError

OFFICE_ROLE: Final = "office"
RECIPIENT_ROLE: Final = "recipient"
OPERATOR_ROLE: Final = "operator"
JUDICIAL_ROLE: Final = "judicial_authority"
REGISTRY_READERS: Final = frozenset({OFFICE_ROLE, JUDICIAL_ROLE})
PROOF_URL: Final = "/v1/me/proofs/{id}"
RETRY_AFTER_SECONDS: Final = 10

# Module-level: FastAPI resolves the (postponed) annotations of routes in this module's globals.
office_writer = require_scopes("registry:write")
registry_reader = require_scopes("registry:read")
operator = require_role(OPERATOR_ROLE)
_recipient_role = require_role(RECIPIENT_ROLE)
# Identity grants these once the current CGU are accepted; a terminated account keeps
# `acts:read` only (read-only, CGU §12), a session still facing the CGU has neither.
_reads = require_scopes("acts:read")
_writes = require_scopes("account:write")


async def recipient(
    principal: Annotated[Principal, Depends(_recipient_role)],
    _: Annotated[Principal, Depends(_reads)],
) -> Principal:
    """The person, past the CGU gate: reads their data and exercises their GDPR rights, even
    after termination."""
    return principal


async def recipient_writer(
    principal: Annotated[Principal, Depends(_recipient_role)],
    _: Annotated[Principal, Depends(_writes)],
) -> Principal:
    """The person, past the CGU gate and not terminated: may change the declaration."""
    return principal


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


class RevocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirmation: Literal[True] = Field(
        description="must be true: the person confirms the revocation"
    )


class RestrictionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: RestrictionKind
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class RestrictionAnswer(BaseModel):
    """An operator's final answer; the reason is shown to the person."""

    model_config = ConfigDict(extra="forbid")

    outcome: RestrictionOutcome
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


RequestState = Literal["open", "granted", "refused"]


def _not_found(detail: str = "no such declaration") -> Problem:
    return Problem(404, "Not found", detail, type=problem_type("declaration-not-found"))


def _invalid(detail: str, errors: list[dict[str, Any]]) -> Problem:
    return Problem(
        422,
        "Declaration refused",
        detail,
        type=VALIDATION_PROBLEM_TYPE,
        extra={"errors": errors},
    )


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "Upload too large",
        f"the limit is {limit} bytes",
        type=problem_type("upload-too-large"),
        extra={"limit_bytes": limit},
        # The rest of the body is not read: the client must not reuse the connection.
        headers={"Connection": "close"},
    )


def _unavailable(what: str, *, body_unread: bool = False) -> Problem:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if body_unread:
        # The rest of the upload is not read: the client must not reuse the connection.
        headers["Connection"] = "close"
    return Problem(
        503,
        "Service unavailable",
        f"the {what} cannot be reached; nothing was recorded, retry later",
        type=problem_type(f"{what.replace(' ', '-')}-unavailable"),
        headers=headers,
    )


def install_unavailable_handlers(app: FastAPI) -> None:
    """A dependency down is a 503 the client retries, whatever the route: consent's store or
    its object store (a route with cleanup to do maps them itself first)."""

    async def store_down(_request: Request, _exc: Exception) -> JSONResponse:
        return problem_response(_unavailable("database"))

    async def objects_down(_request: Request, _exc: Exception) -> JSONResponse:
        return problem_response(_unavailable("object store"))

    app.add_exception_handler(StoreUnavailableError, store_down)
    app.add_exception_handler(ObjectStoreError, objects_down)


async def _register(registry: Registry, office: Office, submission: Submission) -> dict[str, Any]:
    """Record the declaration; if it does not commit, for whatever reason, its proofs (already
    stored, their keys never kept) are discarded."""
    try:
        return await registry.register(office, submission.declaration, submission.uploads)
    except BaseException:
        await registry.vault.discard([u.proof_id for u in submission.uploads.values()])
        raise


def consent_router(registry: Registry, clock: Clock, limits: Limits) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["consent"])

    @router.post(
        "/declarations",
        status_code=201,
        responses=problem_responses(409, 422),
        openapi_extra={
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
        },
    )
    @body_limit(None)  # streamed and limited by intake (`limits.max_request_bytes`)
    async def register(
        request: Request, principal: Annotated[Principal, Depends(office_writer)]
    ) -> dict[str, Any]:
        """Register a declaration with its proof files (PDF, JPEG or PNG, by content)."""
        if principal.role != OFFICE_ROLE or not principal.office_id:
            raise Problem(403, "Forbidden", "only an office client registers declarations")
        try:
            submission = await receive(
                request.stream(),
                request.headers.get("content-type"),
                request.headers.get("content-length"),
                vault=registry.vault,
                clock=clock,
                limits=limits,
            )
        except (BodyTooLargeError, TooLargeError) as error:
            raise _too_large(error.limit) from None
        except SubmissionError as error:
            raise _invalid(error.message, error.errors) from None
        except ObjectStoreError:
            # What was stored of the upload was discarded (or is left to the sweeper).
            raise _unavailable("object store", body_unread=True) from None
        except StoreUnavailableError:
            raise _unavailable("database", body_unread=True) from None
        office = Office(principal.office_id, principal.subject)
        try:
            document = await _register(registry, office, submission)
        except DeclarationError as error:
            raise _invalid(
                "the declaration breaks a rule",
                [{"loc": error.field.split("."), "msg": error.message, "type": "rule"}],
            ) from None
        except DuplicateDeclarationError as error:
            raise Problem(
                409,
                "Declaration exists",
                "this person already has a registered or active declaration",
                type=problem_type("declaration-exists"),
                extra={"declaration_id": error.existing_id},
            ) from None
        return {
            "id": document["_id"],
            "status": document["status"],
            "territory": document["territory"],
        }

    @router.get("/declarations/{declaration_id}")
    async def get_declaration(
        declaration_id: str, principal: Annotated[Principal, Depends(current_principal)]
    ) -> dict[str, Any]:
        if principal.role not in {OFFICE_ROLE, RECIPIENT_ROLE, OPERATOR_ROLE}:
            raise Problem(403, "Forbidden", "your role does not read declarations")
        document = await registry.get(declaration_id)
        if document is None:
            raise _not_found()
        allowed = (
            principal.role == OPERATOR_ROLE
            or (
                principal.role == OFFICE_ROLE
                and principal.office_id is not None
                and principal.office_id == document["office_id"]
            )
            or (principal.role == RECIPIENT_ROLE and principal.subject == document["account_id"])
        )
        if not allowed:
            raise _not_found()
        return registry.view(document)

    @router.get("/registry/search")
    async def search(
        principal: Annotated[Principal, Depends(registry_reader)],
        purpose: Annotated[Purpose, Query(description="the office's file reference")],
        nom: Annotated[Name | None, Query()] = None,
        prenoms: Annotated[Name | None, Query()] = None,
        date_naissance: Annotated[date | None, Query()] = None,
        lieu_naissance: Annotated[Name | None, Query()] = None,
        siren: Annotated[str | None, Query(pattern=r"^[0-9]{9}$")] = None,
    ) -> JSONResponse:
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
        return await _search(registry, principal, lookup)

    @router.post("/registry/search")
    async def search_by_body(
        lookup: Lookup, principal: Annotated[Principal, Depends(registry_reader)]
    ) -> JSONResponse:
        """The same lookup with the keys in a JSON body, out of every URL."""
        return await _search(registry, principal, lookup)

    @router.get("/me/declaration", responses=problem_responses(404))
    async def my_declaration(
        principal: Annotated[Principal, Depends(recipient)],
    ) -> dict[str, Any]:
        document = await _own(registry, principal)
        view = registry.view(document)
        view["proofs"] = [
            {
                "id": p["_id"],
                "type": p["type"],
                "issued_on": p.get("issued_on"),
                "media_type": p.get("media_type"),
                "download": PROOF_URL.format(id=p["_id"]),
            }
            for p in await registry.proofs_of(document["_id"])
        ]
        return view

    @router.post("/me/declaration/revocation", responses=problem_responses(404, 409))
    async def revoke(
        body: RevocationRequest, principal: Annotated[Principal, Depends(recipient_writer)]
    ) -> dict[str, Any]:
        """Revoke the consent: effective at once for new acts, never retroactive."""
        try:
            document = await registry.revoke(principal.subject)
        except DeclarationNotFoundError:
            raise _not_found("no declaration is linked to your account") from None
        except NotRevocableError as error:
            raise Problem(
                409,
                "Not revocable",
                f"the declaration is {error.status.value}",
                type=problem_type("declaration-not-revocable"),
                extra={"declaration_status": error.status.value},
            ) from None
        return registry.view(document)

    @router.get("/me/export", responses=problem_responses(404))
    async def export(principal: Annotated[Principal, Depends(recipient)]) -> JSONResponse:
        """All data consent holds about you, as JSON (GDPR portability)."""
        try:
            data = await registry.export(principal.subject, PROOF_URL)
        except DeclarationNotFoundError:
            raise _not_found("no declaration is linked to your account") from None
        return JSONResponse(
            data, headers={"Content-Disposition": 'attachment; filename="mes-donnees.json"'}
        )

    @router.get("/me/proofs/{proof_id}", responses=problem_responses(410))
    async def my_proof(
        proof_id: str, principal: Annotated[Principal, Depends(recipient)]
    ) -> StreamingResponse:
        """One of your proof files, decrypted."""
        try:
            proof = await registry.proof_of_account(principal.subject, proof_id)
        except DeclarationNotFoundError:
            raise _not_found("no such proof") from None
        if proof.get("shredded_at"):
            raise Problem(410, "Gone", "this proof was destroyed", type=problem_type("proof-gone"))
        # Opened before the response starts: an object store down is a 503, not a 200 cut
        # short. A failure further on aborts the connection short of Content-Length, which no
        # client takes for a whole file.
        try:
            chunks: AsyncIterator[bytes] = await registry.open_proof(proof_id)
        except LookupError:  # its key is gone without the proof being marked shredded
            raise _not_found("no such proof") from None
        return StreamingResponse(
            chunks,
            media_type=str(proof["media_type"]),
            headers={"Content-Length": str(proof["size"])},
        )

    @router.post("/me/restriction-requests", status_code=201, responses=problem_responses(404))
    async def restriction(
        body: RestrictionRequest, principal: Annotated[Principal, Depends(recipient)]
    ) -> dict[str, Any]:
        """Record a restriction (GDPR art. 18) or objection (art. 21) request."""
        try:
            request = await registry.request_restriction(principal.subject, body.kind, body.text)
        except DeclarationNotFoundError:
            raise _not_found("no declaration is linked to your account") from None
        return {"id": request["_id"], "kind": request["kind"], "state": request["state"]}

    @router.get("/me/restriction-requests", responses=problem_responses(404))
    async def my_restrictions(
        principal: Annotated[Principal, Depends(recipient)],
    ) -> dict[str, Any]:
        """The person's requests and the operator's answers."""
        try:
            requests = await registry.restriction_requests_of(principal.subject)
        except DeclarationNotFoundError:
            raise _not_found("no declaration is linked to your account") from None
        return {"requests": [restriction_view(r) for r in requests]}

    @router.get("/restriction-requests")
    async def restrictions(
        _: Annotated[Principal, Depends(operator)],
        state: Annotated[RequestState | Literal["all"], Query()] = "open",
        after: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        """The operator's queue, oldest first; page with `after` = the last id seen."""
        requests = await registry.restriction_requests(
            state=None if state == "all" else state, after=after, limit=limit
        )
        return {
            "requests": [
                {**restriction_view(r), "declaration_id": r["declaration_id"]} for r in requests
            ],
            "next_after": requests[-1]["_id"] if len(requests) == limit else None,
        }

    @router.post("/restriction-requests/{request_id}/answer", responses=problem_responses(409))
    async def answer_restriction(
        request_id: str,
        body: RestrictionAnswer,
        principal: Annotated[Principal, Depends(operator)],
    ) -> dict[str, Any]:
        """Grant or refuse a request (final); the person reads the answer in their space."""
        try:
            answered = await registry.answer_restriction(
                request_id, body.outcome, body.reason, operator=principal.subject
            )
        except RestrictionRequestNotFoundError:
            raise Problem(
                404,
                "Not found",
                "no such restriction request",
                type=problem_type("restriction-request-not-found"),
            ) from None
        except RestrictionAlreadyAnsweredError as error:
            raise Problem(
                409,
                "Already answered",
                str(error),
                type=problem_type("restriction-request-answered"),
            ) from None
        return restriction_view(answered)

    return router


async def _search(registry: Registry, principal: Principal, lookup: Lookup) -> JSONResponse:
    if principal.role not in REGISTRY_READERS:
        raise Problem(
            403, "Forbidden", "only bailiffs and the judicial authority read the registry"
        )
    natural = (lookup.nom, lookup.prenoms, lookup.date_naissance)
    query: NaturalQuery | SirenQuery
    if lookup.siren is not None and not any(natural) and lookup.lieu_naissance is None:
        if not luhn_valid(lookup.siren):
            raise _invalid(
                "invalid lookup",
                [{"loc": ["siren"], "msg": "bad SIREN key", "type": "rule"}],
            )
        query = SirenQuery(lookup.siren)
    elif lookup.siren is None and lookup.nom and lookup.prenoms and lookup.date_naissance:
        query = NaturalQuery(
            lookup.nom, lookup.prenoms, lookup.date_naissance, lookup.lieu_naissance
        )
    else:
        raise _invalid(
            "give either nom, prenoms and date_naissance (and optionally lieu_naissance), or siren",
            [],
        )
    if principal.role == OFFICE_ROLE:
        if not principal.office_id:
            raise Problem(403, "Forbidden", "an office token must name its office")
        consulter = Consulter(ConsulterRole.OFFICE, principal.subject, principal.office_id)
    else:
        consulter = Consulter(ConsulterRole.JUDICIAL_AUTHORITY, principal.subject, None)
    try:
        answer = await registry.search(consulter, query, lookup.purpose)
    except LookupRateLimitedError as limited:
        raise Problem(
            429,
            "Too many lookups",
            "this client's registry lookups reached their limit per minute; retry later",
            type=problem_type("lookup-rate-limited"),
            extra={"retry_after_seconds": limited.retry_after},
            headers={"Retry-After": str(limited.retry_after)},
        ) from None
    # No match is an answer too (200): the lookup happened and is journaled.
    if answer is None:
        return JSONResponse({"found": False})
    return JSONResponse({"found": True, **answer.to_json()})


async def _own(registry: Registry, principal: Principal) -> dict[str, Any]:
    try:
        return await registry.of_account(principal.subject)
    except DeclarationNotFoundError:
        raise _not_found("no declaration is linked to your account") from None
