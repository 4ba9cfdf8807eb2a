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

Queue `consent.identity`, bound to the identity events below: identity's account and CGU
events drive the declaration's lifecycle. Each event is applied with its inbox key in one
transaction (a redelivery changes nothing). Order is free: a CGU acceptance
processed before the account-created event links the account itself, and the account link that
follows is a no-op. An event naming a declaration consent does not hold raises a transient
error: the consumer retries with backoff (RetryPolicy) and finally parks it in
`consent.identity.dlq`, where it stays for replay: it is never dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from consent.domicile import on_email_changed, on_mobile_changed
from consent.lifecycle import Lifecycle
from consent.purge import Purge
from consent.refusals import DeclarationNotFound, NotPurgeable
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.identity import (
    AccountActivationLapsedV1,
    AccountCreatedV1,
    AccountTerminatedV1,
    EmailChangedV1,
    MobileChangedV1,
    TermsAcceptedV1,
    TermsRefusedV1,
)
from shared.contracts.registry import UnknownEventTypeError, decode_payload
from shared.contracts.retention import DeclarationPurgeRequestedV1
from shared.messaging.consumer import PermanentFailure, Subscription
from shared.messaging.inbox import Inbox
from shared.store.port import Transaction

Handler = Callable[[Lifecycle, Transaction, Any, Envelope], Awaitable[None]]

IDENTITY_HANDLERS: Final[Mapping[type[EventPayload], Handler]] = {
    AccountCreatedV1: Lifecycle.on_account_created,
    TermsAcceptedV1: Lifecycle.on_terms_accepted,
    TermsRefusedV1: Lifecycle.on_terms_refused,
    AccountTerminatedV1: Lifecycle.on_account_terminated,
    AccountActivationLapsedV1: Lifecycle.on_activation_lapsed,
    EmailChangedV1: on_email_changed,
    MobileChangedV1: on_mobile_changed,
}
"""What each identity event does to a declaration; the queue's bindings derive from it."""

IDENTITY_QUEUE: Final = "consent.identity"
IDENTITY_BINDINGS: Final = tuple(contract.routing_key() for contract in IDENTITY_HANDLERS)
RETENTION_QUEUE: Final = "consent.retention"
RETENTION_BINDINGS: Final = (DeclarationPurgeRequestedV1.routing_key(),)
QUEUES: Final[Mapping[str, tuple[str, ...]]] = {
    IDENTITY_QUEUE: IDENTITY_BINDINGS,
    RETENTION_QUEUE: RETENTION_BINDINGS,
}


def identity_handler(lifecycle: Lifecycle, inbox: Inbox) -> Subscription:
    by_type = {contract.routing_key(): contract for contract in IDENTITY_HANDLERS}

    async def on_event(envelope: Envelope) -> None:
        contract = by_type.get(envelope.type)
        if contract is None:
            raise UnknownEventTypeError(f"{envelope.type} is not an identity event consent reads")
        payload = decode_payload(envelope, contract)
        handler = IDENTITY_HANDLERS[contract]

        async def effect(tx: Transaction) -> None:
            await handler(lifecycle, tx, payload, envelope)

        await inbox.process(envelope, effect)

    return Subscription(IDENTITY_QUEUE, IDENTITY_BINDINGS, on_event)


def retention_handler(purge: Purge, inbox: Inbox) -> Subscription:
    async def on_purge_requested(envelope: Envelope) -> None:
        request = decode_payload(envelope, DeclarationPurgeRequestedV1)
        try:
            declaration = await purge.purgeable(request.declaration_id)
        except DeclarationNotFound as error:
            raise PermanentFailure(
                "purge requested for a declaration consent never held"
            ) from error
        except NotPurgeable as error:
            raise PermanentFailure("purge requested for a live declaration") from error
        proofs = [] if declaration.purged_at else await purge.shred_proofs(declaration)

        async def effect(tx: Transaction) -> None:
            await purge.record_purge(tx, request.declaration_id, proofs, cause=envelope)

        await inbox.process(envelope, effect)

    # Rare requests, one at a time: two purges of one declaration running together would both
    # shred, and the one that found the keys already gone could commit first, leaving the
    # confirmation without the destroyed keys' fingerprints.
    return Subscription(RETENTION_QUEUE, RETENTION_BINDINGS, on_purge_requested, prefetch=1)
