"""Events of the delivery service.

Notify consumes the first three events, so their fields are fixed (optional fields may be
added); the others follow the rest of an act's life.

Personal data is limited to what a consumer needs: no contact datum of the recipient (since
`act-served.v3`, notify finds the recipient's e-mail and mobile in its own contact book; v1 and
v2 carried them), the office's professional e-mail for the tasks sent to the office, the
requester's name in the lettre-simple task (the office must write the letter). Never the act's
content, title or file name: only its nature.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import register
from shared.legal_calendar.territories import Territory


@register
class ActServedV1(EventPayload):
    """An act was deposited and is available to its recipient (ETSI `ContentConsignment`):
    `served_at` is the legal date and hour of the service (CPC 664-1, R-date).

    Subject: `act:<act_id>`. Produced by the delivery service (later issue): it must publish
    exactly this contract. Notify e-mails the recipient (and texts the mobile, if any) that an
    act is waiting, with the nature, the office's name and the portal link; the requester
    (*requérant*) is deliberately absent: the notice does not need it.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "act-served"
    version: ClassVar[int] = 1

    act_id: str
    declaration_id: str
    recipient_account_id: str
    recipient_email: EmailStr
    recipient_mobile: str | None = Field(default=None, description="E.164, when one was declared")
    act_nature: str = Field(max_length=200, description="e.g. 'signification de jugement'")
    office_id: str = Field(description="the serving office (étude); reads of the act's trail")
    office_name: str = Field(max_length=300)
    served_at: AwareDatetime
    portal_url: str = Field(description="where the recipient logs in to read the act")
    act_sha256: str | None = Field(
        default=None, description="SHA-256 of the act's plaintext (its fingerprint in evidence)"
    )
    submitted_at: AwareDatetime | None = Field(
        default=None, description="when the office submitted it (earlier if it was scheduled)"
    )
    probe: bool = Field(
        default=False,
        description="a synthetic act of the platform's availability probe: its consumers may "
        "leave it out of counts and statistics",
    )


@register
class LettreSimpleDueV1(EventPayload):
    """The service was finalised *à domicile* (CPC 662-1 al. 3): the office must send a plain
    letter by `due_on`, the first *jour ouvrable* after the service in the office's territory.
    This is the task issued to the office, not the letter: the relay to paper (ETSI
    `RelayToNonERDS`) is recorded when the office declares the letter posted
    (`delivery.lettre-simple-posted.v1`).

    Subject: `act:<act_id>`. Notify e-mails the task to the office.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "lettre-simple-due"
    version: ClassVar[int] = 1

    act_id: str
    office_id: str
    office_email: EmailStr
    act_nature: str = Field(max_length=200)
    requester_name: str = Field(max_length=300, description="the requérant, for the office")
    served_at: AwareDatetime
    due_on: date


@register
class ActServedV2(ActServedV1):
    """An act was deposited and is available to its recipient (ETSI `ContentConsignment`), with
    the recipient's territory: the notice of availability (CPC 748-3, which stands for the
    visa) states the date and hour of the service in the recipient's legal time and names it
    (décret 2017-292). Replaces v1, which carried no territory (its notices are given in
    Paris's legal time, named). Every v1 field, same meaning.

    Subject: `act:<act_id>`. Notify e-mails (and texts) the recipient; retention keeps the
    account's contact data.
    """

    version: ClassVar[int] = 2

    recipient_territory: Territory = Field(
        description="the recipient's territory (its legal time dates the notice)"
    )


@register
class ActServedV3(EventPayload):
    """An act was deposited and is available to its recipient (ETSI `ContentConsignment`):
    `served_at` is the legal date and hour of the service (CPC 664-1), given in the
    recipient's territory's legal time, named, by the notice of availability (CPC 748-3).
    Replaces v2 without the recipient's e-mail and mobile: the journal keeps every event, and
    audit needs no contact datum; notify reaches the person through its own contact book (fed by
    the registry's and identity's events, purged with the person's other data), found by the
    account and declaration ids. Every other v2 field, same meaning.

    Subject: `act:<act_id>`. Notify e-mails (and texts) the recipient; retention records the
    act served to the account.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "act-served"
    version: ClassVar[int] = 3

    act_id: str
    declaration_id: str
    recipient_account_id: str
    act_nature: str = Field(max_length=200, description="e.g. 'signification de jugement'")
    office_id: str = Field(description="the serving office (étude); reads of the act's trail")
    office_name: str = Field(max_length=300)
    served_at: AwareDatetime
    portal_url: str = Field(description="where the recipient logs in to read the act")
    act_sha256: str | None = Field(
        default=None, description="SHA-256 of the act's plaintext (its fingerprint in evidence)"
    )
    submitted_at: AwareDatetime | None = Field(
        default=None, description="when the office submitted it (earlier if it was scheduled)"
    )
    recipient_territory: Territory = Field(
        description="the recipient's territory (its legal time dates the notice)"
    )
    probe: bool = Field(
        default=False,
        description="a synthetic act of the platform's availability probe: its consumers may "
        "leave it out of counts and statistics",
    )


@register
class LettreSimpleDueV2(LettreSimpleDueV1):
    """The lettre simple task (CPC 662-1 al. 3, see v1), with the recipient's territory: the
    task gives the service's date and hour in the recipient's legal time, named, as the letter
    to the recipient will state it. `due_on` stays a date of the office's territory. Replaces
    v1, which carried no territory (its tasks are given in Paris's legal time, named).

    Subject: `act:<act_id>`. Notify e-mails the task to the office.
    """

    version: ClassVar[int] = 2

    recipient_territory: Territory = Field(
        description="the recipient's territory (its legal time dates the service)"
    )


@register
class ReplyReceivedV1(EventPayload):
    """The recipient replied to an act through the portal.

    Subject: `act:<act_id>`. Produced by the delivery service (later issue): it must publish
    exactly this contract. Notify tells the office a reply is waiting (never its content).
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "reply-received"
    version: ClassVar[int] = 1

    act_id: str
    office_id: str
    office_email: EmailStr
    reply_id: str
    received_at: AwareDatetime


@register
class ReplyRefusedV1(EventPayload):
    """A recipient's reply was refused by the malware scan and not kept: journaled with the
    scanner's verdict and signature name, never the content or the file name.

    Subject: `act:<act_id>`.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "reply-refused"
    version: ClassVar[int] = 1

    act_id: str
    office_id: str
    recipient_account_id: str
    refused_at: AwareDatetime
    outcome: str = Field(description="the scan outcome: infected")
    scanner: str = Field(description="who scanned: clamav")
    signature: str | None = Field(default=None, max_length=200)
    bytes_scanned: int = Field(ge=0)


# -- events of the delivery gateway beyond the three fixed above ----------------------------
#
# Each names its ETSI EN 319 522 evidence in its docstring. None carries the act's content,
# title, file name or the requester's name (except the lettre-simple task, which must).


class ServiceQuality(StrEnum):
    """CPC 662-1: the quality of an electronic service, decided at the end of its day."""

    A_PERSONNE = "a_personne"
    A_DOMICILE = "a_domicile"


class RejectionReason(BaseModel):
    """One reason of a `SubmissionRejection`: a stable code and a safe explanation."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(max_length=100, description="e.g. consent_revoked, window_closed")
    detail: str = Field(max_length=500, description="why, without personal data")


class WindowClosure(BaseModel):
    """CPC 664: one territory whose service window was closed at the instant considered."""

    model_config = ConfigDict(frozen=True)

    territory: str
    reason: str = Field(description="sunday | holiday | before_06_00 | from_21_00")
    local_time: str = Field(description="the instant in the territory's legal time (ISO 8601)")


@register
class ActScheduledV1(EventPayload):
    """The deposit was accepted outside the CPC 664 window and will be made at the next
    opening (`SubmissionAcceptance`, consignment deferred). The legal date will be the actual
    deposit instant, published later with `delivery.act-served.v2`.

    Subject: `act:<act_id>`.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "act-scheduled"
    version: ClassVar[int] = 1

    act_id: str
    declaration_id: str
    office_id: str
    act_nature: str
    act_sha256: str
    submitted_at: AwareDatetime
    scheduled_for: AwareDatetime
    closures: list[WindowClosure]


@register
class ActRejectedV1(EventPayload):
    """A submission was refused (`SubmissionRejection`), with its reasons. Also published when
    a scheduled act cannot be deposited at its opening (consent ended meanwhile).

    Subject: `act:<act_id>` when an act id was assigned, else `office:<office_id>`.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "act-rejected"
    version: ClassVar[int] = 1

    office_id: str
    act_id: str | None = None
    declaration_id: str | None = None
    act_nature: str | None = None
    act_sha256: str | None = None
    rejected_at: AwareDatetime
    reasons: list[RejectionReason] = Field(min_length=1)


@register
class JudgeLeaveUsedV1(EventPayload):
    """An act was served outside the CPC 664 window under a judge's leave (*permission du
    juge*), journaled with the leave document's fingerprint and the closures it overrode.

    Subject: `act:<act_id>`.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "judge-leave-used"
    version: ClassVar[int] = 1

    act_id: str
    office_id: str
    leave_sha256: str
    leave_size: int = Field(ge=1)
    used_at: AwareDatetime
    closures: list[WindowClosure]


@register
class ActHandedOverV1(EventPayload):
    """The recipient's first complete download of the act's content: the *prise de
    connaissance* (`ContentHandover`), at the instant the last byte was written to the client.
    An opened but aborted transfer is no cognisance (`delivery.act-content-opened.v1` only).
    Recorded once; later downloads publish nothing.

    Subject: `act:<act_id>`.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "act-handed-over"
    version: ClassVar[int] = 1

    act_id: str
    office_id: str
    recipient_account_id: str
    act_sha256: str
    served_at: AwareDatetime
    handed_over_at: AwareDatetime


@register
class ServiceQualityDeterminedV1(EventPayload):
    """At the end of the sending day (legal time) the service was finalised *à personne*
    (with the date and hour of cognisance, CPC 663) or *à domicile* (then
    `delivery.lettre-simple-due.v2`, the task to the office, follows).

    Subject: `act:<act_id>`.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "service-quality-determined"
    version: ClassVar[int] = 1

    act_id: str
    office_id: str
    quality: ServiceQuality
    served_at: AwareDatetime
    handed_over_at: AwareDatetime | None
    determined_at: AwareDatetime
    lettre_simple_due_on: date | None = None


class JudgeLeaveOrder(BaseModel):
    """What the office declares of the judge's leave (CPC 664) it uploads: the order's date and
    who gave it, as the order names them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ordered_on: date = Field(description="the date of the order (ordonnance)")
    issued_by: str = Field(
        min_length=1, max_length=300, description="the court (and judge) that gave leave"
    )


@register
class JudgeLeaveUsedV2(EventPayload):
    """An act was served outside the CPC 664 window under a judge's leave (*permission du
    juge*): the leave document's fingerprint (bound to this act: a leave that authorised
    another office's act is refused), the order's date and author as the office declared them,
    and the closures it overrode. Replaces v1, which carried no order.

    Subject: `act:<act_id>`.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "judge-leave-used"
    version: ClassVar[int] = 2

    act_id: str
    office_id: str
    act_sha256: str
    leave_sha256: str
    leave_size: int = Field(ge=1)
    order: JudgeLeaveOrder
    used_at: AwareDatetime
    closures: list[WindowClosure]


@register
class ActContentOpenedV1(EventPayload):
    """The recipient opened the act's content stream (journaled access). Not the *prise de
    connaissance*: that is the complete download (`delivery.act-handed-over.v1`); an opening
    whose transfer is aborted stays this event alone.

    Subject: `act:<act_id>`.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "act-content-opened"
    version: ClassVar[int] = 1

    act_id: str
    office_id: str
    recipient_account_id: str
    opened_at: AwareDatetime


@register
class LettreSimplePostedV1(EventPayload):
    """The serving office declared the CPC 662-1 lettre simple posted (ETSI `RelayToNonERDS`):
    the date of posting and, when it has one, the postal tracking reference.

    Subject: `act:<act_id>`.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "lettre-simple-posted"
    version: ClassVar[int] = 1

    act_id: str
    office_id: str
    posted_on: date
    tracking_reference: str | None = Field(default=None, max_length=100)
    due_on: date
    recorded_at: AwareDatetime


@register
class ActHeldV1(EventPayload):
    """The deposit was accepted (`SubmissionAcceptance`, consignment deferred) but the
    recipient's account is suspended: the act waits for the reinstatement, then is scheduled
    for the window's next opening. The legal date will be the actual deposit instant.

    Subject: `act:<act_id>`.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "act-held"
    version: ClassVar[int] = 1

    act_id: str
    declaration_id: str
    office_id: str
    act_nature: str
    act_sha256: str
    submitted_at: AwareDatetime
    held_at: AwareDatetime
    reason: str = Field(description="recipient_suspended")


class ConsentEndReason(StrEnum):
    """Why a consent ended (the declaration's final status)."""

    REVOKED = "revoked"
    EXPIRED = "expired"
    TERMINATED = "terminated"
    REFUSED = "refused"


@register
class ActServedAfterConsentEndV1(EventPayload):
    """An act was served at or after the instant its consent ended, an end delivery learnt
    of later (an end decided at identity reaches consent over the bus; a revocation decided
    while the registry's answer was on its way): the act is flagged, a negative evidence
    record says so, and the office is told. Serving is not undone (CPC 664-1: the act was
    sent); what follows is the office's decision.

    Subject: `act:<act_id>`.
    """

    producer: ClassVar[str] = "delivery"
    fact: ClassVar[str] = "act-served-after-consent-end"
    version: ClassVar[int] = 1

    act_id: str
    declaration_id: str
    office_id: str
    act_sha256: str
    served_at: AwareDatetime
    consent_ended_at: AwareDatetime = Field(description="when the end was decided")
    reason: ConsentEndReason
    detected_at: AwareDatetime = Field(description="when delivery learnt of the end")
