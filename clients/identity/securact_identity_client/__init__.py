"""A client library for accessing Identity: accounts, sessions, OAuth2 clients and the recipient portal"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
