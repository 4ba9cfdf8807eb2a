"""Operators' actions: office and judicial clients, account suspension, credential
revocation, activation links."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from identity.accounts import CompromiseReport
from identity.api.common import NO_STORE, AccountId, Body, ClientId, Operator
from identity.service import Identity
from shared.openapi import null_answer, problem_responses


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


def operator_router(identity: Identity) -> APIRouter:
    """Operator-only routes."""
    router = APIRouter()

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

    @router.get("/compromise-reports", tags=["operator"])
    async def compromise_reports(_principal: Operator) -> list[CompromiseReport]:
        """Compromised credentials reported by their holders, the most recent first (100)."""
        return await identity.accounts.compromise_reports()

    @router.post(
        "/accounts/{account_id}/activation-link",
        tags=["operator"],
        status_code=202,
        responses={**null_answer(202), **problem_responses(404, 409)},
    )
    async def reissue_activation(account_id: AccountId, principal: Operator) -> None:
        """A new activation link is e-mailed; the previous one stops working. 409 once the
        account is activated, has no e-mail any more, or lapsed without activation."""
        await identity.accounts.reissue_activation_link(
            account_id, actor=f"operator:{principal.subject}"
        )

    return router
