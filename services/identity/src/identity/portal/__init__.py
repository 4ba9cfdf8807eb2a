"""The recipient portal served by identity: French, server-rendered, no JavaScript."""

from identity.portal.router import portal_router

__all__ = ["portal_router"]
