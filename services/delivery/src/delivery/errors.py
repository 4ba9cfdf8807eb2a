"""What delivery's use cases refuse. Each refusal carries its HTTP status, problem code and
title; `shared.refusals.install_refusal_handlers` maps them once to RFC 9457 problems. A
`detail` never holds personal data: metadata errors say where and why, never the input."""

from __future__ import annotations

from collections.abc import Sequence

from delivery.domain import ConsentRefusal, ContentError, WindowCheck
from shared.refusals import (
    DependencyUnavailable,
    FieldError,
    Forbidden,
    InsufficientScope,
    Refusal,
    UploadTooLarge,
)
from shared.store.port import to_iso

__all__ = [
    "ActErased",
    "ActNotFound",
    "ConsentRefused",
    "DependencyUnavailable",
    "DocumentRefused",
    "FieldError",
    "FileRefused",
    "Forbidden",
    "IdempotencyKeyRequired",
    "IdempotencyKeyReused",
    "InsufficientScope",
    "InvalidRequest",
    "JudgeLeaveAlreadyUsed",
    "LettreSimpleAlreadyRecorded",
    "LettreSimpleNotDue",
    "OfficeNotConfigured",
    "RecipientSuspended",
    "ReplyInfected",
    "ReplyNotFound",
    "UploadTooLarge",
    "WindowClosed",
]


class InvalidRequest(Refusal):
    """The request or upload is malformed or incomplete; `errors` (where and why) when any."""

    status = 422
    code = "validation-failed"

    def __init__(self, title: str, detail: str, errors: Sequence[FieldError] | None = None) -> None:
        super().__init__(
            detail, title=title, extra={"errors": list(errors)} if errors is not None else None
        )


def invalid_submission(detail: str, errors: Sequence[FieldError] = ()) -> InvalidRequest:
    return InvalidRequest("Invalid submission", detail, list(errors))


def invalid_upload(detail: str) -> InvalidRequest:
    return InvalidRequest("Invalid upload", detail)


class IdempotencyKeyRequired(Refusal):
    status = 400
    code = "idempotency-key-required"
    title = "Idempotency-Key required"

    def __init__(self) -> None:
        super().__init__("send an Idempotency-Key header (1 to 200 visible ASCII characters)")


class IdempotencyKeyReused(Refusal):
    """The key was used for another request."""

    status = 422
    code = "idempotency-key-reused"
    title = "Idempotency-Key reused"

    def __init__(self) -> None:
        super().__init__("this key was used for a different request")


class ConsentRefused(Refusal):
    status = 409
    title = "Consent does not allow this act"

    def __init__(self, refusal: ConsentRefusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.detail, code=refusal.problem.value)


class WindowClosed(Refusal):
    status = 422
    code = "service-window-closed"
    title = "Outside the service window"

    def __init__(self, window: WindowCheck) -> None:
        self.window = window
        super().__init__(
            "CPC 664: no service before 06:00, from 21:00, on Sundays or holidays",
            extra={
                "next_window_opens_at": to_iso(window.next_opening),
                "closures": [c.model_dump() for c in window.closures],
            },
        )


class DocumentRefused(Refusal):
    """An act's or a judge's leave's file is not a readable PDF (`part` says which)."""

    status = 422
    title = "Document refused"

    def __init__(self, part: str, error: ContentError) -> None:
        self.part = part
        self.error = error
        super().__init__(error.detail, code=error.problem.value, extra={"part": part})


class FileRefused(Refusal):
    """A reply's file is not a complete PDF, JPEG or PNG."""

    status = 422
    title = "File refused"

    def __init__(self, error: ContentError) -> None:
        super().__init__(error.detail, code=error.problem.value.replace("document-", "reply-"))


class ReplyInfected(Refusal):
    """The scanner found malware: nothing was kept (the refusal is journaled)."""

    status = 422
    code = "reply-infected"
    title = "File refused"

    def __init__(self, signature: str | None) -> None:
        super().__init__(
            "the file contains malware and was not kept", extra={"signature": signature}
        )


class ActNotFound(Refusal):
    """No such act for this caller: another office's or recipient's act is answered the same."""

    status = 404
    code = "act-not-found"
    title = "Not found"

    def __init__(self) -> None:
        super().__init__("no such act")


class ReplyNotFound(Refusal):
    status = 404
    code = "reply-not-found"
    title = "Not found"

    def __init__(self) -> None:
        super().__init__("no such reply")


class ActErased(Refusal):
    """The act was crypto-shredded: only its tombstone remains."""

    status = 410
    code = "act-erased"
    title = "Act erased"

    def __init__(self, act_id: str, erased_at: str) -> None:
        super().__init__(
            "this act was erased at the end of the account's grace period (CGU §12): its "
            "content and its key no longer exist, only its fingerprint and dates are kept",
            extra={"act_id": act_id, "erased_at": erased_at},
        )


class OfficeNotConfigured(Refusal):
    """An office missing from the office directory: without its e-mail and territory it can
    neither be given its lettre-simple tasks nor have CPC 664 checked in its legal time."""

    status = 403
    code = "office-not-configured"
    title = "Office not configured"

    def __init__(self, office_id: str, missing: Sequence[str]) -> None:
        super().__init__(
            f"office {office_id!r} cannot serve: its {' and '.join(missing)} must be set in "
            "the office directory (SECURACT_DELIVERY_OFFICES)",
            extra={"office_id": office_id, "missing": list(missing)},
        )


class RecipientSuspended(Refusal):
    """The recipient's account is suspended: it cannot log in, so no act is served on it
    (ask for scheduling to have the act wait for the reinstatement)."""

    status = 409
    code = "recipient-suspended"
    title = "Recipient suspended"

    def __init__(self) -> None:
        super().__init__(
            "the recipient's account is suspended and cannot log in: the act is not served "
            "(with schedule_if_closed it waits for the reinstatement)"
        )


class JudgeLeaveAlreadyUsed(Refusal):
    """The judge's leave (same SHA-256) already authorised an act of another office."""

    status = 409
    code = "judge-leave-already-used"
    title = "Judge's leave already used"

    def __init__(self) -> None:
        super().__init__("this judge's leave already authorised another office's act")


class LettreSimpleNotDue(Refusal):
    """Only an act finalised *à domicile* calls for a lettre simple (CPC 662-1)."""

    status = 409
    code = "lettre-simple-not-due"
    title = "No lettre simple is due"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class LettreSimpleAlreadyRecorded(Refusal):
    """The letter was already declared posted with another date or reference."""

    status = 409
    code = "lettre-simple-already-recorded"
    title = "Lettre simple already recorded"

    def __init__(self, posted_on: str) -> None:
        super().__init__(
            "the lettre simple was already declared posted with other particulars",
            extra={"posted_on": posted_on},
        )
