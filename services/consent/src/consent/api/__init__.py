"""Consent's HTTP API, one router per feature (`registration`, `registry`, `lifecycle`, `rights`,
`domicile`, `internal`): thin adapters over the use cases wired in `consent.service`.

Routes decode, call one use case and return its typed view; what a use case refuses is a
`shared.refusals.Refusal` (`consent.refusals`), mapped to problem+json once for the whole app.

Who may do what (checked here, in the service that owns the data, DESIGN §7):

| route | caller |
|---|---|
| `POST /v1/declarations` | an office client with `registry:write` |
| `GET /v1/declarations/{id}` | the registering office, the person, an operator |
| `GET` or `POST /v1/registry/search` | `registry:read` and role `office` or `judicial_authority` |
| `/v1/me/...` | the person: role `recipient` and `acts:read` (changes: `account:write`) |
| `/v1/me/declaration/{statement,validation,contestation}` | the person at the CGU gate |
| `GET /v1/restriction-requests`, `POST .../{id}/answer` | an operator |
| `GET /internal/v1/declarations/{id}/status` | a service client with `consent:status` |

The person's token `sub` is their account id. A recipient or an office asking for a declaration
that is not theirs gets 404, as for one that does not exist: ids are not probed. Registry lookups
are limited per office and per judicial client per minute (429 with Retry-After beyond).
"""

from __future__ import annotations

from fastapi import APIRouter

from consent.api.domicile import domicile_router
from consent.api.internal import internal_router
from consent.api.lifecycle import lifecycle_router
from consent.api.registration import registration_router
from consent.api.registry import registry_router
from consent.api.rights import rights_router
from consent.intake import Limits
from consent.service import Consent

__all__ = ["consent_router", "internal_router"]


def consent_router(consent: Consent, limits: Limits) -> APIRouter:
    """The public `/v1` API: each feature's router under one prefix."""
    router = APIRouter(prefix="/v1", tags=["consent"])
    router.include_router(registration_router(consent, limits))
    for feature in (registry_router, lifecycle_router, rights_router):
        router.include_router(feature(consent))
    router.include_router(domicile_router(consent, limits))
    return router
