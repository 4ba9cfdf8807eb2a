"""Handover: the recipient's download of an act and, at the end of each sending day, the
finaliser that determines every served act's quality of service and the lettre simple an
unread act calls for.

Opening the content and taking cognisance of it are two facts (LEGAL open question 2): an
opening is journaled (`act-content-opened`); the *prise de connaissance* (CPC 662-1, 663) is the
first download whose last byte was written to the client (`delivered`, called by the HTTP
layer once the response completed). An aborted transfer records no cognisance."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Final, NotRequired, TypedDict

from delivery.acts import Act, ActStatus
from delivery.context import Context
from delivery.errors import ActNotFound
from delivery.evidence import EvidenceType
from delivery.reads import Views
from shared.contracts.delivery import ServiceQuality
from shared.legal_calendar import legal_date
from shared.metrics import instruments
from shared.store.port import VersionConflictError, to_iso
from shared.sweeps import sweep
from shared.telemetry import annotate, span

FINALISER_BATCH: Final = 200
HANDOVER_ATTEMPTS: Final = 5


class QualityDetails(TypedDict):
    """What a `QualityDetermination` record says; cognisance only for "à personne"."""

    quality: str
    served_at: str
    sending_day: str
    territory: str
    cognisance_at: NotRequired[str]
    cognisance_local_time: NotRequired[str]


class Handover:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._views = Views(ctx)

    async def open_content(self, account_id: str, act_id: str) -> tuple[Act, AsyncIterator[bytes]]:
        """The act's plaintext for its recipient, once it is known to be readable; the opening
        is journaled (no cognisance: see `delivered`)."""
        act = await self._views.recipient_act(account_id, act_id)
        try:
            content = await self.ctx.acts_vault.open(act_id)
        except LookupError:  # its key is gone
            raise ActNotFound from None
        await self.ctx.events.emit_alone(
            act.opened(self.ctx.clock.now()), subject=act.subject, actor=act.recipient_actor
        )
        return act, content

    async def delivered(self, account_id: str, act_id: str) -> Act:
        """The content's last byte was written to the recipient: the first time, this is the
        *prise de connaissance*, recorded at this instant (event, `ContentHandover`)."""
        act = await self._views.recipient_act(account_id, act_id)
        for _attempt in range(HANDOVER_ATTEMPTS):
            if act.handed_over_at is not None:
                break
            try:
                act = await self._hand_over(act)
                break
            except VersionConflictError:
                act = await self._views.recipient_act(account_id, act_id)
        return act

    async def _hand_over(self, act: Act) -> Act:
        ctx = self.ctx
        now = ctx.clock.now()
        handed, event = act.hand_over(now)
        assert act.served_at is not None
        async with ctx.outbox.transaction() as tx:
            stored = await ctx.acts.save(tx, handed, now)
            envelope = await ctx.emit(tx, act, event, actor=act.recipient_actor)
            await ctx.signer.attest(
                tx,
                act,
                kind=EvidenceType.CONTENT_HANDOVER,
                instant=now,
                actors={"recipient": act.recipient_actor},
                details={
                    "served_at": to_iso(act.served_at),
                    "transfer": "complete",
                    "handed_over_local_time": now.astimezone(
                        act.recipient_territory.time_zone
                    ).isoformat(),
                },
                event_id=envelope.event_id,
            )
        return stored

    # -- quality of service -------------------------------------------------------------------

    async def finalise_due(self) -> int:
        """CPC 662-1 at the end of each sending day: finalise every served act whose legal day
        is over, however long ago (catch-up after downtime). Each act commits alone with its
        events; a concurrent run or handover makes the version check fail and the act is left
        to the next run, so nothing is finalised twice and nothing is lost."""
        return await sweep(self.ctx.clock, self._due, self._finalise_due_act)

    async def _due(self, now: datetime) -> Sequence[Act]:
        found = await self.ctx.acts.find(
            {
                "status": ActStatus.SERVED.value,
                "quality": None,
                "finalise_after": {"$lte": to_iso(now)},
            },
            sort=[("finalise_after", 1)],
            limit=FINALISER_BATCH,
        )
        return [act for act in found if isinstance(act, Act)]

    async def _finalise_due_act(self, act: Act, now: datetime) -> bool:
        # A periodic job, not a request: a trace of its own, naming the act.
        with span("act finalisation", root=True):
            annotate(act_id=act.id, office_id=act.office_id)
            await self.finalise(act, now)
        return True

    async def finalise(self, act: Act, now: datetime) -> None:
        """Finalise one act as read (VersionConflictError if it changed since)."""
        ctx = self.ctx
        done = act.finalise(now)
        assert act.served_at is not None
        territory = act.recipient_territory
        async with ctx.outbox.transaction() as tx:
            await ctx.acts.save(tx, done.act, now)
            determined = await ctx.emit(tx, act, done.determined, actor="service:delivery")
            annotate(outcome=done.determined.quality.value)
            details: QualityDetails = {
                "quality": done.determined.quality.value,
                "served_at": to_iso(act.served_at),
                "sending_day": legal_date(act.served_at, territory).isoformat(),
                "territory": territory.value,
            }
            if done.determined.quality is ServiceQuality.A_PERSONNE:
                assert act.handed_over_at is not None
                details["cognisance_at"] = to_iso(act.handed_over_at)
                details["cognisance_local_time"] = act.handed_over_at.astimezone(
                    territory.time_zone
                ).isoformat()
            await ctx.signer.attest(
                tx,
                act,
                kind=EvidenceType.QUALITY_DETERMINATION,
                instant=now,
                actors={"recipient": act.recipient_actor},
                details=details,
                event_id=determined.event_id,
            )
            if done.letter is not None:
                # The task to the office, not the letter: `RelayToNonERDS` is signed only when
                # the office declares it posted (`delivery.lettre_simple`).
                letter = await ctx.emit(tx, act, done.letter, actor="service:delivery")
                await ctx.signer.attest(
                    tx,
                    act,
                    kind=EvidenceType.LETTRE_SIMPLE_TASK_ISSUED,
                    instant=now,
                    actors={"sender": act.office_actor},
                    details={
                        "lettre_simple_due_on": done.letter.due_on.isoformat(),
                        "office_territory": act.office_territory.value,
                    },
                    event_id=letter.event_id,
                )
        instruments().acts_finalised.add(1, {"securact.act.quality": done.determined.quality.value})
