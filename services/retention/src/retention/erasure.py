"""The erasure record: one per fired erasure schedule — who was asked, who confirmed, the acts
delivery listed, the deadline and whether the overdue alert went out.

States: in progress (confirmations coming) → confirmed (all in: the certificate is being issued,
for every erasure with an account) → completed (certificate issued, or the purge of a declaration
without an account done).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Self

from pydantic import Field

from retention.domain import (
    ERASURE_PURPOSE,
    ConsentEnd,
    Purpose,
    audit_subjects,
    erasure_id_for,
    expected_participants,
    first_participants,
    missing_participants,
)
from retention.receipts import ReceiptSet
from retention.records import (
    AccountErasureData,
    Instant,
    Outgoing,
    Record,
    RegistryPurgeData,
    Schedule,
    Stored,
    absent,
)
from shared.contracts.envelope import EventPayload
from shared.contracts.retention import (
    AccountActsErasedV1,
    AccountActsErasureRequestedV1,
    AccountDeletionRequestedV1,
    ContactDataPurgeRequestedV1,
    DeclarationPurgeRequestedV1,
    ErasedAct,
    ErasureOverdueV1,
    ErasurePurpose,
    Participant,
    RegistryCopyPurgedV1,
    RegistryPurgeCompletedV1,
    SubjectKeysShredRequestedV1,
)
from shared.receipts import COMING as RECEIPTS_COMING


class ErasureState(StrEnum):
    IN_PROGRESS = "in_progress"
    CONFIRMED = "confirmed"  # every confirmation in; the certificate is being issued
    COMPLETED = "completed"


class Confirmation(Record):
    """A participant's confirmation, as journaled (its event id lets audit find it)."""

    event_id: str
    confirmed_at: Instant


def _by_value(participants: Iterable[Participant]) -> list[Participant]:
    return sorted(participants, key=lambda p: p.value)


class Erasure(Stored):
    schedule_id: str
    subject: str
    purpose: Purpose
    account_id: str | None
    declaration_id: str | None
    terminated_at: Instant | None
    due_at: Instant
    # When the consent ended (a registry purge's start of the five years), and how.
    consent_ended_at: Instant | None = Field(default=None, exclude_if=absent)
    ended_by: ConsentEnd | None = Field(default=None, exclude_if=absent)
    # Captured before any participant purges its copy; dropped once the certificate is out.
    email: str | None
    expected: list[Participant]
    requested: list[Participant]
    confirmations: dict[Participant, Confirmation]
    acts: list[ErasedAct]
    # The registry lookups that found the declaration: audit subjects shredded with it.
    lookups: list[str] = Field(default_factory=list, exclude_if=lambda found: not found)
    state: ErasureState
    alerted: bool
    started_at: Instant
    deadline: Instant
    mismatch: str | None = Field(default=None, exclude_if=absent)
    all_confirmed_at: Instant | None = Field(default=None, exclude_if=absent)
    completed_at: Instant | None = Field(default=None, exclude_if=absent)
    certificate_id: str | None = Field(default=None, exclude_if=absent)

    @classmethod
    def start(
        cls,
        schedule: Schedule,
        now: datetime,
        *,
        email: str | None,
        timeout: timedelta,
        account_id: str | None = None,
        lookups: Iterable[str] = (),
    ) -> tuple[Self, list[Outgoing]]:
        """The erasure a due schedule starts, and its first requests. `account_id` is the
        declaration's account when the schedule did not know it (a consent that expired);
        `lookups` are the registry lookups that found the declaration (audit subjects)."""
        data = schedule.data
        if not isinstance(data, AccountErasureData | RegistryPurgeData):
            raise ValueError(f"{schedule.purpose} starts no erasure")
        account_id = data.account_id or account_id
        declaration_id = data.declaration_id
        has_account = account_id is not None
        erasure = cls(
            id=erasure_id_for(schedule.id),
            schedule_id=schedule.id,
            subject=schedule.subject,
            purpose=schedule.purpose,
            account_id=account_id,
            declaration_id=declaration_id,
            terminated_at=data.terminated_at if isinstance(data, AccountErasureData) else None,
            consent_ended_at=data.revoked_at if isinstance(data, RegistryPurgeData) else None,
            ended_by=data.ended_by if isinstance(data, RegistryPurgeData) else None,
            due_at=schedule.due_at,
            email=email,
            expected=_by_value(expected_participants(schedule.purpose, has_account=has_account)),
            requested=_by_value(first_participants(schedule.purpose, has_account=has_account)),
            confirmations={},
            acts=[],
            lookups=sorted(set(lookups)),
            state=ErasureState.IN_PROGRESS,
            alerted=False,
            started_at=now,
            deadline=now + timeout,
        )
        events: list[EventPayload] = []
        if isinstance(data, AccountErasureData):
            events += [
                AccountActsErasureRequestedV1(
                    erasure_id=erasure.id,
                    account_id=data.account_id,
                    declaration_id=data.declaration_id,
                    requested_at=now,
                ),
                ContactDataPurgeRequestedV1(
                    erasure_id=erasure.id, account_id=data.account_id, requested_at=now
                ),
            ]
        else:
            # Audit is asked once delivery has listed the acts (`record_acts`).
            events.append(
                DeclarationPurgeRequestedV1(
                    erasure_id=erasure.id,
                    declaration_id=data.declaration_id,
                    revoked_at=data.revoked_at,
                    requested_at=now,
                    account_id=account_id,
                )
            )
            if account_id is not None:
                events.append(
                    AccountDeletionRequestedV1(
                        erasure_id=erasure.id,
                        account_id=account_id,
                        declaration_id=data.declaration_id,
                        requested_at=now,
                    )
                )
        return erasure, [Outgoing(event, erasure.subject) for event in events]

    @property
    def erasure_purpose(self) -> ErasurePurpose:
        return ERASURE_PURPOSE[self.purpose]

    @property
    def missing(self) -> list[Participant]:
        return missing_participants(self.expected, self.confirmations)

    def confirmed_by(self, participant: Participant) -> bool:
        return participant in self.confirmations

    def confirm(self, participant: Participant, confirmation: Confirmation) -> Self:
        confirmations = {**self.confirmations, participant: confirmation}
        return self.model_copy(update={"confirmations": confirmations})

    def record_acts(
        self,
        event: AccountActsErasedV1 | RegistryCopyPurgedV1,
        confirmation: Confirmation,
        served: Iterable[str],
        now: datetime,
    ) -> tuple[Self, list[Outgoing]]:
        """Delivery's list of erased acts confirms its step. Never a silent partial erasure:
        an act retention saw served and delivery did not list raises the alert. Audit's
        subjects include each act: only now are they all known, so audit is asked now."""
        erasure = self.model_copy(update={"acts": list(event.acts)}).confirm(
            Participant.DELIVERY, confirmation
        )
        events: list[Outgoing] = []
        listed = {act.act_id for act in event.acts}
        missing = sorted(act_id for act_id in served if act_id not in listed)
        if missing:
            mismatch = f"{len(missing)} served act(s) missing from delivery's list"
            erasure = erasure.model_copy(update={"mismatch": mismatch})
            erasure, alert = erasure.alert(mismatch)
            events += alert
        shred = SubjectKeysShredRequestedV1(
            erasure_id=self.id,
            purpose=self.erasure_purpose,
            subjects=audit_subjects(self.account_id, self.declaration_id, listed, self.lookups),
            requested_at=now,
        )
        requested = _by_value({*erasure.requested, Participant.AUDIT})
        events.append(Outgoing(shred, self.subject))
        return erasure.model_copy(update={"requested": requested}), events

    def settle(self, now: datetime) -> tuple[Self, list[Outgoing]]:
        """After a confirmation, with every confirmation in: an erasure of an account is
        confirmed (its certificate needs S3 writes: issued after this commit, and by the
        periodic job if the process dies in between); a registry purge says so, and one
        without an account (nobody to certify to) is complete."""
        complete = self.state is ErasureState.IN_PROGRESS and not self.missing and not self.mismatch
        if not complete:
            return self, []
        events: list[Outgoing] = []
        if self.purpose is Purpose.REGISTRY_PURGE:
            assert self.declaration_id is not None  # a registry purge is a declaration's
            done = RegistryPurgeCompletedV1(
                erasure_id=self.id,
                declaration_id=self.declaration_id,
                account_id=self.account_id,
                completed_at=now,
            )
            events.append(Outgoing(done, self.subject))
            if self.account_id is None:
                # No certificate to send: the address captured at the start goes now.
                completed = self.model_copy(
                    update={"state": ErasureState.COMPLETED, "completed_at": now, "email": None}
                )
                return completed, events
        confirmed = self.model_copy(
            update={"state": ErasureState.CONFIRMED, "all_confirmed_at": now}
        )
        return confirmed, events

    def alert(self, reason: str) -> tuple[Self, list[Outgoing]]:
        """The overdue alert, once: names the participants still missing."""
        overdue = ErasureOverdueV1(
            erasure_id=self.id,
            purpose=self.erasure_purpose,
            missing=self.missing,
            reason=reason,
            started_at=self.started_at,
            deadline=self.deadline,
        )
        return self.model_copy(update={"alerted": True}), [Outgoing(overdue, self.subject)]

    def overdue_reason(self) -> str:
        if self.state is ErasureState.IN_PROGRESS:
            return "confirmations missing past the deadline"
        return "certificate not issued past the deadline"

    def certified(self, certificate_id: str) -> Self:
        """Completed by its certificate. The address leaves retention's store with this write:
        it travels only in the event notify needs to send the certificate."""
        return self.model_copy(
            update={
                "state": ErasureState.COMPLETED,
                "certificate_id": certificate_id,
                "email": None,
            }
        )

    def waits_for_receipts(self, receipts: ReceiptSet, now: datetime, grace: timedelta) -> bool:
        """Whether to hold the certificate back: audit answered that receipts are coming (not
        yet journaled or checkpointed) and the grace period is not over. Audit unreachable or
        failing does not hold it: those receipts are listed as missing, with the reason."""
        pending = [m for m in receipts.missing if m["reason"] in RECEIPTS_COMING]
        since = self.all_confirmed_at
        # An erasure confirmed before this rule existed has no instant: issued at once.
        return bool(pending) and since is not None and now < since + grace
