"""Retention's consumers. Each event is applied with its inbox key in one transaction.

Queues (`QUEUES`, for the platform topology):

- `retention.lifecycle`: the events that create schedules (termination, revocation, CGU
  publication) and those that capture, before any purge, what the certificate needs (the
  account's e-mail, the acts served to it: ids, fingerprints, dates).
- `retention.confirmations`: each participant's confirmation of an erasure step.

After a confirmation commits, certificates whose confirmations are all in are issued at once
(the periodic job catches up if the process dies in between).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from retention.domain import ConsentEnd
from retention.service import Retention
from shared.contracts.consent import (
    ConsentRevokedV1,
    DeclarationExpiredV1,
    DeclarationPurgedV1,
    DeclarationRefusedV1,
    DeclarationRegisteredV1,
    DeclarationTerminatedV1,
)
from shared.contracts.delivery import ActServedV1
from shared.contracts.envelope import Envelope
from shared.contracts.identity import AccountCreatedV1, AccountTerminatedV1, TermsPublishedV1
from shared.contracts.registry import decode_payload
from shared.contracts.retention import (
    AccountActsErasedV1,
    AccountDeletedV1,
    ContactDataPurgedV1,
    SubjectKeysShreddedV1,
)
from shared.messaging.consumer import PermanentFailure, Subscription
from shared.messaging.inbox import Inbox
from shared.store.port import Transaction

LIFECYCLE_QUEUE: Final = "retention.lifecycle"
CONFIRMATIONS_QUEUE: Final = "retention.confirmations"

LIFECYCLE_BINDINGS: Final = (
    AccountTerminatedV1.routing_key(),
    ConsentRevokedV1.routing_key(),
    DeclarationTerminatedV1.routing_key(),
    DeclarationExpiredV1.routing_key(),
    DeclarationRefusedV1.routing_key(),
    TermsPublishedV1.routing_key(),
    AccountCreatedV1.routing_key(),
    DeclarationRegisteredV1.routing_key(),
    ActServedV1.routing_key(),
)
CONFIRMATION_BINDINGS: Final = (
    AccountActsErasedV1.routing_key(),
    SubjectKeysShreddedV1.routing_key(),
    ContactDataPurgedV1.routing_key(),
    AccountDeletedV1.routing_key(),
    DeclarationPurgedV1.routing_key(),
)

QUEUES: Final[dict[str, tuple[str, ...]]] = {
    LIFECYCLE_QUEUE: LIFECYCLE_BINDINGS,
    CONFIRMATIONS_QUEUE: CONFIRMATION_BINDINGS,
}

Effect = Callable[[Transaction], Awaitable[None]]


def _lifecycle_effect(retention: Retention, envelope: Envelope) -> Effect:
    kind = envelope.type
    if kind == AccountTerminatedV1.routing_key():
        terminated = decode_payload(envelope, AccountTerminatedV1)
        return lambda tx: retention.schedules.on_account_terminated(tx, terminated)
    if kind == ConsentRevokedV1.routing_key():
        revoked = decode_payload(envelope, ConsentRevokedV1)
        return lambda tx: retention.schedules.on_consent_revoked(tx, revoked)
    if kind == DeclarationTerminatedV1.routing_key():
        terminated_consent = decode_payload(envelope, DeclarationTerminatedV1)
        return lambda tx: retention.schedules.on_consent_ended(
            tx,
            terminated_consent.declaration_id,
            terminated_consent.account_id,
            terminated_consent.terminated_at,
            ConsentEnd.TERMINATION,
        )
    if kind == DeclarationExpiredV1.routing_key():
        expired = decode_payload(envelope, DeclarationExpiredV1)
        return lambda tx: retention.schedules.on_consent_ended(
            tx, expired.declaration_id, None, expired.expired_at, ConsentEnd.EXPIRY
        )
    if kind == DeclarationRefusedV1.routing_key():
        refused = decode_payload(envelope, DeclarationRefusedV1)
        return lambda tx: retention.schedules.on_consent_ended(
            tx, refused.declaration_id, refused.account_id, refused.refused_at, ConsentEnd.REFUSAL
        )
    if kind == TermsPublishedV1.routing_key():
        published = decode_payload(envelope, TermsPublishedV1)
        return lambda tx: retention.schedules.on_terms_published(tx, published)
    if kind == AccountCreatedV1.routing_key():
        created = decode_payload(envelope, AccountCreatedV1)
        return lambda tx: retention.contacts.on_account_created(tx, created)
    if kind == DeclarationRegisteredV1.routing_key():
        registered = decode_payload(envelope, DeclarationRegisteredV1)
        return lambda tx: retention.contacts.on_declaration_registered(tx, registered)
    if kind == ActServedV1.routing_key():
        served = decode_payload(envelope, ActServedV1)
        return lambda tx: retention.contacts.on_act_served(tx, served)
    raise PermanentFailure(f"{kind} is not bound to {LIFECYCLE_QUEUE}")


def lifecycle_handler(retention: Retention, inbox: Inbox) -> Subscription:
    async def on_event(envelope: Envelope) -> None:
        await inbox.process(envelope, _lifecycle_effect(retention, envelope))

    return Subscription(LIFECYCLE_QUEUE, LIFECYCLE_BINDINGS, on_event)


def _confirmation_effect(retention: Retention, envelope: Envelope) -> Effect:
    kind = envelope.type
    if kind == AccountActsErasedV1.routing_key():
        erased = decode_payload(envelope, AccountActsErasedV1)
        return lambda tx: retention.erasures.on_acts_erased(tx, erased, envelope)
    if kind == SubjectKeysShreddedV1.routing_key():
        shredded = decode_payload(envelope, SubjectKeysShreddedV1)
        return lambda tx: retention.erasures.on_keys_shredded(tx, shredded, envelope)
    if kind == ContactDataPurgedV1.routing_key():
        purged = decode_payload(envelope, ContactDataPurgedV1)
        return lambda tx: retention.erasures.on_contacts_purged(tx, purged, envelope)
    if kind == AccountDeletedV1.routing_key():
        deleted = decode_payload(envelope, AccountDeletedV1)
        return lambda tx: retention.erasures.on_account_deleted(tx, deleted, envelope)
    if kind == DeclarationPurgedV1.routing_key():
        declaration = decode_payload(envelope, DeclarationPurgedV1)
        return lambda tx: retention.erasures.on_declaration_purged(tx, declaration, envelope)
    raise PermanentFailure(f"{kind} is not bound to {CONFIRMATIONS_QUEUE}")


def confirmations_handler(retention: Retention, inbox: Inbox) -> Subscription:
    async def on_event(envelope: Envelope) -> None:
        if await inbox.process(envelope, _confirmation_effect(retention, envelope)):
            # Issued off this consumer: fetching audit's receipts may take seconds.
            retention.certificates.wanted.set()

    return Subscription(CONFIRMATIONS_QUEUE, CONFIRMATION_BINDINGS, on_event)
