"""Housekeeping of identity's store, run periodically (`ServiceRuntime.every`).

What goes, and why it may:

- portal sessions past their absolute end or idle longer than the idle timeout: `find` already
  refuses them, the purge only reclaims the rows of browsers that never came back;
- the sealed token of an expired link, at once: it was kept only for notify to e-mail the link
  (used and superseded links drop it when that happens);
- link records whose expiry is older than the retention window: every link expires (72 h for
  activation, one hour for reset) whether used, superseded or not, so "expired for longer than
  the window" covers them all and keeps a short trail for support questions;
- throttle records past their forget time: their failures or requests no longer count.

Each row is deleted at the version it was read at, so a session touched or a throttle bumped
between the read and the delete survives. Several replicas may purge at once: a row another
one deleted first is simply skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from identity.records import LINKS, PORTAL_SESSIONS, THROTTLES, Context, iso
from shared.store.port import Filter, VersionConflictError, version_of

log = logging.getLogger(__name__)

PURGE_BATCH = 500


@dataclass(frozen=True)
class PurgeReport:
    portal_sessions: int
    links: int
    throttles: int
    link_tokens: int = 0


class Maintenance:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def purge(self) -> PurgeReport:
        """Delete what has outlived its use (see the module docstring); returns the counts."""
        ctx = self._ctx
        settings = ctx.settings
        now = ctx.clock.now()
        idle = timedelta(minutes=settings.portal_idle_timeout_minutes)
        portal = await self._purge(PORTAL_SESSIONS, {"expires_at": {"$lte": iso(now)}})
        portal += await self._purge(PORTAL_SESSIONS, {"last_seen_at": {"$lte": iso(now - idle)}})
        link_tokens = await ctx.store.update(
            LINKS,
            {"token_kept": True, "expires_at": {"$lte": iso(now)}},
            {"sealed_token": None, "token_kept": False},
        )
        links = await self._purge(
            LINKS,
            {"expires_at": {"$lt": iso(now - timedelta(days=settings.link_retention_days))}},
        )
        throttles = await self._purge(THROTTLES, {"forget_at": {"$lte": iso(now)}})
        # Written before throttles carried `forget_at`: judged by their last failure.
        throttles += await self._purge(
            THROTTLES,
            {
                "forget_at": None,
                "last_failure_at": {"$lte": iso(now - _longest_throttle_memory(ctx))},
            },
        )
        report = PurgeReport(portal, links, throttles, link_tokens)
        if portal or links or throttles or link_tokens:
            log.info(
                "purged %d portal sessions, %d links (%d expired link tokens), %d throttle records",
                portal,
                links,
                link_tokens,
                throttles,
            )
        return report

    async def run(self) -> None:
        """The background job (`ServiceRuntime.every`)."""
        await self.purge()

    async def _purge(self, collection: str, where: Filter) -> int:
        store = self._ctx.store
        deleted = 0
        skipped: set[str] = set()
        while True:
            rows = [
                row
                for row in await store.find(collection, where, limit=PURGE_BATCH + len(skipped))
                if row["_id"] not in skipped
            ]
            if not rows:
                return deleted
            for row in rows:
                try:
                    if await store.delete(collection, row["_id"], expected_version=version_of(row)):
                        deleted += 1
                except VersionConflictError:
                    # Touched since the read: it may be alive again; the next purge decides.
                    skipped.add(row["_id"])


def _longest_throttle_memory(ctx: Context) -> timedelta:
    return max(ctx.forget_after, ctx.max_delay)
