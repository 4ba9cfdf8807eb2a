"""Consent's consumers.

Queue `consent.retention`, bound to `retention.declaration-purge-requested.v1`: five years
after the revocation, retention asks for the purge use case, which confirms with
`consent.declaration-purged.v1` (retention matches it by declaration id). Its first step
shreds the proofs in the vault (outside any transaction, idempotent); its second writes the
tombstone and the event with the inbox key in one transaction, so a redelivery, even one
running concurrently, confirms once. A request for a declaration purged earlier (retention
asked twice, or the purge committed under another request) announces the purge again, so
retention is never left waiting. A request for an unknown or still live declaration is
rejected permanently (DLQ; retention's deadline raises the alert): retrying cannot help.

Queue `consent.identity`, bound to the four identity events below: identity's account and CGU
events drive the declaration's lifecycle. Each event is applied with its inbox key in one
transaction (a redelivery changes nothing). Order is free: a CGU acceptance
processed before the account-created event links the account itself, and the account link that
follows is a no-op. An event naming a declaration consent does not hold raises a transient
error: the consumer retries with backoff (RetryPolicy) and finally parks it in
`consent.identity.dlq`, where it stays for replay: it is never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from consent.service import DeclarationNotFoundError, NotPurgeableError, Registry
from shared.contracts.envelope import Envelope
from shared.contracts.identity import (
    AccountCreatedV1,
    AccountTerminatedV1,
    TermsAcceptedV1,
    TermsRefusedV1,
)
from shared.contracts.registry import decode_payload
from shared.contracts.retention import DeclarationPurgeRequestedV1
from shared.messaging.consumer import PermanentFailure, Subscription
from shared.messaging.inbox import Inbox
from shared.store.port import Transaction

IDENTITY_QUEUE: Final = "consent.identity"
IDENTITY_BINDINGS: Final = (
    AccountCreatedV1.routing_key(),
    TermsAcceptedV1.routing_key(),
    TermsRefusedV1.routing_key(),
    AccountTerminatedV1.routing_key(),
)
RETENTION_QUEUE: Final = "consent.retention"
RETENTION_BINDINGS: Final = (DeclarationPurgeRequestedV1.routing_key(),)
QUEUES: Final[Mapping[str, tuple[str, ...]]] = {
    IDENTITY_QUEUE: IDENTITY_BINDINGS,
    RETENTION_QUEUE: RETENTION_BINDINGS,
}


def identity_handler(registry: Registry, inbox: Inbox) -> Subscription:
    async def on_event(envelope: Envelope) -> None:
        if envelope.type == AccountCreatedV1.routing_key():
            created = decode_payload(envelope, AccountCreatedV1)

            async def effect(tx: Transaction) -> None:
                await registry.on_account_created(tx, created, envelope)

        elif envelope.type == TermsAcceptedV1.routing_key():
            accepted = decode_payload(envelope, TermsAcceptedV1)

            async def effect(tx: Transaction) -> None:
                await registry.on_terms_accepted(tx, accepted, envelope)

        elif envelope.type == TermsRefusedV1.routing_key():
            refused = decode_payload(envelope, TermsRefusedV1)

            async def effect(tx: Transaction) -> None:
                await registry.on_terms_refused(tx, refused, envelope)

        else:
            terminated = decode_payload(envelope, AccountTerminatedV1)

            async def effect(tx: Transaction) -> None:
                await registry.on_account_terminated(tx, terminated, envelope)

        await inbox.process(envelope, effect)

    return Subscription(IDENTITY_QUEUE, IDENTITY_BINDINGS, on_event)


def retention_handler(registry: Registry, inbox: Inbox) -> Subscription:
    async def on_purge_requested(envelope: Envelope) -> None:
        request = decode_payload(envelope, DeclarationPurgeRequestedV1)
        try:
            document = await registry.purgeable(request.declaration_id)
        except DeclarationNotFoundError as error:
            raise PermanentFailure(
                "purge requested for a declaration consent never held"
            ) from error
        except NotPurgeableError as error:
            raise PermanentFailure("purge requested for a live declaration") from error
        proofs = [] if document.get("purged_at") else await registry.shred_proofs(document)

        async def effect(tx: Transaction) -> None:
            await registry.record_purge(tx, request.declaration_id, proofs, cause=envelope)

        await inbox.process(envelope, effect)

    # Rare requests, one at a time: two purges of one declaration running together would both
    # shred, and the one that found the keys already gone could commit first, leaving the
    # confirmation without the destroyed keys' fingerprints.
    return Subscription(RETENTION_QUEUE, RETENTION_BINDINGS, on_purge_requested, prefetch=1)
