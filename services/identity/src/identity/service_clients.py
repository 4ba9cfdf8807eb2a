"""The platform's own services as OAuth2 clients of identity (client credentials), for the few
calls one service makes to another over HTTP instead of the bus.

Each calling service has one client, `service-<name>`, with a narrow scope: notify reads links
(`links:read` at identity for an activation or reset link, `certificates:read` at retention for
an erasure certificate's download link: links it must not receive through the journal);
delivery reads a consent's status at the sending instant (`consent:status`, CPC 748-2: the
registry of record decides, not delivery's copy fed by events).
The clients are not registered by an operator: identity ensures them at each start from its
settings (the secret's hash and the scopes follow the settings, so rotating a secret is a
settings change on both sides and a restart). A secret has a dev default that production
settings refuse, like every other secret. Tokens carry the `service` role and only the client's
scopes; the shared helper `shared.auth.client_credentials.ClientCredentials` fetches and caches
them on the calling side.

To add a caller: one entry in `SERVICE_CLIENTS` and its secret
setting `<name>_client_secret` on identity, the same secret as `client_secret` on the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from identity.domain import CERTIFICATES_READ, LINKS_READ, SERVICE_ROLE, hash_secret
from identity.records import CLIENTS, Context, iso, put
from identity.settings import Settings

log = logging.getLogger(__name__)

CONSENT_STATUS = "consent:status"
"""Consent's `GET /internal/v1/declarations/{id}/status`."""


@dataclass(frozen=True)
class ServiceClient:
    service: str
    scopes: frozenset[str]
    secret_setting: Callable[[Settings], SecretStr]

    @property
    def client_id(self) -> str:
        return service_client_id(self.service)

    def secret(self, settings: Settings) -> str:
        return self.secret_setting(settings).get_secret_value()


SERVICE_CLIENTS: tuple[ServiceClient, ...] = (
    ServiceClient(
        "notify", frozenset({LINKS_READ, CERTIFICATES_READ}), lambda s: s.notify_client_secret
    ),
    ServiceClient("delivery", frozenset({CONSENT_STATUS}), lambda s: s.delivery_client_secret),
)


def service_client_id(service: str) -> str:
    return f"service-{service}"


class ServiceClients:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def ensure(self) -> None:
        """Create or align every service client with the settings (start-up hook)."""
        ctx = self._ctx
        for client in SERVICE_CLIENTS:
            wanted = {
                "kind": SERVICE_ROLE,
                "office_id": None,
                "bailiff_name": f"service {client.service}",
                "scopes": sorted(client.scopes),
                "secret_hash": hash_secret(client.secret(ctx.settings)),
            }
            async with ctx.outbox.transaction() as tx:
                current = await tx.get(CLIENTS, client.client_id)
                if current is None:
                    await tx.insert(
                        CLIENTS,
                        {
                            "_id": client.client_id,
                            **wanted,
                            "disabled": False,
                            "created_at": iso(ctx.clock.now()),
                        },
                    )
                    log.info("service client %s created", client.client_id)
                elif any(current.get(k) != v for k, v in wanted.items()):
                    # A rotated secret or changed scopes; an operator's disabling stays.
                    await put(
                        tx,
                        CLIENTS,
                        {**current, **wanted, "secret_rotated_at": iso(ctx.clock.now())},
                    )
                    log.info("service client %s updated from the settings", client.client_id)
