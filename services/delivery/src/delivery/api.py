"""Delivery's HTTP API: thin adapters over the use cases wired in `delivery.service`.

Routes decode, call one use case and return its typed view; what a use case refuses is a
`shared.refusals.Refusal`, mapped to problem+json once for the whole app.

| route | caller |
|---|---|
| `POST /v1/acts` | an office client with `acts:write` (role `office`, an `office_id` claim) |
| `GET /v1/acts`, `/v1/acts/{id}`, `/v1/acts/{id}/evidence` | that office (`acts:read`/`write`) |
| `GET /v1/acts/{id}/evidence.pdf` | that office: the sealed evidence report (PDF) |
| `POST /v1/acts/{id}/lettre-simple` | that office (`acts:write`): the letter was posted |
| `GET /v1/inbox…` | the recipient (role `recipient`, `acts:read`; a terminated account keeps it) |
| `GET /v1/inbox/{id}/evidence.pdf` | the recipient: the same sealed report |
| `POST /v1/inbox/{id}/replies` | the recipient with `acts:reply` (a terminated account lacks it) |
| `GET /v1/acts/{id}/replies`, `…/replies/{reply_id}/content` | the act's office |
| `GET /v1/evidence/keys` | anyone: the public keys that verify evidence offline |

An act of another office or another recipient is answered 404, as one that does not exist.
Once an account's acts are erased (retention's request, `delivery.erasure`), the recipient's
routes and the replies' content answer 410 `act-erased`; the office sees the tombstone (ids,
SHA-256, dates, quality) and keeps its signed evidence set.

`POST /v1/acts` is `multipart/form-data` read as a stream, parts in this order: `metadata`
(JSON, see `ActMetadata`), optionally `judge_leave` (the judge's leave, a PDF), then `document`
(the act, a PDF). Consent and the window are checked before the document is read; the first
byte over a limit stops the upload (413).

`POST /v1/inbox/{id}/replies` takes either `multipart/form-data` with one file part (`file`) or
the file itself as the body (any other content type; `X-Filename` may name it). The format is
decided by content (PDF, JPEG, PNG); the file is scanned for malware when clamd is configured:
an infected file is refused (422 `reply-infected`) and journaled, never kept.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from delivery.api_docs import DEPOSIT_EXAMPLE, EVIDENCE_EXAMPLE, PDF, REPLY_FILE
from delivery.errors import Forbidden, IdempotencyKeyRequired, InsufficientScope, UploadTooLarge
from delivery.lettre_simple import LettreSimplePosting, LettreSimpleView
from delivery.offices import OfficeDirectory
from delivery.replies import ErasedReplyView, ReplyView
from delivery.reports import EvidenceReports
from delivery.service import Delivery
from delivery.streaming import DeliveredStream
from delivery.views import (
    ActPage,
    DepositView,
    EvidenceSet,
    Inbox,
    OfficeActView,
    RecipientActView,
    TombstoneView,
)
from shared.auth import Principal, current_principal, require_role, require_scopes
from shared.bodylimit import body_limit
from shared.openapi import problem_responses, required_headers
from shared.telemetry import annotate

OFFICE_ROLE: Final = "office"
RECIPIENT_ROLE: Final = "recipient"
_IDEMPOTENCY_KEY: Final = re.compile(r"^[\x21-\x7e]{1,200}$")
# Room for a multipart envelope around a reply file.
_FORM_OVERHEAD: Final = 64 * 1024

_acts_writer = require_scopes("acts:write")
_acts_reader = require_scopes("acts:read")
_acts_replier = require_scopes("acts:reply")
_recipient_role = require_role(RECIPIENT_ROLE)


async def _office_writer(principal: Annotated[Principal, Depends(_acts_writer)]) -> Principal:
    """An office client with `acts:write`: it serves acts."""
    if principal.role != OFFICE_ROLE or not principal.office_id:
        raise Forbidden("only an office client serves acts")
    return principal


async def _office_reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """An office client with `acts:read` or `acts:write`: it reads what it served."""
    if principal.role != OFFICE_ROLE or not principal.office_id:
        raise Forbidden("only an office client reads its acts")
    if not (principal.has_scopes("acts:read") or principal.has_scopes("acts:write")):
        raise InsufficientScope("This operation needs the scope acts:read or acts:write.")
    return principal


async def _recipient(
    principal: Annotated[Principal, Depends(_acts_reader)],
    _role: Annotated[Principal, Depends(_recipient_role)],
) -> Principal:
    return principal


async def _replier(
    principal: Annotated[Principal, Depends(_acts_replier)],
    _role: Annotated[Principal, Depends(_recipient_role)],
) -> Principal:
    return principal


OfficeWriter = Annotated[Principal, Depends(_office_writer)]
OfficeReader = Annotated[Principal, Depends(_office_reader)]
Recipient = Annotated[Principal, Depends(_recipient)]
Replier = Annotated[Principal, Depends(_replier)]


class ReplyList(BaseModel):
    items: list[ReplyView | ErasedReplyView]


class EvidenceKeys(BaseModel):
    keys: list[str]
    """C2SP verifier key strings."""
    seal_chain: list[str] = []
    """The evidence reports' seal certificate chain (PEM, leaf first); empty: no reports."""


def _office_id(principal: Principal) -> str:
    assert principal.office_id is not None  # the office dependencies require one
    return principal.office_id


def _check_length(request: Request, ceiling: int, reported: int) -> None:
    """Refuse before reading a body whose declared length is over `ceiling`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > ceiling:
        raise UploadTooLarge(reported)


async def _counted(body: AsyncIterator[bytes], ceiling: int, reported: int) -> AsyncIterator[bytes]:
    """The body, refused at the first byte over `ceiling` (413 naming `reported`)."""
    total = 0
    async for chunk in body:
        total += len(chunk)
        if total > ceiling:
            raise UploadTooLarge(reported)
        yield chunk


def _report(act_id: str, report: bytes) -> Response:
    return Response(
        report,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="preuve-{act_id}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def delivery_router(
    delivery: Delivery,
    offices: OfficeDirectory,
    max_request_bytes: int,
    reports: EvidenceReports | None = None,
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["delivery"])
    views = delivery.views
    replies = delivery.replies
    config = delivery.ctx.config

    def _reports() -> EvidenceReports:
        return reports or EvidenceReports(delivery.ctx, views, None)

    @router.post(
        "/acts",
        status_code=201,
        response_model=DepositView,
        responses={
            **problem_responses(400, 409),
            202: {
                "model": DepositView,
                "description": "accepted and scheduled for the next window opening",
            },
        },
        # Checked by the route itself (its own problem when missing), required by contract.
        openapi_extra={**DEPOSIT_EXAMPLE, **required_headers("Idempotency-Key")},
    )
    @body_limit(None)  # streamed and limited here (`max_request_bytes`)
    async def deposit(
        request: Request,
        response: Response,
        principal: OfficeWriter,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> DepositView:
        """Serve an act on a consenting recipient (CPC 662-1, 664, 664-1)."""
        if idempotency_key is None or not _IDEMPOTENCY_KEY.match(idempotency_key):
            raise IdempotencyKeyRequired
        _check_length(request, max_request_bytes, config.max_act_bytes)
        bailiff = principal.claims.get("bailiff_name")
        office = await offices.resolve(
            _office_id(principal),
            principal.subject,
            bailiff if isinstance(bailiff, str) else None,
        )
        outcome = await delivery.deposits.submit(
            office,
            idempotency_key,
            request.headers.get("content-type"),
            _counted(request.stream(), max_request_bytes, max_request_bytes),
        )
        response.status_code = outcome.status_code
        response.headers["Location"] = f"/v1/acts/{outcome.view.id}"
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return outcome.view

    @router.get("/acts")
    async def list_acts(
        principal: OfficeReader,
        since: datetime | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> ActPage:
        """The office's acts by last change, for polling: pass `next_cursor` back as `cursor`."""
        return await views.office_acts(
            _office_id(principal), since=since, status=status, cursor=cursor, limit=limit
        )

    @router.get("/acts/{act_id}")
    async def get_act(act_id: str, principal: OfficeReader) -> OfficeActView | TombstoneView:
        return await views.office_view(await views.office_act(_office_id(principal), act_id))

    @router.get("/acts/{act_id}/evidence", openapi_extra=EVIDENCE_EXAMPLE)
    async def office_evidence(act_id: str, principal: OfficeReader) -> EvidenceSet:
        return await views.evidence_set(await views.office_act(_office_id(principal), act_id))

    @router.get(
        "/acts/{act_id}/evidence.pdf",
        response_class=Response,
        responses={**PDF, **problem_responses(503)},
    )
    async def office_evidence_report(act_id: str, principal: OfficeReader) -> Response:
        """The act's evidence report: French PDF sealed (PAdES) and timestamped, the signed
        evidence set attached (`securact-delivery verify-evidence` checks it offline)."""
        act = await views.office_act(_office_id(principal), act_id)
        return _report(act.id, await _reports().report(act))

    @router.post(
        "/acts/{act_id}/lettre-simple",
        status_code=201,
        responses={
            200: {"model": LettreSimpleView, "description": "already recorded"},
            **problem_responses(404, 409),
        },
    )
    async def lettre_simple(
        act_id: str, posting: LettreSimplePosting, response: Response, principal: OfficeWriter
    ) -> LettreSimpleView:
        """The serving office declares the CPC 662-1 lettre simple posted (an act finalised
        *à domicile* only): `RelayToNonERDS` is signed. The same particulars again answer 200."""
        recorded = await delivery.letters.record_posted(
            _office_id(principal), principal.subject, act_id, posting
        )
        if not recorded.created:
            response.status_code = 200
        return recorded.view

    @router.get("/inbox")
    async def inbox(principal: Recipient) -> Inbox:
        return await views.inbox(principal.subject)

    @router.get("/inbox/{act_id}", responses=problem_responses(410))
    async def inbox_act(act_id: str, principal: Recipient) -> RecipientActView:
        return RecipientActView.of(await views.recipient_act(principal.subject, act_id))

    @router.get(
        "/inbox/{act_id}/content",
        response_class=StreamingResponse,
        responses={**PDF, **problem_responses(410)},
    )
    async def content(act_id: str, principal: Recipient) -> StreamingResponse:
        """The act's PDF. The first complete download is the *prise de connaissance* (CPC
        662-1), recorded once its last byte was written; an aborted one records nothing."""
        annotate(act_id=act_id)
        act, chunks = await delivery.handover.open_content(principal.subject, act_id)

        async def delivered() -> None:
            await delivery.handover.delivered(principal.subject, act.id)

        return DeliveredStream(
            chunks,
            on_delivered=delivered,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="acte-{act.id}.pdf"',
                "Content-Length": str(act.size),
                "X-Content-SHA256": act.sha256,
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @router.get("/inbox/{act_id}/evidence", responses=problem_responses(410))
    async def recipient_evidence(act_id: str, principal: Recipient) -> EvidenceSet:
        return await views.evidence_set(await views.recipient_act(principal.subject, act_id))

    @router.get(
        "/inbox/{act_id}/evidence.pdf",
        response_class=Response,
        responses={**PDF, **problem_responses(410, 503)},
    )
    async def recipient_evidence_report(act_id: str, principal: Recipient) -> Response:
        """The act's sealed evidence report (as the office's)."""
        act = await views.recipient_act(principal.subject, act_id)
        return _report(act.id, await _reports().report(act))

    @router.post("/inbox/{act_id}/replies", status_code=201, responses=problem_responses(410, 413))
    @body_limit(None)  # streamed and limited here (`replies.max_reply_bytes`)
    async def reply(
        act_id: str, request: Request, response: Response, principal: Replier
    ) -> ReplyView:
        """Answer an act with a PDF, JPEG or PNG file (scanned for malware when configured)."""
        limit = replies.max_reply_bytes
        _check_length(request, limit + _FORM_OVERHEAD, limit)
        act = await views.recipient_act(principal.subject, act_id)
        kept = await replies.receive(
            act,
            _counted(request.stream(), limit + _FORM_OVERHEAD, limit),
            request.headers.get("content-type"),
            request.headers.get("x-filename"),
        )
        response.headers["Location"] = f"/v1/inbox/{act_id}/replies/{kept.id}"
        return kept

    @router.get("/inbox/{act_id}/replies/{reply_id}")
    async def my_reply(
        act_id: str, reply_id: str, principal: Recipient
    ) -> ReplyView | ErasedReplyView:
        """A reply the person sent (the `Location` of its upload): what was kept of it."""
        act = await views.recipient_act(principal.subject, act_id)
        return await replies.sent(act.id, reply_id)

    @router.get("/acts/{act_id}/replies")
    async def act_replies(act_id: str, principal: OfficeReader) -> ReplyList:
        act = await views.office_act(_office_id(principal), act_id)
        return ReplyList(items=await replies.of_act(act.id))

    @router.get(
        "/acts/{act_id}/replies/{reply_id}/content",
        response_class=StreamingResponse,
        responses={**REPLY_FILE, **problem_responses(410)},
    )
    async def reply_content(
        act_id: str, reply_id: str, principal: OfficeReader
    ) -> StreamingResponse:
        act = await views.office_act(_office_id(principal), act_id)
        found, chunks = await replies.open(act.id, reply_id)
        extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
        name = f"reponse-{found.id}.{extension.get(found.media_type.value, 'bin')}"
        return StreamingResponse(
            chunks,
            media_type=found.media_type.value,
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Content-Length": str(found.size),
                "X-Content-SHA256": found.sha256,
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @router.get("/evidence/keys")
    async def evidence_keys() -> EvidenceKeys:
        """The platform's public keys (C2SP verifier key strings) that verify evidence sets."""
        sealer = reports.sealer if reports is not None else None
        return EvidenceKeys(
            keys=delivery.ctx.signer.public_keys,
            seal_chain=sealer.chain_pem if sealer is not None else [],
        )

    return router
