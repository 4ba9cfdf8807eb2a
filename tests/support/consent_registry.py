"""A recording stand-in for consent's registry (`delivery.consent.ConsentAuthority`) for the
tests whose subject is not the registry itself: it answers what the events delivery received
say (delivery's own projection, read at each call), plus what a test tells it the registry
knows first (`end`), or fails as an unreachable registry (`unavailable`). Every question is
recorded. The real registry over HTTP is exercised by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from delivery.consent import ConsentAnswer, ConsentEnd, ConsentUnavailable
from delivery.main import create_app
from delivery.parties import DECLARATIONS
from delivery.settings import Settings
from shared.clock import Clock, SystemClock
from shared.contracts.delivery import ConsentEndReason
from shared.legal_calendar import Territory
from shared.store.port import DocumentReader, from_iso


class ProjectedRegistry:
    def __init__(self, store: Callable[[], DocumentReader], clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self.unavailable = False
        self.asked: list[str] = []
        self._ends: dict[str, ConsentEnd] = {}

    def end(self, declaration_id: str, reason: ConsentEndReason, at: datetime) -> None:
        """The registry knows this end before delivery's events say it."""
        self._ends[declaration_id] = ConsentEnd(at=at, reason=reason)

    async def status(self, declaration_id: str) -> ConsentAnswer | None:
        self.asked.append(declaration_id)
        if self.unavailable:
            raise ConsentUnavailable
        found = await self._store().get(DECLARATIONS, declaration_id)
        if found is None:
            return None
        status = found.get("status")
        ended = self._ends.get(declaration_id)
        if ended is None and status in {r.value for r in ConsentEndReason}:
            ended = ConsentEnd(at=from_iso(found["ended_at"]), reason=ConsentEndReason(status))
        return ConsentAnswer(
            declaration_id=declaration_id,
            active=status == "active" and ended is None,
            scope=tuple(found.get("scope") or ()),
            valid_until=found.get("valid_until"),
            territory=Territory(found.get("territory") or Territory.METROPOLE.value),
            ended=ended,
            as_of=self._clock.now(),
        )


def delivery_on_events(settings: Settings, **kwargs: Any) -> FastAPI:
    """`delivery.main.create_app` whose registry answers from the events delivery received
    (for the tests about something else than the registry)."""
    apps: list[FastAPI] = []
    registry = ProjectedRegistry(lambda: apps[0].state.runtime.store, SystemClock())
    app = create_app(settings, consent=registry, **kwargs)
    apps.append(app)
    app.state.registry = registry
    return app
