"""A unit-test rig for identity's use cases: in-memory store, manual clock, cheap Argon2."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from identity.consumers import declarations_subscription
from identity.domain import PARIS
from identity.errors import IdentityError
from identity.notices import notice_presented
from identity.records import INDEXES
from identity.service import Identity
from identity.sessions import SessionTokens
from identity.settings import Settings
from identity.tokens import KEY_NAME, TokenIssuer, TokenKey, TokenKeys
from shared.auth import TokenVerifier, VerifierConfig
from shared.clock import ManualClock
from shared.contracts.consent import DeclarationRegisteredV1, PersonKind
from shared.contracts.envelope import Envelope, new_envelope
from shared.contracts.notify import Channel, NotificationKind, NotificationSentV1
from shared.crypto.signing import SigningKey
from shared.messaging.inbox import INBOX_INDEXES, Inbox
from shared.messaging.outbox import OUTBOX, Outbox, OutboxRelay
from shared.store.memory import MemoryStore

# A Tuesday morning in Paris.
START = datetime(2031, 3, 4, 9, 0, tzinfo=PARIS).astimezone(UTC)
PASSWORD = "cheval-batterie-agrafe-correcte"
IP = "192.0.2.10"


def cheap_settings(tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp,
        "token_key_file": tmp / "token-keys.json",
        "kek_file": tmp / "kek.json",
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 8,
        "argon2_parallelism": 1,
        "log_json": False,
        # Only version 1: the tests publish their own later versions.
        "publish_shipped_terms": False,
        **overrides,
    }
    return Settings(**values)


@dataclass
class Rig:
    clock: ManualClock
    store: MemoryStore
    identity: Identity
    issuer: TokenIssuer
    settings: Settings
    # The activation token each `active_recipient` spent (identity no longer hands it out).
    spent_activation_tokens: dict[str, str] = field(default_factory=dict)

    async def events(self, event_type: str | None = None) -> list[Envelope]:
        rows = await self.store.find(OUTBOX, sort=[("_id", 1)])
        found = [Envelope.model_validate(row["envelope"]) for row in rows]
        return [e for e in found if event_type is None or e.type == event_type]

    async def payloads(self, event_type: str) -> list[dict[str, Any]]:
        return [e.payload for e in await self.events(event_type)]

    async def present_notices(self, at: datetime | None = None) -> int:
        """Write pending CGU notices, then play notify presenting each one not yet presented
        at `at` (default now): its `notification-sent` event, as identity's consumer gets it."""
        await self.identity.terms.fan_out_notices()
        presented = 0
        for notice in await self.events("identity.terms-notice-issued.v1"):
            record = await self.store.find("terms_notices", {"event_id": notice.event_id})
            if not record or record[0]["status"] != "issued":
                continue
            sent = NotificationSentV1(
                notification_id=f"n-{notice.event_id}",
                kind=NotificationKind.TERMS_NOTICE,
                channel=Channel.EMAIL,
                recipient=f"account:{notice.payload['account_id']}",
                recipient_masked="a***@example.org",
                message_id=f"<{notice.event_id}@test>",
                source_event_id=notice.event_id,
                source_type=notice.type,
                attempts=1,
                accepted_at=at or self.clock.now(),
            )
            async with self.identity.ctx.outbox.transaction() as tx:
                await notice_presented(self.identity.ctx, tx, sent)
            presented += 1
        return presented

    async def declare(self, declaration_id: str = "decl-1", email: str = "a@example.org") -> str:
        """Deliver a declaration to identity's consumer; the new account's id."""
        envelope = declaration_envelope(self.clock, declaration_id, email)
        inbox = Inbox(
            self.store,
            "identity.accounts",
            self.clock,
            transaction=self.identity.ctx.outbox.transaction,
        )
        await declarations_subscription(self.identity.accounts, inbox).handler(envelope)
        account = await self.store.find("accounts", {"declaration_id": declaration_id})
        return str(account[0]["_id"])

    async def link_url(self, payload: dict[str, Any]) -> str:
        """The link an issued-link event names by `link_id`, as identity hands it to notify."""
        link = await self.identity.accounts.deliverable_link(str(payload["link_id"]))
        return link.url

    async def activation_token(self, account_id: str) -> str:
        issued = [
            p
            for p in await self.payloads("identity.activation-link-issued.v2")
            if p["account_id"] == account_id
        ]
        return token_of(await self.link_url(issued[-1]))

    async def identifier(self, account_id: str) -> str:
        account = await self.store.get("accounts", account_id)
        assert account is not None
        return str(account["display_identifier"])

    async def active_recipient(
        self, declaration_id: str = "decl-1", *, accept_terms: bool = True
    ) -> tuple[str, SessionTokens]:
        """A declared, activated recipient who logged in (and accepted the CGU)."""
        account_id = await self.declare(declaration_id, f"{declaration_id}@example.org")
        token = await self.activation_token(account_id)
        await self.identity.accounts.activate(token, PASSWORD)
        self.spent_activation_tokens[account_id] = token
        tokens = await self.login(account_id)
        if accept_terms:
            await self.identity.terms.accept(account_id, version=None, ip=IP, user_agent="test")
            self.clock.advance(timedelta(seconds=1))
            tokens = await self.login(account_id)
        return account_id, tokens

    async def login(self, account_id: str, password: str = PASSWORD, **kw: Any) -> SessionTokens:
        return await self.identity.sessions.login(
            await self.identifier(account_id), password, ip=kw.pop("ip", IP), **kw
        )


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def declaration_envelope(clock: ManualClock, declaration_id: str, email: str) -> Envelope:
    payload = DeclarationRegisteredV1(
        declaration_id=declaration_id, person_kind=PersonKind.NATURAL, email=email
    )
    return new_envelope(
        payload, subject=f"declaration:{declaration_id}", actor="office:o-1", clock=clock
    )


async def make_rig(tmp: Path, *, start: datetime = START, **overrides: Any) -> Rig:
    clock = ManualClock(start)
    store = MemoryStore()
    await store.ensure_indexes((*OutboxRelay.indexes(), *INBOX_INDEXES, *INDEXES))
    settings = cheap_settings(tmp, **overrides)
    keys = TokenKeys([TokenKey(SigningKey.generate(KEY_NAME), start - timedelta(days=1))])
    issuer = TokenIssuer(
        keys,
        clock,
        issuer=settings.issuer,
        audiences=settings.token_audiences,
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
    )
    identity = Identity(store, Outbox(store, clock), clock, settings, issuer)
    await identity.start()
    return Rig(clock, store, identity, issuer, settings)


async def refused(call: Awaitable[object]) -> IdentityError:
    """The IdentityError `call` raises (fails the test if it raises none)."""
    with pytest.raises(IdentityError) as error:
        await call
    return error.value


def plain_verifier(rig: Rig, audience: str = "identity") -> TokenVerifier:
    """The shared verifier on identity's key set, without a revocation list."""

    def serve_jwks(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=rig.issuer.jwks())

    config = VerifierConfig(
        jwks_url=f"{rig.settings.issuer}/.well-known/jwks.json",
        issuer=rig.settings.issuer,
        audiences=frozenset({audience}),
    )
    return TokenVerifier(
        config, httpx.AsyncClient(transport=httpx.MockTransport(serve_jwks)), rig.clock
    )
