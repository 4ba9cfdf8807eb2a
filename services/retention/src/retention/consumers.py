"""Retention's consumers, as handler tables (`shared.messaging.handlers`): each event is applied
with its inbox key in one transaction, and each queue is bound to exactly its table's contracts.

- `retention.lifecycle`: the events that create schedules (termination, a death recorded
  with the directive to erase at once, a declaration's ends, CGU publication) and those that
  capture, before any purge, what the certificate needs
  (the account's e-mail, the acts served to it: ids, fingerprints, dates).
- `retention.confirmations`: each participant's confirmation of an erasure step; once one
  commits, the certificate job is woken (the scheduler catches up if the process dies first).
"""

from __future__ import annotations

from typing import Final

from retention.contacts import account_of
from retention.domain import ConsentEnd
from retention.service import Retention
from shared.contracts.consent import (
    ConsentRevokedV1,
    DeclarationExpiredV1,
    DeclarationLapsedV1,
    DeclarationPurgedV1,
    DeclarationRefusedV1,
    DeclarationRegisteredV1,
    DeclarationTerminatedV1,
    RegistryConsultedV1,
)
from shared.contracts.delivery import ActServedV1, ActServedV2, ActServedV3
from shared.contracts.envelope import Envelope
from shared.contracts.identity import (
    AccountCreatedV1,
    AccountTerminatedV1,
    DeathRecordedV1,
    EmailChangedV1,
    TermsPublishedV1,
)
from shared.contracts.retention import (
    AccountActsErasedV1,
    AccountDeletedV1,
    ContactDataPurgedV1,
    RegistryCopyPurgedV1,
    SubjectKeysShreddedV1,
)
from shared.messaging.consumer import Subscription
from shared.messaging.handlers import HandlerTable, on, queues
from shared.messaging.inbox import Inbox
from shared.store.port import Transaction

LIFECYCLE_QUEUE: Final = "retention.lifecycle"
CONFIRMATIONS_QUEUE: Final = "retention.confirmations"


async def _account_terminated(
    r: Retention, tx: Transaction, event: AccountTerminatedV1, _: Envelope
) -> None:
    await r.schedules.on_account_terminated(tx, event)


async def _death_recorded(
    r: Retention, tx: Transaction, event: DeathRecordedV1, _: Envelope
) -> None:
    await r.schedules.on_death_recorded(tx, event)


async def _consent_revoked(
    r: Retention, tx: Transaction, event: ConsentRevokedV1, _: Envelope
) -> None:
    await r.schedules.on_consent_revoked(tx, event)


async def _declaration_terminated(
    r: Retention, tx: Transaction, event: DeclarationTerminatedV1, _: Envelope
) -> None:
    await r.schedules.on_consent_ended(
        tx, event.declaration_id, event.account_id, event.terminated_at, ConsentEnd.TERMINATION
    )


async def _declaration_expired(
    r: Retention, tx: Transaction, event: DeclarationExpiredV1, _: Envelope
) -> None:
    # The expiry names no account: the schedule takes the one identity linked (the account
    # is deleted with the registry's data, five years on).
    await r.schedules.on_consent_ended(
        tx,
        event.declaration_id,
        await account_of(r.ctx, tx, event.declaration_id),
        event.expired_at,
        ConsentEnd.EXPIRY,
    )


async def _declaration_refused(
    r: Retention, tx: Transaction, event: DeclarationRefusedV1, _: Envelope
) -> None:
    await r.schedules.on_consent_ended(
        tx, event.declaration_id, event.account_id, event.refused_at, ConsentEnd.REFUSAL
    )


async def _declaration_lapsed(
    r: Retention, tx: Transaction, event: DeclarationLapsedV1, _: Envelope
) -> None:
    await r.schedules.on_consent_ended(
        tx, event.declaration_id, event.account_id, event.lapsed_at, ConsentEnd.NEVER_ACTIVATED
    )


async def _terms_published(
    r: Retention, tx: Transaction, event: TermsPublishedV1, _: Envelope
) -> None:
    await r.schedules.on_terms_published(tx, event)


async def _account_created(
    r: Retention, tx: Transaction, event: AccountCreatedV1, _: Envelope
) -> None:
    await r.contacts.on_account_created(tx, event)


async def _declaration_registered(
    r: Retention, tx: Transaction, event: DeclarationRegisteredV1, _: Envelope
) -> None:
    await r.contacts.on_declaration_registered(tx, event)


async def _registry_consulted(
    r: Retention, tx: Transaction, event: RegistryConsultedV1, _: Envelope
) -> None:
    await r.contacts.on_registry_consulted(tx, event)


async def _act_served(
    r: Retention, tx: Transaction, event: ActServedV1 | ActServedV3, _: Envelope
) -> None:
    await r.contacts.on_act_served(tx, event)


async def _email_changed(r: Retention, tx: Transaction, event: EmailChangedV1, _: Envelope) -> None:
    await r.contacts.on_email_changed(tx, event)


async def _acts_erased(
    r: Retention, tx: Transaction, event: AccountActsErasedV1, envelope: Envelope
) -> None:
    await r.erasures.on_acts_erased(tx, event, envelope)


async def _copy_purged(
    r: Retention, tx: Transaction, event: RegistryCopyPurgedV1, envelope: Envelope
) -> None:
    await r.erasures.on_registry_copy_purged(tx, event, envelope)


async def _keys_shredded(
    r: Retention, tx: Transaction, event: SubjectKeysShreddedV1, envelope: Envelope
) -> None:
    await r.erasures.on_keys_shredded(tx, event, envelope)


async def _contacts_purged(
    r: Retention, tx: Transaction, event: ContactDataPurgedV1, envelope: Envelope
) -> None:
    await r.erasures.on_contacts_purged(tx, event, envelope)


async def _account_deleted(
    r: Retention, tx: Transaction, event: AccountDeletedV1, envelope: Envelope
) -> None:
    await r.erasures.on_account_deleted(tx, event, envelope)


async def _declaration_purged(
    r: Retention, tx: Transaction, event: DeclarationPurgedV1, envelope: Envelope
) -> None:
    await r.erasures.on_declaration_purged(tx, event, envelope)


LIFECYCLE: Final = HandlerTable[Retention](
    LIFECYCLE_QUEUE,
    (
        on(AccountTerminatedV1, _account_terminated),
        on(DeathRecordedV1, _death_recorded),
        on(ConsentRevokedV1, _consent_revoked),
        on(DeclarationTerminatedV1, _declaration_terminated),
        on(DeclarationExpiredV1, _declaration_expired),
        on(DeclarationRefusedV1, _declaration_refused),
        on(DeclarationLapsedV1, _declaration_lapsed),
        on(TermsPublishedV1, _terms_published),
        on(AccountCreatedV1, _account_created),
        on(DeclarationRegisteredV1, _declaration_registered),
        on(ActServedV3, _act_served),
        on(ActServedV2, _act_served),
        on(ActServedV1, _act_served),
        on(EmailChangedV1, _email_changed),
        on(RegistryConsultedV1, _registry_consulted),
    ),
)
CONFIRMATIONS: Final = HandlerTable[Retention](
    CONFIRMATIONS_QUEUE,
    (
        on(AccountActsErasedV1, _acts_erased),
        on(RegistryCopyPurgedV1, _copy_purged),
        on(SubjectKeysShreddedV1, _keys_shredded),
        on(ContactDataPurgedV1, _contacts_purged),
        on(AccountDeletedV1, _account_deleted),
        on(DeclarationPurgedV1, _declaration_purged),
    ),
)

QUEUES: Final = queues((LIFECYCLE, CONFIRMATIONS))
"""Every queue retention consumes and its bindings (for the platform topology)."""


def lifecycle_handler(retention: Retention, inbox: Inbox) -> Subscription:
    return LIFECYCLE.subscription(retention, inbox)


def confirmations_handler(retention: Retention, inbox: Inbox) -> Subscription:
    def wake_certificates(_: Envelope) -> None:
        # Issued off this consumer: fetching audit's receipts may take seconds.
        retention.certificates.wanted.set()

    return CONFIRMATIONS.subscription(retention, inbox, processed=wake_certificates)
