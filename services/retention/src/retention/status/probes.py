"""Availability measured by the platform itself: each service's readiness (`/health/ready`)
checked on a schedule. A service failing since longer than the threshold gets an incident,
dated from its first failed check; its first successful check closes it."""

from __future__ import annotations

import asyncio
import logging

import httpx

from retention.status.context import StatusContext
from retention.status.incidents import Incidents
from retention.status.records import ProbeState
from shared.store.port import DuplicateKeyError, VersionConflictError

log = logging.getLogger(__name__)


class Probes:
    def __init__(self, ctx: StatusContext, incidents: Incidents, http: httpx.AsyncClient) -> None:
        self.ctx = ctx
        self.incidents = incidents
        self.http = http

    async def _check(self, url: str) -> str | None:
        """None when the service is ready, else why not (no response body: it is not ours)."""
        try:
            response = await self.http.get(
                f"{url}/health/ready", timeout=self.ctx.policy.probe_timeout
            )
        except httpx.HTTPError as error:
            return type(error).__name__
        return None if response.status_code == 200 else f"HTTP {response.status_code}"

    async def run_once(self) -> None:
        """Check every service at once, then record what changed."""
        targets = self.ctx.policy.targets
        results = await asyncio.gather(*(self._check(url) for url in targets.values()))
        for service, failure in zip(targets, results, strict=True):
            try:
                await self._record(service, failure)
            except (VersionConflictError, DuplicateKeyError):
                # Another replica recorded the same check or opened the same incident.
                log.debug("status of %s recorded by another replica", service)

    async def _record(self, service: str, failure: str | None) -> None:
        ctx = self.ctx
        store = ctx.base.store
        now = ctx.base.clock.now()
        previous = await ctx.probes.get(store, service)
        if failure is None:
            state = ProbeState(id=service, checked_at=now, up=True)
        else:
            since = previous.failing_since if previous and previous.failing_since else now
            state = ProbeState(
                id=service, checked_at=now, up=False, failing_since=since, detail=failure
            )
        if previous is None:
            await ctx.probes.add(store, state)
        else:
            await ctx.probes.save(store, state.model_copy(update={"version": previous.version}))
        incident = await ctx.incidents.open_for_service(store, service)
        if failure is None and incident is not None:
            await self.incidents.close_for_probe(incident, now)
        elif (
            failure is not None
            and incident is None
            and state.failing_since is not None
            and now - state.failing_since >= ctx.policy.threshold
        ):
            await self.incidents.open_for_probe(service, state.failing_since, failure)

    async def states(self) -> list[ProbeState]:
        return await self.ctx.probes.all(self.ctx.base.store)
