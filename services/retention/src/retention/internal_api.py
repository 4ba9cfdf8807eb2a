"""Retention's service-to-service routes: callers are the platform's service clients (identity's
`service_clients`), each limited by its scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel

from retention.download_links import CERTIFICATES_READ, DownloadLinks
from retention.service import Retention
from shared.auth import Principal, require_scopes
from shared.openapi import problem_responses

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# Module level: route annotations are strings (PEP 563), resolved in module globals.
CertificateReader = Annotated[Principal, Depends(require_scopes(CERTIFICATES_READ))]
CertificateId = Annotated[str, Path(max_length=64)]


class CertificateLink(BaseModel):
    certificate_id: str
    url: str


def internal_router(retention: Retention) -> APIRouter:
    """Its refusals (404, 410) need `install_refusal_handlers` on the app."""
    router = APIRouter(prefix="/internal/v1", tags=["internal"])
    links = DownloadLinks(retention.ctx)

    @router.get("/certificates/{certificate_id}/link", responses=problem_responses(404, 410))
    async def certificate_link(
        certificate_id: CertificateId, _caller: CertificateReader, response: Response
    ) -> CertificateLink:
        """The download link of the erasure certificate `certificate_id`, for notify to e-mail
        it (the event only carries the id). 404 for an unknown id, 410 when the link cannot be
        given (a certificate issued before links were kept sealed). Never cached, never
        logged."""
        link = await links.link(certificate_id)
        response.headers.update(NO_STORE)
        return CertificateLink(certificate_id=link.certificate_id, url=link.url)

    return router
