"""Sessions: login, rotating refresh tokens, logout, revocations; one module per use case on
one `Context`, `Sessions` offers them together."""

from __future__ import annotations

from identity.sessions.access import (
    account_scopes,
    current_terms_version,
    has_refused_terms,
    read_only_until,
    scopes_for,
)
from identity.sessions.issuing import SessionTokens
from identity.sessions.login import Login
from identity.sessions.revocation import (
    RecentRevocations,
    StoreRevocations,
    revoke_credentials,
    revoke_session,
)
from identity.sessions.rotation import Rotation

__all__ = [
    "SessionTokens",
    "Sessions",
    "StoreRevocations",
    "account_scopes",
    "current_terms_version",
    "has_refused_terms",
    "read_only_until",
    "revoke_credentials",
    "revoke_session",
    "scopes_for",
]


class Sessions(Login, Rotation, RecentRevocations):
    """Every session use case, on one `Context`."""
