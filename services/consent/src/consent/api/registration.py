"""`POST /v1/declarations`: an office registers a declaration with its proof files."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request

from consent.api.common import RegisteringOffice
from consent.intake import Limits
from consent.service import Consent
from consent.views import Registered
from shared.bodylimit import body_limit
from shared.openapi import problem_responses, with_examples

_REGISTRATION_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["declaration"],
                    "properties": {
                        "declaration": {
                            "type": "string",
                            "description": "JSON of DeclarationInput; each "
                            "proofs[].part names the file part carrying that proof",
                        },
                    },
                    "additionalProperties": {"type": "string", "format": "binary"},
                }
            }
        },
    }
}
_REGISTRATION_EXAMPLE: Final = with_examples(
    _REGISTRATION_BODY,
    request=(
        "multipart/form-data",
        {
            "declaration": '{"person": {"kind": "natural", "nom": "Martin", "prenoms": "Claire", '
            '"date_naissance": "1984-05-17", "lieu_naissance": "Lyon", "domicile": {"adresse": '
            '"12 rue des Lilas", "code_postal": "69003", "commune": "Lyon"}, "email": '
            '"claire.martin@example.org"}, "scope": ["signification_jugement"], "duration": '
            '{"type": "indefinite"}, "revocation_modalities": "Depuis votre espace, rubrique '
            'Consentement", "proofs": [{"part": "id-card", "type": "carte_identite", '
            '"issued_on": "2021-09-01"}]}',
            "id-card": "(the proof, PDF, JPEG or PNG)",
        },
    ),
    responses={
        201: {"id": "01JF8YZ1K2M3N4P5Q6R7S8T9V0", "status": "registered", "territory": "metropole"}
    },
)


def registration_router(consent: Consent, limits: Limits) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/declarations",
        status_code=201,
        responses=problem_responses(409, 422),
        openapi_extra=_REGISTRATION_EXAMPLE,
    )
    @body_limit(None)  # streamed and limited by intake (`limits.max_request_bytes`)
    async def register(request: Request, office: RegisteringOffice) -> Registered:
        """Register a declaration with its proof files (PDF, JPEG or PNG, by content)."""
        declaration = await consent.registration.submit(
            office,
            request.stream(),
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            limits,
        )
        return Registered(
            id=declaration.id, status=declaration.status, territory=declaration.territory
        )

    return router
