"""Incidents: opened by the probes (a service failing longer than the threshold) or by an
operator, closed the same way; and planned maintenance announced by an operator. Each change is
journaled (its event goes out with the write)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from retention.status.context import PATH, StatusContext, StatusRefusal, not_found
from retention.status.notices import Notices, maintenance_notice
from retention.status.records import Incident, Maintenance
from shared.contracts.status import IncidentOrigin
from shared.ids import new_id
from shared.store.port import Transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scope:
    services: Sequence[str]
    territories: Sequence[str] = ()
    offices: Sequence[str] = ()


def _refuse_interval(start: datetime, end: datetime, now: datetime) -> None:
    if end < start:
        raise StatusRefusal("The end is before the start.", code="bad-interval", status=422)
    if end > now:
        raise StatusRefusal(
            "An incident cannot be closed in the future.", code="bad-interval", status=422
        )


class Incidents:
    def __init__(self, ctx: StatusContext) -> None:
        self.ctx = ctx

    async def _emit_opened(self, tx: Transaction, incident: Incident) -> Incident:
        outgoing = incident.opened()
        envelope = await self.ctx.base.events.emit(tx, outgoing.payload, subject=outgoing.subject)
        return incident.model_copy(update={"opened_event_id": envelope.event_id})

    async def _emit_closed(self, tx: Transaction, incident: Incident) -> Incident:
        outgoing = incident.closing()
        envelope = await self.ctx.base.events.emit(tx, outgoing.payload, subject=outgoing.subject)
        return incident.model_copy(update={"closed_event_id": envelope.event_id})

    async def open(
        self, cause: str, scope: Scope, operator: str, started_at: datetime | None = None
    ) -> Incident:
        """An operator declares an unavailability (by default starting now)."""
        now = self.ctx.base.clock.now()
        start = started_at or now
        if start > now:
            raise StatusRefusal(
                "An incident starts now or in the past; announce a maintenance instead.",
                code="bad-interval",
                status=422,
            )
        incident = Incident(
            id=new_id(now),
            origin=IncidentOrigin.OPERATOR,
            cause=cause,
            services=sorted(set(scope.services)),
            territories=sorted(set(scope.territories)),
            offices=sorted(set(scope.offices)),
            started_at=start,
            opened_by=operator,
        )
        async with self.ctx.base.outbox.transaction() as tx:
            incident = await self._emit_opened(tx, incident)
            return await self.ctx.incidents.add(tx, incident)

    async def close(
        self, incident_id: str, operator: str, ended_at: datetime | None = None
    ) -> Incident:
        """An operator states the unavailability is over (by default now)."""
        now = self.ctx.base.clock.now()
        async with self.ctx.base.outbox.transaction() as tx:
            incident = await self.ctx.incidents.get(tx, incident_id)
            if incident is None:
                raise not_found("incident")
            if not incident.open:
                raise StatusRefusal(
                    "This incident is already closed.", code="incident-closed", status=409
                )
            end = ended_at or now
            _refuse_interval(incident.started_at, end, now)
            closed = await self._emit_closed(tx, incident.closed(end, operator))
            return await self.ctx.incidents.save(tx, closed)

    async def open_for_probe(
        self,
        service: str,
        since: datetime,
        detail: str | None,
        affected: Sequence[str] = (),
    ) -> Incident:
        """The probes saw `service` (or the end-to-end `path`, failing in the `affected`
        services) fail since `since`, for longer than the threshold."""
        if service == PATH:
            cause = "le parcours complet (dépôt, avis, téléchargement) échoue"
        else:
            cause = f"{service} ne répond pas à la vérification de disponibilité"
        incident = Incident(
            # Named by the outage: replicas probing at once open it once (a unique id).
            id=f"{service}-{since:%Y%m%dT%H%M%S%fZ}",
            origin=IncidentOrigin.PROBE,
            cause=cause + (f" ({detail})" if detail else ""),
            services=sorted(set(affected)) or [service],
            territories=[],
            started_at=since,
            probe_service=service,
        )
        async with self.ctx.base.outbox.transaction() as tx:
            incident = await self._emit_opened(tx, incident)
            added = await self.ctx.incidents.add(tx, incident)
        log.warning("incident %s opened: %s unavailable since %s", added.id, service, since)
        return added

    async def close_for_probe(self, incident: Incident, recovered_at: datetime) -> Incident:
        async with self.ctx.base.outbox.transaction() as tx:
            closed = await self._emit_closed(tx, incident.closed(recovered_at, None))
            saved = await self.ctx.incidents.save(tx, closed)
        log.info("incident %s closed: %s answers again", saved.id, incident.probe_service)
        return saved

    async def get(self, incident_id: str) -> Incident:
        incident = await self.ctx.incidents.get(self.ctx.base.store, incident_id)
        if incident is None:
            raise not_found("incident")
        return incident

    async def current(self) -> list[Incident]:
        return await self.ctx.incidents.current(self.ctx.base.store)

    async def past(self) -> list[Incident]:
        return await self.ctx.incidents.past(self.ctx.base.store, self.ctx.policy.history)


class Maintenances:
    def __init__(self, ctx: StatusContext, notices: Notices) -> None:
        self.ctx = ctx
        self.notices = notices

    async def announce(
        self,
        starts_at: datetime,
        ends_at: datetime,
        scope: Scope,
        description: str,
        operator: str,
        *,
        notify_users: bool = False,
    ) -> Maintenance:
        """Announce a maintenance on the status page; with `notify_users`, also send its
        notice to the accounts and offices of its scope (the operator decides, each time)."""
        now = self.ctx.base.clock.now()
        if ends_at <= starts_at or ends_at <= now:
            raise StatusRefusal(
                "A maintenance ends after it starts, in the future.",
                code="bad-interval",
                status=422,
            )
        maintenance = Maintenance(
            id=new_id(now),
            starts_at=starts_at,
            ends_at=ends_at,
            services=sorted(set(scope.services)),
            territories=sorted(set(scope.territories)),
            offices=sorted(set(scope.offices)),
            description=description,
            announced_by=operator,
            announced_at=now,
        )
        async with self.ctx.base.outbox.transaction() as tx:
            await self.ctx.base.emit(tx, [maintenance.announcement()])
            if notify_users:
                notice = maintenance_notice(maintenance, operator, self.ctx)
                await self.notices.record(tx, notice)
                maintenance = maintenance.model_copy(update={"notice_id": notice.id})
            return await self.ctx.maintenances.add(tx, maintenance)

    async def notify_users(self, maintenance_id: str, operator: str) -> Maintenance:
        """Send the notice of a maintenance announced without one (once: a maintenance has at
        most one notice; a maintenance over is not announced any more)."""
        now = self.ctx.base.clock.now()
        async with self.ctx.base.outbox.transaction() as tx:
            maintenance = await self.ctx.maintenances.get(tx, maintenance_id)
            if maintenance is None:
                raise not_found("maintenance")
            if maintenance.notice_id is not None:
                raise StatusRefusal(
                    "This maintenance's notice was sent already.",
                    code="notice-already-sent",
                    status=409,
                )
            if maintenance.ends_at <= now:
                raise StatusRefusal(
                    "This maintenance is over.", code="maintenance-over", status=409
                )
            notice = maintenance_notice(maintenance, operator, self.ctx)
            await self.notices.record(tx, notice)
            return await self.ctx.maintenances.save(
                tx, maintenance.model_copy(update={"notice_id": notice.id})
            )

    async def not_over(self) -> list[Maintenance]:
        return await self.ctx.maintenances.not_over(self.ctx.base.store, self.ctx.base.clock.now())
