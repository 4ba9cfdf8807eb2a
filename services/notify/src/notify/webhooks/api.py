"""The offices' webhook routes: endpoints (register, list, read, disable/enable, rotate the
secret) and each endpoint's delivery log. An office sees and changes only its own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from notify.webhooks.model import Delivery, DeliveryState, Endpoint, WebhookEvent
from notify.webhooks.service import Webhooks
from shared.auth import Principal, current_principal
from shared.openapi import problem_responses
from shared.refusals import Forbidden, InsufficientScope

OFFICE_ROLE = "office"


async def _office(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    """An office client with `acts:write` (it manages its receivers); its office id."""
    if principal.role != OFFICE_ROLE or not principal.office_id:
        raise Forbidden("only an office client manages its webhooks")
    if not principal.has_scopes("acts:write"):
        raise InsufficientScope("This operation needs the scope acts:write.")
    return principal.office_id


Office = Annotated[str, Depends(_office)]
EndpointId = Annotated[str, Path(max_length=100)]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class EndpointInput(_View):
    url: HttpUrl = Field(description="where deliveries are POSTed (HTTPS)")
    events: list[WebhookEvent] = Field(min_length=1, max_length=len(WebhookEvent))
    description: str | None = Field(default=None, max_length=200)

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "example": {
                "url": "https://etude.example/securact/webhooks",
                "events": ["act.served", "act.cognisance", "act.quality-determined"],
                "description": "logiciel de l'étude",
            }
        },
    )


class EndpointView(_View):
    id: str
    url: str
    events: list[WebhookEvent]
    description: str | None
    active: bool
    created_at: datetime
    secret_rotated_at: datetime

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointView:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            events=list(endpoint.events),
            description=endpoint.description,
            active=endpoint.active,
            created_at=endpoint.created_at,
            secret_rotated_at=endpoint.secret.created_at,
        )


class EndpointWithSecret(EndpointView):
    secret: str = Field(
        description="the signing secret (`whsec_…`, Standard Webhooks): shown only now"
    )


class EndpointList(_View):
    endpoints: list[EndpointView]


class Activation(_View):
    active: bool


class DeliveryView(_View):
    id: str
    webhook_id: str = Field(description="the `webhook-id` header: the same on every retry")
    event: WebhookEvent
    act_id: str | None
    state: DeliveryState
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryView:
        pending = delivery.state is DeliveryState.PENDING
        return cls(
            id=delivery.id,
            webhook_id=delivery.webhook_id,
            event=delivery.event,
            act_id=delivery.act_id,
            state=delivery.state,
            attempts=delivery.attempts,
            last_status=delivery.last_status,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            next_attempt_at=delivery.next_attempt_at if pending else None,
            delivered_at=delivery.delivered_at,
        )


class DeliveryLog(_View):
    deliveries: list[DeliveryView]


def webhooks_router(webhooks: Webhooks) -> APIRouter:
    router = APIRouter(prefix="/v1/webhooks/endpoints", tags=["webhooks"])

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        operation_id="webhooks_register",
        responses=problem_responses(403, 422),
    )
    async def register(office: Office, body: EndpointInput) -> EndpointWithSecret:
        """Register a receiver for some of the office's act events; the answer holds its
        signing secret, never shown again (rotate it to get a new one)."""
        endpoint, secret = await webhooks.register(
            office, str(body.url), body.events, body.description
        )
        return EndpointWithSecret(**EndpointView.of(endpoint).model_dump(), secret=secret)

    @router.get("", operation_id="webhooks_list", responses=problem_responses(403))
    async def endpoints(office: Office) -> EndpointList:
        """The office's receivers."""
        return EndpointList(
            endpoints=[EndpointView.of(e) for e in await webhooks.of_office(office)]
        )

    @router.get(
        "/{endpoint_id}", operation_id="webhooks_endpoint", responses=problem_responses(403, 404)
    )
    async def endpoint(office: Office, endpoint_id: EndpointId) -> EndpointView:
        return EndpointView.of(await webhooks.get(office, endpoint_id))

    @router.put(
        "/{endpoint_id}/activation",
        operation_id="webhooks_set_active",
        responses=problem_responses(403, 404),
    )
    async def set_active(office: Office, endpoint_id: EndpointId, body: Activation) -> EndpointView:
        """Disable a receiver (nothing more is recorded for it) or enable it again."""
        return EndpointView.of(await webhooks.set_active(office, endpoint_id, body.active))

    @router.post(
        "/{endpoint_id}/secret-rotation",
        operation_id="webhooks_rotate_secret",
        responses=problem_responses(403, 404),
    )
    async def rotate(office: Office, endpoint_id: EndpointId) -> EndpointWithSecret:
        """A new signing secret; for a grace period deliveries carry a signature with the
        previous one too (`webhook-signature` lists both), so the receiver can switch."""
        endpoint, secret = await webhooks.rotate_secret(office, endpoint_id)
        return EndpointWithSecret(**EndpointView.of(endpoint).model_dump(), secret=secret)

    @router.get(
        "/{endpoint_id}/deliveries",
        operation_id="webhooks_deliveries",
        responses=problem_responses(403, 404),
    )
    async def deliveries(
        office: Office,
        endpoint_id: EndpointId,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> DeliveryLog:
        """The receiver's deliveries, newest first: attempts, last HTTP status, state."""
        found = await webhooks.log_of(office, endpoint_id, limit)
        return DeliveryLog(deliveries=[DeliveryView.of(d) for d in found])

    return router
