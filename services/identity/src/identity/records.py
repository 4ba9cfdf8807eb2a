"""Identity's collections, their indexes, and the small helpers every use case shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from identity.domain import ThrottleState, client_throttle_key, identifier_throttle_key
from identity.passwords import Passwords
from identity.sealed import SealedValue, SecretSealer, totp_object_id
from identity.settings import Settings
from identity.tokens import TokenIssuer
from shared.clock import Clock
from shared.contracts.envelope import Envelope, EventPayload
from shared.events import Emitter
from shared.messaging.outbox import Outbox
from shared.store.port import (
    VERSION,
    Document,
    DocumentReader,
    DocumentStore,
    Index,
    Transaction,
    from_iso,
    to_iso,
    version_of,
    without_meta,
)

ACCOUNTS = "accounts"
LINKS = "links"
SESSIONS = "sessions"
REFRESH_TOKENS = "refresh_tokens"
THROTTLES = "throttles"
TERMS = "terms"
TERMS_DECISIONS = "terms_decisions"
CLIENTS = "clients"
REVOCATIONS = "revocations"
PORTAL_SESSIONS = "portal_sessions"
# One per account and CGU version: its notice, presentation, deemed receipt, binding date.
TERMS_NOTICES = "terms_notices"
# Durable jobs that write one event per account in batches (CGU notices).
FANOUTS = "fanouts"
# Failed identifications counted per key and window, journaled as one summary (`attempts`).
ATTEMPT_WINDOWS = "attempt_windows"
# Compromised credentials reported by their holder, for operators to examine.
COMPROMISE_REPORTS = "compromise_reports"
# Rectification requests (GDPR art. 16) and their operator's answers.
RECTIFICATIONS = "rectifications"
# Post-mortem directives (loi 78-17 art. 85), one per account (`_id` is the account's id).
POST_MORTEM_DIRECTIVES = "post_mortem_directives"

INDEXES = (
    Index(ACCOUNTS, ("identifier",), unique=True),
    Index(ACCOUNTS, ("declaration_id",), unique=True),
    Index(ACCOUNTS, ("role", "status")),
    Index(ACCOUNTS, ("status", "activation_link_expires_at")),
    Index(LINKS, ("account_id", "purpose")),
    Index(LINKS, ("expires_at",)),
    Index(LINKS, ("link_id",)),
    Index(LINKS, ("token_kept", "expires_at")),
    Index(SESSIONS, ("account_id",)),
    Index(REFRESH_TOKENS, ("session_id",)),
    Index(TERMS, ("version",), unique=True),
    Index(TERMS, ("effective_at",)),
    Index(REVOCATIONS, ("at",)),
    Index(THROTTLES, ("forget_at",)),
    Index(PORTAL_SESSIONS, ("expires_at",)),
    Index(PORTAL_SESSIONS, ("last_seen_at",)),
    Index(FANOUTS, ("status",)),
    Index(TERMS_NOTICES, ("event_id",), unique=True),
    Index(TERMS_NOTICES, ("account_id",)),
    Index(TERMS_NOTICES, ("version", "status")),
    Index(ATTEMPT_WINDOWS, ("closes_at",)),
    Index(COMPROMISE_REPORTS, ("reported_at",)),
    Index(RECTIFICATIONS, ("account_id",)),
    Index(RECTIFICATIONS, ("answered_at", "requested_at")),
)


@dataclass(frozen=True)
class Context:
    """What the use cases need: their store and outbox, the clock, settings, crypto helpers."""

    store: DocumentStore
    outbox: Outbox
    clock: Clock
    settings: Settings
    passwords: Passwords
    issuer: TokenIssuer
    sealer: SecretSealer

    @property
    def events(self) -> Emitter:
        """The kernel's one way to publish: envelopes of `service:identity` into the outbox."""
        return Emitter(self.outbox, self.clock, "identity")

    def envelope(
        self,
        payload: EventPayload,
        *,
        subject: str,
        actor: str = "service:identity",
        causation: Envelope | None = None,
    ) -> Envelope:
        return self.events.envelope(payload, subject=subject, actor=actor, causation=causation)

    async def emit(
        self,
        tx: Transaction,
        payload: EventPayload,
        *,
        subject: str,
        actor: str = "service:identity",
        causation: Envelope | None = None,
    ) -> None:
        """Store an event with the transaction's state change (the outbox relays it)."""
        await self.events.emit(tx, payload, subject=subject, actor=actor, causation=causation)

    @property
    def max_delay(self) -> timedelta:
        return timedelta(seconds=self.settings.throttle_max_delay_seconds)

    @property
    def forget_after(self) -> timedelta:
        return timedelta(seconds=self.settings.throttle_forget_after_seconds)


def iso(instant: datetime) -> str:
    return to_iso(instant)


def instant(value: str | None) -> datetime | None:
    return from_iso(value) if value else None


async def put(tx: Transaction, collection: str, document: Document) -> Document:
    """Insert a new document, or replace one read earlier (optimistic: its `_version`)."""
    if VERSION in document:
        return await tx.replace(
            collection, without_meta(document), expected_version=version_of(document)
        )
    return await tx.insert(collection, document)


def account_subject(account_id: str) -> str:
    return f"account:{account_id}"


def identifier_throttle(settings: Settings, typed: str) -> str:
    """The login throttle record of a typed identifier (known or not): see
    `domain.identifier_throttle_key`. An account's own is that of its stored identifier."""
    pepper = settings.ip_hash_pepper.get_secret_value().encode()
    return f"identifier:{identifier_throttle_key(typed, pepper)}"


def client_throttle(settings: Settings, typed: str) -> str:
    """The token endpoint's throttle record of a typed client id (see `client_throttle_key`)."""
    pepper = settings.ip_hash_pepper.get_secret_value().encode()
    return f"client:{client_throttle_key(typed, pepper)}"


async def throttle_state(reader: DocumentReader, key: str) -> tuple[ThrottleState, Document]:
    document = await reader.get(THROTTLES, key) or {"_id": key, "failures": 0}
    state = ThrottleState(
        int(document.get("failures", 0)), instant(document.get("last_failure_at"))
    )
    return state, document


async def save_throttle(
    tx: Transaction, document: Document, state: ThrottleState, forget_at: datetime
) -> None:
    """Write a login throttle; `forget_at` is when the purge may drop it (its failures no
    longer count and no lockout can still be running)."""
    await put(
        tx,
        THROTTLES,
        {
            **document,
            "failures": state.failures,
            "last_failure_at": iso(state.last_failure_at) if state.last_failure_at else None,
            "forget_at": iso(forget_at),
        },
    )


async def sealed_totp(ctx: Context, account: Document) -> Document:
    """The account with any TOTP secret still stored in plain text (written before secrets
    were sealed) sealed: callers pass it to the write they were about to do anyway."""
    changes: dict[str, SealedValue] = {}
    for name in ("totp_secret", "totp_pending_secret"):
        value = account.get(name)
        if isinstance(value, str) and value:
            changes[name] = await ctx.sealer.seal(value, totp_object_id(str(account["_id"])))
    return {**account, **changes} if changes else account
