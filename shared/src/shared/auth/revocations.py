"""Feed a service's `InMemoryRevocationList` from identity's revocation events (DESIGN §7).

Identity publishes `identity.credentials-revoked.v1` (every token of an account issued up to an
instant) and `identity.session-revoked.v1` (one `sid`). Every **process** of every service must
see every revocation, so this is not a competing-consumer quorum queue shared by a service's
replicas: each process declares its own small classic queues
`<service>.revocations.<instance>.<fact>`, bound to one routing key each, auto-deleted when the
process goes away (with `x-expires` as a backstop). They are not platform queues: nothing has to
be declared for them in the topology.

Restart story. An access token lives 10 minutes, so only revocations of the last 10 minutes (plus
the verifier's leeway) still matter, but a process that starts has missed them: its queue did not
exist. `RevocationListener.catch_up` asks identity for them (`GET /v1/revocations?since=…`, a
public endpoint that returns session ids and account ids, nothing else) right after the process
starts and again once its queues are bound, so a revocation published in between is not missed.
If identity does not answer, the process logs a warning and keeps the events it receives: the
exposure is bounded by the access-token lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import httpx
from faststream.rabbit import RabbitBroker, RabbitQueue
from pydantic import ValidationError

from shared.auth.tokens import InMemoryRevocationList
from shared.clock import Clock
from shared.contracts.envelope import Envelope
from shared.contracts.identity import CredentialsRevokedV1, SessionRevokedV1
from shared.contracts.registry import decode_payload
from shared.messaging.bus import raw_body
from shared.messaging.topology import Topology

log = logging.getLogger(__name__)

REVOCATION_ROUTING_KEYS: Final = (
    CredentialsRevokedV1.routing_key(),
    SessionRevokedV1.routing_key(),
)
REVOCATIONS_PATH: Final = "/v1/revocations"
# How far back a starting process asks: the access-token lifetime plus the verifier's leeway.
DEFAULT_CATCH_UP_WINDOW: Final = timedelta(minutes=11)
QUEUE_EXPIRES_MS: Final = 10 * 60 * 1000
# After the broker connected, identity is asked again this many times (pauses in seconds) before
# a failure is worth a warning: the platform starting together, identity answers soon after.
CATCH_UP_RETRY_SECONDS: Final = (1.0, 3.0, 10.0)


def apply_revocation(envelope: Envelope, revocations: InMemoryRevocationList) -> bool:
    """Apply one revocation event to `revocations`; False for any other event type."""
    if envelope.type == CredentialsRevokedV1.routing_key():
        credentials = decode_payload(envelope, CredentialsRevokedV1)
        revocations.revoke_subject(credentials.account_id, credentials.issued_before)
        for sid in credentials.session_ids:
            revocations.revoke_session(sid)
        return True
    if envelope.type == SessionRevokedV1.routing_key():
        session = decode_payload(envelope, SessionRevokedV1)
        revocations.revoke_session(session.session_id)
        return True
    return False


def apply_recent(document: Mapping[str, Any], revocations: InMemoryRevocationList) -> int:
    """Apply identity's `GET /v1/revocations` answer; returns how many entries it held."""
    applied = 0
    for session in document.get("sessions", []):
        revocations.revoke_session(str(session["session_id"]))
        applied += 1
    for subject in document.get("subjects", []):
        revocations.revoke_subject(
            str(subject["subject"]), datetime.fromisoformat(str(subject["issued_before"]))
        )
        applied += 1
    return applied


class RevocationListener:
    """Per-process consumer of identity's revocation events.

    Call `register()` before the broker starts (e.g. in the app factory, right after building
    the `ServiceRuntime`), and pass `catch_up` as an `on_start` hook of `runtime.create_app`.
    """

    def __init__(
        self,
        broker: RabbitBroker,
        topology: Topology,
        *,
        service: str,
        instance_id: str,
        revocations: InMemoryRevocationList,
        clock: Clock,
        identity_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        broker_started: asyncio.Event | None = None,
        catch_up_window: timedelta = DEFAULT_CATCH_UP_WINDOW,
    ) -> None:
        self._broker = broker
        self._topology = topology
        self._service = service
        self._instance = instance_id
        self._revocations = revocations
        self._clock = clock
        self._identity_url = identity_url.rstrip("/") if identity_url else None
        self._http = http
        self._broker_started = broker_started
        self._window = catch_up_window
        self._tasks: set[asyncio.Task[None]] = set()
        self.applied = 0

    def queue_names(self) -> list[str]:
        return [
            self._topology.queue_name(
                f"{self._service}.revocations.{self._instance}.{key.split('.')[1]}"
            )
            for key in REVOCATION_ROUTING_KEYS
        ]

    def register(self) -> None:
        """Attach one auto-deleted queue per revocation routing key to the broker."""
        for name, key in zip(self.queue_names(), REVOCATION_ROUTING_KEYS, strict=True):
            queue = RabbitQueue(
                name,
                durable=False,
                auto_delete=True,
                arguments={"x-expires": QUEUE_EXPIRES_MS},
                routing_key=key,
            )
            subscriber = self._broker.subscriber(queue, self._topology.events, decoder=raw_body)
            subscriber(self._on_body)

    async def _on_body(self, body: bytes) -> None:
        # Nothing here can succeed on a retry: a bad message is logged and dropped (identity's
        # own store and audit keep the truth), so it never blocks the revocations behind it.
        try:
            envelope = Envelope.model_validate_json(body)
            if apply_revocation(envelope, self._revocations):
                self.applied += 1
        except (ValidationError, LookupError, ValueError) as error:
            log.warning("revocation message dropped: %s", type(error).__name__)

    async def catch_up(self) -> None:
        """Fetch the recent revocations now, and again once the broker is connected.

        At start identity itself may not answer yet (the whole platform starting): that first
        miss is only noted; a warning is logged when the last attempt fails too."""
        await self._fetch_recent(last=self._broker_started is None)
        if self._broker_started is not None:
            task = asyncio.create_task(self._after_broker(), name="revocations-catch-up")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _after_broker(self) -> None:
        assert self._broker_started is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._broker_started.wait(), 120)
        for pause in (*CATCH_UP_RETRY_SECONDS, None):
            if await self._fetch_recent(last=pause is None):
                return
            if pause is not None:
                await asyncio.sleep(pause)

    async def _fetch_recent(self, *, last: bool) -> bool:
        """True once fetched (or when there is nothing to fetch from)."""
        if self._identity_url is None or self._http is None:
            return True
        since = self._clock.now() - self._window
        try:
            response = await self._http.get(
                f"{self._identity_url}{REVOCATIONS_PATH}",
                params={"since": since.isoformat()},
                timeout=5.0,
            )
            response.raise_for_status()
            count = apply_recent(response.json(), self._revocations)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            if last:
                log.warning(
                    "recent revocations not fetched (%s): tokens revoked before this start "
                    "stay valid until they expire",
                    type(error).__name__,
                )
            else:
                log.info("recent revocations not fetched yet (%s)", type(error).__name__)
            return False
        log.info("caught up with %d recent revocations", count)
        return True

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
