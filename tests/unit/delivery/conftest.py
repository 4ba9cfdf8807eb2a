"""Delivery's use cases, wired as the app wires them, on a real SQLite store with a manual
clock, a KEK and a signing key in the test's directory, an in-memory recording object store,
and its HTTP API through ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from delivery.api import delivery_router
from delivery.consumers import notifications_subscription, parties_subscription
from delivery.context import Config
from delivery.erasure import ERASURE_INDEXES
from delivery.evidence import EvidenceSigner
from delivery.offices import OfficeDirectory
from delivery.repository import INDEXES
from delivery.service import Delivery, wire
from delivery.settings import OfficeProfile
from shared.auth import install_token_verifier
from shared.clock import ManualClock
from shared.contracts.consent import (
    ActNature,
    ConsentRevokedV1,
    DeclarationActivatedV1,
    DeclarationRegisteredV1,
    PersonKind,
)
from shared.contracts.envelope import Envelope, EventPayload, new_envelope
from shared.crypto import KeyRing, LocalKeyFile, load_or_create_signing_ring
from shared.legal_calendar import Territory
from shared.malware import NoScanner
from shared.messaging.inbox import INBOX_INDEXES, Inbox
from shared.messaging.outbox import OUTBOX, Outbox, OutboxRelay
from shared.problems import install_problem_handlers
from shared.refusals import install_refusal_handlers
from shared.store.port import DocumentStore
from shared.vault import EncryptedObjects, ObjectPort
from tests.support.consent_registry import ProjectedRegistry
from tests.unit.delivery.support import MemoryObjects, Tokens, metadata, multipart, pdf

# Tuesday 8 April 2031, 10:00 in Paris (08:00 UTC).
START = datetime(2031, 4, 8, 8, 0, tzinfo=UTC)
MAX_ACT = 256 * 1024
MAX_REPLY = 128 * 1024
ACT = pdf(3000)


@dataclass
class Harness:
    store: DocumentStore
    clock: ManualClock
    objects: MemoryObjects
    outbox: Outbox
    delivery: Delivery
    tokens: Tokens
    client: httpx.AsyncClient
    registry: ProjectedRegistry

    @property
    def vault(self) -> EncryptedObjects:
        return self.delivery.ctx.acts_vault

    @property
    def replies_vault(self) -> EncryptedObjects:
        return self.delivery.ctx.replies_vault

    @property
    def signer(self) -> EvidenceSigner:
        return self.delivery.ctx.signer

    def event(self, payload: EventPayload, subject: str = "declaration:x") -> Envelope:
        return new_envelope(payload, subject=subject, actor="service:consent", clock=self.clock)

    async def deliver(self, payload: EventPayload) -> None:
        """Hand a consent/identity event to delivery's consumer, as the bus would."""
        subscription = parties_subscription(
            Inbox(self.store, "delivery.parties", self.clock), self.delivery.reconciliation
        )
        await subscription.handler(self.event(payload))

    async def notify(self, envelope: Envelope) -> None:
        subscription = notifications_subscription(
            Inbox(self.store, "delivery.notifications", self.clock), self.signer
        )
        await subscription.handler(envelope)

    async def consent(
        self,
        declaration_id: str = "decl-1",
        account_id: str = "acc-1",
        *,
        territory: Territory = Territory.METROPOLE,
        scope: tuple[ActNature, ...] = tuple(ActNature),
        valid_until: date | None = None,
    ) -> None:
        await self.deliver(
            DeclarationRegisteredV1(
                declaration_id=declaration_id,
                person_kind=PersonKind.NATURAL,
                email=f"{account_id}@example.org",
            )
        )
        await self.deliver(
            DeclarationActivatedV1(
                declaration_id=declaration_id,
                account_id=account_id,
                activated_at=self.clock.now(),
                terms_version=1,
                scope=list(scope),
                valid_until=valid_until,
                territory=territory.value,
            )
        )

    async def revoke(self, declaration_id: str = "decl-1") -> None:
        await self.deliver(
            ConsentRevokedV1(
                declaration_id=declaration_id, account_id="acc-1", revoked_at=self.clock.now()
            )
        )

    async def post(
        self,
        meta: dict[str, Any] | bytes | None = None,
        document: bytes | None = ACT,
        *,
        key: str | None = "key-1",
        office: str = "etude-1",
        headers: dict[str, str] | None = None,
        without_metadata: bool = False,
        **options: Any,
    ) -> httpx.Response:
        chosen = None if without_metadata else metadata() if meta is None else meta
        body, content_type = multipart(chosen, document, **options)
        sent = {"Content-Type": content_type, **self.tokens.office(office), **(headers or {})}
        if key is not None:
            sent["Idempotency-Key"] = key
        return await self.client.post("/v1/acts", content=body, headers=sent)

    async def served(self, key: str = "key-1", **kwargs: Any) -> str:
        response = await self.post(key=key, **kwargs)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def download(self, act_id: str, account_id: str = "acc-1") -> httpx.Response:
        return await self.client.get(
            f"/v1/inbox/{act_id}/content", headers=self.tokens.recipient(account_id)
        )

    async def events(self, event_type: str | None = None) -> list[Envelope]:
        rows = await self.store.find(OUTBOX, sort=[("_id", 1)])
        envelopes = [Envelope.model_validate(row["envelope"]) for row in rows]
        return [e for e in envelopes if event_type is None or e.type == event_type]

    async def act(self, act_id: str) -> dict[str, Any]:
        found = await self.store.get("acts", act_id)
        assert found is not None
        return found


def build_delivery(
    store: DocumentStore,
    clock: ManualClock,
    tmp_path: Path,
    objects: ObjectPort,
    registry: ProjectedRegistry | None = None,
) -> Delivery:
    """Delivery wired as `main` wires it, on these ports and the key files in `tmp_path`."""
    return wire(
        Config(
            max_act_bytes=MAX_ACT,
            max_leave_bytes=64 * 1024,
            max_metadata_bytes=4096,
            max_reply_bytes=MAX_REPLY,
        ),
        store=store,
        outbox=Outbox(store, clock),
        clock=clock,
        objects=objects,
        keys=KeyRing(LocalKeyFile(tmp_path / "kek.json", clock)),
        signer=EvidenceSigner(
            load_or_create_signing_ring(tmp_path / "signing.json", "test-evidence", clock)
        ),
        scanner=NoScanner(),
        consent=registry or ProjectedRegistry(lambda: store, clock),
    )


def build_app(delivery: Delivery, store: DocumentStore, tokens: Tokens) -> FastAPI:
    offices = OfficeDirectory(
        {
            "etude-1": OfficeProfile(
                name="Étude Martin", email="etude1@example.org", territory=Territory.METROPOLE
            ),
            "etude-2": OfficeProfile(email="etude2@example.org", territory=Territory.METROPOLE),
            "etude-moselle": OfficeProfile(
                email="moselle@example.org", territory=Territory.ALSACE_MOSELLE
            ),
            "etude-martinique": OfficeProfile(
                email="martinique@example.org", territory=Territory.MARTINIQUE
            ),
            "etude-no-email": OfficeProfile(territory=Territory.METROPOLE),
            "etude-sonde": OfficeProfile(
                email="sonde@example.org", territory=Territory.METROPOLE, probe=True
            ),
        },
        store=store,
    )
    app = FastAPI()
    install_problem_handlers(app)
    install_refusal_handlers(app)
    install_token_verifier(app, tokens.verifier())
    app.include_router(delivery_router(delivery, offices, MAX_ACT + 64 * 1024 + 8192))
    return app


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def harness(
    sqlite_store: DocumentStore, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[Harness]:
    await sqlite_store.ensure_indexes(
        [*INDEXES, *ERASURE_INDEXES, *INBOX_INDEXES, *OutboxRelay.indexes()]
    )
    objects = MemoryObjects()
    registry = ProjectedRegistry(lambda: sqlite_store, clock)
    delivery = build_delivery(sqlite_store, clock, tmp_path, objects, registry)
    tokens = Tokens(clock)
    app = build_app(delivery, sqlite_store, tokens)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://delivery") as client:
        harness = Harness(
            sqlite_store, clock, objects, delivery.ctx.outbox, delivery, tokens, client, registry
        )
        await harness.consent()
        yield harness
