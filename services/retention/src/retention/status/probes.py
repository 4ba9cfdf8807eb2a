"""Availability measured by the platform itself: each service's readiness (`/health/ready`)
checked on a schedule, and the end-to-end path (`retention.status.path`) on its own when
configured. A service (or the path) failing since longer than the threshold gets an incident,
dated from its first failed check; its first successful check closes it."""

from __future__ import annotations

import asyncio
import logging

import httpx

from retention.status.context import PATH, StatusContext
from retention.status.incidents import Incidents
from retention.status.path import PathProbe
from retention.status.records import ProbeState, ProbeStep
from shared.store.port import DuplicateKeyError, VersionConflictError

log = logging.getLogger(__name__)


class Probes:
    def __init__(
        self,
        ctx: StatusContext,
        incidents: Incidents,
        http: httpx.AsyncClient,
        path: PathProbe | None = None,
    ) -> None:
        self.ctx = ctx
        self.incidents = incidents
        self.http = http
        self.path = path

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
            await self._record_once(service, failure)

    async def run_path(self) -> None:
        """Probe the end-to-end path, when configured and an act can be served now."""
        if self.path is None or not self.path.due():
            return
        run = await self.path.run()
        if run.failure is not None:
            log.warning("end-to-end path failed at %s", run.failure)
        affected = [run.failed_service] if run.failed_service else []
        await self._record_once(PATH, run.failure, run.steps, affected)

    async def _record_once(
        self,
        service: str,
        failure: str | None,
        steps: list[ProbeStep] | None = None,
        affected: list[str] | None = None,
    ) -> None:
        try:
            await self._record(service, failure, steps or [], affected or [])
        except (VersionConflictError, DuplicateKeyError):
            # Another replica recorded the same check or opened the same incident.
            log.debug("status of %s recorded by another replica", service)

    async def _record(
        self, service: str, failure: str | None, steps: list[ProbeStep], affected: list[str]
    ) -> None:
        ctx = self.ctx
        store = ctx.base.store
        now = ctx.base.clock.now()
        previous = await ctx.probes.get(store, service)
        if failure is None:
            state = ProbeState(id=service, checked_at=now, up=True, steps=steps)
        else:
            since = previous.failing_since if previous and previous.failing_since else now
            state = ProbeState(
                id=service,
                checked_at=now,
                up=False,
                failing_since=since,
                detail=failure,
                steps=steps,
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
            await self.incidents.open_for_probe(service, state.failing_since, failure, affected)

    async def states(self) -> list[ProbeState]:
        return await self.ctx.probes.all(self.ctx.base.store)
