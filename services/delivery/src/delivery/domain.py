"""The delivery gateway's pure rules: what an act's metadata may say, what a readable PDF looks
like, which consent may carry an act, the CPC 664 window, and the CPC 662-1 quality of service.

No I/O here: the use cases (wired in `delivery.service`) feed these functions what they read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from delivery.consent import ConsentAnswer
from shared import documents
from shared.contracts.consent import ActNature
from shared.contracts.delivery import (
    ConsentEndReason,
    JudgeLeaveOrder,
    RejectionReason,
    ServiceQuality,
    WindowClosure,
)
from shared.jsondoc import JsonObject
from shared.legal_calendar import (
    ServiceZones,
    Territory,
    first_statutory_jour_ouvrable_after,
    governing_territories,
    legal_date,
    next_window_opening,
    same_legal_day,
    window_closures,
)

# The document inspectors are the kernel's (one strictness for every upload), re-exported.
ContentError = documents.ContentError
ContentProblem = documents.ContentProblem
PdfInspector = documents.PdfInspector
ReplyInspector = documents.DocumentInspector
ReplyMediaType = documents.MediaType

# -- metadata ---------------------------------------------------------------------------------


def _printable(value: str) -> str:
    """Refuse control characters (other than none at all): they have no place in a title or a
    name and would corrupt logs, letters and headers."""
    cleaned = value.strip()
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in cleaned):
        raise ValueError("control or unassigned characters are not allowed")
    if not cleaned:
        raise ValueError("must not be blank")
    return cleaned


Text = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_printable)]
Reference = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_printable)]


class ActMetadata(BaseModel):
    """The JSON `metadata` part of `POST /v1/acts`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    declaration_id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
    nature: ActNature
    title: Text
    requester_name: Text = Field(description="the requérant (CPC 662-1 lettre simple)")
    office_reference: Reference
    schedule_if_closed: bool = False
    """Accept the act when it cannot be served now (CPC 664's window closed, the recipient's
    account suspended) and serve it as soon as it can be."""
    judge_leave: JudgeLeaveOrder | None = None
    """The order behind a `judge_leave` file (required with one): its date and author."""

    def fingerprint_fields(self) -> JsonObject:
        """The metadata as it counts for idempotency: JSON, hashed in canonical form."""
        return self.model_dump(mode="json")


def safe_filename(name: str | None) -> str | None:
    """A client's file name reduced to something harmless to store and show: its last path
    segment, without control characters, at most 200 characters. Never used as a path."""
    if name is None:
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    base = base.lstrip(".")
    return base[:200] or None


# -- consent ----------------------------------------------------------------------------------


class ConsentProblem(StrEnum):
    UNKNOWN = "consent-unknown"
    NOT_ACTIVE = "consent-not-active"
    OUT_OF_SCOPE = "consent-out-of-scope"
    EXPIRED = "consent-expired"


@dataclass(frozen=True)
class ConsentRefusal:
    problem: ConsentProblem
    detail: str

    def reason(self) -> RejectionReason:
        return RejectionReason(code=self.problem.value.replace("-", "_"), detail=self.detail)


class Declaration(BaseModel):
    """Delivery's view of a consent declaration (kept by `delivery.parties` from consent's and
    identity's events, which may arrive in any order: any member may still be missing). It
    addresses the recipient (account, e-mail, mobile) and serves views; whether the consent
    allows serving is the registry's answer (`delivery.consent`), never this copy's."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id")
    status: str | None = None
    email: str | None = None
    mobile: str | None = None
    account_id: str | None = None
    scope: tuple[str, ...] = ()
    valid_until: date | None = None
    territory: Territory | None = None
    ended_at: datetime | None = None
    """When the consent ended, once an end event arrived."""


_ENDED: Final = frozenset(reason.value for reason in ConsentEndReason)


def ended_by(declaration: Declaration | None, instant: datetime) -> ConsentRefusal | None:
    """An end the registry decided after it answered, already known here at `instant`: the
    act is refused (an end learnt after the act commits flags it, `delivery.reconciliation`)."""
    if declaration is None or declaration.status not in _ENDED or declaration.ended_at is None:
        return None
    if declaration.ended_at > instant:
        return None
    return ConsentRefusal(ConsentProblem.NOT_ACTIVE, f"the consent is {declaration.status}")


@dataclass(frozen=True)
class Recipient:
    """Whom an act is served on: the account and where its notice goes (delivery's view),
    in the territory the registry answered."""

    account_id: str
    email: str
    mobile: str | None
    territory: Territory


def check_consent(
    answer: ConsentAnswer | None,
    declaration: Declaration | None,
    nature: ActNature,
    instant: datetime,
) -> ConsentRefusal | Recipient:
    """R-consent (CPC 748-2): an act is served only on a consent the registry answers active,
    covering its nature and valid at the sending instant (its last day in the territory's
    legal time); then, on the recipient delivery can address. The refusal otherwise."""
    if answer is None:
        return ConsentRefusal(ConsentProblem.UNKNOWN, "no consent is known for this declaration")
    if not answer.active:
        status = answer.ended.reason.value if answer.ended else "not active"
        return ConsentRefusal(ConsentProblem.NOT_ACTIVE, f"the consent is {status}")
    if nature.value not in answer.scope:
        return ConsentRefusal(
            ConsentProblem.OUT_OF_SCOPE, f"the consent does not cover acts of nature {nature}"
        )
    if answer.valid_until is not None and legal_date(instant, answer.territory) > (
        answer.valid_until
    ):
        return ConsentRefusal(ConsentProblem.EXPIRED, "the consent's duration is over")
    if declaration is None or not declaration.account_id or not declaration.email:
        # Active at the registry before its registration or activation reached us: the
        # recipient cannot be addressed yet (the office retries).
        return ConsentRefusal(ConsentProblem.NOT_ACTIVE, "the consent is not fully known yet")
    return Recipient(
        account_id=declaration.account_id,
        email=declaration.email,
        mobile=declaration.mobile,
        territory=answer.territory,
    )


# -- window -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowCheck:
    """CPC 664 at one instant for a recipient and an office."""

    closures: tuple[WindowClosure, ...]
    next_opening: datetime

    @property
    def open(self) -> bool:
        return not self.closures


def check_window(
    instant: datetime,
    recipient: Territory,
    office: Territory,
    policy: ServiceZones = ServiceZones.RECIPIENT_AND_OFFICE,
) -> WindowCheck:
    """Whether `instant` lies in the service window of every governing territory, and when the
    common window next opens (`instant` itself when open)."""
    zones = governing_territories(recipient, office, policy)
    closures = tuple(
        WindowClosure(
            territory=c.territory.value, reason=c.reason.value, local_time=c.local_time.isoformat()
        )
        for c in window_closures(instant, sorted(zones))
    )
    return WindowCheck(closures, next_window_opening(instant, zones))


# -- quality of service ----------------------------------------------------------------------


@dataclass(frozen=True)
class QualityDecision:
    quality: ServiceQuality
    lettre_simple_due_on: date | None


def determine_quality(
    served_at: datetime,
    handed_over_at: datetime | None,
    territory: Territory,
    office_territory: Territory,
) -> QualityDecision:
    """CPC 662-1: *à personne* iff the recipient took cognisance on the sending day (legal
    time of the recipient's `territory`), else *à domicile* with a lettre simple due the first
    *jour ouvrable* after the sending day. The letter is the office's to post: its due date is
    counted in the office's legal time on its territory's statutory holidays (a customary day
    of the recipient, such as Mi-Carême, closes CPC 664's window but does not delay it)."""
    if handed_over_at is not None and same_legal_day(served_at, handed_over_at, territory):
        return QualityDecision(ServiceQuality.A_PERSONNE, None)
    due = first_statutory_jour_ouvrable_after(
        legal_date(served_at, office_territory), office_territory
    )
    return QualityDecision(ServiceQuality.A_DOMICILE, due)
