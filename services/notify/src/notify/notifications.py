"""The notification aggregate: one typed record per (event, channel, recipient), its state
changes as methods returning the changed notification and the event the change causes.

`queued → sending` (a claim; `data_sent_at` once the relay may have the message) → `sent` or
`failed`, or back to `queued` (a retry after a transient failure, or a claim whose sender died).
The address, the rendered content and a link message's template values are kept only until the
outcome is recorded; the history keeps ids, states, dates and the masked address (until a
contact purge scrubs it). Instants are stored as `to_iso` text, the form the queries compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Self, TypedDict

from pydantic import BaseModel, ConfigDict, Field, model_validator

from notify.domain import LANE_OF, Lane, State, email_domain, mask, message_id, notification_id
from notify.values import Instant, MessageValues, StoredValues
from shared.contracts.notify import (
    Channel,
    NotificationFailedV1,
    NotificationKind,
    NotificationSentV1,
)
from shared.store.port import VERSION, Document

MAX_REASON = 500
UNKNOWN_ADDRESS = "unknown"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EmailContent(_Part):
    subject: str
    text: str
    html: str


class SmsContent(_Part):
    sms: str


Content = EmailContent | SmsContent


class PendingLink(_Part):
    """A link message waiting to be sent: the link's id at identity, the template value it goes
    in, and the other template values (the login identifier among them)."""

    link_id: str
    field: str
    context: StoredValues


class LinkReference(_Part):
    """What stays of a link message once its outcome is known: the link's id only."""

    link_id: str


@dataclass(frozen=True)
class Cause:
    """The event a notification comes from (its id, type, subject and correlation)."""

    event_id: str
    type: str
    subject: str
    correlation_id: str


@dataclass(frozen=True)
class Request:
    """One message an event asks for. `address` None: no address is known (a failure to
    record). `link_id`: a link fetched at send time into `values.link_field`."""

    values: MessageValues
    channel: Channel
    address: str | None
    recipient: str
    act_id: str | None = None
    office_id: str | None = None
    account_id: str | None = None
    link_id: str | None = None

    @property
    def kind(self) -> NotificationKind:
        return self.values.kind


class _Facts(TypedDict):
    """What both evidence events say about the notification."""

    notification_id: str
    kind: NotificationKind
    channel: Channel
    recipient: str
    recipient_masked: str
    message_id: str
    source_event_id: str
    source_type: str
    attempts: int
    act_id: str | None
    office_id: str | None


class Notification(BaseModel):
    """One message to one recipient over one channel, and what became of it."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(alias="_id")
    version: int | None = Field(default=None, alias=VERSION, exclude=True)
    """The store's version when read (None before the first insert)."""
    event_id: str
    source_type: str
    correlation_id: str
    subject: str
    kind: NotificationKind
    channel: Channel
    lane: Lane
    recipient: str
    recipient_masked: str
    address: str | None
    domain: str
    """The rate limiter's key: the e-mail domain, or `sms`."""
    message_id: str
    act_id: str | None
    office_id: str | None
    account_id: str | None
    content: Content | None
    link: PendingLink | LinkReference | None
    state: State
    attempts: int
    created_at: Instant
    next_attempt_at: Instant
    claimed_at: Instant | None
    claim_owner: str | None
    data_sent_at: Instant | None
    accepted_at: Instant | None
    failed_at: Instant | None
    reason: str | None
    permanent: bool | None
    deemed_received_on: date | None
    resent_after_crash: int = 0
    contact_purged_at: Instant | None = None
    updated_at: Instant | None = None
    trace: dict[str, str] = Field(default_factory=dict, exclude_if=lambda carrier: not carrier)
    """The W3C context of the event's handling (`traceparent`): the send continues its trace."""
    claimed_before_data_mark: bool = Field(default=False, exclude=True)
    """A claim written before `data_sent_at` existed: it may have gone as far as DATA."""

    @model_validator(mode="before")
    @classmethod
    def _older_claims(cls, data: object) -> object:
        if isinstance(data, dict) and "data_sent_at" not in data:
            return {**data, "data_sent_at": None, "claimed_before_data_mark": True}
        return data

    def document(self) -> Document:
        """The stored form (without `_version`: the repository passes it to the store)."""
        return self.model_dump(mode="json", by_alias=True)

    # -- intake ----------------------------------------------------------------------------

    @classmethod
    def planned(
        cls,
        cause: Cause,
        request: Request,
        *,
        message_id_domain: str,
        now: datetime,
        content: Content | None = None,
        link: PendingLink | None = None,
    ) -> Self:
        """A queued notification (the id makes it one per event, channel and address)."""
        key = request.address or UNKNOWN_ADDRESS
        address = request.address
        return cls(
            id=notification_id(cause.event_id, request.channel, key),
            event_id=cause.event_id,
            source_type=cause.type,
            correlation_id=cause.correlation_id,
            subject=cause.subject,
            kind=request.kind,
            channel=request.channel,
            lane=LANE_OF[request.kind],
            recipient=request.recipient,
            recipient_masked=mask(request.channel, address) if address else "",
            address=address,
            domain=email_domain(address) if address and request.channel is Channel.EMAIL else "sms",
            message_id=message_id(cause.event_id, request.channel, key, message_id_domain),
            act_id=request.act_id,
            office_id=request.office_id,
            account_id=request.account_id,
            content=content,
            link=link,
            state=State.QUEUED,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
            claimed_at=None,
            claim_owner=None,
            data_sent_at=None,
            accepted_at=None,
            failed_at=None,
            reason=None,
            permanent=None,
            deemed_received_on=None,
        )

    def refused(self, problem: str, at: datetime) -> tuple[Self, NotificationFailedV1]:
        """Nothing can be sent (no address, an invalid one, a message not renderable)."""
        return self.failed(problem, permanent=True, at=at)

    @property
    def cause(self) -> Cause:
        return Cause(self.event_id, self.source_type, self.subject, self.correlation_id)

    # -- sending ---------------------------------------------------------------------------

    @property
    def settled(self) -> bool:
        return self.state in (State.SENT, State.FAILED)

    def claimed(self, owner: str, now: datetime) -> Self:
        return self.model_copy(
            update={
                "state": State.SENDING,
                "attempts": self.attempts + 1,
                "claimed_at": now,
                "claim_owner": owner,
                "data_sent_at": None,
            }
        )

    def data_sent(self, now: datetime) -> Self:
        """The message itself is about to go: from now on the relay may accept it."""
        return self.model_copy(update={"data_sent_at": now})

    def delivered(self, at: datetime, deemed: date | None) -> tuple[Self, NotificationSentV1]:
        done = self.model_copy(
            update={
                "state": State.SENT,
                "accepted_at": at,
                "deemed_received_on": deemed,
                "reason": None,
                **self._forgotten(),
            }
        )
        payload = NotificationSentV1(**done._facts(), accepted_at=at, deemed_received_on=deemed)
        return done, payload

    def retried(self, reason: str, at: datetime) -> Self:
        """Back in the queue until `at` after a transient failure."""
        return self.model_copy(
            update={
                "state": State.QUEUED,
                "next_attempt_at": at,
                "reason": reason,
                "claimed_at": None,
                "claim_owner": None,
                "data_sent_at": None,
            }
        )

    def failed(
        self, reason: str, *, permanent: bool, at: datetime
    ) -> tuple[Self, NotificationFailedV1]:
        done = self.model_copy(
            update={
                "state": State.FAILED,
                "failed_at": at,
                "reason": reason[:MAX_REASON],
                "permanent": permanent,
                **self._forgotten(),
            }
        )
        payload = NotificationFailedV1(
            **done._facts(),
            failed_at=at,
            reason=done.reason or "unknown",
            permanent=permanent,
        )
        return done, payload

    def requeued_after_stale_claim(self, now: datetime) -> tuple[Self, bool]:
        """A claim whose sender died, back in the queue; True when it is the ambiguous case
        (the relay may have had the message: it is sent again, flagged)."""
        ambiguous = self.claimed_before_data_mark or self.data_sent_at is not None
        requeued = self.model_copy(
            update={
                "state": State.QUEUED,
                "next_attempt_at": now,
                "claimed_at": None,
                "claim_owner": None,
                "data_sent_at": None,
                "claimed_before_data_mark": False,
                "resent_after_crash": self.resent_after_crash + int(ambiguous),
            }
        )
        return requeued, ambiguous

    def _forgotten(self) -> dict[str, object]:
        """Once the outcome is known the address, the content and a link message's template
        values go (only the link's id stays)."""
        link = LinkReference(link_id=self.link.link_id) if self.link is not None else None
        return {"address": None, "content": None, "link": link}

    def _facts(self) -> _Facts:
        return {
            "notification_id": self.id,
            "kind": self.kind,
            "channel": self.channel,
            "recipient": self.recipient,
            "recipient_masked": self.recipient_masked,
            "message_id": self.message_id,
            "source_event_id": self.event_id,
            "source_type": self.source_type,
            "attempts": self.attempts,
            "act_id": self.act_id,
            "office_id": self.office_id,
        }
