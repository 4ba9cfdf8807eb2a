"""The recipient's contacts over the HTTP API: read them, change the notification e-mail
(confirmed from the new address) and the mobile. The domicile is consent's
(`POST /v1/me/domicile` there)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from identity.api.common import Body, Holder
from identity.domain import ACCOUNT_WRITE
from identity.service import Identity
from shared.auth import Principal, require_role, require_scopes
from shared.openapi import problem_responses

_recipient = require_role("recipient")
_writes = require_scopes(ACCOUNT_WRITE)


async def _contact_writer(
    principal: Annotated[Principal, Depends(_recipient)],
    _: Annotated[Principal, Depends(_writes)],
) -> Principal:
    """The recipient, past the CGU gate and not terminated."""
    return principal


ContactWriter = Annotated[Principal, Depends(_contact_writer)]


class ContactsResponse(BaseModel):
    email: str | None = Field(description="where e-mail notices go")
    mobile: str | None = Field(description="where SMS notices go (E.164); null: none")
    pending_email: str | None = Field(
        description="an address waiting for the confirmation link sent to it"
    )
    pending_until: datetime | None = Field(description="when that link expires")


class EmailChange(Body):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024, description="your current password")


class EmailChangePending(BaseModel):
    email: str = Field(description="the address the confirmation link was sent to")
    expires_at: datetime


class EmailConfirmation(Body):
    token: str = Field(min_length=1, max_length=200, description="from the link e-mailed")


class MobileChange(Body):
    mobile: str | None = Field(
        max_length=32, description="E.164 or a French mobile (06…); null or empty: no SMS"
    )


def contacts_router(identity: Identity) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["accounts"])
    contacts = identity.contacts

    async def answer(account_id: str) -> ContactsResponse:
        details = await contacts.details(account_id)
        return ContactsResponse(
            email=details.email,
            mobile=details.mobile,
            pending_email=details.pending_email,
            pending_until=details.pending_until,
        )

    @router.get("/me/contacts", responses=problem_responses(404))
    async def my_contacts(principal: Holder) -> ContactsResponse:
        """Where your notices go."""
        return await answer(principal.subject)

    @router.post("/me/email", status_code=202, responses=problem_responses(403, 404, 409, 422, 429))
    async def change_email(body: EmailChange, principal: ContactWriter) -> EmailChangePending:
        """Ask for notices at a new address: a link is e-mailed there, and the change takes
        effect when it is opened (`POST /v1/email-confirmations`); the previous address is
        then told. Your password is asked again."""
        expires_at = await contacts.request_email_change(
            principal.subject, body.email, body.password
        )
        pending = await contacts.details(principal.subject)
        return EmailChangePending(email=pending.pending_email or body.email, expires_at=expires_at)

    @router.post("/email-confirmations", responses=problem_responses(410))
    async def confirm_email(body: EmailConfirmation) -> ContactsResponse:
        """Confirm a new address with the token of the link sent to it (single use)."""
        account_id = await contacts.confirm_email_change(body.token)
        return await answer(account_id)

    @router.put("/me/mobile", responses=problem_responses(403, 404, 422))
    async def change_mobile(body: MobileChange, principal: ContactWriter) -> ContactsResponse:
        """Change (or remove) the mobile SMS notices go to; effective at once."""
        await contacts.change_mobile(principal.subject, body.mobile or "")
        return await answer(principal.subject)

    return router
