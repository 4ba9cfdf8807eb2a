"""The status use cases on one `StatusContext`, built on retention's context (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from retention.context import Context
from retention.settings import Settings
from retention.status.attestations import Attestations
from retention.status.context import PATH, StatusContext, StatusPolicy
from retention.status.incidents import Incidents, Maintenances
from retention.status.notices import Notices
from retention.status.path import PathConfig, PathProbe
from retention.status.probes import Probes
from retention.status.view import (
    StatusFeed,
    components,
    incident_view,
    maintenance_view,
    path_component,
)


@dataclass(frozen=True)
class Status:
    ctx: StatusContext
    incidents: Incidents
    maintenances: Maintenances
    notices: Notices
    probes: Probes
    attestations: Attestations

    async def feed(self) -> StatusFeed:
        states = await self.probes.states()
        parts = components(list(self.ctx.policy.targets), states)
        probed = next((s for s in states if s.id == PATH), None) if self.probes.path else None
        path = path_component(parts, probed)
        current = await self.incidents.current()
        return StatusFeed(
            generated_at=self.ctx.base.clock.now(),
            operational=not current and all(c.up is not False for c in [*parts, path]),
            components=parts,
            path=path,
            current_incidents=[incident_view(i) for i in current],
            upcoming_maintenance=[maintenance_view(m) for m in await self.maintenances.not_over()],
            past_incidents=[incident_view(i) for i in await self.incidents.past()],
        )


def wire_status(base: Context, settings: Settings, http: httpx.AsyncClient) -> Status:
    ctx = StatusContext(base, StatusPolicy.from_settings(settings))
    incidents = Incidents(ctx)
    config = PathConfig.from_settings(settings)
    path = None if config is None else PathProbe(config, http, base.clock)
    notices = Notices(ctx)
    return Status(
        ctx,
        incidents=incidents,
        maintenances=Maintenances(ctx, notices),
        notices=notices,
        probes=Probes(ctx, incidents, http, path),
        attestations=Attestations(ctx),
    )
