"""Retention's HTTP API: operator holds and schedules; certificate downloads by link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from retention.certificates import CertificateNotFoundError
from retention.holds import HoldNotFoundError
from retention.service import Retention
from shared.auth import Principal, require_role
from shared.problems import Problem

OPERATOR = "operator"
SUBJECT_PATTERN = r"^(account|declaration|terms):[A-Za-z0-9._-]{1,100}$"
# Module level: route annotations are strings (PEP 563), resolved in module globals.
operator = require_role(OPERATOR)
MEDIA = {"pdf": "application/pdf", "json": "application/json"}


class HoldRequest(BaseModel):
    subject: str = Field(pattern=SUBJECT_PATTERN, description="account:<id> or declaration:<id>")
    reference: str = Field(
        min_length=1, max_length=200, description="the judicial request's reference"
    )


def retention_router(retention: Retention) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.post("/holds", tags=["operator"], status_code=201)
    async def place_hold(
        body: HoldRequest,
        response: Response,
        principal: Annotated[Principal, Depends(operator)],
    ) -> dict[str, str | bool]:
        placed = await retention.holds.place(body.subject, body.reference, principal.subject)
        if not placed.created:
            response.status_code = 200  # the same request again: the same hold
        response.headers["Location"] = f"/v1/holds/{placed.hold_id}"
        return {"id": placed.hold_id, "subject": body.subject, "held": True}

    @router.delete("/holds/{hold_id}", tags=["operator"], status_code=204)
    async def lift_hold(
        hold_id: Annotated[str, Path(max_length=64)],
        principal: Annotated[Principal, Depends(operator)],
    ) -> Response:
        try:
            await retention.holds.lift(hold_id, principal.subject)
        except HoldNotFoundError:
            raise Problem(404, "No hold", "No hold has this id (lifted already?).") from None
        return Response(status_code=204)

    @router.get("/schedules", tags=["operator"])
    async def schedules(
        subject: Annotated[str, Query(pattern=SUBJECT_PATTERN)],
        _principal: Annotated[Principal, Depends(operator)],
    ) -> dict[str, object]:
        return {
            "subject": subject,
            "schedules": [
                {
                    "id": s.id,
                    "subject": s.subject,
                    "purpose": s.purpose.value,
                    "due_at": s.due_at.isoformat(),
                    "state": s.state.value,
                    "held": s.held,
                }
                for s in await retention.schedules.naming(subject)
            ],
            "holds": [
                {"id": h.id, "subject": h.subject, "reference": h.reference}
                for h in await retention.holds.of_subject(subject)
            ],
        }

    @router.get("/certificates/keys", tags=["recipient"])
    async def certificate_keys() -> dict[str, list[str]]:
        """The platform's public keys (C2SP verifier key strings) that verify certificates
        offline (`securact-retention verify-certificate`)."""
        return {"keys": retention.certificates.public_keys}

    @router.get("/certificates/{certificate_id}/{token}.{kind}", tags=["recipient"])
    async def certificate(
        certificate_id: Annotated[str, Path(max_length=64)],
        token: Annotated[str, Path(max_length=128)],
        kind: Annotated[str, Path(pattern="^(pdf|json)$")],
    ) -> Response:
        # The link e-mailed to the person is the capability: the account no longer exists.
        try:
            data = await retention.certificates.read(certificate_id, token, kind)
        except CertificateNotFoundError:
            raise Problem(404, "Not found", "No certificate at this address.") from None
        return Response(
            data,
            media_type=MEDIA[kind],
            headers={
                "Content-Disposition": f'attachment; filename="certificat-{certificate_id}.{kind}"',
                "Cache-Control": "no-store",
            },
        )

    return router
