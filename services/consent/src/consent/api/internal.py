"""Service-to-service routes: callers are the platform's service clients, each limited by its
scope (identity's `service_clients`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from consent.api.common import StatusReader
from consent.service import Consent
from consent.views import ConsentStatus
from shared.openapi import problem_responses


def internal_router(consent: Consent) -> APIRouter:
    router = APIRouter(prefix="/internal/v1", tags=["internal"])

    @router.get("/declarations/{declaration_id}/status", responses=problem_responses(404))
    async def consent_status(
        declaration_id: Annotated[str, Path(max_length=100)],
        _caller: StatusReader,
        response: Response,
    ) -> ConsentStatus:
        """Whether the consent allows serving now (active, scope, end of duration, territory)
        and, once it ended, when and why. Delivery asks it at each sending instant."""
        response.headers["Cache-Control"] = "no-store"
        return await consent.registry.status_of(declaration_id)

    return router
