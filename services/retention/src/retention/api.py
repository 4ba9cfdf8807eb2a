"""Retention's HTTP API: operator holds and schedules; certificate downloads by link."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, Field, PlainSerializer, WithJsonSchema

from retention.domain import Purpose
from retention.records import Hold, Schedule, ScheduleState
from retention.service import Retention
from shared.auth import Principal, require_role

OPERATOR = "operator"
SUBJECT_PATTERN = r"^(account|declaration|terms):[A-Za-z0-9._-]{1,100}$"
MEDIA = {"pdf": "application/pdf", "json": "application/json"}

# Module level: route annotations are strings (PEP 563), resolved in module globals.
Operator = Annotated[Principal, Depends(require_role(OPERATOR))]
HoldId = Annotated[str, Path(max_length=64)]
CertificateId = Annotated[str, Path(max_length=64)]
DownloadToken = Annotated[str, Path(max_length=128)]
FileKind = Annotated[str, Path(pattern="^(pdf|json)$")]
SubjectQuery = Annotated[str, Query(pattern=SUBJECT_PATTERN)]


def _isoformat(instant: datetime) -> str:
    return instant.isoformat()


# ISO 8601 with its UTC offset (`+00:00`), as this API has always written instants.
Instant = Annotated[
    AwareDatetime,
    PlainSerializer(_isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class HoldRequest(BaseModel):
    subject: str = Field(pattern=SUBJECT_PATTERN, description="account:<id> or declaration:<id>")
    reference: str = Field(
        min_length=1, max_length=200, description="the judicial request's reference"
    )


class HoldPlaced(BaseModel):
    id: str
    subject: str
    held: bool = True


class ScheduleView(BaseModel):
    id: str
    subject: str
    purpose: Purpose
    due_at: Instant
    state: ScheduleState
    held: bool

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleView:
        return cls(
            id=schedule.id,
            subject=schedule.subject,
            purpose=schedule.purpose,
            due_at=schedule.due_at,
            state=schedule.state,
            held=schedule.held,
        )


class HoldView(BaseModel):
    id: str
    subject: str
    reference: str

    @classmethod
    def of(cls, hold: Hold) -> HoldView:
        return cls(id=hold.id, subject=hold.subject, reference=hold.reference)


class SubjectSchedules(BaseModel):
    subject: str
    schedules: list[ScheduleView] = Field(description="its own and those related to it")
    holds: list[HoldView]


class CertificateKeys(BaseModel):
    keys: list[str] = Field(description="C2SP verifier key strings")


def retention_router(retention: Retention) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.post("/holds", tags=["operator"], status_code=201)
    async def place_hold(body: HoldRequest, response: Response, principal: Operator) -> HoldPlaced:
        placed = await retention.holds.place(body.subject, body.reference, principal.subject)
        if not placed.created:
            response.status_code = 200  # the same request again: the same hold
        response.headers["Location"] = f"/v1/holds/{placed.hold_id}"
        return HoldPlaced(id=placed.hold_id, subject=body.subject)

    @router.delete("/holds/{hold_id}", tags=["operator"], status_code=204)
    async def lift_hold(hold_id: HoldId, principal: Operator) -> None:
        await retention.holds.lift(hold_id, principal.subject)

    @router.get("/schedules", tags=["operator"])
    async def schedules(subject: SubjectQuery, _principal: Operator) -> SubjectSchedules:
        return SubjectSchedules(
            subject=subject,
            schedules=[ScheduleView.of(s) for s in await retention.schedules.naming(subject)],
            holds=[HoldView.of(h) for h in await retention.holds.of_subject(subject)],
        )

    @router.get("/certificates/keys", tags=["recipient"])
    async def certificate_keys() -> CertificateKeys:
        """The platform's public keys (C2SP verifier key strings) that verify certificates
        offline (`securact-retention verify-certificate`)."""
        return CertificateKeys(keys=retention.certificates.public_keys)

    @router.get(
        "/certificates/{certificate_id}/{token}.{kind}",
        tags=["recipient"],
        response_class=Response,
        responses={
            200: {
                "description": "the certificate's PDF, or its signed JSON twin",
                "content": {
                    media: {"schema": {"type": "string", "format": "binary"}}
                    for media in MEDIA.values()
                },
            }
        },
    )
    async def certificate(
        certificate_id: CertificateId, token: DownloadToken, kind: FileKind
    ) -> Response:
        # The link e-mailed to the person is the capability: the account no longer exists.
        data = await retention.certificates.read(certificate_id, token, kind)
        return Response(
            data,
            media_type=MEDIA[kind],
            headers={
                "Content-Disposition": f'attachment; filename="certificat-{certificate_id}.{kind}"',
                "Cache-Control": "no-store",
            },
        )

    return router
