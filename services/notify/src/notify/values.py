"""What each kind of message shows: one typed model of template values per notification kind,
built from the event that asked for it.

A link message (activation, reset) names the value its link goes in (`link_field`): the event
only names the link by id, and the sender fills the value with identity's answer at send time
(`with_link`); a retired V1 event still carries the link itself in that value. Values kept for
a link message are stored in the form `stored()` gives (instants as `to_iso` text, named in
`instants`), the form rows already in the store have.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, JsonValue, PlainSerializer

from shared.contracts.notify import NotificationKind
from shared.legal_calendar import Territory
from shared.store.port import from_iso, to_iso


def _stored_instant(value: object) -> object:
    return from_iso(value) if isinstance(value, str) else value


Instant = Annotated[
    datetime,
    BeforeValidator(_stored_instant),
    PlainSerializer(to_iso, return_type=str, when_used="json"),
]
"""An aware instant, stored as fixed-width `to_iso` text (text order is time order)."""

LINK_STAND_IN: Final = "https://link.invalid/stand-in"
"""What a link message is first rendered with, at intake: a template problem shows at once."""


class MessageValues(BaseModel):
    """The values the templates of one kind read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[NotificationKind]
    link_field: ClassVar[str | None] = None

    def template_values(self) -> dict[str, object]:
        """The values as the templates see them (instants as instants; a link not filled in
        is None, which the templates refuse)."""
        return dict(self)

    def with_link(self, url: str) -> MessageValues:
        """These values with the link in `link_field` (held in memory only)."""
        assert self.link_field is not None
        return self.model_copy(update={self.link_field: url})

    def stored(self) -> StoredValues:
        values = self.model_dump(mode="json", exclude_none=True)
        instants = sorted(name for name, value in self if isinstance(value, datetime))
        return StoredValues(values=values, instants=instants)


class StoredValues(BaseModel):
    """Template values as a stored document (the kind's model reads them back)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    values: dict[str, JsonValue]
    instants: list[str]

    def restored(self, kind: NotificationKind) -> MessageValues:
        return VALUES_OF[kind].model_validate(self.values)


class Activation(MessageValues):
    kind = NotificationKind.ACTIVATION
    link_field = "activation_url"

    identifier: str
    expires_at: Instant
    activation_url: str | None = None
    """Filled at send time; only a retired V1 event carries it at intake."""


class PasswordReset(MessageValues):
    kind = NotificationKind.PASSWORD_RESET
    link_field = "reset_url"

    expires_at: Instant
    reset_url: str | None = None
    """Filled at send time; only a retired V1 event carries it at intake."""


class TermsNotice(MessageValues):
    kind = NotificationKind.TERMS_NOTICE

    terms_version: int
    effective_at: Instant


class AccountTerminated(MessageValues):
    kind = NotificationKind.ACCOUNT_TERMINATED

    terminated_at: Instant


class ConsentRevoked(MessageValues):
    kind = NotificationKind.CONSENT_REVOKED

    revoked_at: Instant


class ActServed(MessageValues):
    """The notice of availability (CPC 748-3): the service's date and hour in the recipient's
    legal time (`territory`), named."""

    kind = NotificationKind.ACT_SERVED

    act_nature: str
    office_name: str
    served_at: Instant
    portal_url: str
    territory: Territory


class LettreSimpleDue(MessageValues):
    """The lettre simple task: the service's date and hour in the recipient's legal time
    (`territory`), named, as the letter states them; `due_on` is the office's date."""

    kind = NotificationKind.LETTRE_SIMPLE_DUE

    act_id: str
    act_nature: str
    requester_name: str
    served_at: Instant
    due_on: date
    territory: Territory


class ReplyReceived(MessageValues):
    kind = NotificationKind.REPLY_RECEIVED

    act_id: str
    reply_id: str
    received_at: Instant


class ErasureCertificate(MessageValues):
    kind = NotificationKind.ERASURE_CERTIFICATE
    link_field = "download_url"

    certificate_id: str
    issued_at: Instant
    download_url: str | None = None
    """Filled at send time (fetched from retention); only a retired V1 event carries it at
    intake."""


class EmailChange(MessageValues):
    """The confirmation link of a new notification address, sent to that address."""

    kind = NotificationKind.EMAIL_CHANGE
    link_field = "confirmation_url"

    expires_at: Instant
    confirmation_url: str | None = None
    """Filled at send time (fetched from identity)."""


class EmailChanged(MessageValues):
    """To the previous address: notices now go to another one (masked)."""

    kind = NotificationKind.EMAIL_CHANGED

    changed_at: Instant
    new_address: str


class MobileChanged(MessageValues):
    """To the person's address: SMS notices now go to another number (masked), or none."""

    kind = NotificationKind.MOBILE_CHANGED

    changed_at: Instant
    new_number: str | None


class DeclarationContested(MessageValues):
    """To the office: the person refused the declaration it registered as wrong."""

    kind = NotificationKind.DECLARATION_CONTESTED

    declaration_id: str
    parts: list[str]
    contested_at: Instant


class PostMortemNotice(MessageValues):
    """To the person a holder designated in their post-mortem directives: the holder's death
    is recorded, and how their data is treated (`erasure`: at_once or scheduled)."""

    kind = NotificationKind.POST_MORTEM_NOTICE

    name: str
    erasure: str
    recorded_at: Instant
    notice_id: str


class MaintenanceNotice(MessageValues):
    """A planned maintenance, its start and end in the person's legal time (`territory`: of
    the last act served to them; Paris's when none is known), named."""

    kind = NotificationKind.MAINTENANCE_NOTICE

    starts_at: Instant
    ends_at: Instant
    description: str
    territory: Territory


class BreachNotice(MessageValues):
    """A personal data breach (RGPD art. 34 §2): its nature, likely consequences, the measures
    taken or proposed and the contact point, in the operator's words; the notice's date in the
    person's legal time, named."""

    kind = NotificationKind.BREACH_NOTICE

    nature: str
    consequences: str
    measures: str
    contact: str
    issued_at: Instant
    territory: Territory


VALUES_OF: Final[dict[NotificationKind, type[MessageValues]]] = {
    values.kind: values
    for values in (
        Activation,
        PasswordReset,
        TermsNotice,
        AccountTerminated,
        ConsentRevoked,
        ActServed,
        LettreSimpleDue,
        ReplyReceived,
        ErasureCertificate,
        EmailChange,
        EmailChanged,
        MobileChanged,
        DeclarationContested,
        PostMortemNotice,
        MaintenanceNotice,
        BreachNotice,
    )
}
