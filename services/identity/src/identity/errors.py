"""What identity's use cases refuse, with a stable code the HTTP API and the portal map.

The API turns an `IdentityError` into an RFC 9457 problem (`urn:securact:problem:<code>`); the
portal pages show a French message chosen by `code`. `detail` never holds personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class IdentityError(Exception):
    """A refused request: HTTP status, stable code, safe detail, extension members."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


def invalid_credentials() -> IdentityError:
    # One answer for an unknown identifier, a wrong password, an account not activated yet.
    return IdentityError(401, "invalid-credentials", "The identifier or the password is wrong.")


def throttled(retry_after: int) -> IdentityError:
    return IdentityError(
        429,
        "too-many-attempts",
        "Too many failed attempts; try again later.",
        extra={"retry_after_seconds": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def not_found(what: str) -> IdentityError:
    return IdentityError(404, f"{what}-not-found", f"No such {what}.")


def invalid_link() -> IdentityError:
    # Unknown, expired, used or superseded: one answer, so a link's history is not revealed.
    return IdentityError(410, "link-invalid", "This link is no longer valid; ask for a new one.")


def read_only() -> IdentityError:
    return IdentityError(
        403, "account-read-only", "The account is terminated: it can only read its acts."
    )


def terms_refused(status: int = 409) -> IdentityError:
    # CGU refused before any acceptance: final (consent refused the declaration for good).
    return IdentityError(
        status,
        "terms-refused",
        "The CGU were refused; the refusal is final and the account gives no access.",
    )


def bounded_text(value: str, limit: int, *, code: str, detail: str) -> str:
    """`value` stripped, or a 422 `code` when it is empty or longer than `limit`."""
    text = value.strip()
    if not text or len(text) > limit:
        raise IdentityError(422, code, detail)
    return text
