"""Identity's HTTP API (JSON, problem+json errors) and OAuth2 token endpoint.

Routes decode, call one use case, map the result. `IdentityError`s become RFC 9457 problems
typed `urn:securact:problem:<code>`; the token endpoint answers RFC 6749 §5.2 error bodies
instead, as OAuth clients expect.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, Literal
from urllib.parse import unquote_plus

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from markdown_it import MarkdownIt
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from identity.clients import OAuthError
from identity.domain import ACCOUNT_WRITE, LINKS_READ, readable_until
from identity.errors import IdentityError
from identity.personal_data import ACCOUNT_EXPORT_FILENAME
from identity.service import Identity
from identity.sessions import SessionTokens
from identity.terms import TermsVersion
from shared.auth import Principal, current_principal, require_role, require_scopes
from shared.openapi import problem_responses
from shared.problems import Problem, problem_response, problem_type

OPERATOR = "operator"
RECIPIENT = "recipient"
_markdown = MarkdownIt("commonmark", {"html": False})

Operator = Annotated[Principal, Depends(require_role(OPERATOR))]
Recipient = Annotated[Principal, Depends(require_role(RECIPIENT))]
Holder = Annotated[Principal, Depends(require_role(RECIPIENT, OPERATOR))]
AccountWriter = Annotated[Principal, Depends(require_scopes(ACCOUNT_WRITE))]
AnyCaller = Annotated[Principal, Depends(current_principal)]
LinkReader = Annotated[Principal, Depends(require_scopes(LINKS_READ))]
AccountId = Annotated[str, Path(max_length=64)]
ClientId = Annotated[str, Path(max_length=64)]


# RFC 6749 §5.1 and §5.2 bodies of the token endpoint (not problems: OAuth2 clients expect them).
_TOKEN_RESPONSE: Final = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in", "scope"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer"},
        "scope": {"type": "string"},
    },
}
_OAUTH_ERROR: Final = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


def _in_utc(value: datetime) -> datetime:
    # "9999-12-31T23:59:59-23:59" parses, but is past year 9999 in UTC: comparing or storing
    # it overflows. Refused as a validation error instead.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant is outside years 1 to 9999 in UTC") from None


Instant = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def render_markdown(markdown: str) -> str:
    """CGU text as HTML; raw HTML in the markdown is escaped, not passed through."""
    return str(_markdown.render(markdown))


def install_identity_errors(app: FastAPI) -> None:
    async def on_identity_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IdentityError)
        return problem_response(
            Problem(
                exc.status,
                detail=exc.detail,
                type=problem_type(exc.code),
                extra=exc.extra,
                headers=exc.headers,
            )
        )

    app.add_exception_handler(IdentityError, on_identity_error)


# -- bodies ------------------------------------------------------------------------------------


class LoginRequest(Body):
    identifier: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(
        default=None, max_length=32, description="TOTP code or a recovery code, when enrolled"
    )


class SessionResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - RFC 6749 token type
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime
    scope: str
    session_id: str
    account_id: str
    role: str
    terms_acceptance_required: bool = Field(
        description="a first CGU version to accept: the session may only answer it"
    )
    terms_answer_pending: bool = Field(
        default=False,
        description="a CGU version awaits the answer; the acts stay open meanwhile",
    )


class RefreshRequest(Body):
    refresh_token: str = Field(min_length=1, max_length=200)


class ActivationRequest(Body):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class ActivationResponse(BaseModel):
    account_id: str
    identifier: str


class ResetRequest(Body):
    identifier: str = Field(min_length=1, max_length=200)


class LinkCheckRequest(Body):
    token: str = Field(min_length=1, max_length=200)
    purpose: Literal["activation", "reset"]


class LinkCheckResponse(BaseModel):
    purpose: str
    expires_at: datetime


class DeliverableLinkResponse(BaseModel):
    link_id: str
    purpose: str
    url: str
    expires_at: datetime


class ResetCompletion(Body):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class PasswordChange(Body):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class TotpEnrolmentResponse(BaseModel):
    secret: str
    provisioning_uri: str


class TotpCode(Body):
    code: str = Field(
        min_length=1, max_length=32, description="6 ASCII digits; 422 `totp-code-malformed` else"
    )


class RecoveryCodes(BaseModel):
    recovery_codes: list[str]


class PasswordConfirmation(Body):
    password: str = Field(min_length=1, max_length=1024)


class TermsResponse(BaseModel):
    version: int
    content_hash: str
    effective_at: datetime
    published_at: datetime
    markdown: str
    html: str


class TermsAnswer(Body):
    version: int | None = Field(
        default=None, ge=1, description="the version read; 409 if another one is now in force"
    )


class TermsDecisionResponse(BaseModel):
    version: int
    accepted: bool
    terminated: bool


class TermsPublication(Body):
    markdown: str = Field(min_length=1, max_length=200_000)
    effective_at: Instant = Field(description="one month to one year after publication")


class ClientRegistration(Body):
    office_id: str = Field(min_length=1, max_length=64)
    bailiff_name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, max_length=10)


class JudicialClientRegistration(Body):
    authority_name: str = Field(min_length=1, max_length=200, description="e.g. the court")


class JudicialClientRegistered(BaseModel):
    client_id: str
    client_secret: str = Field(description="shown once: identity keeps only its hash")
    authority_name: str
    scopes: list[str]


class ClientRegistered(BaseModel):
    client_id: str
    client_secret: str = Field(description="shown once: identity keeps only its hash")
    office_id: str
    bailiff_name: str
    scopes: list[str]


class ClientDescription(BaseModel):
    client_id: str
    kind: str = Field(description="office or judicial_authority")
    office_id: str | None
    bailiff_name: str
    scopes: list[str]
    disabled: bool
    created_at: str | None
    disabled_at: str | None
    secret_rotated_at: str | None


class ClientSecret(BaseModel):
    client_id: str
    client_secret: str = Field(description="shown once: identity keeps only its hash")


class Suspension(Body):
    reason: str = Field(min_length=1, max_length=200, description="a reason code, no names")


class TerminationRequest(Body):
    confirm: Literal[True] = Field(description="the holder confirmed the termination")


class TerminationResponse(BaseModel):
    terminated_at: datetime
    read_only: bool = True
    readable_until: datetime = Field(
        description="the acts stay readable until this instant (exclusive): 24:00 of the last "
        "day of the two months, Paris legal time; retention erases them then"
    )


class AccountNoticeResponse(BaseModel):
    version: int
    status: str = Field(description="issued, presented (deemed received) or failed")
    presented_at: datetime | None = Field(description="first presentation (relay acceptance)")
    deemed_received_on: date | None = Field(description="CGU §16: first jour ouvré after it")
    binds_from: datetime | None = Field(
        description="the version binds this account from this instant (24:00 of the day one "
        "month after the deemed receipt, CPC 641/642); null while not deemed received"
    )


class AccountTermsResponse(BaseModel):
    accepted_version: int | None
    binding_version: int | None = Field(description="the version that binds the account now")
    answer_pending: bool = Field(description="the binding version is not the accepted one")
    notices: list[AccountNoticeResponse]


class TermsNoticeCountsResponse(BaseModel):
    version: int
    effective_at: datetime
    notified: int = Field(description="accounts sent a notice of this version")
    failed: int = Field(description="notices notify could not hand over (not bound)")
    deemed_received: int = Field(description="notices presented, hence deemed received")
    bound: int = Field(description="accounts the version binds now")
    accepted: int = Field(description="accounts that accepted this version or a later one")


def session_response(tokens: SessionTokens, ttl_seconds: int) -> SessionResponse:
    return SessionResponse(
        access_token=tokens.access_token,
        expires_in=ttl_seconds,
        refresh_token=tokens.refresh_token,
        refresh_expires_at=tokens.refresh_expires_at,
        scope=" ".join(sorted(tokens.scopes)),
        session_id=tokens.session_id,
        account_id=tokens.account_id,
        role=tokens.role,
        terms_acceptance_required=tokens.terms_acceptance_required,
        terms_answer_pending=tokens.terms_answer_pending,
    )


def terms_response(version: TermsVersion) -> TermsResponse:
    return TermsResponse(
        version=version.version,
        content_hash=version.content_hash,
        effective_at=version.effective_at,
        published_at=version.published_at,
        markdown=version.markdown,
        html=render_markdown(version.markdown),
    )


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ACCOUNT_EXPORT_HEADERS = {
    "Content-Disposition": f'attachment; filename="{ACCOUNT_EXPORT_FILENAME}"'
}


# -- routers -----------------------------------------------------------------------------------


def identity_router(identity: Identity) -> APIRouter:
    router = APIRouter(prefix="/v1")
    ttl = int(identity.ctx.issuer.ttl.total_seconds())

    @router.post(
        "/sessions", tags=["sessions"], status_code=201, responses=problem_responses(401, 403, 429)
    )
    async def login(body: LoginRequest, request: Request, response: Response) -> SessionResponse:
        """Identify with identifier + password (+ TOTP): access and refresh tokens. 401 for
        a wrong identifier or password (one answer), 429 after repeated failures of the
        address or of the identifier typed, 403 `account-suspended`, or 403 `terms-refused`
        when the CGU were refused (final: no session)."""
        tokens = await identity.sessions.login(
            body.identifier, body.password, ip=client_ip(request), second_factor=body.totp
        )
        response.headers.update(NO_STORE)
        return session_response(tokens, ttl)

    @router.post("/sessions/refresh", tags=["sessions"], responses=problem_responses(401, 403))
    async def refresh(body: RefreshRequest, response: Response) -> SessionResponse:
        """Spend a refresh token for a new pair; a reused one revokes the whole session."""
        tokens = await identity.sessions.refresh(body.refresh_token)
        response.headers.update(NO_STORE)
        return session_response(tokens, ttl)

    @router.delete(
        "/sessions/current", tags=["sessions"], status_code=204, responses=problem_responses(404)
    )
    async def logout(principal: AnyCaller) -> None:
        await identity.sessions.logout(principal)

    @router.post("/activations", tags=["accounts"], responses=problem_responses(409, 410))
    async def activate(body: ActivationRequest) -> ActivationResponse:
        """Spend an activation link and choose the password."""
        activated = await identity.accounts.activate(body.token, body.password)
        return ActivationResponse(account_id=activated.account_id, identifier=activated.identifier)

    @router.post(
        "/password-resets", tags=["accounts"], status_code=202, responses=problem_responses(429)
    )
    async def request_reset(body: ResetRequest, request: Request) -> None:
        """E-mail a reset link; the answer is the same whether the identifier exists or not.
        An address making too many requests in an hour gets 429; an account gets a few
        e-mails an hour at most (further requests are answered alike and send nothing)."""
        await identity.accounts.request_password_reset(body.identifier, ip=client_ip(request))

    @router.post("/link-checks", tags=["accounts"], responses=problem_responses(410))
    async def check_link(body: LinkCheckRequest) -> LinkCheckResponse:
        """Whether an activation or reset link can still be used, without spending it: 410
        `link-invalid` when it expired, was used or replaced (one answer for all)."""
        checked = await identity.accounts.check_link(body.token, body.purpose)
        return LinkCheckResponse(purpose=checked.purpose, expires_at=checked.expires_at)

    @router.post(
        "/password-resets/completion",
        tags=["accounts"],
        status_code=204,
        responses=problem_responses(409, 410),
    )
    async def complete_reset(body: ResetCompletion) -> None:
        await identity.accounts.complete_password_reset(body.token, body.password)

    @router.get("/me", tags=["accounts"], responses=problem_responses(404))
    async def me(principal: Holder) -> dict[str, Any]:
        return await identity.accounts.profile(principal.subject)

    @router.get(
        "/me/export",
        tags=["accounts"],
        responses={
            200: {
                "description": "a JSON attachment, `mon-compte.json`",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **problem_responses(404),
        },
    )
    async def export_me(principal: Holder) -> JSONResponse:
        """Everything identity holds about your account, as a JSON file (GDPR arts 15 and 20):
        the account, CGU decisions, second factor state, sessions, links sent, recent login
        failures. Never a password hash, secret, recovery code or token. Any signed-in
        account may download it, whatever its CGU answer, terminated (read-only) included."""
        data = await identity.personal_data.export_account(principal.subject)
        return JSONResponse(data, headers={**NO_STORE, **ACCOUNT_EXPORT_HEADERS})

    @router.post(
        "/me/password", tags=["accounts"], status_code=204, responses=problem_responses(404)
    )
    async def change_password(body: PasswordChange, principal: AccountWriter) -> None:
        await identity.accounts.change_password(
            principal.subject, body.current_password, body.new_password
        )

    @router.post("/me/totp", tags=["accounts"], responses=problem_responses(404, 409))
    async def enrol_totp(principal: AccountWriter) -> TotpEnrolmentResponse:
        enrolment = await identity.accounts.enrol_totp(principal.subject)
        return TotpEnrolmentResponse(
            secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri
        )

    @router.post("/me/totp/confirmation", tags=["accounts"], responses=problem_responses(404, 409))
    async def confirm_totp(body: TotpCode, principal: AccountWriter) -> RecoveryCodes:
        codes = await identity.accounts.confirm_totp(principal.subject, body.code)
        return RecoveryCodes(recovery_codes=codes)

    @router.post(
        "/me/totp/deactivation",
        tags=["accounts"],
        status_code=204,
        responses=problem_responses(404),
    )
    async def disable_totp(body: PasswordConfirmation, principal: AccountWriter) -> None:
        await identity.accounts.disable_totp(principal.subject, body.password)

    @router.post("/me/termination", tags=["accounts"], responses=problem_responses(404, 409))
    async def terminate(
        body: TerminationRequest,
        principal: Recipient,
    ) -> TerminationResponse:
        """Terminate the account: read-only (acts downloadable) for two months, then closed.
        The body's `confirm: true` is the holder's confirmation."""
        assert body.confirm
        if not principal.has_scopes(ACCOUNT_WRITE):
            raise IdentityError(
                403, "insufficient-scope", "This session cannot terminate the account."
            )
        terminated_at = await identity.accounts.terminate(principal.subject)
        return TerminationResponse(
            terminated_at=terminated_at,
            readable_until=readable_until(
                terminated_at, identity.ctx.settings.termination_readable_months
            ),
        )

    @router.get("/me/terms", tags=["terms"], responses=problem_responses(404))
    async def my_terms(principal: Recipient) -> AccountTermsResponse:
        """The CGU as they stand for your account: the version accepted, the one binding you
        now, and each later version's notice (deemed receipt, the instant it binds you)."""
        terms = await identity.terms.for_account(principal.subject)
        return AccountTermsResponse(
            accepted_version=terms.accepted_version,
            binding_version=terms.binding_version,
            answer_pending=terms.binding_version != terms.accepted_version,
            notices=[
                AccountNoticeResponse(
                    version=n.version,
                    status=n.status,
                    presented_at=n.presented_at,
                    deemed_received_on=n.deemed_received_on,
                    binds_from=n.binds_from,
                )
                for n in terms.notices
            ],
        )

    @router.get("/terms/current", tags=["terms"], responses=problem_responses(404))
    async def current_terms() -> TermsResponse:
        """The CGU version in force (public)."""
        return terms_response(await identity.terms.current())

    @router.get("/terms/upcoming", tags=["terms"], responses=problem_responses(404))
    async def upcoming_terms() -> list[TermsResponse]:
        """Published versions not in force yet (public)."""
        return [terms_response(v) for v in await identity.terms.upcoming()]

    @router.post("/terms/current/acceptance", tags=["terms"], responses=problem_responses(404, 409))
    async def accept_terms(
        body: TermsAnswer, principal: Recipient, request: Request
    ) -> TermsDecisionResponse:
        """Accept the version in force: the consent to electronic service. 409
        `terms-refused` after a refusal (final)."""
        decision = await identity.terms.accept(
            principal.subject,
            version=body.version,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
        return TermsDecisionResponse(
            version=decision.version, accepted=decision.accepted, terminated=decision.terminated
        )

    @router.post("/terms/current/refusal", tags=["terms"], responses=problem_responses(404, 409))
    async def refuse_terms(
        body: TermsAnswer, principal: Recipient, request: Request
    ) -> TermsDecisionResponse:
        """Refuse the version in force: no access, for good (every session of the account
        ends); after an earlier acceptance, termination. Refusing again answers the decision
        on record."""
        decision = await identity.terms.refuse(
            principal.subject,
            version=body.version,
            session_id=principal.sid,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
        return TermsDecisionResponse(
            version=decision.version, accepted=decision.accepted, terminated=decision.terminated
        )

    @router.post("/terms", tags=["operator"], status_code=201, responses=problem_responses(409))
    async def publish_terms(body: TermsPublication, principal: Operator) -> TermsResponse:
        """Publish a CGU version effective at least one month and at most a year later (422
        otherwise)."""
        version = await identity.terms.publish(
            body.markdown, body.effective_at, operator=principal.subject
        )
        return terms_response(version)

    @router.get("/terms/{version}/notices", tags=["operator"], responses=problem_responses(404))
    async def terms_notices(
        version: Annotated[int, Path(ge=1, le=1_000_000)], principal: Operator
    ) -> TermsNoticeCountsResponse:
        """How many accounts were notified of a version, how many notices are deemed
        received, how many accounts it binds now."""
        counts = await identity.terms.notice_counts(version)
        return TermsNoticeCountsResponse(
            version=counts.version,
            effective_at=counts.effective_at,
            notified=counts.notified,
            failed=counts.failed,
            deemed_received=counts.deemed_received,
            bound=counts.bound,
            accepted=counts.accepted,
        )

    @router.post("/clients", tags=["operator"], status_code=201, responses=problem_responses(409))
    async def register_client(body: ClientRegistration, principal: Operator) -> ClientRegistered:
        """Register an office's system; its secret is in this answer only."""
        client = await identity.clients.register(
            body.office_id, body.bailiff_name, body.scopes, operator=principal.subject
        )
        return ClientRegistered(
            client_id=client.client_id,
            client_secret=client.client_secret,
            office_id=client.office_id,
            bailiff_name=client.bailiff_name,
            scopes=list(client.scopes),
        )

    @router.post(
        "/judicial-clients", tags=["operator"], status_code=201, responses=problem_responses(409)
    )
    async def register_judicial_client(
        body: JudicialClientRegistration, principal: Operator
    ) -> JudicialClientRegistered:
        """Register a judicial authority's system (registry lookups only); its secret is in
        this answer only."""
        client = await identity.clients.register_judicial(
            body.authority_name, operator=principal.subject
        )
        return JudicialClientRegistered(
            client_id=client.client_id,
            client_secret=client.client_secret,
            authority_name=client.bailiff_name,
            scopes=list(client.scopes),
        )

    @router.get("/clients/{client_id}", tags=["operator"])
    async def describe_client(client_id: ClientId, principal: Operator) -> ClientDescription:
        return ClientDescription.model_validate(await identity.clients.describe(client_id))

    @router.post("/clients/{client_id}/deactivation", tags=["operator"], status_code=204)
    async def disable_client(client_id: ClientId, principal: Operator) -> None:
        """Disable an office client: `POST /oauth/token` answers `invalid_client`, and its
        current tokens are revoked in every service."""
        await identity.clients.disable(client_id, operator=principal.subject)

    @router.delete("/clients/{client_id}/deactivation", tags=["operator"], status_code=204)
    async def enable_client(client_id: ClientId, principal: Operator) -> None:
        await identity.clients.enable(client_id, operator=principal.subject)

    @router.post("/clients/{client_id}/secret-rotation", tags=["operator"])
    async def rotate_client_secret(
        client_id: ClientId, principal: Operator, response: Response
    ) -> ClientSecret:
        """A new secret, in this answer only; the previous one stops working at once."""
        rotated = await identity.clients.rotate_secret(client_id, operator=principal.subject)
        response.headers.update(NO_STORE)
        return ClientSecret(client_id=rotated.client_id, client_secret=rotated.client_secret)

    @router.post("/accounts/{account_id}/suspension", tags=["operator"], status_code=204)
    async def suspend(account_id: AccountId, body: Suspension, principal: Operator) -> None:
        """Suspend (suspected compromise): every token dies, no login until reinstated."""
        await identity.accounts.suspend(account_id, body.reason, operator=principal.subject)

    @router.delete("/accounts/{account_id}/suspension", tags=["operator"], status_code=204)
    async def reinstate(account_id: AccountId, principal: Operator) -> None:
        await identity.accounts.reinstate(account_id, operator=principal.subject)

    @router.post("/accounts/{account_id}/credential-revocation", tags=["operator"], status_code=204)
    async def revoke_credentials(account_id: AccountId, principal: Operator) -> None:
        """Every session of the account dies, in every service within seconds."""
        await identity.accounts.revoke_all_credentials(account_id, operator=principal.subject)

    @router.post(
        "/accounts/{account_id}/activation-link",
        tags=["operator"],
        status_code=202,
        responses=problem_responses(404, 409),
    )
    async def reissue_activation(account_id: AccountId, principal: Operator) -> None:
        """A new activation link is e-mailed; the previous one stops working. 409 once the
        account is activated, has no e-mail any more, or lapsed without activation."""
        await identity.accounts.reissue_activation_link(
            account_id, actor=f"operator:{principal.subject}"
        )

    @router.get("/revocations", tags=["tokens"])
    async def revocations(
        since: Annotated[Instant, Query(description="ISO instant")],
    ) -> dict[str, list[dict[str, str]]]:
        """Revocations of the last access-token lifetime, for services that just started."""
        return await identity.sessions.recent_revocations(since)

    return router


def internal_router(identity: Identity) -> APIRouter:
    """Service-to-service routes: callers are the platform's service clients
    (`identity.service_clients`), each limited by its scope."""
    router = APIRouter(prefix="/internal/v1", tags=["internal"])

    @router.get("/links/{link_id}")
    async def deliverable_link(
        link_id: Annotated[str, Path(max_length=64)], _caller: LinkReader, response: Response
    ) -> DeliverableLinkResponse:
        """The activation or reset link `link_id` names, for notify to e-mail it (events only
        carry the id). 404 for an unknown id, 410 `link-invalid` once it was used, replaced or
        expired. Never cached, never logged."""
        link = await identity.accounts.deliverable_link(link_id)
        response.headers.update(NO_STORE)
        return DeliverableLinkResponse(
            link_id=link.link_id, purpose=link.purpose, url=link.url, expires_at=link.expires_at
        )

    return router


def token_router(identity: Identity) -> APIRouter:
    router = APIRouter(tags=["tokens"])

    @router.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, list[dict[str, str]]]:
        """The public keys of identity's tokens, including a key about to be used."""
        return identity.ctx.issuer.jwks()

    @router.post(
        "/oauth/token",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["grant_type"],
                            "properties": {
                                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                                "scope": {"type": "string"},
                                "client_id": {"type": "string"},
                                "client_secret": {"type": "string"},
                            },
                        },
                        "example": {
                            "grant_type": "client_credentials",
                            "scope": "acts:write acts:read",
                            "client_id": "etude-1",
                            "client_secret": "(the client's secret)",
                        },
                    }
                },
            }
        },
        responses={
            200: {
                "description": "RFC 6749 §5.1 access token response",
                "content": {
                    "application/json": {
                        "schema": _TOKEN_RESPONSE,
                        "example": {
                            "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6ImExYjIifQ.…",
                            "token_type": "Bearer",
                            "expires_in": 600,
                            "scope": "acts:read acts:write",
                        },
                    }
                },
            },
            400: {
                "description": "RFC 6749 §5.2 error (invalid_request, invalid_scope, …)",
                "content": {"application/json": {"schema": _OAUTH_ERROR}},
            },
            401: {
                "description": "RFC 6749 §5.2 invalid_client",
                "content": {"application/json": {"schema": _OAUTH_ERROR}},
            },
            429: {
                "description": "`slow_down`: too many failed authentications of the client id "
                "or from the address; Retry-After says when to try again"
            },
        },
    )
    async def token(request: Request) -> JSONResponse:
        """OAuth2 client credentials grant (RFC 6749 §4.4), HTTP Basic or form client auth."""
        basic = request.headers.get("authorization", "").lower().startswith("basic ")
        try:
            client_id, secret, scope = await _client_credentials(request)
            issued = await identity.clients.token(client_id, secret, scope, ip=client_ip(request))
        except OAuthError as error:
            headers = dict(NO_STORE)
            if error.status == 401 and basic:
                headers["WWW-Authenticate"] = 'Basic realm="securact"'
            if error.retry_after is not None:
                headers["Retry-After"] = str(error.retry_after)
            return JSONResponse(
                {"error": error.error, "error_description": error.description},
                status_code=error.status,
                headers=headers,
            )
        return JSONResponse(
            {
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": issued.scope,
            },
            headers=NO_STORE,
        )

    return router


async def _client_credentials(request: Request) -> tuple[str, str, str | None]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", 400, "The body must be form-encoded.")
    try:
        form = await request.form()
    except HTTPException:
        # Starlette refuses a field over its size limit (or a malformed body) with a 400
        # problem; this endpoint answers RFC 6749 errors.
        raise OAuthError("invalid_request", 400, "The form cannot be read.") from None
    values: dict[str, str] = {}
    for name in ("grant_type", "scope", "client_id", "client_secret"):
        found = form.getlist(name)
        if len(found) > 1:
            raise OAuthError("invalid_request", 400, f"{name} is repeated.")
        if found and isinstance(found[0], str):
            values[name] = found[0]
    grant = values.get("grant_type")
    if grant is None:
        raise OAuthError("invalid_request", 400, "grant_type is missing.")
    if grant != "client_credentials":
        raise OAuthError("unsupported_grant_type", 400, "Only client_credentials is supported.")
    header = request.headers.get("authorization")
    in_body = "client_id" in values or "client_secret" in values
    if header is not None and header.lower().startswith("basic "):
        if in_body:
            raise OAuthError("invalid_request", 400, "Use one client authentication method.")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # ValueError: non-ASCII, UnicodeDecodeError too
            raise OAuthError("invalid_client", 401, "Malformed Basic credentials.") from None
        raw_id, separator, raw_secret = decoded.partition(":")
        if not separator:
            raise OAuthError("invalid_client", 401, "Malformed Basic credentials.")
        # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
        return unquote_plus(raw_id), unquote_plus(raw_secret), values.get("scope")
    if "client_id" not in values or "client_secret" not in values:
        raise OAuthError("invalid_client", 401, "Client authentication is required.")
    return values["client_id"], values["client_secret"], values.get("scope")
