"""Consent's consumer: identity's account and CGU events drive the declaration's lifecycle.

Queue `consent.identity`, bound to the four identity events below. Each event is applied with
its inbox key in one transaction (a redelivery changes nothing). Order is free: a CGU acceptance
processed before the account-created event links the account itself, and the account link that
follows is a no-op. An event naming a declaration consent does not hold raises a transient
error: the consumer retries with backoff (RetryPolicy) and finally parks it in
`consent.identity.dlq`, where it stays for replay: it is never dropped.
"""

from __future__ import annotations

from typing import Final

from consent.service import Registry
from shared.contracts.envelope import Envelope
from shared.contracts.identity import (
    AccountCreatedV1,
    AccountTerminatedV1,
    TermsAcceptedV1,
    TermsRefusedV1,
)
from shared.contracts.registry import decode_payload
from shared.messaging.consumer import Subscription
from shared.messaging.inbox import Inbox
from shared.store.port import Transaction

IDENTITY_QUEUE: Final = "consent.identity"
IDENTITY_BINDINGS: Final = (
    AccountCreatedV1.routing_key(),
    TermsAcceptedV1.routing_key(),
    TermsRefusedV1.routing_key(),
    AccountTerminatedV1.routing_key(),
)


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
