"""The status records and their collections (retention's store):

- `status_probes`: one per probed service, and one for the end-to-end path (`path`) — its last
  check (the path's steps and their durations), and since when it fails;
- `incidents`: open (no `ended_at`) or closed; an automatic one names the service it opened for;
- `maintenances`: announced planned maintenance;
- `notices`: the notices to users an operator issued (maintenance, breach), one event each;
- `attestations`: the signed outage attestation of a closed incident (JSON twin and PDF; public
  documents, no personal data), one per incident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import BaseModel, Field

from retention.records import Instant, Outgoing, Stored
from retention.repository import Repository
from shared.contracts.status import (
    BreachFacts,
    IncidentClosedV1,
    IncidentOpenedV1,
    IncidentOrigin,
    MaintenanceAnnouncedV1,
    MaintenanceFacts,
    NoticeKind,
    UserNoticeIssuedV1,
)
from shared.store.port import DocumentReader, Index, to_iso

PROBES: Final = "status_probes"
INCIDENTS: Final = "incidents"
MAINTENANCES: Final = "maintenances"
ATTESTATIONS: Final = "attestations"
NOTICES: Final = "notices"

STATUS_INDEXES: Final = (
    Index(INCIDENTS, ("open", "started_at")),
    Index(INCIDENTS, ("probe_service", "open")),
    Index(MAINTENANCES, ("ends_at",)),
    Index(NOTICES, ("issued_at",)),
)


class ProbeStep(BaseModel):
    """One step of an end-to-end path probe: whether it passed, and how long it took."""

    name: str
    ok: bool
    seconds: float
    detail: str | None = None


class ProbeState(Stored):
    """`id` is the service's name, or `path` for the end-to-end path."""

    checked_at: Instant
    up: bool
    failing_since: Instant | None = None
    detail: str | None = None
    steps: list[ProbeStep] = Field(default_factory=list, description="the path's, last run")


class Incident(Stored):
    origin: IncidentOrigin
    cause: str
    services: list[str]
    territories: list[str] = Field(description="empty: every territory")
    offices: list[str] = Field(default_factory=list)
    started_at: Instant
    ended_at: Instant | None = None
    open: bool = True
    opened_by: str | None = None
    closed_by: str | None = None
    # The service (or `path`) an automatic incident was opened for; it closes when that one
    # recovers.
    probe_service: str | None = None
    opened_event_id: str | None = None
    closed_event_id: str | None = None

    def opened(self) -> Outgoing:
        return Outgoing(
            IncidentOpenedV1(
                incident_id=self.id,
                origin=self.origin,
                started_at=self.started_at,
                services=self.services,
                territories=self.territories,
                offices=self.offices,
                cause=self.cause,
                opened_by=self.opened_by,
            ),
            f"incident:{self.id}",
        )

    def closed(self, ended_at: datetime, closed_by: str | None) -> Incident:
        return self.model_copy(update={"ended_at": ended_at, "open": False, "closed_by": closed_by})

    def closing(self) -> Outgoing:
        assert self.ended_at is not None
        return Outgoing(
            IncidentClosedV1(
                incident_id=self.id,
                origin=self.origin,
                started_at=self.started_at,
                ended_at=self.ended_at,
                closed_by=self.closed_by,
            ),
            f"incident:{self.id}",
        )


class Maintenance(Stored):
    starts_at: Instant
    ends_at: Instant
    services: list[str]
    territories: list[str]
    offices: list[str] = Field(default_factory=list)
    description: str
    announced_by: str
    announced_at: Instant
    notice_id: str | None = None

    def facts(self) -> MaintenanceFacts:
        return MaintenanceFacts(
            maintenance_id=self.id,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            services=self.services,
            description=self.description,
        )

    def announcement(self) -> Outgoing:
        return Outgoing(
            MaintenanceAnnouncedV1(
                maintenance_id=self.id,
                starts_at=self.starts_at,
                ends_at=self.ends_at,
                services=self.services,
                territories=self.territories,
                offices=self.offices,
                announced_by=self.announced_by,
            ),
            f"maintenance:{self.id}",
        )


class Notice(Stored):
    """A notice to users: its kind's facts, its scope (both lists empty: everyone), who issued
    it, and the one event that carries it to notify."""

    kind: NoticeKind
    territories: list[str]
    offices: list[str]
    issued_by: str
    issued_at: Instant
    breach: BreachFacts | None = None
    maintenance: MaintenanceFacts | None = None
    event_id: str | None = None

    def issued(self) -> Outgoing:
        return Outgoing(
            UserNoticeIssuedV1(
                notice_id=self.id,
                kind=self.kind,
                territories=self.territories,
                offices=self.offices,
                issued_at=self.issued_at,
                issued_by=self.issued_by,
                breach=self.breach,
                maintenance=self.maintenance,
            ),
            f"notice:{self.id}",
        )


class Attestation(Stored):
    """`id` is the incident's id (one attestation per incident)."""

    attestation_id: str
    signed_json: str
    pdf_base64: str
    fingerprint: str
    pdf_sha256: str
    key_id: str
    issued_at: Instant


class ProbeRepository(Repository[ProbeState]):
    collection = PROBES
    model = ProbeState

    async def all(self, db: DocumentReader) -> list[ProbeState]:
        return await self.find(db, sort=[("_id", 1)])


class IncidentRepository(Repository[Incident]):
    collection = INCIDENTS
    model = Incident

    async def open_for_service(self, db: DocumentReader, service: str) -> Incident | None:
        found = await self.find(db, {"probe_service": service, "open": True}, limit=1)
        return found[0] if found else None

    async def current(self, db: DocumentReader) -> list[Incident]:
        return await self.find(db, {"open": True}, sort=[("started_at", 1)])

    async def past(self, db: DocumentReader, limit: int) -> list[Incident]:
        return await self.find(db, {"open": False}, sort=[("started_at", -1)], limit=limit)


class MaintenanceRepository(Repository[Maintenance]):
    collection = MAINTENANCES
    model = Maintenance

    async def not_over(self, db: DocumentReader, now: datetime) -> list[Maintenance]:
        return await self.find(db, {"ends_at": {"$gt": to_iso(now)}}, sort=[("starts_at", 1)])


class NoticeRepository(Repository[Notice]):
    collection = NOTICES
    model = Notice

    async def latest(self, db: DocumentReader, limit: int) -> list[Notice]:
        return await self.find(db, sort=[("issued_at", -1)], limit=limit)


class AttestationRepository(Repository[Attestation]):
    collection = ATTESTATIONS
    model = Attestation
