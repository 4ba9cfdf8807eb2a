"""Events of the identity service.

Subjects are `account:<id>` for everything about an account, `client:<id>` for office clients and
`terms:v<N>` for CGU versions. Personal data is limited to what a consumer needs: notify needs an
e-mail address, consent needs the declaration id; the identification journal gets an HMAC of the
IP address, never the address, the identifier typed or a password.

No event carries a credential: audit journals every event for years. An activation or reset link
travels as a `link_id`; notify fetches the link itself from identity's internal API, over an
authenticated call that nothing journals, when it sends the e-mail. The V1 link events that did
carry the URL are retired: registered so that messages still in flight decode, never emitted.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, EmailStr, Field

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import register


class AccountRole(StrEnum):
    RECIPIENT = "recipient"
    OPERATOR = "operator"


class IdentificationOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    THROTTLED = "throttled"
    SUSPENDED = "suspended"
    SECOND_FACTOR_REQUIRED = "second_factor_required"


class AttemptCounter(StrEnum):
    """What a window of failed identification attempts was counted on (an HMAC of it)."""

    IDENTIFIER = "identifier"  # the login identifier typed
    CLIENT = "client"  # the OAuth client id typed
    ADDRESS = "address"  # the caller's address, when its own lockout refused the attempts


class SessionRevocationReason(StrEnum):
    LOGOUT = "logout"
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"  # noqa: S105 - a reason, not a secret
    TERMS_REFUSED = "terms_refused"


class CredentialRevocationReason(StrEnum):
    OPERATOR = "operator"
    SUSPENSION = "suspension"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a reason, not a secret
    TERMINATION = "termination"
    COMPROMISE_REPORTED = "compromise_reported"


class TerminationReason(StrEnum):
    RECIPIENT_REQUEST = "recipient_request"
    TERMS_REFUSED = "terms_refused"
    DECEASED = "deceased"  # an operator recorded the holder's death


@register
class AccountCreatedV1(EventPayload):
    """An account exists: a recipient's for a consent declaration, or an operator's."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "account-created"
    version: ClassVar[int] = 1

    account_id: str
    role: AccountRole
    declaration_id: str | None = Field(default=None, description="recipients only")
    person_kind: str | None = Field(default=None, description="natural | legal (recipients)")


LINK_ID_DESCRIPTION = (
    "identity's opaque reference of the link, useless to open it: notify exchanges it at "
    "identity's internal API for the link itself when it sends the e-mail, while the link is unused"
)


@register
class ActivationLinkIssuedV2(EventPayload):
    """A single-use activation link was issued for an account: **notify consumes this event to
    e-mail the link** (with the login identifier) to the address declared for the consent. The
    event names the link by `link_id` only; notify fetches the link when it sends."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "activation-link-issued"
    version: ClassVar[int] = 2

    account_id: str
    email: EmailStr
    identifier: str = Field(description="the login identifier to show in the e-mail")
    link_id: str = Field(description=LINK_ID_DESCRIPTION)
    expires_at: AwareDatetime


@register
class AccountActivationLapsedV1(EventPayload):
    """A recipient account was never activated: its last activation link expired
    `lapsed_at - activation_expired_at` ago and nobody can open it any more (no link is reissued).
    Consent ends the declaration, never active; retention then destroys it and the account."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "account-activation-lapsed"
    version: ClassVar[int] = 1

    account_id: str
    declaration_id: str
    activation_expired_at: AwareDatetime = Field(
        description="when the last activation link expired"
    )
    lapsed_at: AwareDatetime


@register
class PasswordResetRequestedV2(EventPayload):
    """A password reset link was issued: notify e-mails it. Single use, short-lived. The event
    names the link by `link_id` only; notify fetches the link when it sends."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "password-reset-requested"
    version: ClassVar[int] = 2

    account_id: str
    email: EmailStr
    link_id: str = Field(description=LINK_ID_DESCRIPTION)
    expires_at: AwareDatetime


@register
class IdentificationAttemptedV1(EventPayload):
    """Someone tried to identify (CGU traceability journal). Never the password or the
    identifier typed: an unknown identifier gives `account_id` null."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "identification-attempted"
    version: ClassVar[int] = 1

    account_id: str | None = None
    client_id: str | None = Field(default=None, description="office client (client credentials)")
    outcome: IdentificationOutcome
    ip_hash: str = Field(description="HMAC-SHA256 of the client IP under a server-side pepper")
    second_factor: bool = False


@register
class IdentificationAttemptsSummarizedV1(EventPayload):
    """Failed identification attempts counted instead of journaled one by one, so that
    anonymous callers cannot grow the journal without bound: the first failure of an
    identifier, client or address opens a window and is journaled by itself
    (`identification-attempted`); this event counts the failures of the window after that
    first one, and is journaled when the window ends (or at a success, before its own event).
    Never the identifier or client id typed, a password or an address: HMACs of addresses only.
    """

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "identification-attempts-summarized"
    version: ClassVar[int] = 1

    account_id: str | None = Field(default=None, description="the account of the identifier")
    client_id: str | None = Field(default=None, description="the client, when it exists")
    counted_by: AttemptCounter
    attempts: int = Field(ge=1, description="failed attempts counted, the window's first excluded")
    outcomes: dict[IdentificationOutcome, int] = Field(description="attempts per outcome")
    second_factor_attempts: int = Field(
        default=0, ge=0, description="attempts whose second factor was checked (and refused)"
    )
    window_opened_at: AwareDatetime = Field(description="the window's first, journaled, attempt")
    first_attempt_at: AwareDatetime
    last_attempt_at: AwareDatetime
    ip_hashes: list[str] = Field(
        max_length=20, description="HMAC-SHA256 of the distinct client IPs, the first 20"
    )
    more_addresses: bool = Field(default=False, description="attempts came from more addresses")


@register
class TermsAcceptedV1(EventPayload):
    """The holder of an account accepted a CGU version: this is the consent to electronic
    service (CPC 748-2); consent activates the declaration on it."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "terms-accepted"
    version: ClassVar[int] = 1

    account_id: str
    declaration_id: str | None
    terms_version: int = Field(ge=1)
    content_hash: str
    accepted_at: AwareDatetime
    declaration_hash: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the declaration statement the person validated with this "
        "acceptance (consent's `declaration-validated`); null for an operator, or when the "
        "declaration was already in force (a later CGU version)",
    )


@register
class TermsRefusedV1(EventPayload):
    """The holder refused a CGU version: no access and no consent; refusing a new version after
    having accepted an earlier one terminates the account (`identity.account-terminated.v1`)."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "terms-refused"
    version: ClassVar[int] = 1

    account_id: str
    declaration_id: str | None
    terms_version: int = Field(ge=1)
    refused_at: AwareDatetime
    leads_to_termination: bool


@register
class TermsPublishedV1(EventPayload):
    """An operator published a CGU version taking effect at `effective_at` (at least one month
    later). Retention schedules on it; notify warns each account via `terms-notice-issued`."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "terms-published"
    version: ClassVar[int] = 1

    terms_version: int = Field(ge=1)
    content_hash: str
    effective_at: AwareDatetime
    published_at: AwareDatetime


@register
class TermsNoticeIssuedV1(EventPayload):
    """Notify must warn this account's holder of a new CGU version (one event per account)."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "terms-notice-issued"
    version: ClassVar[int] = 1

    account_id: str
    email: EmailStr
    terms_version: int = Field(ge=1)
    effective_at: AwareDatetime


@register
class AccountSuspendedV1(EventPayload):
    """An operator suspended an account (suspected compromise): no login until reinstated."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "account-suspended"
    version: ClassVar[int] = 1

    account_id: str
    reason: str = Field(max_length=200, description="operator's reason code, no personal data")


@register
class AccountReinstatedV1(EventPayload):
    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "account-reinstated"
    version: ClassVar[int] = 1

    account_id: str


@register
class CredentialsRevokedV1(EventPayload):
    """Every token of the account issued at or before `issued_before` is dead, in every service
    (the shared verifier refuses them: `shared.auth.revocations`)."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "credentials-revoked"
    version: ClassVar[int] = 1

    account_id: str = Field(description="also the `sub` of the account's tokens")
    issued_before: AwareDatetime
    session_ids: list[str] = Field(default_factory=list)
    reason: CredentialRevocationReason


@register
class CompromiseReportedV1(EventPayload):
    """The holder reported their credentials compromised: every session and token of the
    account was revoked in the same transaction (`CredentialsRevokedV1`); operators are to look
    at the account. Nothing of the holder's own account of what happened travels here."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "compromise-reported"
    version: ClassVar[int] = 1

    account_id: str
    report_id: str
    sessions_revoked: int = Field(ge=0, description="live sessions the report ended")


class PostMortemErasure(StrEnum):
    """What the holder directed for their data after their death (loi 78-17 art. 85)."""

    # The account's erasure runs as soon as the death is recorded; what the law keeps (the
    # offices' signed evidence, the registry's five years, tombstones) is kept as for any
    # terminated account.
    AT_ONCE = "at_once"
    # No directive, or "keep": the usual delays of a terminated account.
    SCHEDULED = "scheduled"


class DirectivesChange(StrEnum):
    RECORDED = "recorded"
    CHANGED = "changed"
    REVOKED = "revoked"


@register
class PostMortemDirectivesChangedV1(EventPayload):
    """The holder recorded, changed or revoked their post-mortem directives. What they
    directed, and whom they designated, stays in identity's store."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "post-mortem-directives-changed"
    version: ClassVar[int] = 1

    account_id: str
    change: DirectivesChange
    changed_at: AwareDatetime


@register
class DeathRecordedV1(EventPayload):
    """An operator recorded the holder's death (its date and justification stay in
    identity's store); the account is terminated in the same transaction. **Retention applies
    `erasure`**, the only part of the directives it needs."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "death-recorded"
    version: ClassVar[int] = 1

    account_id: str
    declaration_id: str | None = None
    recorded_at: AwareDatetime
    erasure: PostMortemErasure
    designated_person: bool = Field(description="whether a person is to be informed")


@register
class PostMortemNoticeRequestedV1(EventPayload):
    """**Notify e-mails the person the holder designated** that the holder's death was
    recorded and how their directives are applied. Their name and address travel here only
    because the notice goes to them."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "post-mortem-notice-requested"
    version: ClassVar[int] = 1

    account_id: str
    notice_id: str
    name: str
    email: EmailStr
    erasure: PostMortemErasure
    recorded_at: AwareDatetime


class RectificationOutcome(StrEnum):
    """An operator's answer to a rectification request (GDPR art. 16)."""

    RECTIFIED = "rectified"
    REFUSED = "refused"


@register
class RectificationRequestedV1(EventPayload):
    """The holder asked for a rectification of their data: an operator answers it. What the
    holder wrote stays in identity's store."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "rectification-requested"
    version: ClassVar[int] = 1

    account_id: str
    request_id: str


@register
class RectificationAnsweredV1(EventPayload):
    """An operator answered a rectification request; their reasons stay in identity's store,
    where the holder reads them."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "rectification-answered"
    version: ClassVar[int] = 1

    account_id: str
    request_id: str
    outcome: RectificationOutcome


@register
class SessionRevokedV1(EventPayload):
    """One session (`sid`) is dead: logout, refresh-token reuse, CGU refusal."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "session-revoked"
    version: ClassVar[int] = 1

    account_id: str
    session_id: str
    reason: SessionRevocationReason


@register
class AccountTerminatedV1(EventPayload):
    """The account is terminated: read-only (acts stay downloadable) until retention closes it
    two months later (CGU §12); consent ends."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "account-terminated"
    version: ClassVar[int] = 1

    account_id: str
    declaration_id: str | None
    terminated_at: AwareDatetime
    reason: TerminationReason


@register
class OfficeClientRegisteredV1(EventPayload):
    """An operator registered a bailiff office's system as an OAuth2 client."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "office-client-registered"
    version: ClassVar[int] = 1

    client_id: str
    office_id: str
    bailiff_name: str
    scopes: list[str]


@register
class JudicialClientRegisteredV1(EventPayload):
    """An operator registered a judicial authority's system as an OAuth2 client: it may read
    the consent registry (décret 2021-1625 art. 21), nothing else."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "judicial-client-registered"
    version: ClassVar[int] = 1

    client_id: str
    authority_name: str
    scopes: list[str]


@register
class EmailChangeRequestedV1(EventPayload):
    """The holder asked to receive notices at a new address: **notify e-mails the confirmation
    link to that new address**. The link is named by `link_id` only (fetched when sent); the
    address in use does not change until the link is opened."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "email-change-requested"
    version: ClassVar[int] = 1

    account_id: str
    email: EmailStr = Field(description="the new address, where the confirmation link goes")
    link_id: str = Field(description=LINK_ID_DESCRIPTION)
    expires_at: AwareDatetime


@register
class EmailChangedV1(EventPayload):
    """The holder confirmed a new notification address (by the link sent to it): notices go
    there from `changed_at`. Notify tells the previous address (from its own book, never from
    this event); consent and delivery update their copies."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "email-changed"
    version: ClassVar[int] = 1

    account_id: str
    declaration_id: str | None
    email: EmailStr = Field(description="the new address")
    changed_at: AwareDatetime


@register
class MobileChangedV1(EventPayload):
    """The holder changed (or removed) the mobile number SMS notices go to, from `changed_at`."""

    producer: ClassVar[str] = "identity"
    fact: ClassVar[str] = "mobile-changed"
    version: ClassVar[int] = 1

    account_id: str
    declaration_id: str | None
    mobile: str | None = Field(
        pattern=r"^\+[1-9][0-9]{7,14}$", description="E.164; null: no SMS any more"
    )
    changed_at: AwareDatetime


REVOCATION_EVENTS: tuple[type[EventPayload], ...] = (CredentialsRevokedV1, SessionRevokedV1)
