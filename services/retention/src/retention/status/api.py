"""The status API: the operator's incidents and maintenance (role `operator`), the public JSON
feed, incidents and their signed attestations (no login: they state facts about the platform,
no person)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, model_validator

from retention.status.context import FUNCTIONS
from retention.status.incidents import Scope
from retention.status.notices import Audience
from retention.status.service import Status
from retention.status.view import (
    IncidentView,
    MaintenanceView,
    NoticeView,
    StatusFeed,
    incident_view,
    maintenance_view,
    notice_view,
)
from shared.auth import Principal, require_role
from shared.contracts.status import BreachFacts
from shared.legal_calendar import Territory
from shared.openapi import problem_responses

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(instant: datetime) -> datetime:
    if not EARLIEST <= instant < LATEST:
        raise ValueError("an instant between 2000 and 2100 is expected")
    return instant


# An instant an operator gives: aware, and in this century (the store writes four-digit years).
OperatorInstant = Annotated[AwareDatetime, AfterValidator(_plausible)]
Operator = Annotated[Principal, Depends(require_role("operator"))]
IncidentId = Annotated[str, Path(max_length=64)]
MaintenanceId = Annotated[str, Path(max_length=64)]
NoticeId = Annotated[str, Path(max_length=64)]
ServiceName = Annotated[str, Field(pattern="^(" + "|".join(FUNCTIONS) + ")$")]
OfficeId = Annotated[str, Field(min_length=1, max_length=64)]


class TerritoryDeadline(BaseModel):
    territory: Territory
    legal_time: str = Field(description="IANA zone of the territory's legal time")
    started_local: str
    ended_local: str
    first_day: str = Field(description="first legal day the outage touched (ISO date)")
    last_day: str = Field(description="last legal day the outage touched (ISO date)")
    moved_to: str = Field(description="CPC 748-7 with 642: a deadline of those days moves here")


class ReceiptView(BaseModel):
    event_id: str
    index: int
    proof: str = Field(description="audit's tlog-proof of the event's inclusion")


class MissingReceiptView(BaseModel):
    event_id: str
    reason: str


class AttestationView(BaseModel):
    """The signed document (`securact-ng/outage-attestation/v1`)."""

    format: str
    attestation_id: str
    incident_id: str
    issued_at: str
    legal_basis: str
    origin: str
    cause: str
    started_at: str
    ended_at: str
    services: list[str]
    functions: list[str]
    offices: list[str]
    territories: list[TerritoryDeadline]
    journal_events: list[str]
    audit_receipts: list[ReceiptView]
    missing_receipts: list[MissingReceiptView]


class SignatureView(BaseModel):
    alg: str
    kid: str
    value: str = Field(description="base64 Ed25519 signature of the RFC 8785 JSON")


class PdfSignatureView(BaseModel):
    sha256: str
    kid: str
    signature: str = Field(description="base64 Ed25519 signature of the PDF's bytes")


class SignedAttestation(BaseModel):
    """The attestation's signed JSON twin, as served (its bytes are what was signed)."""

    attestation: AttestationView
    signature: SignatureView
    verifier_key: str = Field(description="a hint: verify with the published keys")
    fingerprint: str
    pdf: PdfSignatureView


class ScopeRequest(BaseModel):
    services: list[ServiceName] = Field(min_length=1, max_length=10)
    territories: list[Territory] = Field(
        default_factory=list, max_length=10, description="empty: every territory"
    )
    offices: list[OfficeId] = Field(default_factory=list, max_length=200)

    def scope(self) -> Scope:
        return Scope(self.services, [t.value for t in self.territories], self.offices)


class IncidentRequest(ScopeRequest):
    cause: str = Field(min_length=1, max_length=500)
    started_at: OperatorInstant | None = Field(default=None, description="default: now")


class CloseRequest(BaseModel):
    ended_at: OperatorInstant | None = Field(default=None, description="default: now")


class MaintenanceRequest(ScopeRequest):
    starts_at: OperatorInstant
    ends_at: OperatorInstant
    description: str = Field(min_length=1, max_length=1000)
    notify_users: bool = Field(
        default=False,
        description="also send the notice to the accounts and offices of its scope (e-mail)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class BreachNoticeRequest(BaseModel):
    """A personal data breach notice (RGPD art. 34): each text in French, about no one in
    particular. Scope: every account and office when both lists are empty; otherwise the
    accounts of the territories listed and those the offices listed served, and those offices."""

    nature: str = Field(min_length=1, max_length=2000, description="nature of the breach")
    consequences: str = Field(min_length=1, max_length=2000, description="likely consequences")
    measures: str = Field(
        min_length=1, max_length=2000, description="measures taken or proposed, and advice"
    )
    contact: str = Field(min_length=1, max_length=500, description="DPO or contact point")
    territories: list[Territory] = Field(default_factory=list, max_length=10)
    offices: list[OfficeId] = Field(default_factory=list, max_length=200)

    def facts(self) -> BreachFacts:
        return BreachFacts(
            nature=self.nature,
            consequences=self.consequences,
            measures=self.measures,
            contact=self.contact,
        )

    def audience(self) -> Audience:
        return Audience([t.value for t in self.territories], self.offices)


def status_router(status: Status) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.post("/incidents", tags=["operator"], status_code=201, responses=problem_responses(422))
    async def open_incident(body: IncidentRequest, principal: Operator) -> IncidentView:
        """Declare an unavailability (cause and scope); it is journaled and shown at once."""
        incident = await status.incidents.open(
            body.cause, body.scope(), principal.subject, body.started_at
        )
        return incident_view(incident)

    @router.post(
        "/incidents/{incident_id}/close",
        tags=["operator"],
        responses=problem_responses(404, 409, 422),
    )
    async def close_incident(
        incident_id: IncidentId, body: CloseRequest, principal: Operator
    ) -> IncidentView:
        return incident_view(
            await status.incidents.close(incident_id, principal.subject, body.ended_at)
        )

    @router.post(
        "/maintenances", tags=["operator"], status_code=201, responses=problem_responses(422)
    )
    async def announce_maintenance(
        body: MaintenanceRequest, principal: Operator
    ) -> MaintenanceView:
        """Announce a planned maintenance on the status page; with `notify_users`, its notice
        is also e-mailed to the accounts and offices of its scope (once per address)."""
        maintenance = await status.maintenances.announce(
            body.starts_at,
            body.ends_at,
            body.scope(),
            body.description,
            principal.subject,
            notify_users=body.notify_users,
        )
        return maintenance_view(maintenance)

    @router.post(
        "/maintenances/{maintenance_id}/notice",
        tags=["operator"],
        responses=problem_responses(404, 409),
    )
    async def notify_maintenance(
        maintenance_id: MaintenanceId, principal: Operator
    ) -> MaintenanceView:
        """Send the notice of a maintenance announced without `notify_users` (once)."""
        maintenance = await status.maintenances.notify_users(maintenance_id, principal.subject)
        return maintenance_view(maintenance)

    @router.post(
        "/notices/breach", tags=["operator"], status_code=201, responses=problem_responses(422)
    )
    async def issue_breach_notice(body: BreachNoticeRequest, principal: Operator) -> NoticeView:
        """Notify the people and offices concerned of a personal data breach (RGPD art. 34):
        notify e-mails it once per address and journals each outcome."""
        notice = await status.notices.issue_breach(body.facts(), body.audience(), principal.subject)
        return notice_view(notice)

    @router.get("/notices/{notice_id}", tags=["operator"], responses=problem_responses(404))
    async def notice(notice_id: NoticeId, principal: Operator) -> NoticeView:
        return notice_view(await status.notices.get(notice_id))

    @router.get("/status", tags=["status"])
    async def feed() -> StatusFeed:
        """The platform's state, upcoming maintenance and past incidents (no login)."""
        return await status.feed()

    @router.get("/incidents/{incident_id}", tags=["status"], responses=problem_responses(404))
    async def incident(incident_id: IncidentId) -> IncidentView:
        return incident_view(await status.incidents.get(incident_id))

    @router.get(
        "/incidents/{incident_id}/attestation",
        tags=["status"],
        response_class=Response,
        responses={
            200: {"description": "the signed outage attestation", "model": SignedAttestation},
            **problem_responses(404, 409),
        },
    )
    async def attestation(incident_id: IncidentId) -> Response:
        """CPC 748-7: a closed incident's signed attestation, verifiable offline with the keys
        of `GET /v1/certificates/keys` (`securact-retention verify-attestation`)."""
        issued = await status.attestations.of_incident(incident_id)
        return Response(
            issued.signed_json.encode("utf-8"),
            media_type="application/json",
            headers={"Content-Disposition": f'inline; filename="attestation-{incident_id}.json"'},
        )

    @router.get(
        "/incidents/{incident_id}/attestation.pdf",
        tags=["status"],
        response_class=Response,
        responses={
            200: {
                "description": "the attestation's French PDF (its signature is in the JSON)",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            },
            **problem_responses(404, 409),
        },
    )
    async def attestation_pdf(incident_id: IncidentId) -> Response:
        issued = await status.attestations.of_incident(incident_id)
        return Response(
            base64.b64decode(issued.pdf_base64),
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="attestation-{incident_id}.pdf"'
            },
        )

    return router
