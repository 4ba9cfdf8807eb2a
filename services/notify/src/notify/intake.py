"""From an event to the notifications it asks for: which kind, to whom, over which channel,
with which template values. Also keeps the contact book up to date and purges it when
retention has issued the erasure certificate. Runs inside the inbox transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from notify.contacts import ContactBook
from shared.contracts import consent, delivery, identity, retention
from shared.contracts.envelope import Envelope
from shared.contracts.notify import Channel, NotificationKind
from shared.contracts.registry import decode_payload


@dataclass(frozen=True)
class LinkRef:
    """A link the message must carry, named by identity's `link_id`: the sender fetches it
    from identity when it sends and puts it in the template value `field`."""

    link_id: str
    field: str


@dataclass(frozen=True)
class Request:
    """One message to send. `address` None: no address is known (a failure to record).
    `link`: a link fetched at send time (the context holds everything else)."""

    kind: NotificationKind
    channel: Channel
    address: str | None
    recipient: str
    context: dict[str, Any]
    act_id: str | None = None
    office_id: str | None = None
    account_id: str | None = None
    link: LinkRef | None = None


@dataclass
class Plan:
    requests: list[Request] = field(default_factory=list)


Planner = Callable[[Envelope, ContactBook], Awaitable[Plan]]


def _mail_to_account(
    kind: NotificationKind,
    address: str | None,
    account_id: str | None,
    context: dict[str, Any],
    *,
    party: str | None = None,
    link: LinkRef | None = None,
) -> Plan:
    """One e-mail to a person; `party` names them when no account is known."""
    request = Request(
        kind,
        Channel.EMAIL,
        address,
        party or f"account:{account_id}",
        context,
        account_id=account_id,
        link=link,
    )
    return Plan([request])


def _mail_to_office(
    kind: NotificationKind, address: str, office_id: str, act_id: str, context: dict[str, Any]
) -> Plan:
    """One e-mail to the office that served `act_id`."""
    request = Request(
        kind,
        Channel.EMAIL,
        address,
        f"office:{office_id}",
        context,
        act_id=act_id,
        office_id=office_id,
    )
    return Plan([request])


async def _activation(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.ActivationLinkIssuedV2)
    await contacts.remember_account(event.account_id, email=event.email)
    return _mail_to_account(
        NotificationKind.ACTIVATION,
        event.email,
        event.account_id,
        {"identifier": event.identifier, "expires_at": event.expires_at},
        link=LinkRef(event.link_id, "activation_url"),
    )


async def _password_reset(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.PasswordResetRequestedV2)
    await contacts.remember_account(event.account_id, email=event.email)
    return _mail_to_account(
        NotificationKind.PASSWORD_RESET,
        event.email,
        event.account_id,
        {"expires_at": event.expires_at},
        link=LinkRef(event.link_id, "reset_url"),
    )


# Retired V1 link events (they carried the link itself) still in flight at the upgrade: their
# links were issued before identity kept a sealed copy, so the event is the only place the link
# exists and there is nothing to fetch by id; they are sent as they were, the link rendered in
# the queued message until its outcome clears it.
async def _activation_v1(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.ActivationLinkIssuedV1)
    await contacts.remember_account(event.account_id, email=event.email)
    return _mail_to_account(
        NotificationKind.ACTIVATION,
        event.email,
        event.account_id,
        {
            "identifier": event.identifier,
            "activation_url": event.activation_url,
            "expires_at": event.expires_at,
        },
    )


async def _password_reset_v1(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.PasswordResetRequestedV1)
    await contacts.remember_account(event.account_id, email=event.email)
    return _mail_to_account(
        NotificationKind.PASSWORD_RESET,
        event.email,
        event.account_id,
        {"reset_url": event.reset_url, "expires_at": event.expires_at},
    )


async def _terms_notice(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.TermsNoticeIssuedV1)
    await contacts.remember_account(event.account_id, email=event.email)
    return _mail_to_account(
        NotificationKind.TERMS_NOTICE,
        event.email,
        event.account_id,
        {"terms_version": event.terms_version, "effective_at": event.effective_at},
    )


async def _account_created(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.AccountCreatedV1)
    if event.declaration_id is not None:
        await contacts.remember_account(event.account_id, declaration_id=event.declaration_id)
    return Plan()


async def _declaration_registered(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, consent.DeclarationRegisteredV1)
    await contacts.remember_declaration(event.declaration_id, event.email)
    return Plan()


async def _account_terminated(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.AccountTerminatedV1)
    email = await contacts.email_for(
        account_id=event.account_id, declaration_id=event.declaration_id
    )
    return _mail_to_account(
        NotificationKind.ACCOUNT_TERMINATED,
        email,
        event.account_id,
        {"terminated_at": event.terminated_at},
    )


async def _consent_revoked(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, consent.ConsentRevokedV1)
    email = await contacts.email_for(
        account_id=event.account_id, declaration_id=event.declaration_id
    )
    party = (
        f"account:{event.account_id}" if event.account_id else f"declaration:{event.declaration_id}"
    )
    return _mail_to_account(
        NotificationKind.CONSENT_REVOKED,
        email,
        event.account_id,
        {"revoked_at": event.revoked_at},
        party=party,
    )


async def _act_served(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, delivery.ActServedV1)
    await contacts.remember_account(
        event.recipient_account_id, email=event.recipient_email, declaration_id=event.declaration_id
    )
    context = {
        "act_nature": event.act_nature,
        "office_name": event.office_name,
        "served_at": event.served_at,
        "portal_url": event.portal_url,
    }
    party = f"account:{event.recipient_account_id}"
    common: dict[str, Any] = {
        "act_id": event.act_id,
        "office_id": event.office_id,
        "account_id": event.recipient_account_id,
    }
    plan = Plan(
        [
            Request(
                NotificationKind.ACT_SERVED,
                Channel.EMAIL,
                event.recipient_email,
                party,
                context,
                **common,
            )
        ]
    )
    if event.recipient_mobile:
        plan.requests.append(
            Request(
                NotificationKind.ACT_SERVED,
                Channel.SMS,
                event.recipient_mobile,
                party,
                context,
                **common,
            )
        )
    return plan


async def _lettre_simple_due(envelope: Envelope, _contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, delivery.LettreSimpleDueV1)
    return _mail_to_office(
        NotificationKind.LETTRE_SIMPLE_DUE,
        event.office_email,
        event.office_id,
        event.act_id,
        {
            "act_id": event.act_id,
            "act_nature": event.act_nature,
            "requester_name": event.requester_name,
            "served_at": event.served_at,
            "due_on": event.due_on,
        },
    )


async def _reply_received(envelope: Envelope, _contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, delivery.ReplyReceivedV1)
    return _mail_to_office(
        NotificationKind.REPLY_RECEIVED,
        event.office_email,
        event.office_id,
        event.act_id,
        {
            "act_id": event.act_id,
            "reply_id": event.reply_id,
            "received_at": event.received_at,
        },
    )


async def _erasure_certificate(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, retention.ErasureCertificateIssuedV1)
    # The last message to this person: the address travels in the event, the book forgets it.
    await contacts.forget(event.account_id)
    return _mail_to_account(
        NotificationKind.ERASURE_CERTIFICATE,
        event.email,
        event.account_id,
        {
            "certificate_id": event.certificate_id,
            "download_url": event.download_url,
            "issued_at": event.issued_at,
        },
    )


PLANNERS: dict[str, Planner] = {
    identity.ActivationLinkIssuedV2.routing_key(): _activation,
    identity.PasswordResetRequestedV2.routing_key(): _password_reset,
    identity.ActivationLinkIssuedV1.routing_key(): _activation_v1,
    identity.PasswordResetRequestedV1.routing_key(): _password_reset_v1,
    identity.TermsNoticeIssuedV1.routing_key(): _terms_notice,
    identity.AccountCreatedV1.routing_key(): _account_created,
    identity.AccountTerminatedV1.routing_key(): _account_terminated,
    consent.DeclarationRegisteredV1.routing_key(): _declaration_registered,
    consent.ConsentRevokedV1.routing_key(): _consent_revoked,
    delivery.ActServedV1.routing_key(): _act_served,
    delivery.LettreSimpleDueV1.routing_key(): _lettre_simple_due,
    delivery.ReplyReceivedV1.routing_key(): _reply_received,
    retention.ErasureCertificateIssuedV1.routing_key(): _erasure_certificate,
}
BULK_EVENTS: tuple[str, ...] = (identity.TermsNoticeIssuedV1.routing_key(),)
URGENT_EVENTS: tuple[str, ...] = tuple(key for key in PLANNERS if key not in BULK_EVENTS)
