"""The webhook use cases: an office's endpoints (register, list, disable, rotate the secret,
read the delivery log), the intake of act events (one delivery per subscribed endpoint, with the
event's inbox key), and the sender (signed POSTs, retried with backoff)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from notify.webhooks.events import SOURCES, act_of, office_of
from notify.webhooks.model import (
    Delivery,
    DeliveryState,
    Endpoint,
    SealedSecret,
    WebhookEvent,
)
from notify.webhooks.refusals import EndpointNotFound, EndpointUrlRefused
from notify.webhooks.repository import Deliveries, Endpoints
from shared.clock import Clock
from shared.contracts.envelope import Envelope, EventPayload
from shared.crypto.sealed import Sealer
from shared.ids import new_id
from shared.messaging.batch import BatchSubscription
from shared.messaging.consumer import RetryPolicy
from shared.messaging.handlers import Binding, HandlerTable
from shared.messaging.inbox import Inbox
from shared.store.port import DocumentStore, DuplicateKeyError, Transaction, VersionConflictError

log = logging.getLogger(__name__)

QUEUE: Final = "notify.webhooks"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SEALED_FORMAT: Final = "securact-ng/notify-webhook-secret/v1"
USER_AGENT: Final = "SECURACT-NG-Webhooks/1"


@dataclass(frozen=True)
class WebhookPolicy:
    """How deliveries are attempted: backoff between attempts (about a day in all by default),
    the answer's time limit, how long a rotated secret still signs, plain HTTP (dev only)."""

    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(
            max_attempts=12, first_delay=timedelta(seconds=10), max_delay=timedelta(hours=4)
        )
    )
    timeout: timedelta = timedelta(seconds=10)
    secret_grace: timedelta = timedelta(hours=24)
    allow_http: bool = False
    idle_poll: timedelta = timedelta(seconds=1)
    batch: int = 32


def endpoint_object_id(endpoint_id: str, created_at: datetime) -> str:
    return f"notify/webhooks/{endpoint_id}/{int(created_at.timestamp() * 1_000_000)}"


class Webhooks:
    def __init__(
        self,
        store: DocumentStore,
        clock: Clock,
        inbox: Callable[[str], Inbox],
        sealer: Sealer,
        http: httpx.AsyncClient,
        policy: WebhookPolicy,
    ) -> None:
        self._store = store
        self._clock = clock
        self._inbox = inbox
        self._sealer = sealer
        self._http = http
        self.policy = policy
        self.endpoints = Endpoints(store)
        self.deliveries = Deliveries(store)
        self.wakeup = asyncio.Event()

    # -- an office's endpoints ------------------------------------------------------------

    async def register(
        self, office_id: str, url: str, events: list[WebhookEvent], description: str | None
    ) -> tuple[Endpoint, str]:
        """A new endpoint and its signing secret (shown once: only its sealed form is kept)."""
        self._check_url(url)
        now = self._clock.now()
        endpoint_id = new_id(now)
        secret, sealed = await self._new_secret(endpoint_id, now)
        endpoint = Endpoint(
            id=endpoint_id,
            office_id=office_id,
            url=url,
            events=tuple(dict.fromkeys(events)),
            description=description,
            secret=sealed,
            created_at=now,
            updated_at=now,
        )
        async with self._store.transaction() as tx:
            endpoint = await self.endpoints.add(tx, endpoint)
        log.info("webhook endpoint %s registered by office %s", endpoint_id, office_id)
        return endpoint, secret

    async def of_office(self, office_id: str) -> list[Endpoint]:
        return await self.endpoints.of_office(office_id)

    async def get(self, office_id: str, endpoint_id: str) -> Endpoint:
        endpoint = await self.endpoints.get(endpoint_id)
        if endpoint is None or endpoint.office_id != office_id:
            raise EndpointNotFound()
        return endpoint

    async def set_active(self, office_id: str, endpoint_id: str, active: bool) -> Endpoint:
        """Disable (nothing more is recorded for it; what is pending is still sent) or enable."""
        endpoint = await self.get(office_id, endpoint_id)
        changed = endpoint.model_copy(update={"active": active, "updated_at": self._clock.now()})
        async with self._store.transaction() as tx:
            return await self.endpoints.save(tx, changed)

    async def rotate_secret(self, office_id: str, endpoint_id: str) -> tuple[Endpoint, str]:
        """A new secret; the previous one keeps signing (beside it) for the grace period, so
        the office can switch its receiver without a refused delivery."""
        endpoint = await self.get(office_id, endpoint_id)
        now = self._clock.now()
        secret, sealed = await self._new_secret(endpoint_id, now)
        async with self._store.transaction() as tx:
            saved = await self.endpoints.save(
                tx, endpoint.rotated(sealed, now, self.policy.secret_grace)
            )
        return saved, secret

    async def log_of(self, office_id: str, endpoint_id: str, limit: int) -> list[Delivery]:
        await self.get(office_id, endpoint_id)
        return await self.deliveries.of_endpoint(endpoint_id, limit)

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        allowed = ("https", "http") if self.policy.allow_http else ("https",)
        if parts.scheme not in allowed or not parts.hostname:
            raise EndpointUrlRefused(f"the URL must be absolute, with a scheme in {allowed}")
        if parts.username or parts.password:
            raise EndpointUrlRefused("credentials in the URL are refused: use the signature")
        if parts.fragment:
            raise EndpointUrlRefused("a fragment is never sent: remove it")

    async def _new_secret(self, endpoint_id: str, now: datetime) -> tuple[str, SealedSecret]:
        secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        sealed = await self._sealer.seal(secret, endpoint_object_id(endpoint_id, now))
        return secret, SealedSecret(sealed=sealed, created_at=now)

    # -- intake -----------------------------------------------------------------------------

    def table(self) -> HandlerTable[Webhooks]:
        return HandlerTable(
            QUEUE, tuple(Binding(contract, Webhooks._take) for contract in SOURCES), prefetch=32
        )

    async def _take(self, tx: Transaction, payload: EventPayload, envelope: Envelope) -> None:
        """One delivery per active endpoint of the act's office subscribed to the event, in the
        event's inbox transaction: a redelivered event records nothing twice."""
        source = SOURCES[type(payload)]
        office_id, act_id = office_of(payload), act_of(payload)
        if office_id is None:
            return
        body = json.dumps(
            {
                "type": source.event.value,
                "timestamp": envelope.occurred_at.isoformat().replace("+00:00", "Z"),
                "data": source.data(payload),
            },
            separators=(",", ":"),
        )
        now = self._clock.now()
        for endpoint in await self.endpoints.of_office(office_id, reader=tx):
            if not endpoint.active or source.event not in endpoint.events:
                continue
            delivery = Delivery(
                id=f"{endpoint.id}.{envelope.event_id}",
                endpoint_id=endpoint.id,
                office_id=office_id,
                event_id=envelope.event_id,
                event=source.event,
                act_id=act_id,
                body=body,
                state=DeliveryState.PENDING,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
            try:
                await self.deliveries.add(tx, delivery)
            except DuplicateKeyError:
                continue  # the same event republished: its delivery exists
        self.wakeup.set()

    # -- sending ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Send what is due, then wait for new deliveries or the next poll."""
        while True:
            sent = await self.send_due()
            if sent:
                continue
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), self.policy.idle_poll.total_seconds())

    async def send_due(self) -> int:
        """Attempt every due delivery once; how many were attempted."""
        due = await self.deliveries.due(self._clock.now(), self.policy.batch)
        attempted = 0
        for delivery in due:
            claimed = await self._claim(delivery)
            if claimed is None:
                continue
            attempted += 1
            await self._attempt(claimed)
        return attempted

    async def _claim(self, delivery: Delivery) -> Delivery | None:
        """Take the delivery for this attempt (its next attempt moved past the attempt's time
        limit): another replica's concurrent claim fails its version check."""
        now = self._clock.now()
        claimed = delivery.model_copy(
            update={
                "attempts": delivery.attempts + 1,
                "next_attempt_at": now + self.policy.timeout * 3,
                "updated_at": now,
            }
        )
        try:
            async with self._store.transaction() as tx:
                return await self.deliveries.save(tx, claimed)
        except VersionConflictError:
            return None

    async def _attempt(self, delivery: Delivery) -> None:
        endpoint = await self.endpoints.get(delivery.endpoint_id)
        if endpoint is None:
            await self._settle(delivery, DeliveryState.FAILED, None, "endpoint removed")
            return
        now = self._clock.now()
        signatures = []
        for sealed in endpoint.signing_secrets(now):
            secret = await self._sealer.open(
                sealed.sealed, endpoint_object_id(endpoint.id, sealed.created_at)
            )
            signatures.append(Webhook(secret).sign(delivery.webhook_id, now, delivery.body))
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(signatures),
        }
        status: int | None = None
        try:
            response = await self._http.post(
                endpoint.url,
                content=delivery.body.encode("utf-8"),
                headers=headers,
                timeout=self.policy.timeout.total_seconds(),
            )
            status = response.status_code
            error = None if response.is_success else f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        if error is None:
            await self._settle(delivery, DeliveryState.DELIVERED, status, None)
        elif delivery.attempts >= self.policy.retry.max_attempts:
            await self._settle(delivery, DeliveryState.FAILED, status, error)
        else:
            await self._settle(delivery, DeliveryState.PENDING, status, error)

    async def _settle(
        self, delivery: Delivery, state: DeliveryState, status: int | None, error: str | None
    ) -> None:
        now = self._clock.now()
        update: dict[str, object] = {
            "state": state,
            "last_status": status,
            "last_error": error,
            "updated_at": now,
        }
        if state is DeliveryState.DELIVERED:
            update["delivered_at"] = now
        elif state is DeliveryState.PENDING:
            update["next_attempt_at"] = now + self.policy.retry.delay(delivery.attempts)
        async with self._store.transaction() as tx:
            await self.deliveries.save(tx, delivery.model_copy(update=update))
        if state is DeliveryState.FAILED:
            log.warning(
                "webhook delivery %s failed for good after %d attempts (%s)",
                delivery.id,
                delivery.attempts,
                error,
            )

    def subscription(self) -> BatchSubscription:
        """Act events in batches: one transaction (inbox keys and deliveries) per batch."""
        return self.table().batch_subscription(self, self._inbox(QUEUE))
