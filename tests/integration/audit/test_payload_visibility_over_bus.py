"""Who reads which journal payload, end to end: consent's events about one declaration go over
the real bus (a prefixed topology) into the real audit app, then every party asks audit's HTTP
API for every entry with its own token.

Office A registers person X; office B looks X up once. The lookup arrives on X's declaration
subject, as consent journaled lookups before they got a subject of their own (old events stay
in the journal): B must read its own lookup and nothing else of X, while A and X keep reading
the declaration's entries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from audit.main import create_app
from audit.settings import Settings
from shared.clock import SystemClock
from shared.contracts.consent import (
    ActNature,
    ConsulterRole,
    DeclarationActivatedV1,
    DeclarationRegisteredV1,
    PersonKind,
    RegistryConsultedV1,
    RestrictionKind,
    RestrictionRequestedV1,
)
from shared.contracts.envelope import Envelope, EventPayload, new_envelope
from shared.messaging.bus import EventPublisher, create_broker
from shared.messaging.topology import Topology
from tests.support.services import eventually, running, service_env
from tests.support.tokens import TokenSigner

DECLARATION = "01j0000000000000000000decl"
SUBJECT = f"declaration:{DECLARATION}"
EMAIL = "x.person@example.org"
MOBILE = "+33612345678"


@pytest.fixture
async def consent_bus(amqp_url: str, bus_prefix: str) -> AsyncIterator[EventPublisher]:
    """What consent publishes with: its own connection to the test's topology."""
    broker = create_broker(amqp_url, app_id="securact-consent")
    await broker.connect()
    try:
        yield EventPublisher(broker, Topology(bus_prefix))
    finally:
        await broker.stop()


def consent_event(payload: EventPayload, actor: str) -> Envelope:
    return new_envelope(payload, subject=SUBJECT, actor=actor, clock=SystemClock())


def lookup(role: ConsulterRole, office_id: str | None, consulter: str, purpose: str) -> Envelope:
    payload = RegistryConsultedV1(
        consultation_id=f"c-{purpose}",
        consulter_role=role,
        office_id=office_id,
        consulter=consulter,
        purpose=purpose,
        declaration_id=DECLARATION,
        consulted_at=SystemClock().now(),
    )
    actor = f"office:{office_id}" if office_id else f"{role.value}:{consulter}"
    return consent_event(payload, actor)


def history() -> dict[str, Envelope]:
    """Consent's events about X's declaration, in the order they happen."""
    now = SystemClock().now()
    return {
        "registered": consent_event(
            DeclarationRegisteredV1(
                declaration_id=DECLARATION,
                person_kind=PersonKind.NATURAL,
                email=EMAIL,
                mobile=MOBILE,
            ),
            "office:A",
        ),
        "activated": consent_event(
            DeclarationActivatedV1(
                declaration_id=DECLARATION,
                account_id="acc-x",
                activated_at=now,
                terms_version=1,
                scope=list(ActNature),
                valid_until=date(2040, 1, 1),
                territory="metropole",
            ),
            "service:consent",
        ),
        "lookup by B": lookup(ConsulterRole.OFFICE, "B", "client-b", "B-2031-001"),
        "restriction": consent_event(
            RestrictionRequestedV1(
                request_id="r-1",
                declaration_id=DECLARATION,
                account_id="acc-x",
                kind=RestrictionKind.OBJECTION,
                requested_at=now,
            ),
            "recipient:acc-x",
        ),
        "lookup by A": lookup(ConsulterRole.OFFICE, "A", "client-a", "A-2031-007"),
        "lookup by a judge": lookup(
            ConsulterRole.JUDICIAL_AUTHORITY, None, "judge-1", "RG 31/00042"
        ),
    }


async def shown(audit: httpx.AsyncClient, index: int, headers: dict[str, str]) -> dict[str, Any]:
    answer = await audit.get(f"/v1/entries/{index}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_registry_lookup_does_not_open_the_declarations_payloads_to_the_consulter(
    tmp_path: Path, bus_prefix: str, consent_bus: EventPublisher
) -> None:
    tokens = TokenSigner(SystemClock(), "audit")
    settings = Settings(
        **service_env(tmp_path, bus_prefix),
        kek_file=tmp_path / "kek.json",
        signing_key_file=tmp_path / "signing.json",
    )
    app = create_app(settings, token_verifier=tokens.verifier())
    events = history()
    async with running(app) as audit:
        for envelope in events.values():
            await consent_bus.publish(envelope)

        async def indexes() -> dict[str, int]:
            answer = await audit.get("/v1/entries", params={"subject": SUBJECT})
            found = {e["event_id"]: e["index"] for e in answer.json()["entries"]}
            return {name: found[e.event_id] for name, e in events.items() if e.event_id in found}

        async def all_journaled() -> bool:
            return len(await indexes()) == len(events)

        await eventually(all_journaled, within=15)
        at = await indexes()
        callers = {
            "office B": tokens.bearer(sub="client-b", role="office", office_id="B"),
            "office A": tokens.bearer(sub="client-a", role="office", office_id="A"),
            "person X": tokens.bearer(sub="acc-x", role="recipient"),
            "operator": tokens.bearer(sub="op-1", role="operator"),
        }
        readable = {
            "office B": {"lookup by B"},
            "office A": {"registered", "activated", "restriction", "lookup by A"},
            "person X": {"registered", "activated", "restriction"},
            "operator": set(events),
        }
        for caller, headers in callers.items():
            for name, index in at.items():
                body = await shown(audit, index, headers)
                if name in readable[caller]:
                    assert body["payload_state"] == "available", (caller, name)
                    assert body["payload"] == events[name].payload, (caller, name)
                else:
                    assert body["payload_state"] == "withheld", (caller, name)
                    assert "payload" not in body, (caller, name)
                    assert EMAIL not in str(body), (caller, name)
                    assert MOBILE not in str(body), (caller, name)
        # B's lookup, made before X's restriction request, did not open later entries to B
        # either: a second lookup by B shows B that lookup only.
        again = lookup(ConsulterRole.OFFICE, "B", "client-b", "B-2031-002")
        await consent_bus.publish(again)

        async def journaled_again() -> bool:
            answer = await audit.get("/v1/entries", params={"event_id": again.event_id})
            return bool(answer.json()["entries"])

        await eventually(journaled_again, within=15)
        (entry,) = (await audit.get("/v1/entries", params={"event_id": again.event_id})).json()[
            "entries"
        ]
        assert (await shown(audit, entry["index"], callers["office B"]))["payload"] == (
            again.payload
        )
        for name in ("registered", "restriction"):
            body = await shown(audit, at[name], callers["office B"])
            assert body["payload_state"] == "withheld"
