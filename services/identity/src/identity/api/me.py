"""The holder's own account: profile, export, password, TOTP, termination."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from identity.accounts import AccountProfile, CompromiseReport
from identity.api.common import NO_STORE, AccountWriter, Body, Holder, Recipient
from identity.domain import ACCOUNT_WRITE, readable_until
from identity.errors import IdentityError
from identity.personal_data import ACCOUNT_EXPORT_FILENAME
from identity.service import Identity
from shared.openapi import problem_responses


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


class TerminationRequest(Body):
    confirm: Literal[True] = Field(description="the holder confirmed the termination")


class TerminationResponse(BaseModel):
    terminated_at: datetime
    read_only: bool = True
    readable_until: datetime = Field(
        description="the acts stay readable until this instant (exclusive): 24:00 of the last "
        "day of the two months, Paris legal time; retention erases them then"
    )


ACCOUNT_EXPORT_HEADERS = {
    "Content-Disposition": f'attachment; filename="{ACCOUNT_EXPORT_FILENAME}"'
}


def me_router(identity: Identity) -> APIRouter:
    """`/me`: what a signed-in holder does with their own account."""
    router = APIRouter()

    @router.get("/me", tags=["accounts"], responses=problem_responses(404))
    async def me(principal: Holder) -> AccountProfile:
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

    @router.post(
        "/me/compromise-report",
        tags=["accounts"],
        status_code=201,
        responses=problem_responses(404),
    )
    async def report_compromise(principal: Holder) -> CompromiseReport:
        """Report your credentials compromised: every session and token of the account is
        revoked at once (this one included: sign in again, and change your password), the
        report is journaled and the operators alerted."""
        return await identity.accounts.report_compromise(principal.subject)

    return router
