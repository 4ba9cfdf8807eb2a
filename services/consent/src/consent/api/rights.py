"""The person's GDPR rights (export, their proof files, restriction and objection requests) and
the operators' answers to those requests."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, StringConstraints

from consent.api.common import Operator, Recipient
from consent.declarations import RequestState
from consent.service import Consent
from consent.views import (
    Export,
    MyRestrictions,
    RestrictionQueue,
    RestrictionRecorded,
    RestrictionView,
)
from shared.contracts.consent import RestrictionKind, RestrictionOutcome
from shared.documents import MediaType
from shared.openapi import problem_responses

_EXPORT_FILE: Final = {"Content-Disposition": 'attachment; filename="mes-donnees.json"'}
_PROOF_FILE: Final = {
    200: {
        "description": "the proof file, decrypted",
        "content": {
            media.value: {"schema": {"type": "string", "format": "binary"}} for media in MediaType
        },
    },
    **problem_responses(410),
}


class RestrictionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: RestrictionKind
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class RestrictionAnswer(BaseModel):
    """An operator's final answer; the reason is shown to the person."""

    model_config = ConfigDict(extra="forbid")

    outcome: RestrictionOutcome
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


def rights_router(consent: Consent) -> APIRouter:
    router = APIRouter()
    rights = consent.rights

    @router.get("/me/export", responses=problem_responses(404))
    async def export(principal: Recipient, response: Response) -> Export:
        """All data consent holds about you, as JSON (GDPR portability), as a file."""
        response.headers.update(_EXPORT_FILE)
        return await rights.export(principal.subject)

    @router.get("/me/proofs/{proof_id}", response_class=StreamingResponse, responses=_PROOF_FILE)
    async def my_proof(proof_id: str, principal: Recipient) -> StreamingResponse:
        """One of your proof files, decrypted. Opened before the response starts: an object
        store down is a 503, not a 200 cut short; a failure further on aborts the connection
        short of Content-Length, which no client takes for a whole file."""
        proof = await rights.download(principal.subject, proof_id)
        return StreamingResponse(
            proof.chunks,
            media_type=proof.media_type,
            headers={"Content-Length": str(proof.size)},
        )

    @router.post("/me/restriction-requests", status_code=201, responses=problem_responses(404))
    async def restriction(body: RestrictionRequest, principal: Recipient) -> RestrictionRecorded:
        """Record a restriction (GDPR art. 18) or objection (art. 21) request."""
        return await rights.record(principal.subject, body.kind, body.text)

    @router.get("/me/restriction-requests", responses=problem_responses(404))
    async def my_restrictions(principal: Recipient) -> MyRestrictions:
        """The person's requests and the operator's answers."""
        return await rights.restriction_requests_of(principal.subject)

    @router.get("/restriction-requests")
    async def restrictions(
        _: Operator,
        state: Annotated[RequestState | Literal["all"], Query()] = RequestState.OPEN,
        after: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> RestrictionQueue:
        """The operator's queue, oldest first; page with `after` = the last id seen."""
        return await rights.restriction_requests(
            state=None if state == "all" else RequestState(state), after=after, limit=limit
        )

    @router.post("/restriction-requests/{request_id}/answer", responses=problem_responses(409))
    async def answer_restriction(
        request_id: str, body: RestrictionAnswer, principal: Operator
    ) -> RestrictionView:
        """Grant or refuse a request (final); the person reads the answer in their space."""
        return await rights.answer_restriction(
            request_id, body.outcome, body.reason, operator=principal.subject
        )

    return router
