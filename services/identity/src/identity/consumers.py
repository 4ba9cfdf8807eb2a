"""Identity's consumers.

- `identity.declarations`: a recipient account for each consent declaration.
- `identity.retention`: retention's three requests (contact-data purge, account deletion, CGU
  effective date), see `identity.retention`.
- `identity.notices`: notify's outcome of each notification; those of CGU notices record the
  first presentation and the deemed receipt (`identity.notices`), the others are ignored.

Each event's effect runs with its inbox key in one transaction: a redelivery changes nothing.
`QUEUES` lists every queue and its bindings (the topology and the operators' pages read it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from identity.accounts import Accounts
from identity.notices import notice_failed, notice_presented
from identity.records import Context
from identity.retention import RetentionRequests
from shared.contracts.consent import DeclarationRegisteredV1
from shared.contracts.envelope import Envelope
from shared.contracts.notify import NotificationFailedV1, NotificationSentV1
from shared.contracts.registry import decode_payload
from shared.contracts.retention import (
    AccountDeletionRequestedV1,
    ContactDataPurgeRequestedV1,
    TermsEffectiveV1,
)
from shared.messaging.consumer import PermanentFailure, Subscription
from shared.messaging.inbox import Effect, Inbox
from shared.store.port import Transaction

DECLARATIONS_QUEUE: Final = "identity.declarations"
DECLARATIONS_BINDINGS: Final = (DeclarationRegisteredV1.routing_key(),)
RETENTION_QUEUE: Final = "identity.retention"
RETENTION_BINDINGS: Final = (
    ContactDataPurgeRequestedV1.routing_key(),
    AccountDeletionRequestedV1.routing_key(),
    TermsEffectiveV1.routing_key(),
)
NOTICES_QUEUE: Final = "identity.notices"
NOTICES_BINDINGS: Final = (
    NotificationSentV1.routing_key(),
    NotificationFailedV1.routing_key(),
)
QUEUES: Final[Mapping[str, tuple[str, ...]]] = {
    DECLARATIONS_QUEUE: DECLARATIONS_BINDINGS,
    RETENTION_QUEUE: RETENTION_BINDINGS,
    NOTICES_QUEUE: NOTICES_BINDINGS,
}


def declarations_subscription(accounts: Accounts, inbox: Inbox) -> Subscription:
    async def on_declaration(envelope: Envelope) -> None:
        declaration = decode_payload(envelope, DeclarationRegisteredV1)

        async def effect(tx: Transaction) -> None:
            await accounts.open_for_declaration(tx, declaration, envelope)

        await inbox.process(envelope, effect)

    return Subscription(DECLARATIONS_QUEUE, DECLARATIONS_BINDINGS, on_declaration)


def notices_subscription(ctx: Context, inbox: Inbox) -> Subscription:
    async def on_outcome(envelope: Envelope) -> None:
        if envelope.type == NotificationSentV1.routing_key():
            sent = decode_payload(envelope, NotificationSentV1)

            async def presented(tx: Transaction) -> None:
                await notice_presented(ctx, tx, sent)

            await inbox.process(envelope, presented)
            return
        if envelope.type == NotificationFailedV1.routing_key():
            failure = decode_payload(envelope, NotificationFailedV1)

            async def failed(tx: Transaction) -> None:
                await notice_failed(tx, failure)

            await inbox.process(envelope, failed)
            return
        raise PermanentFailure(f"identity.notices is not bound to {envelope.type}")

    return Subscription(NOTICES_QUEUE, NOTICES_BINDINGS, on_outcome)


def retention_subscription(requests: RetentionRequests, inbox: Inbox) -> Subscription:
    async def on_request(envelope: Envelope) -> None:
        await inbox.process(envelope, _effect_of(requests, envelope))

    return Subscription(RETENTION_QUEUE, RETENTION_BINDINGS, on_request)


def _effect_of(requests: RetentionRequests, envelope: Envelope) -> Effect:
    if envelope.type == ContactDataPurgeRequestedV1.routing_key():
        purge = decode_payload(envelope, ContactDataPurgeRequestedV1)

        async def purge_contacts(tx: Transaction) -> None:
            await requests.purge_contact_data(tx, purge, envelope)

        return purge_contacts
    if envelope.type == AccountDeletionRequestedV1.routing_key():
        deletion = decode_payload(envelope, AccountDeletionRequestedV1)

        async def delete_account(tx: Transaction) -> None:
            await requests.delete_account(tx, deletion, envelope)

        return delete_account
    if envelope.type == TermsEffectiveV1.routing_key():
        effective = decode_payload(envelope, TermsEffectiveV1)

        async def terms_effective(tx: Transaction) -> None:
            await requests.terms_effective(tx, effective)

        return terms_effective
    raise PermanentFailure(f"identity.retention is not bound to {envelope.type}")
