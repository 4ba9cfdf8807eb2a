"""Identity's consumers: a recipient account for each consent declaration."""

from __future__ import annotations

from identity.accounts import Accounts
from shared.contracts.consent import DeclarationRegisteredV1
from shared.contracts.envelope import Envelope
from shared.contracts.registry import decode_payload
from shared.messaging.consumer import Subscription
from shared.messaging.inbox import Inbox
from shared.store.port import Transaction

DECLARATIONS_QUEUE = "identity.declarations"
DECLARATIONS_BINDINGS = (DeclarationRegisteredV1.routing_key(),)


def declarations_subscription(accounts: Accounts, inbox: Inbox) -> Subscription:
    async def on_declaration(envelope: Envelope) -> None:
        declaration = decode_payload(envelope, DeclarationRegisteredV1)

        async def effect(tx: Transaction) -> None:
            await accounts.open_for_declaration(tx, declaration, envelope)

        await inbox.process(envelope, effect)

    return Subscription(DECLARATIONS_QUEUE, DECLARATIONS_BINDINGS, on_declaration)
