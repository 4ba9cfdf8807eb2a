"""The act aggregate: one typed record per deposited act, its state changes as methods that
return the changed act and the events the change causes.

An act is `scheduled` (deposited while CPC 664's window was closed), `held` (accepted for a
recipient whose account is suspended: it waits for the reinstatement, then is scheduled again),
`served` (made available: its legal date), `rejected` (refused after it was uploaded: its
content is shredded) or, once
its account is erased, a `Tombstone` (ids, fingerprint, dates and quality only; see
`delivery.erasure`). Instants are stored as `to_iso` strings, so that the store's string order
is time order; `cursor` orders an office's acts by last change, then id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from delivery.domain import ActMetadata, WindowCheck, determine_quality

# Re-exported: what the act is stored with, and what remains of it once erased.
from delivery.stamped import ActStatus as ActStatus
from delivery.stamped import Instant as Instant
from delivery.stamped import Record
from delivery.tombstone import ErasedObject as ErasedObject
from delivery.tombstone import Tombstone as Tombstone
from shared.contracts.consent import ActNature
from shared.contracts.delivery import (
    ActContentOpenedV1,
    ActHandedOverV1,
    ActHeldV1,
    ActRejectedV1,
    ActScheduledV1,
    ActServedAfterConsentEndV1,
    ActServedV3,
    ConsentEndReason,
    JudgeLeaveOrder,
    JudgeLeaveUsedV2,
    LettreSimpleDueV2,
    LettreSimplePostedV1,
    RejectionReason,
    ServiceQuality,
    ServiceQualityDeterminedV1,
)
from shared.legal_calendar import Territory, end_of_legal_day


class JudgeLeave(BaseModel):
    """The judge's leave (CPC 664) that let an act be served while the window was closed: the
    document (bound to this act by its SHA-256) and the order as the office declared it (None
    only on acts served before the order was asked for)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    object_id: str
    sha256: str
    size: int
    order: JudgeLeaveOrder | None = None


class ConsentEndNotice(BaseModel):
    """An act served at or after the instant its consent ended, an end learnt later
    (`delivery.reconciliation`): when and why the consent ended, when delivery learnt it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_ended_at: Instant
    reason: ConsentEndReason
    detected_at: Instant


class LettreSimple(BaseModel):
    """The CPC 662-1 lettre simple as the serving office declared it posted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    posted_on: date
    tracking_reference: str | None
    recorded_at: Instant


@dataclass(frozen=True)
class Deposit:
    """Who deposits, for whom: what a new act copies from the office and the declaration."""

    office_id: str
    office_name: str
    office_email: str
    office_territory: Territory
    office_client: str
    recipient_account_id: str
    recipient_territory: Territory
    probe: bool = False


@dataclass(frozen=True)
class Finalised:
    """What finalising an act caused: its quality event and, *à domicile*, the lettre simple."""

    act: Act
    determined: ServiceQualityDeterminedV1
    letter: LettreSimpleDueV2 | None


class Act(Record):
    """A deposited act that still has its content (every status but `erased`)."""

    status: Literal[ActStatus.SCHEDULED, ActStatus.HELD, ActStatus.SERVED, ActStatus.REJECTED]
    office_id: str
    office_name: str
    office_email: str
    office_territory: Territory
    office_client: str
    declaration_id: str
    recipient_account_id: str
    recipient_territory: Territory
    nature: ActNature
    title: str
    requester_name: str
    office_reference: str
    filename: str | None
    sha256: str
    size: int
    submitted_at: Instant
    scheduled_for: Instant | None = None
    served_at: Instant | None = None
    legal_local_time: str | None = None
    """The serving instant in the recipient's legal time (ISO 8601 with its offset)."""
    finalise_after: Instant | None = None
    handed_over_at: Instant | None = None
    quality: ServiceQuality | None = None
    determined_at: Instant | None = None
    lettre_simple_due_on: date | None = None
    lettre_simple: LettreSimple | None = None
    """Set when the office declares the letter posted (then `RelayToNonERDS` is signed)."""
    judge_leave: JudgeLeave | None = None
    rejected_reasons: tuple[RejectionReason, ...] | None = None
    served_after_consent_end: ConsentEndNotice | None = None
    """Set when a consent end learnt late precedes the serving instant."""
    probe: bool = False
    """Deposited by the platform's availability probe (a synthetic act, no person's data):
    set from the office's profile, never from the request."""

    @classmethod
    def uploaded(
        cls,
        act_id: str,
        deposit: Deposit,
        metadata: ActMetadata,
        *,
        filename: str | None,
        sha256: str,
        size: int,
        at: datetime,
    ) -> Act:
        """A new act whose document is in the vault, before it is served or scheduled (the
        status is set by `serve` or `schedule`; an act is never stored in between)."""
        return cls(
            id=act_id,
            status=ActStatus.SCHEDULED,
            office_id=deposit.office_id,
            office_name=deposit.office_name,
            office_email=deposit.office_email,
            office_territory=deposit.office_territory,
            office_client=deposit.office_client,
            declaration_id=metadata.declaration_id,
            recipient_account_id=deposit.recipient_account_id,
            recipient_territory=deposit.recipient_territory,
            probe=deposit.probe,
            nature=metadata.nature,
            title=metadata.title,
            requester_name=metadata.requester_name,
            office_reference=metadata.office_reference,
            filename=filename,
            sha256=sha256,
            size=size,
            submitted_at=at,
        )

    @property
    def subject(self) -> str:
        return f"act:{self.id}"

    @property
    def office_actor(self) -> str:
        return f"office:{self.office_id}"

    @property
    def recipient_actor(self) -> str:
        return f"account:{self.recipient_account_id}"

    def serve(self, now: datetime, *, portal_url: str) -> tuple[Act, ActServedV3]:
        """Make the act available at `now` (CPC 664-1: its legal date and hour); its legal
        day ends at midnight in the recipient's territory, when it may be finalised."""
        territory = self.recipient_territory
        served = self.model_copy(
            update={
                "status": ActStatus.SERVED,
                "served_at": now,
                "legal_local_time": now.astimezone(territory.time_zone).isoformat(),
                "finalise_after": end_of_legal_day(now, territory),
            }
        )
        # No contact datum: notify finds the recipient's address in its own contact book.
        return served, ActServedV3(
            act_id=self.id,
            declaration_id=self.declaration_id,
            recipient_account_id=self.recipient_account_id,
            act_nature=self.nature.value,
            office_id=self.office_id,
            office_name=self.office_name,
            served_at=now,
            portal_url=portal_url,
            act_sha256=self.sha256,
            submitted_at=self.submitted_at,
            recipient_territory=territory,
            probe=self.probe,
        )

    def schedule(self, window: WindowCheck) -> tuple[Act, ActScheduledV1]:
        """Accepted while the window is closed: deposited at its next opening."""
        scheduled = self.model_copy(
            update={"status": ActStatus.SCHEDULED, "scheduled_for": window.next_opening}
        )
        return scheduled, ActScheduledV1(
            act_id=self.id,
            declaration_id=self.declaration_id,
            office_id=self.office_id,
            act_nature=self.nature.value,
            act_sha256=self.sha256,
            submitted_at=self.submitted_at,
            scheduled_for=window.next_opening,
            closures=list(window.closures),
        )

    def reschedule(self, opening: datetime) -> Act:
        """Still closed when due (a holiday, a territory's own closure): wait again."""
        return self.model_copy(update={"scheduled_for": opening})

    def hold(self, now: datetime) -> tuple[Act, ActHeldV1]:
        """Its recipient's account is suspended: wait for the reinstatement, whatever the
        window (`release` schedules it again)."""
        held = self.model_copy(update={"status": ActStatus.HELD, "scheduled_for": None})
        return held, ActHeldV1(
            act_id=self.id,
            declaration_id=self.declaration_id,
            office_id=self.office_id,
            act_nature=self.nature.value,
            act_sha256=self.sha256,
            submitted_at=self.submitted_at,
            held_at=now,
            reason="recipient_suspended",
        )

    def release(self, at: datetime) -> Act:
        """The account was reinstated: due again from `at` (the scheduler checks consent, the
        window and the account once more at the deposit instant)."""
        return self.model_copy(update={"status": ActStatus.SCHEDULED, "scheduled_for": at})

    def with_leave(
        self, leave: JudgeLeave, window: WindowCheck, now: datetime
    ) -> tuple[Act, JudgeLeaveUsedV2]:
        """Served while the window is closed, on the judge's leave."""
        assert leave.order is not None
        return self.model_copy(update={"judge_leave": leave}), JudgeLeaveUsedV2(
            act_id=self.id,
            office_id=self.office_id,
            act_sha256=self.sha256,
            leave_sha256=leave.sha256,
            leave_size=leave.size,
            order=leave.order,
            used_at=now,
            closures=list(window.closures),
        )

    def reject(
        self, reasons: Sequence[RejectionReason], now: datetime
    ) -> tuple[Act, ActRejectedV1]:
        """A scheduled act refused when due (its consent ended meanwhile)."""
        rejected = self.model_copy(
            update={"status": ActStatus.REJECTED, "rejected_reasons": tuple(reasons)}
        )
        return rejected, ActRejectedV1(
            office_id=self.office_id,
            act_id=self.id,
            declaration_id=self.declaration_id,
            act_nature=self.nature.value,
            act_sha256=self.sha256,
            rejected_at=now,
            reasons=list(reasons),
        )

    def flag_served_after(
        self, ended_at: datetime, reason: ConsentEndReason, now: datetime
    ) -> tuple[Act, ActServedAfterConsentEndV1] | None:
        """Its consent ended at `ended_at`, learnt only now: flagged if it was served at or
        after that instant (a revocation is never retroactive), once."""
        if (
            self.status != ActStatus.SERVED
            or self.served_at is None
            or self.served_at < ended_at
            or self.served_after_consent_end is not None
        ):
            return None
        notice = ConsentEndNotice(consent_ended_at=ended_at, reason=reason, detected_at=now)
        return self.model_copy(update={"served_after_consent_end": notice}), (
            ActServedAfterConsentEndV1(
                act_id=self.id,
                declaration_id=self.declaration_id,
                office_id=self.office_id,
                act_sha256=self.sha256,
                served_at=self.served_at,
                consent_ended_at=ended_at,
                reason=reason,
                detected_at=now,
            )
        )

    def opened(self, now: datetime) -> ActContentOpenedV1:
        """The recipient opened the content stream: journaled, no cognisance."""
        return ActContentOpenedV1(
            act_id=self.id,
            office_id=self.office_id,
            recipient_account_id=self.recipient_account_id,
            opened_at=now,
        )

    def hand_over(self, now: datetime) -> tuple[Act, ActHandedOverV1]:
        """The recipient's first complete download: the *prise de connaissance* (CPC 662-1),
        at the instant its last byte was written."""
        assert self.served_at is not None
        return self.model_copy(update={"handed_over_at": now}), ActHandedOverV1(
            act_id=self.id,
            office_id=self.office_id,
            recipient_account_id=self.recipient_account_id,
            act_sha256=self.sha256,
            served_at=self.served_at,
            handed_over_at=now,
        )

    def finalise(self, now: datetime) -> Finalised:
        """CPC 662-1 once the sending day is over: the quality of service, and the lettre
        simple an act not read that day calls for."""
        assert self.served_at is not None
        decision = determine_quality(
            self.served_at, self.handed_over_at, self.recipient_territory, self.office_territory
        )
        due_on = decision.lettre_simple_due_on
        act = self.model_copy(
            update={
                "quality": decision.quality,
                "determined_at": now,
                "lettre_simple_due_on": due_on,
            }
        )
        determined = ServiceQualityDeterminedV1(
            act_id=self.id,
            office_id=self.office_id,
            quality=decision.quality,
            served_at=self.served_at,
            handed_over_at=self.handed_over_at
            if decision.quality is ServiceQuality.A_PERSONNE
            else None,
            determined_at=now,
            lettre_simple_due_on=due_on,
        )
        letter = None
        if due_on is not None:
            letter = LettreSimpleDueV2(
                act_id=self.id,
                office_id=self.office_id,
                office_email=self.office_email,
                act_nature=self.nature.value,
                requester_name=self.requester_name,
                served_at=self.served_at,
                due_on=due_on,
                recipient_territory=self.recipient_territory,
            )
        return Finalised(act, determined, letter)

    def letter_posted(
        self, posted_on: date, tracking_reference: str | None, now: datetime
    ) -> tuple[Act, LettreSimplePostedV1]:
        """The office declares the lettre simple posted (checked by `delivery.lettre_simple`)."""
        assert self.lettre_simple_due_on is not None
        posted = LettreSimple(
            posted_on=posted_on, tracking_reference=tracking_reference, recorded_at=now
        )
        return self.model_copy(update={"lettre_simple": posted}), LettreSimplePostedV1(
            act_id=self.id,
            office_id=self.office_id,
            posted_on=posted_on,
            tracking_reference=tracking_reference,
            due_on=self.lettre_simple_due_on,
            recorded_at=now,
        )


StoredAct = Act | Tombstone
