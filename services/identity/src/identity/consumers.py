"""Identity's consumers, as handler tables (`shared.messaging.handlers`): each event is applied
with its inbox key in one transaction (a redelivery changes nothing), and each queue is bound to
exactly its table's contracts.

- `identity.declarations`: a recipient account for each consent declaration.
- `identity.retention`: retention's three requests (contact-data purge, account deletion, CGU
  effective date), see `identity.retention`.
- `identity.notices`: notify's outcome of each notification; those of CGU notices record the
  first presentation and the deemed receipt (`identity.notices`), the others are ignored.
"""

from __future__ import annotations

from typing import Final

from identity.accounts import Accounts
from identity.notices import notice_failed, notice_presented
from identity.records import Context
from identity.retention import RetentionRequests
from shared.contracts.consent import DeclarationRegisteredV1
from shared.contracts.envelope import Envelope
from shared.contracts.notify import NotificationFailedV1, NotificationSentV1
from shared.contracts.retention import (
    AccountDeletionRequestedV1,
    ContactDataPurgeRequestedV1,
    TermsEffectiveV1,
)
from shared.messaging.consumer import Subscription
from shared.messaging.handlers import HandlerTable, on, queues
from shared.messaging.inbox import Inbox
from shared.store.port import Transaction

DECLARATIONS_QUEUE: Final = "identity.declarations"
RETENTION_QUEUE: Final = "identity.retention"
NOTICES_QUEUE: Final = "identity.notices"


async def _declaration_registered(
    accounts: Accounts, tx: Transaction, event: DeclarationRegisteredV1, envelope: Envelope
) -> None:
    await accounts.open_for_declaration(tx, event, envelope)


async def _contact_data_purge(
    requests: RetentionRequests,
    tx: Transaction,
    event: ContactDataPurgeRequestedV1,
    envelope: Envelope,
) -> None:
    await requests.purge_contact_data(tx, event, envelope)


async def _account_deletion(
    requests: RetentionRequests,
    tx: Transaction,
    event: AccountDeletionRequestedV1,
    envelope: Envelope,
) -> None:
    await requests.delete_account(tx, event, envelope)


async def _terms_effective(
    requests: RetentionRequests, tx: Transaction, event: TermsEffectiveV1, _: Envelope
) -> None:
    await requests.terms_effective(tx, event)


async def _notification_sent(
    ctx: Context, tx: Transaction, event: NotificationSentV1, _: Envelope
) -> None:
    await notice_presented(ctx, tx, event)


async def _notification_failed(
    _ctx: Context, tx: Transaction, event: NotificationFailedV1, _: Envelope
) -> None:
    await notice_failed(tx, event)


DECLARATIONS: Final = HandlerTable[Accounts](
    DECLARATIONS_QUEUE, (on(DeclarationRegisteredV1, _declaration_registered),)
)
RETENTION: Final = HandlerTable[RetentionRequests](
    RETENTION_QUEUE,
    (
        on(ContactDataPurgeRequestedV1, _contact_data_purge),
        on(AccountDeletionRequestedV1, _account_deletion),
        on(TermsEffectiveV1, _terms_effective),
    ),
)
NOTICES: Final = HandlerTable[Context](
    NOTICES_QUEUE,
    (
        on(NotificationSentV1, _notification_sent),
        on(NotificationFailedV1, _notification_failed),
    ),
)

QUEUES: Final = queues((DECLARATIONS, RETENTION, NOTICES))
"""Every queue identity consumes and its bindings (for the platform topology)."""


def declarations_subscription(accounts: Accounts, inbox: Inbox) -> Subscription:
    return DECLARATIONS.subscription(accounts, inbox)


def retention_subscription(requests: RetentionRequests, inbox: Inbox) -> Subscription:
    return RETENTION.subscription(requests, inbox)


def notices_subscription(ctx: Context, inbox: Inbox) -> Subscription:
    return NOTICES.subscription(ctx, inbox)
