"""The lettre simple (CPC 662-1 al. 3): an act finalised *à domicile* calls for a plain letter
the serving office posts by the first *jour ouvrable* after the sending day. The finaliser only
issues the task (`LettreSimpleTaskIssued`); the office then declares the letter posted
(`POST /v1/acts/{id}/lettre-simple`), and only that signs `RelayToNonERDS`: the evidence never
says the letter left before the office says it did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from pydantic import BaseModel, ConfigDict

from delivery.acts import Act, ActStatus, Instant, Tombstone
from delivery.context import Context
from delivery.domain import Reference
from delivery.errors import (
    InvalidRequest,
    LettreSimpleAlreadyRecorded,
    LettreSimpleNotDue,
)
from delivery.evidence import EvidenceType
from delivery.reads import Views
from shared.contracts.delivery import ServiceQuality
from shared.legal_calendar import legal_date
from shared.store.port import VersionConflictError, to_iso

ATTEMPTS: Final = 5


class LettreSimplePosting(BaseModel):
    """What the office declares of the letter it posted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    posted_on: date
    """The day the letter was posted (the office's legal time)."""
    tracking_reference: Reference | None = None
    """The postal tracking reference, when the letter has one."""


class LettreSimpleView(BaseModel):
    model_config = ConfigDict(frozen=True)

    act_id: str
    posted_on: date
    tracking_reference: str | None
    due_on: date
    on_time: bool
    recorded_at: Instant


@dataclass(frozen=True)
class Recorded:
    view: LettreSimpleView
    created: bool


def _view(act: Act) -> LettreSimpleView:
    assert act.lettre_simple is not None
    assert act.lettre_simple_due_on is not None
    letter = act.lettre_simple
    return LettreSimpleView(
        act_id=act.id,
        posted_on=letter.posted_on,
        tracking_reference=letter.tracking_reference,
        due_on=act.lettre_simple_due_on,
        on_time=letter.posted_on <= act.lettre_simple_due_on,
        recorded_at=letter.recorded_at,
    )


class Letters:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._views = Views(ctx)

    async def record_posted(
        self, office_id: str, client: str, act_id: str, posting: LettreSimplePosting
    ) -> Recorded:
        """The serving office declares the lettre simple posted: `RelayToNonERDS` is signed.
        Declaring the same particulars again answers the first record."""
        for _attempt in range(ATTEMPTS):
            act = self._due(await self._views.office_act(office_id, act_id))
            if act.lettre_simple is not None:
                letter = act.lettre_simple
                if (letter.posted_on, letter.tracking_reference) != (
                    posting.posted_on,
                    posting.tracking_reference,
                ):
                    raise LettreSimpleAlreadyRecorded(letter.posted_on.isoformat())
                return Recorded(_view(act), created=False)
            self._check_date(act, posting)
            try:
                return Recorded(_view(await self._record(act, client, posting)), created=True)
            except VersionConflictError:
                continue  # changed meanwhile (a concurrent declaration): read it again
        raise VersionConflictError(f"act {act_id} kept changing")

    @staticmethod
    def _due(act: Act | Tombstone) -> Act:
        if isinstance(act, Tombstone):
            raise LettreSimpleNotDue("the act was erased")
        if act.status is not ActStatus.SERVED or act.quality is None:
            raise LettreSimpleNotDue(
                "the act is not finalised yet: a lettre simple is due only once the service "
                "is finalised à domicile (after the sending day)"
            )
        if act.quality is not ServiceQuality.A_DOMICILE or act.lettre_simple_due_on is None:
            raise LettreSimpleNotDue("the act was served à personne: no lettre simple is due")
        return act

    def _check_date(self, act: Act, posting: LettreSimplePosting) -> None:
        assert act.served_at is not None
        territory = act.office_territory
        if posting.posted_on < legal_date(act.served_at, territory):
            raise InvalidRequest("Invalid posting date", "the letter cannot precede the service")
        if posting.posted_on > legal_date(self.ctx.clock.now(), territory):
            raise InvalidRequest("Invalid posting date", "the posting date is in the future")

    async def _record(self, act: Act, client: str, posting: LettreSimplePosting) -> Act:
        ctx = self.ctx
        now = ctx.clock.now()
        posted, event = act.letter_posted(posting.posted_on, posting.tracking_reference, now)
        async with ctx.outbox.transaction() as tx:
            stored = await ctx.acts.save(tx, posted, now)
            envelope = await ctx.emit(tx, act, event, actor=act.office_actor)
            await ctx.signer.attest(
                tx,
                act,
                kind=EvidenceType.RELAY_TO_NON_ERDS,
                instant=now,
                actors={"sender": act.office_actor, "sender_client": client},
                details={
                    "relay": "lettre_simple",
                    "posted_on": posting.posted_on.isoformat(),
                    "tracking_reference": posting.tracking_reference,
                    "lettre_simple_due_on": event.due_on.isoformat(),
                    "on_time": posting.posted_on <= event.due_on,
                    "declared_at": to_iso(now),
                    "declared_by": act.office_actor,
                },
                event_id=envelope.event_id,
            )
        return stored
