"""A client library for accessing Audit: the verifiable journal of every event"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
