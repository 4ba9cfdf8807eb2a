"""Delivery's HTTP API: thin adapters over `Gateway`.

| route | caller |
|---|---|
| `POST /v1/acts` | an office client with `acts:write` (role `office`, an `office_id` claim) |
| `GET /v1/acts`, `/v1/acts/{id}`, `/v1/acts/{id}/evidence` | that office (`acts:read`/`write`) |
| `GET /v1/inbox…` | the recipient (role `recipient`, `acts:read`; a terminated account keeps it) |
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

import base64
import binascii
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from delivery.domain import ContentError
from delivery.parties import OfficeDirectory
from delivery.replies import (
    ReplyDesk,
    ReplyErasedError,
    ReplyInfectedError,
    ReplyNotScannableError,
)
from delivery.service import (
    ActErasedError,
    ActNotFoundError,
    ActStatus,
    ConsentRefusedError,
    DocumentRefusedError,
    Gateway,
    IdempotencyConflictError,
    SubmissionError,
    WindowClosedError,
)
from shared.auth import Principal, current_principal, require_role, require_scopes
from shared.bodylimit import body_limit
from shared.malware import ScannerUnavailableError
from shared.multipart import MultipartError, MultipartReader, boundary_of
from shared.objects import ObjectStoreError
from shared.openapi import problem_responses
from shared.problems import VALIDATION_PROBLEM_TYPE, Problem, problem_type
from shared.store.port import StoreUnavailableError, to_iso
from shared.vault import TooLargeError

OFFICE_ROLE: Final = "office"
RECIPIENT_ROLE: Final = "recipient"
_IDEMPOTENCY_KEY: Final = re.compile(r"^[\x21-\x7e]{1,200}$")

office_writer = require_scopes("acts:write")
recipient_reader = require_scopes("acts:read")
recipient_replier = require_scopes("acts:reply")
recipient_role = require_role(RECIPIENT_ROLE)


async def office_reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """An office client with `acts:read` or `acts:write`: it reads what it served."""
    if principal.role != OFFICE_ROLE or not principal.office_id:
        raise Problem(
            403, "Forbidden", "only an office client reads its acts", type=problem_type("forbidden")
        )
    if not (principal.has_scopes("acts:read") or principal.has_scopes("acts:write")):
        raise Problem(
            403,
            "Insufficient scope",
            "This operation needs the scope acts:read or acts:write.",
            type=problem_type("insufficient-scope"),
        )
    return principal


async def recipient(
    principal: Annotated[Principal, Depends(recipient_reader)],
    _role: Annotated[Principal, Depends(recipient_role)],
) -> Principal:
    return principal


async def replier(
    principal: Annotated[Principal, Depends(recipient_replier)],
    _role: Annotated[Principal, Depends(recipient_role)],
) -> Principal:
    return principal


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


def _not_found() -> Problem:
    return Problem(404, "Not found", "no such act", type=problem_type("act-not-found"))


def _erased(act_id: str, erased_at: str) -> Problem:
    return Problem(
        410,
        "Act erased",
        "this act was erased at the end of the account's grace period (CGU §12): its content "
        "and its key no longer exist, only its fingerprint and dates are kept",
        type=problem_type("act-erased"),
        extra={"act_id": act_id, "erased_at": erased_at},
    )


def _unavailable(what: str) -> Problem:
    return Problem(
        503,
        "Service unavailable",
        f"the {what} cannot be reached; nothing was recorded, retry later",
        type=problem_type(f"{what.replace(' ', '-')}-unavailable"),
        headers={"Retry-After": "10"},
    )


class BodyTooLargeError(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit


async def _counted(body: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in body:
        total += len(chunk)
        if total > limit:
            raise BodyTooLargeError(limit)
        yield chunk


def _encode_cursor(cursor: str | None) -> str | None:
    return base64.urlsafe_b64encode(cursor.encode()).decode() if cursor else None


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Problem(
            422,
            "Invalid cursor",
            "the cursor is not one this API gave",
            type=VALIDATION_PROBLEM_TYPE,
        ) from None


async def _reply_body(request: Request, limit: int) -> tuple[AsyncIterator[bytes], str | None]:
    """The reply file's bytes and name, from a multipart form's first file part or the body."""
    body = _counted(request.stream(), limit + 64 * 1024)
    content_type = request.headers.get("content-type") or ""
    if not content_type.lower().startswith("multipart/"):
        return body, request.headers.get("x-filename")
    try:
        reader = MultipartReader(body, boundary_of(content_type))
        while (part := await reader.next_part()) is not None:
            if part.filename is not None:
                return reader.chunks(), part.filename
            async for _chunk in reader.chunks():
                pass  # a form field beside the file: not used
    except MultipartError as error:
        raise Problem(422, "Invalid upload", str(error), type=VALIDATION_PROBLEM_TYPE) from None
    raise Problem(422, "Invalid upload", "no file part", type=VALIDATION_PROBLEM_TYPE)


def delivery_router(
    gateway: Gateway,
    offices: OfficeDirectory,
    max_request_bytes: int,
    replies: ReplyDesk,
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["delivery"])

    @router.post(
        "/acts",
        status_code=201,
        responses={
            202: {"description": "accepted and scheduled for the next window opening"},
            **problem_responses(400, 409),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["metadata", "document"],
                            "properties": {
                                "metadata": {"type": "string", "description": "ActMetadata JSON"},
                                "judge_leave": {"type": "string", "format": "binary"},
                                "document": {"type": "string", "format": "binary"},
                            },
                        }
                    }
                },
            }
        },
    )
    @body_limit(None)  # streamed and limited here (`max_request_bytes`)
    async def deposit(
        request: Request,
        principal: Annotated[Principal, Depends(office_writer)],
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> JSONResponse:
        """Serve an act on a consenting recipient (CPC 662-1, 664, 664-1)."""
        if principal.role != OFFICE_ROLE or not principal.office_id:
            raise Problem(
                403,
                "Forbidden",
                "only an office client serves acts",
                type=problem_type("forbidden"),
            )
        if idempotency_key is None or not _IDEMPOTENCY_KEY.match(idempotency_key):
            raise Problem(
                400,
                "Idempotency-Key required",
                "send an Idempotency-Key header (1 to 200 visible ASCII characters)",
                type=problem_type("idempotency-key-required"),
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_request_bytes:
            raise _too_large(gateway.limits.max_act_bytes)
        try:
            boundary = boundary_of(request.headers.get("content-type"))
        except MultipartError as error:
            raise Problem(
                422, "Invalid submission", str(error), type=VALIDATION_PROBLEM_TYPE
            ) from None
        bailiff = principal.claims.get("bailiff_name")
        office = await offices.resolve(
            principal.office_id, principal.subject, bailiff if isinstance(bailiff, str) else None
        )
        reader = MultipartReader(_counted(request.stream(), max_request_bytes), boundary)
        try:
            outcome = await gateway.submit(office, idempotency_key, reader)
        except (TooLargeError, BodyTooLargeError) as error:
            raise _too_large(error.limit) from None
        except SubmissionError as error:
            raise Problem(
                422,
                "Invalid submission",
                error.message,
                type=VALIDATION_PROBLEM_TYPE,
                extra={"errors": error.errors},
            ) from None
        except ConsentRefusedError as error:
            raise Problem(
                409,
                "Consent does not allow this act",
                error.refusal.detail,
                type=problem_type(error.refusal.problem.value),
            ) from None
        except WindowClosedError as error:
            window = error.window
            raise Problem(
                422,
                "Outside the service window",
                "CPC 664: no service before 06:00, from 21:00, on Sundays or holidays",
                type=problem_type("service-window-closed"),
                extra={
                    "next_window_opens_at": to_iso(window.next_opening),
                    "closures": [c.model_dump() for c in window.closures],
                },
            ) from None
        except DocumentRefusedError as error:
            raise Problem(
                422,
                "Document refused",
                error.error.detail,
                type=problem_type(error.error.problem.value),
                extra={"part": error.part},
            ) from None
        except IdempotencyConflictError:
            raise Problem(
                422,
                "Idempotency-Key reused",
                "this key was used for a different request",
                type=problem_type("idempotency-key-reused"),
            ) from None
        except ObjectStoreError:
            raise _unavailable("object store") from None
        except StoreUnavailableError:
            raise _unavailable("database") from None
        headers = {"Location": f"/v1/acts/{outcome.body['id']}"}
        if outcome.replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)

    @router.get("/acts")
    async def list_acts(
        principal: Annotated[Principal, Depends(office_reader)],
        since: datetime | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        """The office's acts by last change, for polling: pass `next_cursor` back as `cursor`."""
        assert principal.office_id is not None
        if status is not None and status not in ActStatus.ALL:
            raise Problem(
                422,
                "Invalid status",
                f"one of {sorted(ActStatus.ALL)}",
                type=VALIDATION_PROBLEM_TYPE,
            )
        if since is not None and since.tzinfo is None:
            raise Problem(
                422, "Invalid since", "give a time zone (e.g. Z)", type=VALIDATION_PROBLEM_TYPE
            )
        acts, next_cursor = await gateway.office_acts(
            principal.office_id,
            since=since,
            status=status,
            after=_decode_cursor(cursor) if cursor else None,
            limit=limit,
        )
        return {"items": acts, "next_cursor": _encode_cursor(next_cursor)}

    async def office_act(principal: Principal, act_id: str) -> dict[str, Any]:
        """The office's own act; any other act is 404, as if it did not exist."""
        assert principal.office_id is not None
        try:
            return await gateway.office_act(principal.office_id, act_id)
        except ActNotFoundError:
            raise _not_found() from None

    async def recipient_act(principal: Principal, act_id: str) -> dict[str, Any]:
        """The recipient's own act (410 once erased); any other act is 404."""
        try:
            return await gateway.recipient_act(principal.subject, act_id)
        except ActErasedError as erased:
            raise _erased(erased.act_id, erased.erased_at) from None
        except ActNotFoundError:
            raise _not_found() from None

    @router.get("/acts/{act_id}")
    async def get_act(
        act_id: str, principal: Annotated[Principal, Depends(office_reader)]
    ) -> dict[str, Any]:
        act = await office_act(principal, act_id)
        return await gateway.office_view(act)

    @router.get("/acts/{act_id}/evidence")
    async def office_evidence(
        act_id: str, principal: Annotated[Principal, Depends(office_reader)]
    ) -> dict[str, Any]:
        act = await office_act(principal, act_id)
        return await gateway.evidence_set(act)

    @router.get("/inbox")
    async def inbox(principal: Annotated[Principal, Depends(recipient)]) -> dict[str, Any]:
        return {"items": await gateway.inbox(principal.subject)}

    @router.get("/inbox/{act_id}", responses=problem_responses(410))
    async def inbox_act(
        act_id: str, principal: Annotated[Principal, Depends(recipient)]
    ) -> dict[str, Any]:
        act = await recipient_act(principal, act_id)
        return gateway.recipient_view(act)

    @router.get("/inbox/{act_id}/content", response_model=None, responses=problem_responses(410))
    async def content(
        act_id: str, principal: Annotated[Principal, Depends(recipient)]
    ) -> StreamingResponse:
        """The act's PDF. The first opening is the *prise de connaissance* (CPC 662-1)."""
        try:
            act, chunks = await gateway.open_content(principal.subject, act_id)
        except ActErasedError as erased:
            raise _erased(erased.act_id, erased.erased_at) from None
        except (ActNotFoundError, LookupError):
            raise _not_found() from None
        except ObjectStoreError:
            raise _unavailable("object store") from None
        return StreamingResponse(
            chunks,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="acte-{act["_id"]}.pdf"',
                "Content-Length": str(act["size"]),
                "X-Content-SHA256": act["sha256"],
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @router.get("/inbox/{act_id}/evidence", responses=problem_responses(410))
    async def recipient_evidence(
        act_id: str, principal: Annotated[Principal, Depends(recipient)]
    ) -> dict[str, Any]:
        act = await recipient_act(principal, act_id)
        return await gateway.evidence_set(act)

    @router.post("/inbox/{act_id}/replies", status_code=201, responses=problem_responses(410, 413))
    @body_limit(None)  # streamed and limited here (`replies.max_reply_bytes`)
    async def reply(
        act_id: str, request: Request, principal: Annotated[Principal, Depends(replier)]
    ) -> JSONResponse:
        """Answer an act with a PDF, JPEG or PNG file (scanned for malware when configured)."""
        declared = request.headers.get("content-length")
        limit = replies.max_reply_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
            raise _too_large(limit)
        try:
            act = await gateway.recipient_act(principal.subject, act_id)
            chunks, filename = await _reply_body(request, limit)
            kept = await replies.receive(act, chunks, filename)
        except ActErasedError as erased:
            raise _erased(erased.act_id, erased.erased_at) from None
        except ActNotFoundError:
            raise _not_found() from None
        except (TooLargeError, BodyTooLargeError):
            raise _too_large(limit) from None
        except ContentError as error:
            raise Problem(
                422,
                "File refused",
                error.detail,
                type=problem_type(error.problem.value.replace("document-", "reply-")),
            ) from None
        except MultipartError as error:
            raise Problem(422, "Invalid upload", str(error), type=VALIDATION_PROBLEM_TYPE) from None
        except ReplyInfectedError as error:
            raise Problem(
                422,
                "File refused",
                "the file contains malware and was not kept",
                type=problem_type("reply-infected"),
                extra={"signature": error.verdict.signature},
            ) from None
        except ReplyNotScannableError as error:
            if error.verdict.outcome.value == "too_large":
                raise _too_large(error.verdict.bytes_sent) from None
            raise _unavailable("malware scanner") from None
        except ScannerUnavailableError:
            raise _unavailable("malware scanner") from None
        except ObjectStoreError:
            raise _unavailable("object store") from None
        return JSONResponse(
            kept,
            status_code=201,
            headers={"Location": f"/v1/inbox/{act_id}/replies/{kept['id']}"},
        )

    @router.get("/inbox/{act_id}/replies/{reply_id}")
    async def my_reply(
        act_id: str, reply_id: str, principal: Annotated[Principal, Depends(recipient)]
    ) -> dict[str, Any]:
        """A reply the person sent (the `Location` of its upload): what was kept of it."""
        act = await recipient_act(principal, act_id)
        for item in await replies.of_act(act):
            if item["id"] == reply_id:
                return item
        raise Problem(404, "Not found", "no such reply", type=problem_type("reply-not-found"))

    @router.get("/acts/{act_id}/replies")
    async def act_replies(
        act_id: str, principal: Annotated[Principal, Depends(office_reader)]
    ) -> dict[str, Any]:
        act = await office_act(principal, act_id)
        return {"items": await replies.of_act(act)}

    @router.get(
        "/acts/{act_id}/replies/{reply_id}/content",
        response_model=None,
        responses=problem_responses(410),
    )
    async def reply_content(
        act_id: str, reply_id: str, principal: Annotated[Principal, Depends(office_reader)]
    ) -> StreamingResponse:
        assert principal.office_id is not None
        try:
            act = await gateway.office_act(principal.office_id, act_id)
            found, chunks = await replies.open(act, reply_id)
        except ReplyErasedError as erased:
            raise _erased(act_id, erased.erased_at) from None
        except LookupError:  # no such act or reply, or its key is gone
            raise _not_found() from None
        except ObjectStoreError:
            raise _unavailable("object store") from None
        extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
        name = f"reponse-{found['_id']}.{extension.get(found['media_type'], 'bin')}"
        return StreamingResponse(
            chunks,
            media_type=found["media_type"],
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Content-Length": str(found["size"]),
                "X-Content-SHA256": found["sha256"],
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @router.get("/evidence/keys")
    async def evidence_keys() -> dict[str, Any]:
        """The platform's public keys (C2SP verifier key strings) that verify evidence sets."""
        return {"keys": gateway.signer.public_keys}

    return router
