"""A client library for accessing Notify: e-mail, SMS and webhooks"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
