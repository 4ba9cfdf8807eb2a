"""A client library for accessing Consent: the national registry of declarations"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
