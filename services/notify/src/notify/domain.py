"""Pure rules of the notify service: lanes, identities of a notification, address checks and
masking, failure reasons fit for evidence, and the CGU "deemed received" date."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from shared.contracts.notify import Channel, NotificationKind
from shared.legal_calendar import BusinessDays, Territory, first_business_day_after_presentation


class Lane(StrEnum):
    """Sending priority: bulk notices (CGU, maintenance, breach) never hold up the
    transactional messages."""

    URGENT = "urgent"
    BULK = "bulk"


class State(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


# Notices to every account (CGU, maintenance, breach) never hold up an act's notice.
BULK_KINDS: Final = frozenset(
    {
        NotificationKind.TERMS_NOTICE,
        NotificationKind.MAINTENANCE_NOTICE,
        NotificationKind.BREACH_NOTICE,
    }
)
LANE_OF: Final[dict[NotificationKind, Lane]] = {
    kind: Lane.BULK if kind in BULK_KINDS else Lane.URGENT for kind in NotificationKind
}

_EMAIL: Final = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_E164: Final = re.compile(r"^\+[1-9][0-9]{7,14}$")
_ADDRESS_IN_TEXT: Final = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")
_PHONE_IN_TEXT: Final = re.compile(r"\+?[0-9](?:[ .-]?[0-9]){8,}")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]+")
MAX_REASON: Final = 400


def email_problem(address: str) -> str | None:
    """Why an e-mail address cannot be used (None when it can): ASCII addresses only, because
    not every relay speaks SMTPUTF8 and a refusal there would come too late to be useful."""
    if not _EMAIL.match(address):
        return "invalid e-mail address"
    return None


def mobile_problem(number: str) -> str | None:
    """Why a mobile number cannot be texted (None when it can): E.164 only."""
    if not _E164.match(number):
        return "invalid mobile number (E.164 expected)"
    return None


def address_problem(channel: Channel, address: str) -> str | None:
    return email_problem(address) if channel is Channel.EMAIL else mobile_problem(address)


def mask_email(address: str) -> str:
    """`jean.dupont@example.fr` → `j***@example.fr`: enough to match, not enough to reuse."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_mobile(number: str) -> str:
    """`+33612345678` → `+336******78`."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 6) + number[-2:]


def mask(channel: Channel, address: str) -> str:
    return mask_email(address) if channel is Channel.EMAIL else mask_mobile(address)


def recipient_digest(address: str) -> str:
    """A short stable digest of an address: part of identifiers, never a way back to it."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:16]


def notification_id(event_id: str, channel: Channel, address: str) -> str:
    """The identity of one notification: one per (event, channel, recipient), whatever the
    number of deliveries of the event. Its uniqueness is what makes the effect exactly-once."""
    return f"{event_id}.{channel.value}.{recipient_digest(address)}"


def message_id(event_id: str, channel: Channel, address: str, domain: str) -> str:
    """The Message-ID (RFC 5322 msg-id, without brackets) derived from the event: a message
    re-sent after a crash carries the same id, so receiving systems can drop the duplicate."""
    return f"{notification_id(event_id, channel, address)}@{domain}"


def email_domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def redact(text: str) -> str:
    """A server's answer made fit for evidence and events: addresses and phone numbers
    replaced, control characters removed, length bounded."""
    cleaned = _CONTROL.sub(" ", text)
    cleaned = _ADDRESS_IN_TEXT.sub("<adresse>", cleaned)
    cleaned = _PHONE_IN_TEXT.sub("<numéro>", cleaned)
    return " ".join(cleaned.split())[:MAX_REASON]


def deemed_received_on(
    first_presentation: datetime,
    territories: Iterable[Territory],
    policy: BusinessDays = BusinessDays.JOURS_OUVRES,
) -> date:
    """When a CGU notice is deemed received (CGU §16): the first business day after its first
    presentation. Notify does not know the recipient's territory, so the latest date over the
    candidate territories is taken: a later deemed date can only give the recipient more time.
    """
    return max(
        first_business_day_after_presentation(first_presentation, territory, policy)
        for territory in territories
    )
