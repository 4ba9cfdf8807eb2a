"""Delivery's local views of other services' facts: the consent declarations it serves on (from
consent's and identity's events; they address the recipient and serve views, the registry
decides at the sending instant, `delivery.consent`), the offices' names from identity's client
registrations (read by `delivery.offices`), and the notifications notify sent about acts.

Each projection is updated in the consumer's inbox transaction, so a redelivered event changes
nothing twice. Events may arrive out of order: a consent that ended (revoked, expired,
terminated, refused) never becomes active again, whatever arrives after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, NotRequired, TypedDict

from delivery.acts import Act, ActStatus
from delivery.domain import Declaration
from delivery.evidence import EvidenceSigner, EvidenceType
from delivery.offices import OFFICES
from delivery.reconciliation import ConsentEnded, Reconciliation
from delivery.repository import ACTS, NOTIFICATIONS, ActRepository
from shared.contracts.consent import (
    ConsentRevokedV1,
    DeclarationActivatedV1,
    DeclarationExpiredV1,
    DeclarationRefusedV1,
    DeclarationRegisteredV1,
    DeclarationStatus,
    DeclarationTerminatedV1,
    DomicileChangedV1,
)
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.identity import (
    AccountCreatedV1,
    AccountReinstatedV1,
    AccountSuspendedV1,
    AccountTerminatedV1,
    EmailChangedV1,
    MobileChangedV1,
    OfficeClientRegisteredV1,
)
from shared.contracts.notify import NotificationFailedV1, NotificationSentV1
from shared.contracts.registry import contract_for
from shared.legal_calendar import Territory
from shared.store.port import Document, DocumentReader, Transaction, to_iso

DECLARATIONS: Final = "declarations"
ACCOUNTS: Final = "accounts"
"""Recipients' accounts identity suspended (and reinstated), by account id."""

ENDED: Final = frozenset(
    {
        DeclarationStatus.REVOKED.value,
        DeclarationStatus.EXPIRED.value,
        DeclarationStatus.TERMINATED.value,
        DeclarationStatus.REFUSED.value,
    }
)


async def declaration_of(reader: DocumentReader, declaration_id: str) -> Declaration | None:
    found = await reader.get(DECLARATIONS, declaration_id)
    return None if found is None else Declaration.model_validate(found)


async def _upsert(
    tx: Transaction, collection: str, doc_id: str, changes: Mapping[str, Any]
) -> None:
    current = await tx.get(collection, doc_id)
    if current is None:
        await tx.insert(collection, {"_id": doc_id, **changes})
        return
    version = int(current.pop("_version"))
    await tx.replace(collection, {**current, **changes}, expected_version=version)


async def _status(tx: Transaction, declaration_id: str, status: str, at: str) -> None:
    current = await tx.get(DECLARATIONS, declaration_id)
    if current is not None and current.get("status") in ENDED:
        return  # the first end stands
    await _upsert(tx, DECLARATIONS, declaration_id, {"status": status, "ended_at": at})


def _purged(current: Mapping[str, Any] | None) -> bool:
    """The copy was purged with the registry's data (`delivery.registry_copy`): a late or
    redelivered event must not bring the person's data back."""
    return current is not None and current.get("purged_at") is not None


async def _registered(tx: Transaction, payload: DeclarationRegisteredV1) -> None:
    current = await tx.get(DECLARATIONS, payload.declaration_id)
    if _purged(current):
        return
    changes: dict[str, object] = {"email": str(payload.email), "mobile": payload.mobile}
    # A change the person made since stands over the registration's contacts (any order).
    for name in ("email", "mobile"):
        if current is not None and current.get(f"{name}_changed_at"):
            del changes[name]
    if current is None:
        changes["status"] = DeclarationStatus.REGISTERED.value
    await _upsert(tx, DECLARATIONS, payload.declaration_id, changes)


async def _activated(tx: Transaction, payload: DeclarationActivatedV1) -> None:
    current = await tx.get(DECLARATIONS, payload.declaration_id)
    if _purged(current):
        return
    changes: dict[str, object] = {
        "account_id": payload.account_id,
        "scope": [n.value for n in payload.scope],
        "valid_until": payload.valid_until.isoformat() if payload.valid_until else None,
        "territory": Territory(payload.territory).value,
        "activated_at": to_iso(payload.activated_at),
    }
    if current is not None and current.get("territory_changed_at"):
        del changes["territory"]  # the person moved since: the new domicile's territory stands
    if current is None or current.get("status") not in ENDED:
        changes["status"] = DeclarationStatus.ACTIVE.value
    await _upsert(tx, DECLARATIONS, payload.declaration_id, changes)


async def _revoked(tx: Transaction, payload: ConsentRevokedV1) -> None:
    await _status(
        tx, payload.declaration_id, DeclarationStatus.REVOKED.value, to_iso(payload.revoked_at)
    )


async def _expired(tx: Transaction, payload: DeclarationExpiredV1) -> None:
    await _status(
        tx, payload.declaration_id, DeclarationStatus.EXPIRED.value, to_iso(payload.expired_at)
    )


async def _terminated(tx: Transaction, payload: DeclarationTerminatedV1) -> None:
    await _status(
        tx,
        payload.declaration_id,
        DeclarationStatus.TERMINATED.value,
        to_iso(payload.terminated_at),
    )


async def _refused(tx: Transaction, payload: DeclarationRefusedV1) -> None:
    await _status(
        tx, payload.declaration_id, DeclarationStatus.REFUSED.value, to_iso(payload.refused_at)
    )


async def _account_created(tx: Transaction, payload: AccountCreatedV1) -> None:
    if payload.declaration_id:
        await _upsert(tx, DECLARATIONS, payload.declaration_id, {"account_id": payload.account_id})


async def _account_terminated(tx: Transaction, payload: AccountTerminatedV1) -> None:
    if payload.declaration_id:
        await _status(
            tx,
            payload.declaration_id,
            DeclarationStatus.TERMINATED.value,
            to_iso(payload.terminated_at),
        )


async def _changed(
    tx: Transaction, declaration_id: str | None, name: str, value: object, at: str
) -> None:
    """The person's new contact or territory, unless a later change is already known."""
    if declaration_id is None:
        return
    current = await tx.get(DECLARATIONS, declaration_id)
    if current is not None and str(current.get(f"{name}_changed_at") or "") > at:
        return
    await _upsert(tx, DECLARATIONS, declaration_id, {name: value, f"{name}_changed_at": at})


async def _email_changed(tx: Transaction, payload: EmailChangedV1) -> None:
    at = to_iso(payload.changed_at)
    await _changed(tx, payload.declaration_id, "email", str(payload.email), at)


async def _mobile_changed(tx: Transaction, payload: MobileChangedV1) -> None:
    at = to_iso(payload.changed_at)
    await _changed(tx, payload.declaration_id, "mobile", payload.mobile, at)


async def _domicile_changed(tx: Transaction, payload: DomicileChangedV1) -> None:
    # Views only: the act's territory is the registry's answer at the deposit instant.
    territory = Territory(payload.territory).value
    await _changed(tx, payload.declaration_id, "territory", territory, to_iso(payload.changed_at))


async def _office_registered(tx: Transaction, payload: OfficeClientRegisteredV1) -> None:
    await _upsert(tx, OFFICES, payload.office_id, {"bailiff_name": payload.bailiff_name})


PartyHandler = Callable[[Transaction, Any], Awaitable[None]]

PARTY_EVENTS: Final[Mapping[type[EventPayload], PartyHandler]] = {
    DeclarationRegisteredV1: _registered,
    DeclarationActivatedV1: _activated,
    ConsentRevokedV1: _revoked,
    DeclarationExpiredV1: _expired,
    DeclarationTerminatedV1: _terminated,
    DeclarationRefusedV1: _refused,
    AccountCreatedV1: _account_created,
    AccountTerminatedV1: _account_terminated,
    OfficeClientRegisteredV1: _office_registered,
    EmailChangedV1: _email_changed,
    MobileChangedV1: _mobile_changed,
    DomicileChangedV1: _domicile_changed,
}
"""The consent and identity facts delivery serves on, each with its projection (the parties
queue is bound to exactly these)."""


# -- suspended accounts -----------------------------------------------------------------------
#
# An account identity suspended cannot log in: no act is served on it (deposits are refused or
# held, `delivery.deposit`, `delivery.scheduling`). Suspension and reinstatement may arrive in
# any order: the later fact (by its envelope's instant) stands. Holding an act and the
# reinstatement both write the account's record under its version, so one of two concurrent
# ones retries and sees the other: a reinstatement never misses an act held meanwhile.


async def account_suspended(reader: DocumentReader, account_id: str) -> bool:
    found = await reader.get(ACCOUNTS, account_id)
    return bool(found and found.get("suspended"))


async def note_hold(tx: Transaction, account_id: str, at: str) -> None:
    """Record on the (suspended) account that an act is held for it, under its version."""
    current = await tx.get(ACCOUNTS, account_id)
    assert current is not None
    version = int(current.pop("_version"))
    await tx.replace(ACCOUNTS, {**current, "last_held_at": at}, expected_version=version)


async def _account_state(tx: Transaction, account_id: str, suspended: bool, at: str) -> bool:
    """Set the account's state unless a later fact is known; whether it changed."""
    current = await tx.get(ACCOUNTS, account_id)
    if current is not None and str(current.get("changed_at", "")) > at:
        return False
    await _upsert(tx, ACCOUNTS, account_id, {"suspended": suspended, "changed_at": at})
    return True


async def _suspended(tx: Transaction, payload: AccountSuspendedV1, envelope: Envelope) -> None:
    await _account_state(tx, payload.account_id, True, to_iso(envelope.occurred_at))


async def _reinstated(tx: Transaction, payload: AccountReinstatedV1, envelope: Envelope) -> None:
    """Reinstated: the acts held for the account are due again from this instant."""
    at = envelope.occurred_at
    if not await _account_state(tx, payload.account_id, False, to_iso(at)):
        return
    acts = ActRepository(tx)
    held = await acts.find(
        {"recipient_account_id": payload.account_id, "status": ActStatus.HELD.value}
    )
    for act in held:
        if isinstance(act, Act):
            await acts.save(tx, act.release(at), at)


AccountHandler = Callable[[Transaction, Any, Envelope], Awaitable[None]]

ACCOUNT_EVENTS: Final[Mapping[type[EventPayload], AccountHandler]] = {
    AccountSuspendedV1: _suspended,
    AccountReinstatedV1: _reinstated,
}
"""Identity's account states delivery serves on (the parties queue is bound to these too)."""


async def apply_party_event(
    tx: Transaction, envelope: Envelope, reconciliation: Reconciliation
) -> None:
    """Update the declaration, office and account views from one consent or identity event;
    a consent end also flags the acts served at or after it (`delivery.reconciliation`),
    whatever the view already knew (an earlier end may arrive after a later one)."""
    payload = contract_for(envelope.type).model_validate(envelope.payload)
    handler = PARTY_EVENTS.get(type(payload))
    if handler is not None:
        await handler(tx, payload)
    account_handler = ACCOUNT_EVENTS.get(type(payload))
    if account_handler is not None:
        await account_handler(tx, payload, envelope)
    end = ConsentEnded.of(payload)
    if end is not None:
        await reconciliation.consent_ended(tx, end)


class NotificationDetails(TypedDict):
    """What a `ConsignmentNotification` (or `…Failure`) record says: the masked address only."""

    notification_id: str
    kind: str
    channel: str
    recipient_masked: str
    message_id: str
    attempts: int
    reason: NotRequired[str]
    permanent: NotRequired[bool]


async def apply_notification_event(
    tx: Transaction, envelope: Envelope, signer: EvidenceSigner
) -> None:
    """Record a notification about an act and its evidence (`ConsignmentNotification` or
    `…Failure`); notifications about anything else are not delivery's business."""
    payload = contract_for(envelope.type).model_validate(envelope.payload)
    if not isinstance(payload, NotificationSentV1 | NotificationFailedV1) or not payload.act_id:
        return
    act = await tx.get(ACTS, payload.act_id)
    if act is None:
        return
    sent = isinstance(payload, NotificationSentV1)
    instant = payload.accepted_at if isinstance(payload, NotificationSentV1) else payload.failed_at
    row: Document = {
        "_id": payload.notification_id,
        "act_id": payload.act_id,
        "kind": payload.kind.value,
        "channel": payload.channel.value,
        "recipient": payload.recipient,
        "recipient_masked": payload.recipient_masked,
        "status": "sent" if sent else "failed",
        "at": to_iso(instant),
        "attempts": payload.attempts,
    }
    if isinstance(payload, NotificationFailedV1):
        row["reason"] = payload.reason
        row["permanent"] = payload.permanent
    current = await tx.get(NOTIFICATIONS, payload.notification_id)
    if current is None:
        await tx.insert(NOTIFICATIONS, row)
    else:
        await tx.replace(NOTIFICATIONS, row, expected_version=int(current["_version"]))
    kind = (
        EvidenceType.CONSIGNMENT_NOTIFICATION
        if sent
        else EvidenceType.CONSIGNMENT_NOTIFICATION_FAILURE
    )
    details: NotificationDetails = {
        "notification_id": payload.notification_id,
        "kind": payload.kind.value,
        "channel": payload.channel.value,
        "recipient_masked": payload.recipient_masked,
        "message_id": payload.message_id,
        "attempts": payload.attempts,
    }
    if isinstance(payload, NotificationFailedV1):
        details["reason"] = payload.reason
        details["permanent"] = payload.permanent
    record = await signer.record(
        evidence_id=envelope.event_id,
        kind=kind,
        act_id=payload.act_id,
        act_sha256=act.get("sha256"),
        instant=instant,
        actors={"notifier": envelope.actor, "notified": payload.recipient},
        details=details,
        event_id=envelope.event_id,
    )
    await signer.store(tx, record)
