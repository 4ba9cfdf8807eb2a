"""Webhook endpoints and deliveries on notify's store."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from notify.webhooks.model import Delivery, DeliveryState, Endpoint
from shared.store.port import VERSION, DocumentReader, DocumentWriter, Index, to_iso

ENDPOINTS: Final = "webhook_endpoints"
DELIVERIES: Final = "webhook_deliveries"
INDEXES: Final = (
    Index(ENDPOINTS, ("office_id",)),
    Index(DELIVERIES, ("state", "next_attempt_at")),
    Index(DELIVERIES, ("endpoint_id", "created_at")),
)


class Endpoints:
    def __init__(self, store: DocumentReader) -> None:
        self._store = store

    async def get(self, endpoint_id: str, reader: DocumentReader | None = None) -> Endpoint | None:
        found = await (reader or self._store).get(ENDPOINTS, endpoint_id)
        return None if found is None else Endpoint.model_validate(found)

    async def of_office(
        self, office_id: str, reader: DocumentReader | None = None
    ) -> list[Endpoint]:
        rows = await (reader or self._store).find(
            ENDPOINTS, {"office_id": office_id}, sort=(("created_at", 1),)
        )
        return [Endpoint.model_validate(row) for row in rows]

    async def add(self, writer: DocumentWriter, endpoint: Endpoint) -> Endpoint:
        stored = await writer.insert(ENDPOINTS, endpoint.document())
        return endpoint.model_copy(update={"version": stored[VERSION]})

    async def save(self, writer: DocumentWriter, endpoint: Endpoint) -> Endpoint:
        assert endpoint.version is not None, "a new endpoint is added, not saved"
        stored = await writer.replace(
            ENDPOINTS, endpoint.document(), expected_version=endpoint.version
        )
        return endpoint.model_copy(update={"version": stored[VERSION]})


class Deliveries:
    def __init__(self, store: DocumentReader) -> None:
        self._store = store

    async def add(self, writer: DocumentWriter, delivery: Delivery) -> None:
        await writer.insert(DELIVERIES, delivery.document())

    async def save(self, writer: DocumentWriter, delivery: Delivery) -> Delivery:
        assert delivery.version is not None
        stored = await writer.replace(
            DELIVERIES, delivery.document(), expected_version=delivery.version
        )
        return delivery.model_copy(update={"version": stored[VERSION]})

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        rows = await self._store.find(
            DELIVERIES,
            {
                "state": {"$in": [DeliveryState.PENDING.value]},
                "next_attempt_at": {"$lte": to_iso(now)},
            },
            sort=(("next_attempt_at", 1),),
            limit=limit,
        )
        return [Delivery.model_validate(row) for row in rows]

    async def of_endpoint(self, endpoint_id: str, limit: int) -> list[Delivery]:
        rows = await self._store.find(
            DELIVERIES, {"endpoint_id": endpoint_id}, sort=(("created_at", -1),), limit=limit
        )
        return [Delivery.model_validate(row) for row in rows]
