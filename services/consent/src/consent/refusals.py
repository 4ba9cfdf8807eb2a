"""What consent's use cases refuse. Each refusal carries its HTTP status, problem code and
title; `shared.refusals.install_refusal_handlers` maps them once to RFC 9457 problems. A
`detail` never echoes the input: the declaration is personal data (where and why only)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.contracts.consent import DeclarationStatus
from shared.refusals import RETRY_AFTER_SECONDS, FieldError, Refusal

# Re-exported: the kernel's common refusals, under this service's name for them.
from shared.refusals import Forbidden as Forbidden
from shared.refusals import UploadTooLarge as UploadTooLarge


class DeclarationRefused(Refusal):
    """The upload or the declaration is malformed, incomplete or breaks a rule (422)."""

    status = 422
    code = "validation-failed"
    title = "Declaration refused"

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        self.errors = list(errors)
        super().__init__(detail, extra={"errors": self.errors})


def rule_broken(field: str, message: str) -> DeclarationRefused:
    return DeclarationRefused(
        "the declaration breaks a rule",
        [{"loc": list(field.split(".")), "msg": message, "type": "rule"}],
    )


class UploadUnavailable(Refusal):
    """A dependency went down mid-upload: what was stored of it is discarded (or left to the
    sweeper), nothing was recorded, and the rest of the body is not read."""

    status = 503
    title = "Service unavailable"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"the {what} cannot be reached; nothing was recorded, retry later",
            code=f"{what.replace(' ', '-')}-unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"},
        )


class DeclarationExists(Refusal):
    """The person already has a live declaration."""

    status = 409
    code = "declaration-exists"
    title = "Declaration exists"

    def __init__(self, existing_id: str) -> None:
        self.existing_id = existing_id
        super().__init__(
            "this person already has a registered or active declaration",
            extra={"declaration_id": existing_id},
        )


class DeclarationNotFound(Refusal):
    """No such declaration for this caller: another's is answered the same (ids not probed)."""

    status = 404
    code = "declaration-not-found"
    title = "Not found"

    def __init__(self, detail: str = "no such declaration") -> None:
        super().__init__(detail)


def no_declaration_linked() -> DeclarationNotFound:
    return DeclarationNotFound("no declaration is linked to your account")


class NotRevocable(Refusal):
    """The declaration is not live: nothing to revoke."""

    status = 409
    code = "declaration-not-revocable"
    title = "Not revocable"

    def __init__(self, status: DeclarationStatus) -> None:
        self.declaration_status = status
        super().__init__(
            f"the declaration is {status.value}", extra={"declaration_status": status.value}
        )


class NotAnswerable(Refusal):
    """The declaration is no longer waiting for the person's answer (already active, or
    ended): it can be neither validated nor contested."""

    status = 409
    code = "declaration-not-answerable"
    title = "Not answerable"

    def __init__(self, status: DeclarationStatus) -> None:
        super().__init__(
            f"the declaration is {status.value}", extra={"declaration_status": status.value}
        )


class StatementChanged(Refusal):
    """The person answered a statement that is not the declaration's current content."""

    status = 409
    code = "declaration-statement-changed"
    title = "Declaration changed"

    def __init__(self) -> None:
        super().__init__("the declaration's content is not the one you were shown: read it again")


class ProofGone(Refusal):
    status = 410
    code = "proof-gone"
    title = "Gone"

    def __init__(self) -> None:
        super().__init__("this proof was destroyed")


class LookupRateLimited(Refusal):
    """The consulter made as many lookups as it may in the last minute."""

    status = 429
    code = "lookup-rate-limited"
    title = "Too many lookups"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            "this client's registry lookups reached their limit per minute; retry later",
            extra={"retry_after_seconds": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


class InvalidLookup(Refusal):
    status = 422
    code = "validation-failed"
    title = "Declaration refused"

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail, extra={"errors": list(errors)})


class RestrictionRequestNotFound(Refusal):
    status = 404
    code = "restriction-request-not-found"
    title = "Not found"

    def __init__(self) -> None:
        super().__init__("no such restriction request")


class RestrictionAlreadyAnswered(Refusal):
    """An answer is final."""

    status = 409
    code = "restriction-request-answered"
    title = "Already answered"

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        super().__init__(f"this request was already answered ({outcome})")


class NotPurgeable(Refusal):
    """Only a declaration that ended may be purged."""

    status = 409
    code = "declaration-not-purgeable"
    title = "Not purgeable"
