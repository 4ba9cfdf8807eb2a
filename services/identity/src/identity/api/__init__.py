"""Identity's HTTP API (JSON, problem+json errors) and OAuth2 token endpoint, one router per
feature.

Routes decode, call one use case, map the result. `IdentityError`s become RFC 9457 problems
typed `urn:securact:problem:<code>` (`install_identity_errors`, the one mapping); the token
endpoint answers RFC 6749 §5.2 error bodies instead, as OAuth clients expect.
"""

from __future__ import annotations

from fastapi import APIRouter

from identity.api.common import install_identity_errors
from identity.api.links import internal_router, links_router
from identity.api.me import me_router
from identity.api.operator import operator_router
from identity.api.rights import rights_router
from identity.api.sessions import sessions_router
from identity.api.terms import terms_router
from identity.api.tokens import token_router
from identity.service import Identity

__all__ = ["identity_router", "install_identity_errors", "internal_router", "token_router"]


def identity_router(identity: Identity) -> APIRouter:
    """The public `/v1` API: each feature's router under one prefix."""
    router = APIRouter(prefix="/v1")
    for feature in (
        sessions_router,
        links_router,
        me_router,
        rights_router,
        terms_router,
        operator_router,
    ):
        router.include_router(feature(identity))
    return router
