"""Delivery's subscriptions: the consent and identity facts it serves on, notify's outcomes
about acts (their evidence), and retention's erasure requests. Each effect commits with its
inbox key."""

from __future__ import annotations

from typing import Final

from delivery.erasure import ActEraser
from delivery.evidence import EvidenceSigner
from delivery.parties import (
    ACCOUNT_EVENTS,
    PARTY_EVENTS,
    apply_notification_event,
    apply_party_event,
)
from delivery.reconciliation import Reconciliation
from delivery.registry_copy import RegistryCopy, forget_contacts
from shared.contracts.envelope import Envelope
from shared.contracts.notify import NotificationFailedV1, NotificationSentV1
from shared.contracts.registry import decode_payload
from shared.contracts.retention import (
    AccountActsErasureRequestedV1,
    DeclarationPurgeRequestedV1,
)
from shared.messaging.consumer import Subscription
from shared.messaging.inbox import Inbox
from shared.store.port import Transaction

PARTIES_QUEUE: Final = "delivery.parties"
NOTIFICATIONS_QUEUE: Final = "delivery.notifications"
ERASURES_QUEUE: Final = "delivery.erasures"

QUEUES: Final[dict[str, tuple[str, ...]]] = {
    PARTIES_QUEUE: tuple(contract.routing_key() for contract in (*PARTY_EVENTS, *ACCOUNT_EVENTS)),
    NOTIFICATIONS_QUEUE: (NotificationSentV1.routing_key(), NotificationFailedV1.routing_key()),
    ERASURES_QUEUE: (
        AccountActsErasureRequestedV1.routing_key(),
        DeclarationPurgeRequestedV1.routing_key(),
    ),
}
"""Every queue delivery consumes and its bindings (for the platform topology)."""


def parties_subscription(inbox: Inbox, reconciliation: Reconciliation) -> Subscription:
    async def handle(envelope: Envelope) -> None:
        async def effect(tx: Transaction) -> None:
            await apply_party_event(tx, envelope, reconciliation)

        await inbox.process(envelope, effect)

    return Subscription(PARTIES_QUEUE, QUEUES[PARTIES_QUEUE], handle)


def notifications_subscription(inbox: Inbox, signer: EvidenceSigner) -> Subscription:
    async def handle(envelope: Envelope) -> None:
        async def effect(tx: Transaction) -> None:
            await apply_notification_event(tx, envelope, signer)

        await inbox.process(envelope, effect)

    return Subscription(NOTIFICATIONS_QUEUE, QUEUES[NOTIFICATIONS_QUEUE], handle)


def erasures_subscription(inbox: Inbox, eraser: ActEraser, copy: RegistryCopy) -> Subscription:
    """Retention's requests: erase an account's acts (two months after termination), or purge
    delivery's copy of a declaration (five years after the consent ended, with the acts of an
    account never terminated). The shredding runs first (idempotent, outside the inbox
    transaction: it deletes S3 objects), then the purge of the copy and the confirmation
    commit with the inbox key. A redelivery after a crash finishes the shredding and confirms."""

    async def handle(envelope: Envelope) -> None:
        if envelope.type == DeclarationPurgeRequestedV1.routing_key():
            purge = decode_payload(envelope, DeclarationPurgeRequestedV1)
            await copy.shred_acts(purge)

            async def purged(tx: Transaction) -> None:
                await copy.purge_and_confirm(tx, purge, envelope)

            await inbox.process(envelope, purged)
            return
        request = decode_payload(envelope, AccountActsErasureRequestedV1)
        await eraser.erase_account(request.account_id, request.erasure_id)

        async def effect(tx: Transaction) -> None:
            await forget_contacts(tx, request.account_id)
            await eraser.confirm(tx, request.account_id, request.erasure_id, envelope)

        await inbox.process(envelope, effect)

    return Subscription(ERASURES_QUEUE, QUEUES[ERASURES_QUEUE], handle)
