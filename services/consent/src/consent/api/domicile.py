"""`POST /v1/me/domicile`: the person declares a new domicile with a proof of address."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request

from consent.api.common import RecipientWriter
from consent.intake import Limits
from consent.service import Consent
from consent.views import DeclarationView
from shared.bodylimit import body_limit
from shared.openapi import problem_responses

_DOMICILE_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["domicile", "proof"],
                    "properties": {
                        "domicile": {
                            "type": "string",
                            "description": 'JSON: {"address": {"adresse", "code_postal", '
                            '"commune"}, "proof": {"type": "justificatif_domicile" (a legal '
                            'person: "extrait_kbis"), "issued_on": "YYYY-MM-DD"}}',
                        },
                        "proof": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


def domicile_router(consent: Consent, limits: Limits) -> APIRouter:
    router = APIRouter()
    domicile = consent.domicile

    @router.post(
        "/me/domicile",
        responses=problem_responses(404, 409, 413, 422),
        openapi_extra=_DOMICILE_BODY,
    )
    @body_limit(None)  # streamed and limited as it is read (`limits.max_request_bytes`)
    async def change_domicile(request: Request, principal: RecipientWriter) -> DeclarationView:
        """Declare a new domicile (a seat, for a legal person) with a proof of address less
        than three months old (PDF, JPEG or PNG, by content). From now on the registry
        answers its territory: acts served after the change follow its legal time."""
        changed = await domicile.submit(
            principal.subject,
            request.stream(),
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            limits,
        )
        return consent.registry.view(changed)

    return router
