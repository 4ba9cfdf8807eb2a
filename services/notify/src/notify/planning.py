"""From an event to the notifications it asks for: which kind, to whom, over which channel,
with which template values (`notify.values`). Also keeps the contact book up to date and
purges it when retention has issued the erasure certificate. Runs inside the inbox
transaction (`notify.intake`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from notify import values
from notify.contacts import ContactBook
from notify.domain import mask_email, mask_mobile
from notify.links import certificate_reference
from notify.notifications import Request
from shared.contracts import consent, delivery, identity, retention
from shared.contracts.envelope import Envelope
from shared.contracts.notify import Channel
from shared.contracts.registry import decode_payload
from shared.legal_calendar import Territory


@dataclass
class Plan:
    requests: list[Request] = field(default_factory=list)


Planner = Callable[[Envelope, ContactBook], Awaitable[Plan]]


def _mail_to_account(
    message: values.MessageValues,
    address: str | None,
    account_id: str | None,
    *,
    party: str | None = None,
    link_id: str | None = None,
) -> Plan:
    """One e-mail to a person; `party` names them when no account is known."""
    request = Request(
        message,
        Channel.EMAIL,
        address,
        party or f"account:{account_id}",
        account_id=account_id,
        link_id=link_id,
    )
    return Plan([request])


def _mail_to_office(
    message: values.MessageValues, address: str, office_id: str, act_id: str
) -> Plan:
    """One e-mail to the office that served `act_id`."""
    request = Request(
        message, Channel.EMAIL, address, f"office:{office_id}", act_id=act_id, office_id=office_id
    )
    return Plan([request])


async def _activation(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.ActivationLinkIssuedV2)
    await contacts.remember_account(event.account_id, email=event.email)
    message = values.Activation(identifier=event.identifier, expires_at=event.expires_at)
    return _mail_to_account(message, event.email, event.account_id, link_id=event.link_id)


async def _password_reset(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.PasswordResetRequestedV2)
    await contacts.remember_account(event.account_id, email=event.email)
    message = values.PasswordReset(expires_at=event.expires_at)
    return _mail_to_account(message, event.email, event.account_id, link_id=event.link_id)


async def _terms_notice(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.TermsNoticeIssuedV1)
    await contacts.remember_account(event.account_id, email=event.email)
    message = values.TermsNotice(terms_version=event.terms_version, effective_at=event.effective_at)
    return _mail_to_account(message, event.email, event.account_id)


async def _account_created(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.AccountCreatedV1)
    if event.declaration_id is not None:
        await contacts.remember_account(event.account_id, declaration_id=event.declaration_id)
    return Plan()


async def _declaration_registered(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, consent.DeclarationRegisteredV1)
    await contacts.remember_declaration(event.declaration_id, event.email, event.mobile)
    return Plan()


async def _account_terminated(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, identity.AccountTerminatedV1)
    if event.reason is identity.TerminationReason.DECEASED:
        # No "your account is terminated" to a person whose death was just recorded; the
        # person they designated, if any, is written to (`_post_mortem_notice`).
        return Plan()
    email = await contacts.email_for(
        account_id=event.account_id, declaration_id=event.declaration_id
    )
    message = values.AccountTerminated(terminated_at=event.terminated_at)
    return _mail_to_account(message, email, event.account_id)


async def _consent_revoked(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, consent.ConsentRevokedV1)
    email = await contacts.email_for(
        account_id=event.account_id, declaration_id=event.declaration_id
    )
    party = (
        f"account:{event.account_id}" if event.account_id else f"declaration:{event.declaration_id}"
    )
    message = values.ConsentRevoked(revoked_at=event.revoked_at)
    return _mail_to_account(message, email, event.account_id, party=party)


class RecipientNotKnownYet(Exception):  # noqa: N818 - it names a state, not a bug
    """An act-served notice names an account whose e-mail, or whether it gave a mobile,
    notify has not learnt yet (the registry's or identity's event is still on its way): the
    event is not consumed, the consumer's retry policy brings it back, and after the last
    attempt it is parked in the dead letters. A notice is never dropped nor sent without the
    number the person gave. Its message names ids only."""


async def _act_served(envelope: Envelope, contacts: ContactBook) -> Plan:
    """The notice of an act served (v3: ids only): the addresses come from the book."""
    event = decode_payload(envelope, delivery.ActServedV3)
    reach = await contacts.reach(
        account_id=event.recipient_account_id, declaration_id=event.declaration_id
    )
    if reach.email is None or not reach.mobile_known:
        missing = "e-mail" if reach.email is None else "mobile"
        raise RecipientNotKnownYet(
            f"{missing} of account {event.recipient_account_id} not known yet (act {event.act_id})"
        )
    # Notices to users are dated in this territory's legal time and scoped by serving office.
    await contacts.remember_account(
        event.recipient_account_id,
        declaration_id=event.declaration_id,
        territory=event.recipient_territory,
        office_id=event.office_id,
    )
    return _notice_of_service(event, event.recipient_territory, reach.email, reach.mobile)


async def _act_served_v2(envelope: Envelope, contacts: ContactBook) -> Plan:
    # Replaced v2 (contacts in the event) still in flight: the book learns them, as it would
    # have from the registry.
    event = decode_payload(envelope, delivery.ActServedV2)
    await _remember_served(event, contacts)
    return _notice_of_service(
        event, event.recipient_territory, event.recipient_email, event.recipient_mobile
    )


async def _act_served_v1(envelope: Envelope, contacts: ContactBook) -> Plan:
    # Replaced v1 (no territory) still in flight: its notice is in Paris's legal time, named.
    event = decode_payload(envelope, delivery.ActServedV1)
    await _remember_served(event, contacts)
    return _notice_of_service(
        event, Territory.METROPOLE, event.recipient_email, event.recipient_mobile
    )


async def _remember_served(event: delivery.ActServedV1, contacts: ContactBook) -> None:
    await contacts.remember_account(
        event.recipient_account_id,
        email=event.recipient_email,
        declaration_id=event.declaration_id,
        # A v1 event does not say the territory: the book does not guess it.
        territory=event.recipient_territory if isinstance(event, delivery.ActServedV2) else None,
        office_id=event.office_id,
    )
    await contacts.remember_mobile(
        event.recipient_account_id, event.recipient_mobile, declaration_id=event.declaration_id
    )


def _notice_of_service(
    event: delivery.ActServedV1 | delivery.ActServedV3,
    territory: Territory,
    email: str,
    mobile: str | None,
) -> Plan:
    """The notice of availability (CPC 748-3) by e-mail, and by SMS when the person gave a
    mobile."""
    message = values.ActServed(
        act_nature=event.act_nature,
        office_name=event.office_name,
        served_at=event.served_at,
        portal_url=event.portal_url,
        territory=territory,
    )
    channels = [(Channel.EMAIL, email)]
    if mobile:
        channels.append((Channel.SMS, mobile))
    return Plan(
        [
            Request(
                message,
                channel,
                address,
                f"account:{event.recipient_account_id}",
                act_id=event.act_id,
                office_id=event.office_id,
                account_id=event.recipient_account_id,
            )
            for channel, address in channels
        ]
    )


async def _lettre_simple_due(envelope: Envelope, _contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, delivery.LettreSimpleDueV2)
    return _lettre_simple_task(event, event.recipient_territory)


async def _lettre_simple_due_v1(envelope: Envelope, _contacts: ContactBook) -> Plan:
    # Replaced v1 (no territory) still in flight: the task is in Paris's legal time, named.
    event = decode_payload(envelope, delivery.LettreSimpleDueV1)
    return _lettre_simple_task(event, Territory.METROPOLE)


def _lettre_simple_task(event: delivery.LettreSimpleDueV1, territory: Territory) -> Plan:
    message = values.LettreSimpleDue(
        act_id=event.act_id,
        act_nature=event.act_nature,
        requester_name=event.requester_name,
        served_at=event.served_at,
        due_on=event.due_on,
        territory=territory,
    )
    return _mail_to_office(message, event.office_email, event.office_id, event.act_id)


async def _reply_received(envelope: Envelope, _contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, delivery.ReplyReceivedV1)
    message = values.ReplyReceived(
        act_id=event.act_id, reply_id=event.reply_id, received_at=event.received_at
    )
    return _mail_to_office(message, event.office_email, event.office_id, event.act_id)


async def _erasure_certificate(envelope: Envelope, contacts: ContactBook) -> Plan:
    event = decode_payload(envelope, retention.ErasureCertificateIssuedV2)
    # The last message to this person: the address travels in the event, the book forgets it.
    await contacts.forget(event.account_id)
    message = values.ErasureCertificate(
        certificate_id=event.certificate_id, issued_at=event.issued_at
    )
    # The download link is fetched from retention when the e-mail is sent (`notify.links`).
    link_id = certificate_reference(event.certificate_id)
    return _mail_to_account(message, event.email, event.account_id, link_id=link_id)


async def _email_change(envelope: Envelope, _contacts: ContactBook) -> Plan:
    # To the new address, not yet the account's: the book learns it once confirmed.
    event = decode_payload(envelope, identity.EmailChangeRequestedV1)
    message = values.EmailChange(expires_at=event.expires_at)
    return _mail_to_account(message, event.email, event.account_id, link_id=event.link_id)


async def _email_changed(envelope: Envelope, contacts: ContactBook) -> Plan:
    """The previous address (the book's, never the event's) is told where notices go now."""
    event = decode_payload(envelope, identity.EmailChangedV1)
    previous = await contacts.email_for(
        account_id=event.account_id, declaration_id=event.declaration_id
    )
    await contacts.remember_account(
        event.account_id, email=event.email, declaration_id=event.declaration_id
    )
    if previous is None or previous.lower() == event.email.lower():
        return Plan()
    message = values.EmailChanged(changed_at=event.changed_at, new_address=mask_email(event.email))
    return _mail_to_account(message, previous, event.account_id)


async def _mobile_changed(envelope: Envelope, contacts: ContactBook) -> Plan:
    """The person's address is told that SMS notices go to another number (or none)."""
    event = decode_payload(envelope, identity.MobileChangedV1)
    await contacts.remember_mobile(
        event.account_id, event.mobile, declaration_id=event.declaration_id
    )
    email = await contacts.email_for(
        account_id=event.account_id, declaration_id=event.declaration_id
    )
    number = mask_mobile(event.mobile) if event.mobile else None
    message = values.MobileChanged(changed_at=event.changed_at, new_number=number)
    return _mail_to_account(message, email, event.account_id)


async def _declaration_contested(envelope: Envelope, contacts: ContactBook) -> Plan:
    """The registering office is told which parts the person says are wrong (their words
    are in consent, with the declaration)."""
    event = decode_payload(envelope, consent.DeclarationContestedV1)
    message = values.DeclarationContested(
        declaration_id=event.declaration_id,
        parts=[part.value for part in event.parts],
        contested_at=event.contested_at,
    )
    request = Request(
        message,
        Channel.EMAIL,
        contacts.office_email(event.office_id),
        f"office:{event.office_id}",
        office_id=event.office_id,
    )
    return Plan([request])


async def _post_mortem_notice(envelope: Envelope, _contacts: ContactBook) -> Plan:
    """To the person the holder designated; the address is theirs, not the account's, and the
    book never keeps it."""
    event = decode_payload(envelope, identity.PostMortemNoticeRequestedV1)
    message = values.PostMortemNotice(
        name=event.name,
        erasure=event.erasure.value,
        recorded_at=event.recorded_at,
        notice_id=event.notice_id,
    )
    return _mail_to_account(
        message, str(event.email), event.account_id, party=f"designated:{event.notice_id}"
    )


PLANNERS: dict[str, Planner] = {
    identity.ActivationLinkIssuedV2.routing_key(): _activation,
    identity.PasswordResetRequestedV2.routing_key(): _password_reset,
    identity.TermsNoticeIssuedV1.routing_key(): _terms_notice,
    identity.AccountCreatedV1.routing_key(): _account_created,
    identity.AccountTerminatedV1.routing_key(): _account_terminated,
    consent.DeclarationRegisteredV1.routing_key(): _declaration_registered,
    consent.ConsentRevokedV1.routing_key(): _consent_revoked,
    delivery.ActServedV3.routing_key(): _act_served,
    delivery.ActServedV2.routing_key(): _act_served_v2,
    delivery.LettreSimpleDueV2.routing_key(): _lettre_simple_due,
    delivery.ActServedV1.routing_key(): _act_served_v1,
    delivery.LettreSimpleDueV1.routing_key(): _lettre_simple_due_v1,
    delivery.ReplyReceivedV1.routing_key(): _reply_received,
    retention.ErasureCertificateIssuedV2.routing_key(): _erasure_certificate,
    identity.EmailChangeRequestedV1.routing_key(): _email_change,
    identity.EmailChangedV1.routing_key(): _email_changed,
    identity.MobileChangedV1.routing_key(): _mobile_changed,
    consent.DeclarationContestedV1.routing_key(): _declaration_contested,
    identity.PostMortemNoticeRequestedV1.routing_key(): _post_mortem_notice,
}
BULK_EVENTS: tuple[str, ...] = (identity.TermsNoticeIssuedV1.routing_key(),)
URGENT_EVENTS: tuple[str, ...] = tuple(key for key in PLANNERS if key not in BULK_EVENTS)
