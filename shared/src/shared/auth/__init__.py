"""Access tokens: local verification of identity's EdDSA JWTs and the FastAPI dependencies."""

from shared.auth.dependencies import (
    current_principal,
    install_token_verifier,
    require_role,
    require_scopes,
)
from shared.auth.tokens import (
    ALGORITHM,
    CLAIM_OFFICE,
    CLAIM_ROLE,
    CLAIM_SCOPE,
    CLAIM_SID,
    InMemoryRevocationList,
    JwksCache,
    Principal,
    RevocationList,
    TokenError,
    TokenErrorReason,
    TokenVerifier,
    VerifierConfig,
)

__all__ = [
    "ALGORITHM",
    "CLAIM_OFFICE",
    "CLAIM_ROLE",
    "CLAIM_SCOPE",
    "CLAIM_SID",
    "InMemoryRevocationList",
    "JwksCache",
    "Principal",
    "RevocationList",
    "TokenError",
    "TokenErrorReason",
    "TokenVerifier",
    "VerifierConfig",
    "current_principal",
    "install_token_verifier",
    "require_role",
    "require_scopes",
]
