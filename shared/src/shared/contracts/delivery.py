"""Events of the delivery service.

The delivery service is built in a later issue; notify (issue 7) already consumes the three
events below, so they are fixed here first. **The delivery service must publish exactly these
contracts** (same routing keys, same fields); it may add further events of its own.

Personal data is limited to what notify needs to reach the person: the recipient's e-mail (and
mobile, when one was declared) for the act-served notice, the office's e-mail for the tasks sent
to the office. Never the act's content, title or file name: only its nature.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import AwareDatetime, EmailStr, Field

from shared.contracts.envelope import EventPayload
from shared.contracts.registry import register


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


@register
class LettreSimpleDueV1(EventPayload):
    """The service was finalised *à domicile* (CPC 662-1 al. 3): the office must send a plain
    letter by `due_on`, the first *jour ouvrable* after the service (ETSI `RelayToNonERDS`).

    Subject: `act:<act_id>`. Produced by the delivery service (later issue): it must publish
    exactly this contract. Notify e-mails the task to the office.
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
