"""What the status page and feeds show: each probed service's state, the end-to-end path,
incidents (open and past) and maintenance not over yet; instants in UTC and in each legal time
of the territories concerned."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, PlainSerializer, WithJsonSchema

from retention.status.attestation import TERRITORY_NAMES, territories_of
from retention.status.context import FUNCTIONS, LABELS, PATH, PATH_SERVICES
from retention.status.records import Incident, Maintenance, Notice, ProbeState, ProbeStep
from shared.contracts.status import BreachFacts, IncidentOrigin, NoticeKind
from shared.french import legal_datetime, legal_time_name
from shared.legal_calendar import Territory


def _isoformat(instant: datetime) -> str:
    return instant.isoformat()


Instant = Annotated[
    AwareDatetime,
    PlainSerializer(_isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class LegalTime(BaseModel):
    """An interval as read in one legal time (territories sharing it are listed together)."""

    territories: list[str]
    legal_time: str = Field(description="its French name, e.g. heure légale de Paris")
    start: str
    end: str | None


class ComponentView(BaseModel):
    service: str
    label: str
    up: bool | None = Field(description="None: not checked yet")
    checked_at: Instant | None
    failing_since: Instant | None = None
    steps: list[ProbeStep] = Field(
        default_factory=list, description="the path's steps at its last probe, and their duration"
    )


class IncidentView(BaseModel):
    id: str
    origin: IncidentOrigin
    cause: str
    services: list[str]
    functions: list[str]
    territories: list[str] = Field(description="empty: every territory")
    offices: list[str]
    started_at: Instant
    ended_at: Instant | None
    open: bool
    legal_times: list[LegalTime]
    attestation_url: str | None = Field(description="for a closed incident")


class MaintenanceView(BaseModel):
    id: str
    starts_at: Instant
    ends_at: Instant
    services: list[str]
    functions: list[str]
    territories: list[str]
    offices: list[str]
    description: str
    legal_times: list[LegalTime]
    notice_id: str | None = Field(
        default=None, description="the notice sent to the users concerned, if the operator asked"
    )


class StatusFeed(BaseModel):
    generated_at: Instant
    operational: bool = Field(description="every probed service answers, no incident open")
    components: list[ComponentView]
    path: ComponentView = Field(description="deposit → notice → download, end to end")
    current_incidents: list[IncidentView]
    upcoming_maintenance: list[MaintenanceView]
    past_incidents: list[IncidentView]


def legal_times(
    start: datetime, end: datetime | None, territories: tuple[Territory, ...]
) -> list[LegalTime]:
    grouped: dict[str, list[Territory]] = {}
    for territory in territories:
        grouped.setdefault(legal_time_name(territory), []).append(territory)
    return [
        LegalTime(
            territories=[TERRITORY_NAMES[t.value] for t in members],
            legal_time=name,
            start=legal_datetime(start, members[0]),
            end=legal_datetime(end, members[0]) if end else None,
        )
        for name, members in grouped.items()
    ]


def incident_view(incident: Incident) -> IncidentView:
    return IncidentView(
        id=incident.id,
        origin=incident.origin,
        cause=incident.cause,
        services=incident.services,
        functions=[FUNCTIONS.get(s, s) for s in incident.services],
        territories=incident.territories,
        offices=incident.offices,
        started_at=incident.started_at,
        ended_at=incident.ended_at,
        open=incident.open,
        legal_times=legal_times(incident.started_at, incident.ended_at, territories_of(incident)),
        attestation_url=None if incident.open else f"/v1/incidents/{incident.id}/attestation",
    )


def maintenance_view(maintenance: Maintenance) -> MaintenanceView:
    territories = tuple(Territory(t) for t in maintenance.territories) or tuple(Territory)
    return MaintenanceView(
        id=maintenance.id,
        starts_at=maintenance.starts_at,
        ends_at=maintenance.ends_at,
        services=maintenance.services,
        functions=[FUNCTIONS.get(s, s) for s in maintenance.services],
        territories=maintenance.territories,
        offices=maintenance.offices,
        description=maintenance.description,
        legal_times=legal_times(maintenance.starts_at, maintenance.ends_at, territories),
        notice_id=maintenance.notice_id,
    )


class NoticeView(BaseModel):
    """A notice to users as the operator sees it; what was sent to whom is notify's history
    of `notice:<id>` (each outcome journaled)."""

    id: str
    kind: NoticeKind
    territories: list[str]
    offices: list[str] = Field(description="with `territories` empty: every account and office")
    issued_at: Instant
    issued_by: str
    breach: BreachFacts | None
    maintenance_id: str | None
    event_id: str | None = Field(description="the event notify sends it from")


def notice_view(notice: Notice) -> NoticeView:
    return NoticeView(
        id=notice.id,
        kind=notice.kind,
        territories=notice.territories,
        offices=notice.offices,
        issued_at=notice.issued_at,
        issued_by=notice.issued_by,
        breach=notice.breach,
        maintenance_id=notice.maintenance.maintenance_id if notice.maintenance else None,
        event_id=notice.event_id,
    )


def components(targets: list[str], states: list[ProbeState]) -> list[ComponentView]:
    by_service = {state.id: state for state in states}
    views = []
    for service in targets:
        state = by_service.get(service)
        views.append(
            ComponentView(
                service=service,
                label=LABELS.get(service, service),
                up=None if state is None else state.up,
                checked_at=None if state is None else state.checked_at,
                failing_since=None if state is None else state.failing_since,
            )
        )
    return views


PATH_LABEL = "Parcours complet : dépôt, avis, téléchargement"


def path_component(parts: list[ComponentView], probed: ProbeState | None) -> ComponentView:
    """The end-to-end path as its own probe last found it; without one (not configured, or
    not run yet), it answers when every service on it answers."""
    if probed is not None:
        return ComponentView(
            service=PATH,
            label=PATH_LABEL,
            up=probed.up,
            checked_at=probed.checked_at,
            failing_since=probed.failing_since,
            steps=probed.steps,
        )
    on_path = [c for c in parts if c.service in PATH_SERVICES]
    checked = [c.checked_at for c in on_path if c.checked_at is not None]
    up: bool | None = None
    if on_path and len(checked) == len(on_path):
        up = all(c.up for c in on_path)
    return ComponentView(
        service=PATH,
        label=PATH_LABEL,
        up=up,
        checked_at=min(checked) if checked else None,
    )
