"""Anonymous callers cannot grow the journal without bound: the token endpoint is throttled
like the login (per client id typed and per address, 429 `slow_down` with Retry-After), and
failed identifications are journaled per window of an identifier, client or address (the first
by itself, the others counted in one `identification-attempts-summarized` event), while
successes stay journaled one by one."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI

from shared.clock import ManualClock
from shared.contracts.envelope import Envelope
from shared.messaging.outbox import OUTBOX
from shared.runtime import ServiceRuntime
from tests.integration.identity.support import (
    PASSWORD,
    identity_app,
    identity_of,
    recipient,
)
from tests.support.services import eventually, running

ATTEMPTED = "identity.identification-attempted.v1"
SUMMARIZED = "identity.identification-attempts-summarized.v1"
WINDOW = timedelta(seconds=900)
START = datetime(2031, 3, 4, 8, 0, tzinfo=UTC)


async def journal(app: FastAPI) -> list[Envelope]:
    """Identification events in the outbox, in the order they were written."""
    runtime: ServiceRuntime = app.state.runtime
    rows = await runtime.store.find(OUTBOX, sort=[("_id", 1)])
    envelopes = [Envelope.model_validate(row["envelope"]) for row in rows]
    return [e for e in envelopes if e.type in (ATTEMPTED, SUMMARIZED)]


@asynccontextmanager
async def calling_from(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the running app whose requests come from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client


async def wrong_secret(client: httpx.AsyncClient, client_id: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, "not-the-secret"),
    )


async def test_the_token_endpoint_locks_a_client_id_and_an_address_out_with_retry_after(
    tmp_path: Path, bus_prefix: str
) -> None:
    clock = ManualClock(START)
    app = identity_app(tmp_path, bus_prefix, clock=clock)
    async with running(app):
        registered = await identity_of(app).clients.register(
            "etude-1", "Maître Test", ["registry:read"], operator="test"
        )
        async with calling_from(app, "198.51.100.1") as office:
            statuses = [
                (await wrong_secret(office, registered.client_id)).status_code for _ in range(5)
            ]
            assert statuses == [401] * 5
            # Five free failures of the client id: the next request, even with the right
            # secret and from another address, waits.
            locked = await wrong_secret(office, registered.client_id)
        async with calling_from(app, "198.51.100.2") as elsewhere:
            right = await elsewhere.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(registered.client_id, registered.client_secret),
            )
            assert right.status_code == 429
            clock.advance(timedelta(seconds=1))
            right = await elsewhere.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(registered.client_id, registered.client_secret),
            )
            assert right.status_code == 200, right.text
        # An address guessing client ids: twenty free failures, then locked.
        async with calling_from(app, "203.0.113.9") as guesser:
            guesses = [
                (await wrong_secret(guesser, f"office-guess-{n}")).status_code for n in range(21)
            ]
    assert (locked.status_code, locked.json()["error"]) == (429, "slow_down")
    assert locked.headers["content-type"] == "application/json"
    assert locked.headers["retry-after"] == "1"
    assert locked.headers["cache-control"] == "no-store"
    assert guesses == [401] * 20 + [429]


async def attempts(
    client: httpx.AsyncClient, count: int, identifier: str | None = None
) -> Counter[int]:
    """`count` failed logins (one identifier, or a new one each time): their statuses."""
    statuses: Counter[int] = Counter()
    for n in range(count):
        typed = identifier or f"GUESS-{n:04d}-XXXX"
        answer = await client.post(
            "/v1/sessions", json={"identifier": typed, "password": "mot-de-passe-faux"}
        )
        statuses[answer.status_code] += 1
    return statuses


async def test_five_hundred_failed_logins_from_one_address_journal_a_bounded_number_of_events(
    tmp_path: Path, bus_prefix: str
) -> None:
    clock = ManualClock(START)
    app = identity_app(
        tmp_path, bus_prefix, clock=clock, identification_summary_interval_seconds=0.1
    )
    async with running(app):
        async with calling_from(app, "203.0.113.9") as attacker:
            # A new identifier each time: the address's lockout (20 free failures) refuses
            # the rest, counted in the address's window.
            assert await attempts(attacker, 500) == Counter({401: 20, 429: 480})
            during = await journal(app)
            clock.advance(WINDOW)

            async def summarized() -> bool:
                return any(e.type == SUMMARIZED for e in await journal(app))

            await eventually(summarized, within=10)
        events = await journal(app)

    assert len(during) == 21
    assert [e.type for e in during] == [ATTEMPTED] * 21
    assert Counter(e.payload["outcome"] for e in during) == {"failed": 20, "throttled": 1}
    [summary] = [e for e in events if e.type == SUMMARIZED]
    assert len(events) == 22
    payload = summary.payload
    assert (payload["counted_by"], payload["attempts"]) == ("address", 479)
    assert payload["outcomes"] == {"throttled": 479}
    assert payload["ip_hashes"] == [during[0].payload["ip_hash"]]
    assert (payload["account_id"], payload["client_id"]) == (None, None)
    assert summary.subject == "identification:unknown"
    assert "GUESS" not in summary.model_dump_json()


async def test_five_hundred_guesses_of_one_identifier_journal_two_events(
    tmp_path: Path, bus_prefix: str
) -> None:
    clock = ManualClock(START)
    app = identity_app(tmp_path, bus_prefix, clock=clock)
    async with running(app) as client:
        owner = await recipient(app, client, "decl-1")
        before = len(await journal(app))
        async with calling_from(app, "203.0.113.9") as attacker:
            assert await attempts(attacker, 500, owner.identifier) == Counter({401: 5, 429: 495})
            # The next attempt after the window's end journals the summary, then itself.
            clock.advance(WINDOW)
            assert await attempts(attacker, 1, owner.identifier) == Counter({401: 1})
        events = (await journal(app))[before:]

    assert [e.type for e in events] == [ATTEMPTED, SUMMARIZED, ATTEMPTED]
    first, summary, next_window = events
    assert first.payload["outcome"] == "failed"
    assert summary.payload["counted_by"] == "identifier"
    assert summary.payload["account_id"] == owner.account_id
    assert summary.subject == f"account:{owner.account_id}"
    assert summary.payload["attempts"] == 499
    assert summary.payload["outcomes"] == {"failed": 4, "throttled": 495}
    assert summary.payload["first_attempt_at"] == summary.payload["last_attempt_at"]
    assert next_window.payload["outcome"] == "failed"


async def test_five_hundred_failed_token_requests_journal_two_events(
    tmp_path: Path, bus_prefix: str
) -> None:
    clock = ManualClock(START)
    app = identity_app(
        tmp_path, bus_prefix, clock=clock, identification_summary_interval_seconds=0.1
    )
    async with running(app):
        registered = await identity_of(app).clients.register(
            "etude-1", "Maître Test", ["registry:read"], operator="test"
        )
        async with calling_from(app, "203.0.113.9") as attacker:
            statuses = Counter(
                [
                    (await wrong_secret(attacker, registered.client_id)).status_code
                    for _ in range(500)
                ]
            )
            clock.advance(WINDOW)

            async def summarized() -> bool:
                return any(e.type == SUMMARIZED for e in await journal(app))

            await eventually(summarized, within=10)
        events = await journal(app)

    assert statuses == Counter({401: 5, 429: 495})
    assert [e.type for e in events] == [ATTEMPTED, SUMMARIZED]
    assert events[0].payload["client_id"] == registered.client_id
    summary = events[1]
    assert summary.payload["counted_by"] == "client"
    assert summary.payload["client_id"] == registered.client_id
    assert summary.subject == f"client:{registered.client_id}"
    assert summary.payload["outcomes"] == {"failed": 4, "throttled": 495}
    assert registered.client_secret not in summary.model_dump_json()


async def test_a_success_journals_the_failures_before_it_then_itself(
    tmp_path: Path, bus_prefix: str
) -> None:
    clock = ManualClock(START)
    app = identity_app(tmp_path, bus_prefix, clock=clock)
    async with running(app) as client:
        owner = await recipient(app, client, "decl-1")
        before = len(await journal(app))
        assert await attempts(client, 3, owner.identifier) == Counter({401: 3})
        clock.advance(timedelta(seconds=1))
        ok = await client.post(
            "/v1/sessions", json={"identifier": owner.identifier, "password": PASSWORD}
        )
        assert ok.status_code == 201
        again = await client.post(
            "/v1/sessions", json={"identifier": owner.identifier, "password": PASSWORD}
        )
        assert again.status_code == 201
        events = (await journal(app))[before:]

    assert [(e.type, e.payload.get("outcome")) for e in events] == [
        (ATTEMPTED, "failed"),
        (SUMMARIZED, None),
        (ATTEMPTED, "succeeded"),
        (ATTEMPTED, "succeeded"),
    ]
    assert events[1].payload["attempts"] == 2
