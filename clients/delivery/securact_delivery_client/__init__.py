"""A client library for accessing Delivery gateway: serving acts"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
